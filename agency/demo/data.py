"""Demo data: two client brands, staff of every role, a few campaigns in different states."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.models import Workflow

from approvals.models import ApproverContact
from approvals.workflows import approve_revision
from campaigns.models import CampaignIndexPage, CampaignPage, Channel, Post
from tenants.models import Client, Role
from tenants.provisioning import agency_group
from tenants.services import SYSTEM, client_provision, membership_set

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the demo on purpose

BRANDS = [
    {"slug": "acme", "name": "Acme Coffee", "time_zone": "Europe/London",
     "brand_colour": "#8A4B2A"},
    {"slug": "globex", "name": "Globex Outdoors", "time_zone": "America/New_York",
     "brand_colour": "#2E6B3F"},
]

# email, first name, last name, {brand slug: role}, agency-wide admin?
STAFF = [
    ("ada@agency.test", "Ada", "Admin", {"acme": Role.AGENCY_ADMIN, "globex": Role.AGENCY_ADMIN},
     True),
    ("amy@agency.test", "Amy", "Manager", {"acme": Role.ACCOUNT_MANAGER}, False),
    ("gus@agency.test", "Gus", "Manager", {"globex": Role.ACCOUNT_MANAGER}, False),
    ("eddie@agency.test", "Eddie", "Editor", {"acme": Role.EDITOR, "globex": Role.EDITOR}, False),
    ("erin@agency.test", "Erin", "Editor", {"acme": Role.EDITOR}, False),
    ("rita@agency.test", "Rita", "Reviewer",
     {"acme": Role.SENSITIVITY_REVIEWER, "globex": Role.SENSITIVITY_REVIEWER}, False),
]

CAMPAIGNS = {  # title, status (campaigns.status.CampaignStatus)
    "acme": [("Autumn roast launch", "draft"), ("Fair trade week", "in_review"),
             ("Barista stories", "approved")],
    "globex": [("Trail clean-up day", "draft"), ("Accessible hikes guide", "in_review")],
}


def _channels_create(client: Client) -> list:
    """A sandbox channel (publishes into a feed staff can open) for each brand."""
    channel, _ = Channel.objects.get_or_create(
        name=f"{client.name} sandbox", defaults={"network": "sandbox",
                                                 "handle": f"@{client.slug}"})
    return [channel]


def _approvers_create(client: Client) -> None:
    """The client's approver (review links are emailed to them; in dev the console shows it)."""
    ApproverContact.objects.get_or_create(
        email=f"approver@{client.slug}.example",
        defaults={"name": f"{client.name.split()[0]} approver"})


def _campaigns_create(client: Client, author) -> None:
    zone = zoneinfo.ZoneInfo(client.time_zone)
    start = (timezone.now().astimezone(zone) + dt.timedelta(days=2)).replace(
        hour=9, minute=0, second=0, microsecond=0)
    with schema_context(client.schema_name):
        channels = _channels_create(client)
        _approvers_create(client)
        index = CampaignIndexPage.objects.get()
        for number, (title, state) in enumerate(CAMPAIGNS.get(client.slug, [])):
            if CampaignPage.objects.filter(title=title).exists():
                continue
            page = index.add_child(instance=CampaignPage(
                title=title, goal=f"{title}: what it should achieve.", live=False,
                owner=author))
            # An approved campaign's posts go out minutes after the demo starts, into the
            # brand's sandbox feed (Publishing → the sandbox channel).
            soon = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=2)
            page.posts = [
                Post(copy=f"{title}: post {n + 1}. Tell us what you think!",
                     publish_at=(soon + dt.timedelta(minutes=3 * n) if state == "approved"
                                 else start + dt.timedelta(days=number * 3 + n, hours=n * 2)),
                     channels=channels)
                for n in range(3)
            ]
            revision = page.save_revision(user=author)
            if state == "in_review":
                Workflow.objects.get(active=True).start(page, author)
            elif state == "approved":
                approve_revision(revision, user=author)


def seed_demo(*, stdout=None) -> list[Client]:
    """Idempotent: creates what is missing, leaves what exists."""
    User = get_user_model()
    clients = []
    for brand in BRANDS:
        client = Client.objects.filter(slug=brand["slug"]).first()
        if client is None:
            client = client_provision(**brand)
            if stdout:
                stdout.write(f"Provisioned {client.name}")
        clients.append(client)
    by_slug = {c.slug: c for c in clients}
    for email, first, last, roles, agency_admin in STAFF:
        user = User.objects.filter(username=email).first()
        if user is None:
            user = User.objects.create_user(username=email, email=email, password=DEMO_PASSWORD,
                                            first_name=first, last_name=last)
        if agency_admin:
            user.groups.add(agency_group())
        for slug, role in roles.items():
            membership_set(client=by_slug[slug], user=user, role=role, actor=SYSTEM)
    editor = User.objects.get(username="eddie@agency.test")
    for client in clients:
        _campaigns_create(client, editor)
    return clients
