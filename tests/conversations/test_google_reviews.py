"""Google Business Profile reviews in the inbox: polled through the real periodic task and the
adapter (google-api-python-client on the committed v4 document) from the local Google Business
Profile (agency/demo/fakes/google_business.py), which answers as the My Business v4 reference
says (``accounts.locations.reviews.list`` newest change first, ``PUT .../reviews/*/reply``,
Google's error bodies and RetryInfo)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from agency.demo.fakes.google_business import FakeGoogleBusiness
from campaigns.conversations import tasks
from campaigns.conversations.models import Item, PollCursor, Reply
from tenants.models import Role
from tests.conversations.conftest import in_brand, items_by_text
from tests.conversations.test_meta_comments import ABUSE, CRITICISM
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]

ACCOUNT, LOCATION = "106543210987654321", "4815162342"
APP = ("gbp-app.apps.googleusercontent.com", "gbp-secret")


@pytest.fixture
def google(world, settings):
    with FakeGoogleBusiness(client_id=APP[0], client_secret=APP[1], hang_seconds=2) as fake:
        settings.NETWORK_BASE_URLS = dict.fromkeys(
            ("gbp_accounts", "gbp_oauth2", "gbp_account_management",
             "gbp_business_information", "gbp_api"), fake.url)
        settings.OAUTH_CLIENTS = {"google_business": {"client_id": APP[0],
                                                      "client_secret": APP[1]}}
        settings.OUTBOUND_ALLOW_PRIVATE = True
        channel = ChannelFactory(brand=world.acme, name="Acme High Street",
                                 network="google_business", handle="High Street, Acmeton",
                                 secret=fake.issue_token())
        fake.schema = world.acme.client.schema_name
        with schema_context(fake.schema):
            channel.account_id = LOCATION
            channel.settings = {"account": f"accounts/{ACCOUNT}",
                                "location": f"locations/{LOCATION}"}
            channel.token_expires_at = timezone.now() + timedelta(minutes=50)
            channel.save()
        fake.channel = channel
        yield fake


def test_reviews_reach_the_inbox_once(google):
    google.add_review("Best flat white in town", stars=5, reviewer="Carol Example")
    google.add_review("", stars=4, anonymous=True)
    assert tasks.poll_conversations()[google.schema]["taken"] == 2
    assert tasks.poll_conversations()[google.schema]["taken"] == 0
    items = items_by_text(google.schema)
    best = items["Best flat white in town"]
    assert best.network == "google_business" and best.kind == "mention"
    assert best.author_name == "Carol Example" and best.action == "none"
    assert items["(4 stars, no text)"].author_name == "Someone on Google"
    google.add_review("Friendly staff", stars=5)
    assert tasks.poll_conversations()[google.schema]["taken"] == 1


def test_an_abusive_review_is_flagged_criticism_stays(google):
    abuse = google.add_review(ABUSE, stars=1, reviewer="Troll")
    google.add_review(CRITICISM, stars=2, reviewer="Eve")
    tasks.poll_conversations()
    items = items_by_text(google.schema)
    # Google lets no owner hide a review: it is flagged for staff, and stays on Google.
    assert items[ABUSE].action == "hide" and items[ABUSE].flagged and not items[ABUSE].hidden
    assert google.review(abuse["name"])["comment"] == ABUSE
    assert items[CRITICISM].action == "reply" and not items[CRITICISM].flagged


def test_a_rate_limit_slows_the_location(google):
    google.add_review("Lovely", stars=5)
    google.fail_next(1, status=429, retry_after=90, path="/reviews")
    done = tasks.poll_conversations()[google.schema]
    assert done["deferred"] == [google.channel.pk] and done["failed"] == []
    with in_brand(google.schema):
        cursor = PollCursor.objects.get(channel_id=google.channel.pk)
        assert not Item.objects.exists()
        PollCursor.objects.filter(pk=cursor.pk).update(deferred_until=None)
    assert 60 <= (cursor.deferred_until - timezone.now()).total_seconds() <= 95
    assert tasks.poll_conversations()[google.schema]["taken"] == 1


def test_the_owners_reply_is_on_the_review_once(world, http, google):
    review = google.add_review(CRITICISM, stars=2, reviewer="Eve")
    tasks.poll_conversations()
    (item,) = items_by_text(google.schema).values()
    admin = http(world.acme.host, user=world.acme.users[Role.EDITOR])
    form = {"text": "Sorry to hear that, Eve: come back for a cup on us.", "key": "g" * 32}
    admin.post(f"/admin/inbox/{item.pk}/reply/", form)
    with in_brand(google.schema):
        Reply.objects.update(state="unconfirmed")  # as if the answer had been lost
    tasks.poll_conversations()  # sent again: a PUT, which replaces the reply
    shown = google.review(review["name"])["reviewReply"]
    assert shown["comment"] == "Sorry to hear that, Eve: come back for a cup on us."
    with in_brand(google.schema):
        reply = Reply.objects.get()
    assert reply.state == "sent" and reply.remote_id == f"{review['name']}/reply"
