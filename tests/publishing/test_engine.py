"""The dispatcher and the worker, in process: claims, leases, outcomes and their guards."""

import base64
import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.html import escape
from django_tenants.utils import schema_context
from standardwebhooks.webhooks import Webhook

from agency import signing
from campaigns.publishing import dispatcher, transitions, worker
from campaigns.publishing.models import CrisisHold, Delivery, EventKind, Pause, State
from campaigns.publishing.transitions import Outcome
from tests.publishing.conftest import HOOK_SECRET, approve, make_campaign

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver on a local port: answers with the queued statuses, records requests,
    and drops a repeated Idempotency-Key as a receiver should."""

    def __init__(self):
        self.requests, self.answers, self.accepted, self.hang = [], [], {}, 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
                key = self.headers["Idempotency-Key"]
                if status == 200:
                    receiver.accepted.setdefault(key, body)
                if receiver.hang:
                    threading.Event().wait(receiver.hang)
                payload = json.dumps({"id": f"remote-{len(receiver.accepted)}",
                                      "error": "refused" if status != 200 else ""}).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(kit):
    receiver = Receiver()
    with schema_context(kit.schema):
        kit.hook.endpoint = receiver.url
        kit.hook.save()
    yield receiver
    receiver.close()


def _due(kit, channels, copy="Spring is here #SpringLaunch", tags=("coffee",)):
    now = timezone.now()
    page = make_campaign(kit.schema, posts=[(copy, channels, now + dt.timedelta(hours=1),
                                                kit.image)], tags=tags)
    deliveries = approve(kit.schema, page)
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(next_attempt_at=now)
    return deliveries


def _run(claims, func=worker.deliver):
    return [func(pk, claim) for pk, claim in claims]


def test_a_due_sandbox_post_is_published_once_into_the_brands_feed(world, kit):
    from campaigns.models import SandboxPost

    (delivery,) = _due(kit, [kit.sandbox])
    claims = transitions.claim_due()
    assert [pk for pk, _ in claims] == [delivery.pk]
    assert transitions.claim_due() == []  # claimed: nobody else takes it
    assert _run(claims) == [Outcome.PUBLISHED]
    assert _run(claims) == [Outcome.STALE]  # django-q2 delivering the task twice changes nothing
    delivery.refresh_from_db()
    assert delivery.state == State.PUBLISHED and delivery.remote_url.endswith(
        f"#post-{delivery.remote_id}")
    with schema_context(kit.schema):
        (post,) = SandboxPost.objects.all()
        assert post.text == "Spring is here #SpringLaunch"
        (image,) = post.images
        assert image["alt"] == "Alt for Spring is here #SpringLaunch"
        assert image["name"].startswith("cup") and image["name"].endswith(".png")


def test_the_webhook_is_signed_as_standard_webhooks_has_it_and_carries_the_key(
        world, kit, receiver):
    (delivery,) = _due(kit, [kit.hook])
    assert _run(transitions.claim_due()) == [Outcome.PUBLISHED]
    (headers, body), = receiver.requests
    # The reference library checks it as a receiver would, and so does our helper; one scheme
    # with the outbound webhooks, none of its own.
    assert Webhook(HOOK_SECRET).verify(body, headers)["text"] == "Spring is here #SpringLaunch"
    assert signing.verify(HOOK_SECRET, headers, body)
    assert not signing.verify(signing.secret_generate(), headers, body)
    assert not any(name.lower().startswith("x-agency") for name in headers)
    assert headers["webhook-id"] == headers["Idempotency-Key"] == delivery.idempotency_key
    payload = json.loads(body)
    assert payload["text"] == "Spring is here #SpringLaunch"
    assert payload["images"][0]["alt"] == "Alt for Spring is here #SpringLaunch"
    delivery.refresh_from_db()
    assert delivery.state == State.PUBLISHED and delivery.remote_id == "remote-1"


def test_a_webhook_channel_secret_from_before_signs_with_its_bytes(world, kit, receiver):
    with schema_context(kit.schema):
        kit.hook.set_secret("an older secret, typed by staff")
        kit.hook.save()
    _due(kit, [kit.hook])
    assert _run(transitions.claim_due()) == [Outcome.PUBLISHED]
    (headers, body), = receiver.requests
    assert Webhook(b"an older secret, typed by staff").verify(body, headers)
    assert signing.verify("an older secret, typed by staff", headers, body)


CLIP = b"\x00\x00\x00\x18ftypmp42" + b"clip" * 60


def _video_campaign(kit, channels):
    """A due, approved campaign whose one post carries an image and a video (a document)."""
    from django.core.files.base import ContentFile
    from wagtail.blocks import StreamValue
    from wagtail.documents.models import Document

    from campaigns.models import CampaignPage, Post

    now = timezone.now()
    page = make_campaign(kit.schema, posts=[("Watch the pour", channels,
                                                now + dt.timedelta(hours=1), None)])
    with schema_context(kit.schema):
        video = Document.objects.create(title="Pour", file=ContentFile(CLIP, name="pour.mp4"))
        page = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        (post,) = page.posts.all()
        page.posts = [Post(copy=post.copy, channels=list(post.channels.all()),
                           publish_at=post.publish_at, media=StreamValue(
                               Post._meta.get_field("media").stream_block, [
                                   ("image", {"image": kit.image, "alt_text": "A cup"}),
                                   ("video", {"video": video,
                                              "description": "Milk poured into a flat white"})]))]
        page.save_revision()
    deliveries = approve(kit.schema, page)
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(next_attempt_at=now)
    return deliveries


def test_a_posts_video_goes_out_with_its_description_not_only_its_images(world, kit,
                                                                         receiver, http):
    from campaigns.models import SandboxPost

    _video_campaign(kit, [kit.hook, kit.sandbox])
    assert sorted(_run(transitions.claim_due())) == [Outcome.PUBLISHED, Outcome.PUBLISHED]
    (_, body), = receiver.requests
    payload = json.loads(body)
    assert [i["alt"] for i in payload["images"]] == ["A cup"]
    [video] = payload["videos"]
    assert video["description"] == "Milk poured into a flat white"
    assert video["mime_type"] == "video/mp4" and video["name"].startswith("pour")
    assert base64.b64decode(video["data"]) == CLIP
    with schema_context(kit.schema):
        (item,) = SandboxPost.objects.all()
    feed = http(world.acme.host, user=world.acme.users["account_manager"]).get(
        f"/admin/publishing/sandbox/{kit.sandbox.pk}/").content.decode()
    assert "Video: pour" in feed and "Milk poured into a flat white" in feed
    assert [i.get("video", False) for i in item.images] == [False, True]


def test_a_429_is_retried_later_with_backoff_and_a_refusal_fails_at_once(
        world, kit, receiver, django_capture_on_commit_callbacks):
    (delivery,) = _due(kit, [kit.hook])
    receiver.answers = [(429, {"Retry-After": "120"})]
    before = timezone.now()
    assert _run(transitions.claim_due()) == [Outcome.RETRY]
    delivery.refresh_from_db()
    assert delivery.state == State.SCHEDULED and "HTTP 429" in delivery.error
    assert delivery.next_attempt_at >= before + dt.timedelta(seconds=120)
    assert transitions.claim_due() == []  # not before its time
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    receiver.answers = [(422, {})]
    with django_capture_on_commit_callbacks(execute=True):
        assert _run(transitions.claim_due()) == [Outcome.FAILED]
    delivery.refresh_from_db()
    assert delivery.state == State.FAILED and "HTTP 422" in delivery.error
    assert delivery.attempts == 2
    alert = mail.outbox[-1]
    assert alert.subject.startswith("Not published: “Spring launch” on Acme Hook")
    assert "HTTP 422" in alert.body and world.acme.users["agency_admin"].email in alert.to


def test_looking_for_a_post_reads_no_media_files(world, kit):
    """``find`` goes by text and descriptions: building its post must not read (possibly large,
    possibly gone) files from storage; sending does, and says which one is missing."""
    from django.core.files.storage import default_storage

    from campaigns.publishing.adapters import Permanent

    (delivery,) = _due(kit, [kit.sandbox])
    with schema_context(kit.schema):
        default_storage.delete(delivery.content["images"][0]["file"])
        looking = worker.outgoing(delivery, media_data=False)
        assert [(i.alt, i.data) for i in looking.images] == [
            ("Alt for Spring is here #SpringLaunch", b"")]
        with pytest.raises(Permanent, match="could not be read"):
            worker.outgoing(delivery)


def test_transient_failures_stop_after_the_limit(world, kit, receiver, settings):
    settings.PUBLISHING = {**settings.PUBLISHING, "MAX_ATTEMPTS": 2}
    (delivery,) = _due(kit, [kit.hook])
    receiver.answers = [(503, {}), (503, {})]
    assert _run(transitions.claim_due()) == [Outcome.RETRY]
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert _run(transitions.claim_due()) == [Outcome.FAILED]
    delivery.refresh_from_db()
    assert delivery.error.startswith("Gave up after 2 tries: HTTP 503")


def test_a_timeout_after_sending_is_checked_never_blindly_resent(world, kit, receiver, settings):
    settings.PUBLISHING = {**settings.PUBLISHING, "SEND_TIMEOUT_SECONDS": 0.3}
    (delivery,) = _due(kit, [kit.hook])
    receiver.hang = 1.0
    assert _run(transitions.claim_due()) == [Outcome.UNCONFIRMED]
    receiver.hang = 0
    delivery.refresh_from_db()
    assert delivery.state == State.UNCONFIRMED and delivery.sending_at is not None
    assert transitions.claim_due() == [] and transitions.claim_checks() == []  # waits to ask
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert _run(transitions.claim_checks(), worker.check) == [Outcome.RESEND]
    assert _run(transitions.claim_due()) == [Outcome.PUBLISHED]
    # the receiver saw the key twice and kept one post
    assert len(receiver.requests) == 2 and len(receiver.accepted) == 1


def test_an_unknown_sandbox_outcome_is_found_on_the_network(world, kit):
    (delivery,) = _due(kit, [kit.sandbox])
    (claim,) = transitions.claim_due()
    # the worker published, then died before recording it
    worker._start(Delivery.objects.get(pk=claim[0]), claim[1], holds=[])
    with schema_context(kit.schema):
        from campaigns.publishing.adapters.sandbox import SandboxAdapter

        SandboxAdapter(kit.sandbox, timeout=1).publish(worker.outgoing(delivery))
    Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now())
    assert transitions.sweep() == 1
    delivery.refresh_from_db()
    assert delivery.state == State.UNCONFIRMED
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert _run(transitions.claim_checks(), worker.check) == [Outcome.PUBLISHED]
    assert _run([claim]) == [Outcome.STALE]  # the old task, delivered again, does nothing
    with schema_context(kit.schema):
        from campaigns.models import SandboxPost

        assert SandboxPost.objects.count() == 1


def test_a_claim_whose_lease_ran_out_before_sending_is_taken_again(world, kit):
    (delivery,) = _due(kit, [kit.sandbox])
    (old,) = transitions.claim_due()
    Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now())
    assert transitions.sweep() == 1
    (new,) = transitions.claim_due()
    assert _run([old]) == [Outcome.STALE] and _run([new]) == [Outcome.PUBLISHED]


def test_claims_that_run_out_before_sending_are_not_counted_as_tries(world, kit, settings):
    """Under load many claims run out in the queue before a worker starts them (seen in the
    chaos run): none was a send, so none may bring the post nearer to "Sent N times without
    the network confirming it" or "Gave up after N tries"."""
    (delivery,) = _due(kit, [kit.sandbox])
    for _ in range(settings.PUBLISHING["MAX_ATTEMPTS"] + 2):
        transitions.claim_due()
        Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now())
        assert transitions.sweep() == 1
    delivery.refresh_from_db()
    assert delivery.state == State.SCHEDULED and delivery.attempts == 0
    (claim,) = transitions.claim_due()
    assert _run([claim]) == [Outcome.PUBLISHED]
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_held_and_paused_posts_are_not_taken(world, kit):
    hook = {d.network: d for d in _due(kit, [kit.sandbox, kit.hook])}["webhook"]
    brand = Pause.objects.create(client=world.acme.client)
    assert transitions.claim_due() == []
    brand.delete()
    Pause.objects.create(client=world.acme.client, channel_id=kit.sandbox.pk)
    Delivery.objects.filter(pk=hook.pk).update(
        hold=CrisisHold.objects.create(reason="News", word="spring"))
    assert transitions.claim_due() == []  # one channel paused, the other post held
    Delivery.objects.filter(pk=hook.pk).update(hold=None)
    assert [pk for pk, _ in transitions.claim_due()] == [hook.pk]


