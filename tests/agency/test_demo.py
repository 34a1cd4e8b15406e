"""The demo data the README's first command loads: two brands, every role, campaigns with posts."""

import pytest
from django_tenants.utils import schema_context

from agency.demo.data import DEMO_PASSWORD, STAFF, seed_demo
from tenants.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_seed_demo_is_complete_and_can_run_twice(world, http):
    seed_demo()
    clients = seed_demo()
    assert [c.slug for c in clients] == ["acme", "globex"]
    roles = set(Membership.objects.filter(user__email__endswith="@agency.test")
                .values_list("role", flat=True))
    assert roles == set(Role.values)
    from agency.demo.data import CAMPAIGNS
    from campaigns.models import CampaignPage
    from campaigns.status import status_of

    for client in clients:
        with schema_context(client.schema_name):
            assert {title: status_of(CampaignPage.objects.get(title=title))
                    for title, _ in CAMPAIGNS[client.slug]} == dict(CAMPAIGNS[client.slug])
    with schema_context(clients[0].schema_name):
        demo = CampaignPage.objects.get(title="Autumn roast launch")
        assert len(demo.get_latest_revision_as_object().posts.all()) == 3
        assert CampaignPage.objects.filter(title="Fair trade week").get().workflow_in_progress
        approved = CampaignPage.objects.get(title="Barista stories")
        assert approved.live
        from campaigns.publishing.models import Delivery

        # three posts to the sandbox, due in the next minutes (seeded once, not twice)
        assert list(Delivery.objects.filter(page_id=approved.pk, client=clients[0])
                    .values_list("state", flat=True)) == ["scheduled"] * 3
        from approvals.models import ApproverContact

        assert ApproverContact.objects.filter(active=True, backup=False).count() == 1
    email = STAFF[0][0]
    response = http().post("/login/", {"username": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302
