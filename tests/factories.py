"""Factories (factory-boy) for the things tests set up: brands, their members, channels, images,
campaigns with their posts, and the deliveries an approval schedules.

Each wraps the project's own service or model, so what a test gets is what the product makes:
a brand is provisioned by ``client_provision`` (its schema, host, groups, site and workflow), a
member is given their role by ``membership_set``, a campaign is a Wagtail page added under the
brand's campaigns index and saved as a revision, and deliveries come from publishing a revision
and ``schedule_approved``, as the workflow's finish action does.

Anything that lives in a brand's schema takes ``brand=``: a ``tests.conftest.Brand``, a
``tenants.models.Client`` or a schema name. Without it the factory works in the schema the
connection is on.
"""

from __future__ import annotations

import datetime as dt
import io
from contextlib import nullcontext

import factory
from django.conf import settings
from django.core.files.images import ImageFile
from django.utils import timezone
from django_tenants.utils import schema_context
from wagtail.blocks import StreamValue

from tests.images import png_bytes

PASSWORD = "correct-horse-battery"


def schema_of(brand) -> str:
    """The schema name of a ``Brand``, a ``Client`` or a schema name."""
    if isinstance(brand, str):
        return brand
    client = getattr(brand, "client", brand)
    return client.schema_name


def in_brand(brand):
    """``schema_context`` of ``brand``, or nothing when it is None (stay where the connection
    is)."""
    return nullcontext() if brand is None else schema_context(schema_of(brand))


# --- the platform: brands and the people in them -------------------------------------------