def test_a_switched_off_channel_fails_with_a_clear_reason(world, kit):
    (delivery,) = _due(kit, [kit.sandbox])
    with schema_context(kit.schema):
        kit.sandbox.active = False
        kit.sandbox.save()
    assert _run(transitions.claim_due()) == [Outcome.FAILED]
    delivery.refresh_from_db()
    assert "switched off" in delivery.error


def test_a_crisis_hold_stops_a_post_at_the_last_step_whatever_brought_it_there(world, kit):
    from campaigns.publishing import operations

    (delivery,) = _due(kit, [kit.sandbox])
    claims = transitions.claim_due()  # claimed before the hold: the hold cannot take it yet
    hold, count = operations.hold_create(reason="Breaking news", word="spring")
    assert count == 0
    assert _run(claims) == [Outcome.HELD]
    delivery.refresh_from_db()
    assert delivery.state == State.SCHEDULED and delivery.hold == hold
    assert delivery.events.last().kind == EventKind.HELD


def test_a_post_withdrawn_while_unconfirmed_is_not_sent_again(world, kit, receiver, settings):
    settings.PUBLISHING = {**settings.PUBLISHING, "SEND_TIMEOUT_SECONDS": 0.3}
    (delivery,) = _due(kit, [kit.hook])
    receiver.hang = 1.0
    receiver.answers = [(500, {})]  # what the receiver says once it answers: it kept nothing
    assert _run(transitions.claim_due()) == [Outcome.UNCONFIRMED]
    receiver.hang = 0
    with schema_context(kit.schema):
        assert transitions.cancel_page(delivery.page_id, "The campaign was unpublished.") == 1
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert _run(transitions.claim_checks(), worker.check) == [Outcome.CANCELLED]
    assert len(receiver.requests) == 1


