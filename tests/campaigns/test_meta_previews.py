"""Facebook, Instagram and Threads previews: each post as the network shows it."""

import pytest
from django.test import RequestFactory
from django_tenants.utils import schema_context

from campaigns.models import CampaignPage
from tenants.models import Role
from tests.factories import CampaignFactory, ChannelFactory, ImageFactory, PostFactory

pytestmark = pytest.mark.django_db

LONG = ("Our autumn blend is back: notes of fig, cocoa and a little orange peel, roasted "
        "in small batches every Tuesday morning. Come taste it at any of our shops this week.")


@pytest.fixture
def campaign(world):
    acme = world.acme
    channels = [ChannelFactory(brand=acme, name=f"Acme {network}", network=network,
                               handle="@acmecoffee", account_id="1", secret="token")
                for network in ("facebook", "instagram", "threads")]
    image = ImageFactory(brand=acme, title="Cup", size=(400, 500), filename="cup.jpg")
    return CampaignFactory(brand=acme, title="Meta preview",
                           author=acme.users[Role.EDITOR], posts=[
        PostFactory(copy=LONG, link="https://acme.example/autumn", channels=channels,
                    image=image, alt_text="A cup of the autumn blend", first_comment="Tag us")])


def preview(world, page, mode) -> str:
    with schema_context(world.acme.client.schema_name):
        draft = CampaignPage.objects.get(pk=page.pk).get_latest_revision_as_object()
        request = RequestFactory(HTTP_HOST=world.acme.host).get("/")
        request.user = world.acme.users[Role.EDITOR]
        response = draft.serve_preview(request, mode)
        response.render()
    return response.content.decode()


def test_instagram_shows_the_image_first_and_cuts_the_caption_behind_more(world, campaign):
    html = preview(world, campaign, "instagram")
    assert html.count('class="card card--instagram"') == 1
    card = html.split('class="card card--instagram"', 1)[1]
    assert card.index('alt="A cup of the autumn blend"') < card.index("card__caption")
    assert "<strong>acmecoffee</strong>" in card and "<summary>more</summary>" in card
    assert 'class="card__link"' not in card  # links in captions are not clickable there
    assert "First comment:" in card


def test_facebook_and_threads_cards_show_text_link_and_their_first_comment_words(world,
                                                                                  campaign):
    facebook = preview(world, campaign, "facebook")
    assert facebook.count('class="card card--facebook"') == 1
    assert 'class="card__link"' in facebook and "First comment:" in facebook
    threads = preview(world, campaign, "threads")
    assert threads.count('class="card card--threads"') == 1
    assert "First reply:" in threads
    assert "Threads allows 500 characters" not in threads  # 217 characters fit
    everything = preview(world, campaign, "")
    assert everything.count('class="card card--') == 3