class ClientFactory(factory.django.DjangoModelFactory):
    """A brand, provisioned as the portal does it (``tenants.services.client_provision``).
    Brands are expensive (a schema each): share them in session or module fixtures."""

    class Meta:
        model = "tenants.Client"

    name = factory.Sequence(lambda n: f"Factory Brand {n}")
    slug = factory.Sequence(lambda n: f"factory-brand-{n}")
    time_zone = "Europe/London"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from tenants.services import client_provision

        return client_provision(**kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    """A staff account with the suite's password; an existing account of the same username
    is reused, as the session's shared accounts are."""

    class Meta:
        model = settings.AUTH_USER_MODEL

    username = factory.Sequence(lambda n: f"person-{n}@agency.test")
    email = factory.LazyAttribute(lambda o: o.username)
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        manager = cls._get_manager(model_class)
        user = manager.filter(username=kwargs["username"]).first()
        if user is None:
            user = manager.create_user(*args, **kwargs)
        return user


class MemberFactory(factory.django.DjangoModelFactory):
    """A member of a brand: an account (made unless ``user`` is given) with ``role`` there,
    set by ``tenants.services.membership_set``. Gives the ``Membership``; its ``.user`` is the
    account."""

    class Meta:
        model = "tenants.Membership"

    client = None  # required: the brand's Client
    role = "editor"
    user = factory.SubFactory(UserFactory)
    actor = None

    @classmethod
    def _create(cls, model_class, *args, client, user, role, actor=None, **kwargs):
        from tenants.services import SYSTEM, membership_set

        # Set-up is the platform acting unless a test names who grants the role.
        return membership_set(client=getattr(client, "client", client), user=user, role=role,
                              actor=actor or SYSTEM)


# --- in a brand: channels, images, campaigns and posts -------------------------------------


class ChannelFactory(factory.django.DjangoModelFactory):
    """A channel of the brand; ``secret=`` is stored encrypted, as the channel form does.
    ``ChannelFactory.build(...)`` gives one unsaved (for an adapter on its own)."""

    class Meta:
        model = "campaigns.Channel"

    name = factory.Sequence(lambda n: f"Channel {n}")
    network = "sandbox"
    handle = "@acme"

    @classmethod
    def _build(cls, model_class, *args, brand=None, secret=None, **kwargs):
        channel = model_class(*args, **kwargs)
        if secret is not None:
            channel.set_secret(secret)
        return channel

    @classmethod
    def _create(cls, model_class, *args, brand=None, **kwargs):
        with in_brand(brand):
            channel = cls._build(model_class, *args, **kwargs)
            channel.save()
            return channel


class ImageFactory(factory.django.DjangoModelFactory):
    """A real PNG of ``size`` pixels in the brand's image library, uploaded as ``filename``."""

    class Meta:
        model = "wagtailimages.Image"

    title = "Cup"
    size = (64, 48)
    filename = factory.LazyAttribute(lambda o: f"{o.title.lower()}.png")

    @classmethod
    def _create(cls, model_class, *args, brand=None, size, filename, **kwargs):
        kwargs.setdefault("file", ImageFile(io.BytesIO(png_bytes(size)), name=filename))
        with in_brand(brand):
            return super()._create(model_class, *args, **kwargs)


class PostFactory(factory.django.DjangoModelFactory):
    """A post of a campaign (unsaved: it is saved with its campaign's revision). ``image=``
    puts one image in its media, described by ``alt_text``."""

    class Meta:
        model = "campaigns.Post"
        strategy = factory.BUILD_STRATEGY

    copy = factory.Sequence(lambda n: f"Post {n}")
    channels = factory.LazyFunction(list)
    publish_at = None
    image = None
    alt_text = factory.LazyAttribute(lambda o: f"Alt for {o.copy}")

    @classmethod
    def _build(cls, model_class, *args, image=None, alt_text="", **kwargs):
        post = model_class(*args, **kwargs)
        if image is not None:
            post.media = StreamValue(post.media.stream_block, [
                ("image", {"image": image, "alt_text": alt_text})])
        return post

    _create = _build


class CampaignFactory(factory.django.DjangoModelFactory):
    """A campaign page under the brand's campaigns index, with ``posts`` (Posts, numbered in
    order) and ``tags``, saved as a revision by ``author`` (none with ``revision=False``).
    Drafts by default: ``live=False``, as the editor makes them."""

    class Meta:
        model = "campaigns.CampaignPage"

    title = factory.Sequence(lambda n: f"Campaign {n}")
    live = False
    posts = factory.LazyFunction(list)
    tags = ()
    author = None
    revision = True

    @classmethod
    def _create(cls, model_class, *args, brand=None, posts=(), tags=(), author=None,
                revision=True, **kwargs):
        from campaigns.models import CampaignIndexPage

        with in_brand(brand):
            page = CampaignIndexPage.objects.get().add_child(instance=model_class(**kwargs))
            if tags:
                page.tags.add(*tags)
            if posts:
                for number, post in enumerate(posts):
                    if post.sort_order is None:
                        post.sort_order = number
                page.posts = list(posts)
            if revision:
                page.save_revision(user=author)
            return page


def approve(page, *, brand=None, user=None):
    """Publish the campaign's latest revision and build its outbox, as the workflow's finish
    action does (approvals.workflows.publish_approved_revision); gives the new deliveries."""
    from campaigns.models import CampaignPage
    from campaigns.publishing.outbox import schedule_approved

    with in_brand(brand):
        page = CampaignPage.objects.get(pk=page.pk)
        revision = page.latest_revision
        revision.publish(skip_permission_checks=True)
        page = CampaignPage.objects.get(pk=page.pk)
        return schedule_approved(page, revision, user=user)


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A scheduled delivery: a campaign with one post on ``channel``, approved, so that
    ``schedule_approved`` made the delivery (the factory gives that one)."""

    class Meta:
        model = "publishing.Delivery"

    channel = None  # required
    copy = factory.Sequence(lambda n: f"Delivery {n}")
    publish_at = factory.LazyFunction(
        lambda: timezone.now().replace(microsecond=0) + dt.timedelta(hours=1))
    image = None
    title = factory.LazyAttribute(lambda o: o.copy[:20])
    tags = ("coffee",)

    @classmethod
    def _create(cls, model_class, *args, brand=None, channel, copy, publish_at, image, title,
                tags, **kwargs):
        page = CampaignFactory(brand=brand, title=title, tags=tags, posts=[
            PostFactory(copy=copy, channels=[channel], publish_at=publish_at, image=image)])
        (delivery,) = approve(page, brand=brand, **kwargs)
        return delivery


# --- the approval workflow, as its people move a campaign along ----------------------------


def submit(page, user):
    """``user`` submits the campaign's latest revision to the brand's approval workflow."""
    return page.get_workflow().start(page, user)


def pass_sensitivity_review(page, reviewer, action="approve", **options):
    """``reviewer`` acts on the campaign's sensitivity review task; ``approve`` ticks every
    item of the checklist."""
    from approvals.forms import CHECKLIST

    if action == "approve":
        options = {**dict.fromkeys(CHECKLIST, True), **options}
    state = page.current_workflow_task_state
    return state.task.specific.on_action(state, reviewer, action, **options)
