"""What lists show of a campaign (``CampaignSummary``) is written with every revision, and the
migration that introduced it fills it in for campaigns saved before, to the same values."""

import datetime as dt
import importlib

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from campaigns.models import CampaignSummary
from tests.factories import CampaignFactory, PostFactory

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("campaigns.migrations.0006_campaign_summary").BACKFILL
FIELDS = ["campaign_id", "goal", "audience", "key_message", "story", "starts_on", "ends_on",
          "tags", "post_count", "first_post_at"]


def test_each_revision_rewrites_the_summary_and_the_backfill_agrees(world):
    with schema_context(world.acme.client.schema_name):
        page = CampaignFactory(title="Summarised", revision=False)
        assert not CampaignSummary.objects.filter(campaign=page).exists()  # no revision yet
        page.goal, page.story, page.starts_on = "Sell", "<p>Story</p>", dt.date(2027, 3, 1)
        page.posts = [
            PostFactory(copy="Late", publish_at=dt.datetime(2027, 3, 9, 8, tzinfo=dt.UTC)),
            PostFactory(copy="Early", publish_at=dt.datetime(2027, 3, 2, 8, tzinfo=dt.UTC)),
            PostFactory(copy="Unscheduled")]
        page.tags.add("tea", "Coffee", "apple")  # mixed case: the same order both ways
        page.save_revision()
        summary = CampaignSummary.objects.get(campaign=page)
        assert (summary.goal, summary.post_count) == ("Sell", 3)
        assert summary.tags == ["Coffee", "apple", "tea"]
        assert summary.first_post_at == dt.datetime(2027, 3, 2, 8, tzinfo=dt.UTC)

        page.posts = [PostFactory(copy="Only")]
        page.goal = "Sell more"
        page.save_revision()
        summary.refresh_from_db()
        assert (summary.goal, summary.post_count, summary.first_post_at) == ("Sell more", 1, None)

        CampaignFactory(title="Also summarised", posts=[
            PostFactory(copy="x", publish_at=dt.datetime(2027, 4, 1, tzinfo=dt.UTC))])
        written = list(CampaignSummary.objects.order_by("pk").values_list(*FIELDS))
        CampaignSummary.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(backfill)
        assert list(CampaignSummary.objects.order_by("pk").values_list(*FIELDS)) == written