def test_resending_unconfirmed_posts_stops_at_the_limit(world, kit, receiver, settings,
                                                        django_capture_on_commit_callbacks):
    settings.PUBLISHING = {**settings.PUBLISHING, "SEND_TIMEOUT_SECONDS": 0.3,
                           "MAX_ATTEMPTS": 2}
    (delivery,) = _due(kit, [kit.hook])
    receiver.hang = 1.0
    for _ in range(2):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert _run(transitions.claim_due()) == [Outcome.UNCONFIRMED]
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            result = _run(transitions.claim_checks(), worker.check)
    assert result == [Outcome.FAILED]
    delivery.refresh_from_db()
    assert delivery.state == State.FAILED and "Sent 2 times without the network confirming" \
        in delivery.error
    assert mail.outbox[-1].subject.startswith("Not published")


def test_a_missing_image_fails_before_sending_with_what_to_do(world, kit):
    (delivery,) = _due(kit, [kit.sandbox])
    content = {**delivery.content, "images": [{"id": 1, "alt": "x", "file": "gone/none.png"}]}
    Delivery.objects.filter(pk=delivery.pk).update(content=content)
    assert _run(transitions.claim_due()) == [Outcome.FAILED]
    delivery.refresh_from_db()
    assert delivery.sending_at is None  # nothing was sent: no unknown outcome
    assert "could not be read" in delivery.error and "approve it again" in delivery.error


