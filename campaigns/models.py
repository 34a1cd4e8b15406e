"""Campaigns, their posts, and the brand's channels. Each brand's site is rooted at its index."""

from __future__ import annotations

import copy

from django import forms
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from taggit.models import TaggedItemBase
from wagtail import blocks
from wagtail.admin.panels import (
    CommentPanel,
    FieldPanel,
    FieldRowPanel,
    MultiFieldPanel,
    ObjectList,
    TitleFieldPanel,
)
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.fields import RichTextField, StreamField
from wagtail.images import blocks as image_blocks
from wagtail.models import Orderable, Page

from agency import crypto, outbound
from campaigns import networks, slots, utm
from campaigns.editor import PostsPanel
from campaigns.forms import CampaignPageForm, ChannelForm, media_values


class CampaignIndexPage(Page):
    """The root of a brand's site: every campaign lives below it."""

    intro = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["campaigns.CampaignPage"]
    parent_page_types = ["wagtailcore.Page"]
    max_count = 1
    # Nothing shows the index on the web (brand hosts serve no pages), so it has no template and
    # nothing to preview: "view draft" is refused instead of failing to render (500).
    preview_modes = []

    class Meta:
        verbose_name = "campaigns index"


class Channel(models.Model):
    """One of the brand's social accounts. Its secret is encrypted and never shown back."""

    name = models.CharField(max_length=80, help_text="How your team calls it, e.g. “Acme on "
                                                     "Mastodon”.")
    network = models.CharField(max_length=32, choices=networks.network_choices)
    handle = models.CharField(max_length=120, help_text="The account as people see it, e.g. "
                                                        "@acme@mastodon.social.")
    endpoint = models.URLField(blank=True, help_text="Server or webhook address, where the "
                                                     "network needs one.")
    secret_encrypted = models.TextField(blank=True, editable=False)
    secret_hint = models.CharField(max_length=8, blank=True, editable=False)
    active = models.BooleanField(default=True)
    posting_slots = models.TextField(
        blank=True, help_text="When this channel usually posts, in the brand's time zone: one "
                              "rule a line, e.g. “Mon-Fri 09:00, 17:30” or “Sat 11:00”. The "
                              "editor's “Next free slot” picks the first one no other post "
                              "takes.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Connected accounts (OAuth): the account or page the network knows, and the token's life.
    # The access token is the channel's secret (``get_secret``); the refresh token, where the
    # network issues one, is kept apart, encrypted with the same field keys.
    account_id = models.CharField(max_length=255, blank=True, editable=False,
                                  help_text="The network's id of the account, page or "
                                            "organization posts go to.")
    refresh_encrypted = models.TextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    scopes = models.CharField(max_length=500, blank=True, editable=False)
    connected_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when the network stops taking the token: posts to the channel wait (at risk) until
    # someone reconnects it; nothing is dropped.
    needs_reconnect_since = models.DateTimeField(null=True, blank=True, editable=False)
    reconnect_reason = models.CharField(max_length=300, blank=True, editable=False)
    # What a network needs beyond the token, chosen at connection or per channel (for example
    # the Facebook Page an Instagram account belongs to, a board, a privacy level).
    settings = models.JSONField(default=dict, blank=True, editable=False)
    # The token's expiry that the account managers were warned about (once per token).
    expiry_warned_for = models.DateTimeField(null=True, blank=True, editable=False)

    base_form_class = ChannelForm

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_network_display()})"

    @property
    def rules(self) -> networks.Network:
        return networks.get(self.network)

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret) if secret else ""
        self.secret_hint = crypto.hint(secret) if secret else ""

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    # What a token's renewal changes on the channel.
    TOKEN_FIELDS = ("secret_encrypted", "secret_hint", "refresh_encrypted", "token_expires_at",
                    "scopes")

    def store_tokens(self, tokens) -> None:
        """Keep new tokens (``connections.Tokens``) on the channel, encrypted, with their expiry
        and scopes; a network that does not repeat the refresh token keeps the one it had."""
        self.set_secret(tokens.access_token)
        if tokens.refresh_token:
            self.set_refresh_token(tokens.refresh_token)
        self.token_expires_at = tokens.expires_at
        if tokens.scopes:
            self.scopes = tokens.scopes[:500]

    def set_refresh_token(self, token: str) -> None:
        self.refresh_encrypted = crypto.encrypt(token) if token else ""

    def get_refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_encrypted) if self.refresh_encrypted else ""

    @property
    def needs_reconnect(self) -> bool:
        return self.needs_reconnect_since is not None

    @property
    def parsed_slots(self) -> list[slots.Slot]:
        try:
            return slots.parse(self.posting_slots)
        except ValidationError:
            return []  # saved before a check existed: treated as none

    def clean(self):
        try:
            slots.parse(self.posting_slots)
        except ValidationError as exc:
            raise ValidationError({"posting_slots": exc.messages}) from None
        if self.network in networks.NETWORKS and self.rules.requires_endpoint and not self.endpoint:
            raise ValidationError({"endpoint": f"{self.rules.label} needs the server or webhook "
                                               "address, e.g. https://mastodon.social."})
        if self.endpoint:
            # The platform sends there: https on a public address only (in production), as
            # the outbound guard has it; each send checks the address again.
            try:
                outbound.split(self.endpoint)
                if not outbound.private_allowed():
                    outbound.check(self.endpoint)
            except outbound.Refused as exc:
                raise ValidationError({"endpoint": exc.message}) from None


