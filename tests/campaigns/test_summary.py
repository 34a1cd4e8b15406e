"""What lists show of a campaign (``CampaignSummary``) is written with every revision, and the
migration that introduced it fills it in for campaigns saved before, to the same values."""

import datetime as dt
import importlib

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from campaigns.models import CampaignIndexPage, CampaignPage, CampaignSummary, Post

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("campaigns.migrations.0006_campaign_summary").BACKFILL
FIELDS = ["campaign_id", "goal", "audience", "key_message", "story", "starts_on", "ends_on",
          "tags", "post_count", "first_post_at"]


def test_each_revision_rewrites_the_summary_and_the_backfill_agrees(world):
    with schema_context(world.acme.client.schema_name):
        index = CampaignIndexPage.objects.get()
        page = index.add_child(instance=CampaignPage(title="Summarised", live=False))
        assert not CampaignSummary.objects.filter(campaign=page).exists()  # no revision yet
        page.goal, page.story, page.starts_on = "Sell", "<p>Story</p>", dt.date(2027, 3, 1)
        page.posts = [Post(copy="Late", publish_at=dt.datetime(2027, 3, 9, 8, tzinfo=dt.UTC)),
                      Post(copy="Early", publish_at=dt.datetime(2027, 3, 2, 8, tzinfo=dt.UTC)),
                      Post(copy="Unscheduled")]
        page.tags.add("tea", "Coffee", "apple")  # mixed case: the same order both ways
        page.save_revision()
        summary = CampaignSummary.objects.get(campaign=page)
        assert (summary.goal, summary.post_count) == ("Sell", 3)
        assert summary.tags == ["Coffee", "apple", "tea"]
        assert summary.first_post_at == dt.datetime(2027, 3, 2, 8, tzinfo=dt.UTC)

        page.posts = [Post(copy="Only")]
        page.goal = "Sell more"
        page.save_revision()
        summary.refresh_from_db()
        assert (summary.goal, summary.post_count, summary.first_post_at) == ("Sell more", 1, None)

        other = index.add_child(instance=CampaignPage(title="Also summarised", live=False))
        other.posts = [Post(copy="x", publish_at=dt.datetime(2027, 4, 1, tzinfo=dt.UTC))]
        other.save_revision()
        written = list(CampaignSummary.objects.order_by("pk").values_list(*FIELDS))
        CampaignSummary.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(backfill)
        assert list(CampaignSummary.objects.order_by("pk").values_list(*FIELDS)) == written