def test_staff_resolve_an_unconfirmed_post_by_hand(world, kit):
    from django.core.exceptions import ValidationError

    first, second = _due(kit, [kit.sandbox, kit.hook])
    Delivery.objects.filter(pk__in=[first.pk, second.pk]).update(state=State.UNCONFIRMED)
    with schema_context(kit.schema):
        with pytest.raises(ValidationError, match="https://"):
            transitions.confirm(first.pk, "javascript:alert(1)")
        transitions.confirm(first.pk, "https://example.social/@acme/1")
        transitions.mark_not_sent(second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == State.PUBLISHED and first.remote_url.endswith("/1")
    assert second.state == State.FAILED and "Retry to send it" in second.error


def test_posts_handed_over_early_go_out_at_their_time_not_before(world, kit):
    from campaigns.models import SandboxPost

    deliveries = _due(kit, [kit.sandbox, kit.hook])
    soon = timezone.now() + dt.timedelta(seconds=0.6)
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(next_attempt_at=soon)
    assert transitions.claim_due() == []  # not due yet
    claims = transitions.claim_due(prefetch=1.0)
    sandbox = next(c for c in claims if c[0] == next(d.pk for d in deliveries
                                                     if d.network == "sandbox"))
    assert worker.deliver_batch([sandbox]) == [Outcome.PUBLISHED]
    with schema_context(kit.schema):
        assert SandboxPost.objects.get().published_at >= soon


def test_a_busy_tick_is_split_over_the_workers_in_batches():
    claims = [(n, "c") for n in range(45)]
    assert [len(c) for c in dispatcher.chunks(claims[:3], 2, 20)] == [2, 1]
    assert [len(c) for c in dispatcher.chunks(claims[:1], 2, 20)] == [1]
    assert [len(c) for c in dispatcher.chunks(claims, 2, 20)] == [20, 20, 5]
    assert dispatcher.chunks([], 2, 20) == []


def test_under_a_backlog_the_dispatcher_hands_over_full_tasks(settings):
    from unittest import mock

    settings.PUBLISHING = {**settings.PUBLISHING, "DELIVERIES_PER_TASK": 20, "MAX_WAITING": 0,
                           "BATCH": 200}
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 2}  # room: 80 claimed, unstarted

    def tick(waiting: int, due: int) -> tuple[list[int], list[int]]:
        """(the batch sizes asked for, the task sizes handed over) of one look at the queue."""
        asked = []

        def claim_due(batch, prefetch):
            asked.append(batch)
            return [(n, "c") for n in range(min(batch, due))]

        with mock.patch.object(dispatcher, "waiting_for_workers", return_value=waiting), \
                mock.patch.object(dispatcher.transitions, "claim_due", claim_due), \
                mock.patch.object(dispatcher, "async_task") as enqueue:
            dispatcher.dispatch_once()
        return asked, [len(call.args[1]) for call in enqueue.call_args_list]

    assert tick(waiting=0, due=3) == ([80], [2, 1])  # a few: spread over the workers
    assert tick(waiting=0, due=5000) == ([80], [20, 20, 20, 20])
    # the workers busy with 45 claimed posts: one full task fits, one is claimed
    assert tick(waiting=45, due=5000) == ([20], [20])
    # not a full task's room while the workers have posts to start: wait for it
    assert tick(waiting=70, due=5000) == ([], [])
    assert tick(waiting=0, due=50) == ([80], [20, 20, 10])  # under the room: not a backlog
    assert tick(waiting=0, due=30) == ([80], [15, 15])