class OAuthApp(models.Model):
    """An OAuth app the platform registered on a person's own server (Mastodon has no central
    one), for one callback address of the brand; reused by later connections to that server."""

    network = models.CharField(max_length=32)
    server = models.URLField()
    redirect_uri = models.URLField(max_length=500)
    client_id = models.CharField(max_length=255)
    secret_encrypted = models.TextField(blank=True)
    scopes = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["network", "server", "redirect_uri"],
                                               name="one_oauth_app_per_server_and_callback")]

    def __str__(self) -> str:
        return f"{self.network} app on {self.server}"

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret) if secret else ""

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""


class CampaignTag(TaggedItemBase):
    content_object = ParentalKey("campaigns.CampaignPage", related_name="tagged_items",
                                 on_delete=models.CASCADE)


# Renditions every post screen shows: the chooser's thumbnail and the preview card's image.
THUMBNAIL_SPECS = ("max-165x165", "fill-600x400")


class ImageChooserBlock(image_blocks.ImageChooserBlock):
    """Wagtail's image chooser block, fetching its images with their thumbnails in one go."""

    def bulk_to_python(self, values):
        from wagtail.images import get_image_model

        found = get_image_model().objects.filter(pk__in=[v for v in values if v is not None]) \
            .prefetch_renditions(*THUMBNAIL_SPECS).in_bulk()
        result, seen = [], set()
        for pk in values:
            image = found.get(pk)
            result.append(copy.copy(image) if image is not None and pk in seen else image)
            seen.add(pk)
        return result


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    alt_text = blocks.CharBlock(
        max_length=2000,
        help_text="Describe what the image shows for people who use screen readers. Skip "
                  "“image of”.")

    class Meta:
        icon = "image"
        label = "Image"


class VideoBlock(blocks.StructBlock):
    video = DocumentChooserBlock(help_text="An MP4, M4V, MOV or WebM file from the document "
                                           "library.")
    description = blocks.CharBlock(max_length=2000, help_text="What happens in the video, for "
                                                              "people who cannot watch it.")

    def clean(self, value):
        value = super().clean(value)
        video = value.get("video")
        if video is not None and video.file_extension.lower() not in networks.VIDEO_TYPES:
            raise StructBlockValidationError(block_errors={"video": ValidationError(
                f"“{video.title}” is a .{video.file_extension or '?'} file, not a video: choose "
                f"an {', '.join(networks.VIDEO_TYPES).upper()} file.")})
        return value

    class Meta:
        icon = "media"
        label = "Video"


