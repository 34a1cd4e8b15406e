"""Email sent on behalf of one client: its name in From, links on its own host, tagged headers."""

from __future__ import annotations

import re
from email.utils import formataddr

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tenants.links import client_base_url, portal_base_url


def send_client_email(*, client, to: list[str], subject: str, template: str,
                      context: dict | None = None) -> int:
    """Render ``template`` (.txt and .html) for ``client`` and send it.

    The context gets ``client`` and ``base_url`` (the client's own origin): build every link from
    ``base_url`` so it points at the brand's host, not one global host. Each part is escaped for
    what it is: the HTML part as HTML, the plain-text part not at all (``text_part``)."""
    context = {"client": client, "base_url": client_base_url(client),
               "agency_name": settings.AGENCY_NAME, **(context or {})}
    text = text_part(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(
        subject=one_line(subject),
        body=text,
        from_email=formataddr((one_line(f"{client.name} via {settings.AGENCY_NAME}"),
                               settings.DEFAULT_FROM_EMAIL)),
        to=to,
        headers={"X-Agency-Client": client.slug},
    )
    message.attach_alternative(html, "text/html")
    return message.send()


def one_line(text: str) -> str:
    """``text`` fit for a header: line breaks and other control characters become spaces (a
    brand named with a line break must not stop its people's emails)."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", text).split())


def text_part(template_name: str, context: dict) -> str:
    """A plain-text email part rendered without HTML escaping: an error such as
    ``ConnectError('refused')`` reads as written, not ``ConnectError(&#x27;refused&#x27;)``."""
    return get_template(template_name).template.render(Context(context, autoescape=False))


def member_invite_send(*, client, user, role_label: str, invited_by) -> int:
    """Tell ``user`` they were added to ``client``; new accounts get a link to set a password."""
    set_password_url = ""
    if not user.has_usable_password():
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        set_password_url = portal_base_url() + reverse(
            "portal:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return send_client_email(
        client=client, to=[user.email], subject=f"You have been added to {client.name}",
        template="tenants/email/member_invite",
        context={"user": user, "role_label": role_label, "invited_by": invited_by,
                 "set_password_url": set_password_url, "portal_url": portal_base_url()},
    )