def test_the_dispatcher_claims_no_more_than_the_workers_can_start_soon(world, kit, settings):
    settings.PUBLISHING = {**settings.PUBLISHING, "MAX_WAITING": 1}
    first, second = _due(kit, [kit.sandbox, kit.hook])
    from unittest import mock

    with mock.patch("campaigns.publishing.dispatcher.async_task") as enqueue:
        assert dispatcher.dispatch_once() == 1  # one waits for a worker: the other stays
        assert dispatcher.dispatch_once() == 0
    assert enqueue.call_count == 1
    states = sorted(Delivery.objects.filter(pk__in=[first.pk, second.pk])
                    .values_list("state", flat=True))
    assert states == ["claimed", "scheduled"]


def test_the_failure_alert_reads_as_written_in_each_of_its_parts(
        world, kit, settings, django_capture_on_commit_callbacks):
    """The plain-text part is not HTML: the network's reason (e.g. ``ConnectError('…')``) and a
    title with an apostrophe read as written there, and only the HTML part escapes them."""
    settings.PUBLISHING = {**settings.PUBLISHING, "MAX_ATTEMPTS": 1}
    page = make_campaign(kit.schema, title="Rosie's <roast>", posts=[(
        "Roasted today", [kit.hook], timezone.now() + dt.timedelta(hours=1), None)])
    (delivery,) = approve(kit.schema, page)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):  # nothing listens on the hook's port
        assert _run(transitions.claim_due()) == [Outcome.FAILED]
    delivery.refresh_from_db()
    alert = mail.outbox[-1]
    assert alert.subject == "Not published: “Rosie's <roast>” on Acme Hook"
    assert f"Reason: {delivery.error}\n" in alert.body
    assert "“Rosie's <roast>”" in alert.body and "&#x27;" not in alert.body
    assert "(Europe/London)" in alert.body  # the brand's time, labelled
    [(html, kind)] = alert.alternatives
    assert kind == "text/html"
    assert f"Reason: {escape(delivery.error)}</p>" in html
    assert "“Rosie&#x27;s &lt;roast&gt;”" in html and "<roast>" not in html


def test_the_delivery_history_reads_in_words(world, kit, receiver, http):
    (delivery,) = _due(kit, [kit.hook])
    receiver.answers = [(503, {})]
    assert _run(transitions.claim_due()) == [Outcome.RETRY]
    manager = http(world.acme.host, world.acme.users["account_manager"])
    html = manager.get(f"/admin/publishing/{delivery.pk}/").content.decode()
    assert "Created from an approved revision" in html and "Will be tried again: " in html
    assert "retry_scheduled" not in html