class CampaignPage(Page):
    """One campaign: the brief, the story, and its posts (one revision holds them all)."""

    goal = models.TextField(blank=True, help_text="What the campaign should achieve.")
    audience = models.TextField(blank=True, help_text="Who it speaks to.")
    key_message = models.TextField(blank=True, help_text="The one thing people should remember.")
    story = RichTextField(blank=True, features=["bold", "italic", "link", "ol", "ul", "h3"],
                          help_text="The narrative the campaign tells.")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    tags = ClusterTaggableManager(through=CampaignTag, blank=True,
                                  help_text="Topics, including social issues the campaign touches.")

    content_panels = [
        TitleFieldPanel("title", heading="Title", placeholder="Campaign title*",
                        help_text="The campaign’s name, as your team and the client see it."),
        MultiFieldPanel([FieldPanel("goal"), FieldPanel("audience"), FieldPanel("key_message")],
                        heading="Brief"),
        FieldPanel("story"),
        FieldRowPanel([FieldPanel("starts_on"), FieldPanel("ends_on")], heading="Dates"),
        FieldPanel("tags"),
        PostsPanel("posts", heading="Posts", label="Post"),
    ]
    # One form, in the agency's words: no Promote tab (slug, SEO title, search description; the
    # slug is made from the title, unique among campaigns, when the campaign is first saved) and
    # no Settings tab (go-live dates: each post has its own time). Comments on fields stay.
    promote_panels: list = []
    settings_panels: list = []
    edit_handler = ObjectList([*content_panels, CommentPanel()], base_form_class=CampaignPageForm)
    parent_page_types = ["campaigns.CampaignIndexPage"]
    subpage_types: list[str] = []
    base_form_class = CampaignPageForm

    class Meta:
        verbose_name = "campaign"

    @classmethod
    def from_serializable_data(cls, data, check_fks=True, strict_fks=False):
        """Rebuild a revision with a fixed number of queries, however many posts it holds.

        modelcluster would read each post's channels in a query of their own, and check each
        post's parent (this very page) in another: two queries per post. Here all channels come
        in one query and the parent check is skipped. A deleted channel drops out, as before.
        The images of every post's media come in one query too (with their thumbnails)."""
        data = dict(data)
        posts_data = data.pop("posts", None)
        page = super().from_serializable_data(data, check_fks, strict_fks)
        if page is None or posts_data is None:
            return page
        found = Channel.objects.in_bulk(
            {pk for item in posts_data for pk in (item.get("channels") or [])})
        posts = []
        for item in posts_data:
            item = dict(item)
            ids = item.pop("channels", None) or []
            post = Post.from_serializable_data(item, check_fks=False)
            post.channels = [found[pk] for pk in ids if pk in found]
            posts.append(post)
        for post, media in zip(posts, media_values([post.media.raw_data for post in posts],
                                                     Post._meta.get_field("media").stream_block),
                               strict=True):
            post.media = media
        page.posts = posts
        return page

    # --- Previews: each post as each network shows it (Wagtail preview modes) ---------------

    @property
    def preview_modes(self):
        return [("", "All posts")] + [(name, f"As on {network.label}")
                                      for name, network in networks.NETWORKS.items()]

    @property
    def default_preview_mode(self):
        return ""

    def preview_cards(self, network_name: str = "") -> list[dict]:
        """One card per post and channel the post goes to (only ``network_name``'s, if given)."""
        cards = []
        for number, post in enumerate(self.posts.all(), start=1):
            draft = post.draft()
            channels = [c for c in post.channels.all()
                        if not network_name or c.network == network_name]
            images = [block.value for block in post.media if block.block_type == "image"]
            videos = [block.value for block in post.media if block.block_type == "video"]
            for channel in channels:
                cards.append({
                    "number": number, "post": post, "channel": channel,
                    "network": channel.rules, "text": draft.text, "images": images,
                    "videos": videos, "problems": channel.rules.problems(draft, channel),
                    "length": channel.rules.length(draft.text),
                    "options": channel.rules.options_of(draft),  # the network's, defaults in
                })
        return cards

    def serve_preview(self, request, mode_name):
        from django.template.response import TemplateResponse

        network = networks.NETWORKS.get(mode_name)
        return TemplateResponse(request, "campaigns/preview.html", {
            "page": self, "network": network, "cards": self.preview_cards(mode_name),
            "unrouted": [n for n, post in enumerate(self.posts.all(), start=1)
                         if not post.channels.all()],
        })

    def save_revision(self, *args, **kwargs):
        """Save the revision and, in the same transaction, what lists show of it."""
        with transaction.atomic(savepoint=False):
            revision = super().save_revision(*args, **kwargs)
            CampaignSummary.record(self)
        return revision

    def clean(self):
        super().clean()
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "The campaign ends before it starts: pick an end "
                                              "date on or after the start date."})


