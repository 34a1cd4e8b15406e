"""Comments pushed by Meta: the app's signed webhooks for Facebook Pages (``feed``) and
Instagram (``comments``), at ``/webhooks/meta`` on the portal's host.

- ``GET``: the verification handshake. Meta sends ``hub.mode=subscribe``, ``hub.verify_token``
  and ``hub.challenge``; the token is compared in constant time with
  ``settings.META_WEBHOOK["VERIFY_TOKEN"]`` and the challenge is answered as it came.
- ``POST``: a delivery, signed ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with
  the app secret>``. A missing or wrong signature is refused (403), a body over ``MAX_BYTES``
  too (413), unreadable JSON 400, all with a sentence saying why. Each entry names the Page or
  Instagram account (its ``id``): the brand's active channel with that account takes the
  comments through the same path as polling (``ingest.take_pushed``: one item per remote id,
  so a poll that sees the comment later takes nothing, nor does a repeated delivery). What the
  classifier says is done on a worker (``act_on``: hiding on the network, escalation emails),
  so Meta gets its answer at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_tenants.utils import schema_context

from campaigns.conversations import actions, ingest
from campaigns.conversations.models import ConversationSettings, Item
from campaigns.models import Channel
from campaigns.publishing import adapters
from tenants.models import Client
from tenants.tasks import enqueue_in_client

log = logging.getLogger(__name__)

OBJECTS = {"page": ("facebook", "feed"), "instagram": ("instagram", "comments")}


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _app_secret() -> str:
    return settings.META_WEBHOOK["APP_SECRET"] or \
        (settings.OAUTH_CLIENTS.get("facebook") or {}).get("client_secret", "")


def signature_ok(body: bytes, header: str, secret: str) -> bool:
    """Whether ``header`` is ``sha256=`` and the HMAC-SHA256 of ``body`` with ``secret``."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(header) and hmac.compare_digest(header.strip().encode(), expected.encode())


@csrf_exempt  # signed by Meta: the signature is the check, there is no session
@require_http_methods(["GET", "POST"])
def meta(request):
    conf = settings.META_WEBHOOK
    if not conf["VERIFY_TOKEN"]:
        return _text("Meta webhooks are not set up here.", 404)
    if request.method == "GET":
        token = request.GET.get("hub.verify_token", "")
        if request.GET.get("hub.mode") != "subscribe" or not hmac.compare_digest(
                token.encode(), conf["VERIFY_TOKEN"].encode()):
            return _text("The verify token does not match this app's.", 403)
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    secret = _app_secret()
    if not secret:
        return _text("The app secret is not set (META_APP_SECRET): deliveries cannot be "
                     "checked, so none is taken.", 503)
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > conf["MAX_BYTES"]:
        return _text(f"The body is larger than {conf['MAX_BYTES']} bytes.", 413)
    body = request.read(conf["MAX_BYTES"] + 1)
    if len(body) > conf["MAX_BYTES"]:
        return _text(f"The body is larger than {conf['MAX_BYTES']} bytes.", 413)
    if not signature_ok(body, request.headers.get("X-Hub-Signature-256", ""), secret):
        return _text("The X-Hub-Signature-256 signature is missing or does not match the "
                     "body.", 403)
    try:
        payload = json.loads(body)
    except ValueError:
        return _text("The body is not JSON.", 400)
    if not isinstance(payload, dict):
        return _text("The body is not a JSON object.", 400)
    return JsonResponse({"taken": receive(payload)})


def _channels(network: str, account_id: str):
    """(client, channel) for each brand's active channel of this account."""
    for client in Client.objects.active().order_by("schema_name"):
        with schema_context(client.schema_name):
            found = list(Channel.objects.filter(network=network, account_id=account_id,
                                                active=True))
        for channel in found:
            yield client, channel


def receive(payload: dict) -> int:
    """The comments of a verified delivery, into their brands' inboxes: how many were new."""
    network, field = OBJECTS.get(str(payload.get("object") or ""), (None, None))
    if network is None:
        return 0
    taken = 0
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        changes = [c.get("value") for c in entry.get("changes") or []
                   if isinstance(c, dict) and c.get("field") == field
                   and isinstance(c.get("value"), dict)]
        if not changes:
            continue
        for client, channel in _channels(network, str(entry["id"])):
            with schema_context(client.schema_name):
                adapter = adapters.for_channel(channel, timeout=0)
                found = [i for value in changes
                         if (i := adapter.pushed(value, time=entry.get("time"))) is not None]
                if not found:
                    continue
                created = ingest.take_pushed(client, channel, found)
                taken += len(created)
                if created:
                    enqueue_in_client(act_on, [item.pk for item in created])
    return taken


def act_on(item_ids: list[int]) -> None:
    """On a worker, in the brand's schema: what the classifier said, for pushed items."""
    client = Client.objects.get(schema_name=connection.schema_name)
    brand = ConversationSettings.load()
    for item in Item.objects.filter(pk__in=item_ids).select_related("channel"):
        actions.on_ingest(client, item, brand)