class Post(Orderable, ClusterableModel):
    """One post of a campaign, going to one or more of the brand's channels at one time."""

    campaign = ParentalKey(CampaignPage, related_name="posts", on_delete=models.CASCADE)
    copy = models.TextField(blank=True, help_text="The text of the post.")
    media = StreamField([("image", ImageBlock()), ("video", VideoBlock())], blank=True)
    link = models.URLField(blank=True, help_text="Added after the copy unless the copy has it.")
    first_comment = models.TextField(blank=True, help_text="Posted as the first reply, where "
                                                            "the network allows it.")
    channels = ParentalManyToManyField(Channel, blank=True, related_name="posts")
    publish_at = models.DateTimeField(null=True, blank=True, help_text="In the brand's time zone.")
    # What a network asks for beyond text and media, per network: {"pinterest": {"board": "…"}}
    # (``networks.Option``; the editor shows a network's options once a channel of it is chosen).
    network_options = models.JSONField(default=dict, blank=True)

    panels = [
        FieldPanel("copy"),
        FieldPanel("media"),
        FieldRowPanel([FieldPanel("link"), FieldPanel("publish_at")]),
        FieldPanel("first_comment"),
        FieldPanel("channels", widget=forms.CheckboxSelectMultiple),
        FieldPanel("network_options", heading="Network options"),
    ]

    class Meta(Orderable.Meta):
        verbose_name = "post"

    def __str__(self) -> str:
        return (self.copy[:40] + "…") if len(self.copy) > 40 else (self.copy or "Post")

    def draft(self) -> networks.PostDraft:
        return networks.PostDraft.from_media(copy=self.copy, link=self.link, media=self.media,
                                             options=self.network_options)


class CampaignSummary(models.Model):
    """What lists show of a campaign as its latest revision has it (the draft, which the page's
    own columns do not hold until it is published). Written with every revision, as Wagtail keeps
    ``draft_title`` on the page, so a list of fifty campaigns reads columns instead of taking
    fifty revisions' JSON, posts and all, apart on every request. The title is ``draft_title``."""

    campaign = models.OneToOneField(CampaignPage, primary_key=True, on_delete=models.CASCADE,
                                    related_name="summary")
    goal = models.TextField(blank=True)
    audience = models.TextField(blank=True)
    key_message = models.TextField(blank=True)
    story = models.TextField(blank=True)
    starts_on = models.DateField(null=True)
    ends_on = models.DateField(null=True)
    tags = ArrayField(models.CharField(max_length=100), default=list)
    post_count = models.PositiveIntegerField(default=0)
    first_post_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"summary of campaign {self.campaign_id}"

    @classmethod
    def record(cls, page: CampaignPage) -> None:
        """Write the summary of ``page`` as it stands in memory (the revision just saved)."""
        posts = list(page.posts.all())
        times = [post.publish_at for post in posts if post.publish_at]
        summary = cls(
            campaign_id=page.pk, goal=page.goal, audience=page.audience,
            key_message=page.key_message, story=page.story, starts_on=page.starts_on,
            ends_on=page.ends_on, tags=sorted(tag.name for tag in page.tags.all()),
            post_count=len(posts), first_post_at=min(times, default=None))
        cls.objects.bulk_create([summary], update_conflicts=True, unique_fields=["campaign"],
                                update_fields=[f.name for f in cls._meta.concrete_fields
                                               if not f.primary_key])  # one INSERT ... ON CONFLICT


class CalendarFeed(models.Model):
    """A secret address for the brand's calendar in iCalendar form (subscribed to from Google
    Calendar, Outlook, Apple Calendar). Only a hash of its token is kept; it can be revoked."""

    label = models.CharField(max_length=80)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by_id = models.IntegerField(null=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, editable=False)
    revoked_at = models.DateTimeField(null=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label


class SandboxPost(models.Model):
    """A post published to a sandbox channel: the brand's own feed, for demos and trials."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sandbox_posts")
    idempotency_key = models.CharField(max_length=64, unique=True)
    text = models.TextField(blank=True)
    images = models.JSONField(default=list, blank=True)  # [{"id", "alt"}]
    first_comment = models.TextField(blank=True)
    campaign_title = models.CharField(max_length=255, blank=True)
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.text[:40]


@register_setting(icon="date")
class PublishingSettings(BaseGenericSetting):
    """How the brand's approved posts may be changed after approval."""

    staff_may_move_approved_posts = models.BooleanField(
        default=False,
        help_text="Let staff move an approved post that has not gone out to another time without "
                  "asking the client again. Off: a new time needs the client's approval.")
    utm_parameters = models.TextField(
        blank=True, help_text="Added to every link of a post when it is scheduled for "
                              "publishing (the draft is not changed; parameters a link already "
                              "has are kept). One a line, e.g. “utm_source={network}”, "
                              "“utm_medium=social”, “utm_campaign={campaign}”. {network}: the "
                              "network (mastodon), {channel}: the channel's name, {campaign}: "
                              "the campaign's short name (slug).")

    def clean(self):
        try:
            utm.parse(self.utm_parameters)
        except ValidationError as exc:
            raise ValidationError({"utm_parameters": exc.messages}) from None

    class Meta:
        verbose_name = "publishing"
