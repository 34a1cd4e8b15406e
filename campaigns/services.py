"""Writes to campaigns. Admin views and the API call these."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.html import strip_tags

from campaigns.models import CalendarFeed, CampaignIndexPage, CampaignPage, Channel, Post
from campaigns.networks import VIDEO_TYPES
from campaigns.status import CampaignStatus, status_of
from tenants.models import current_zone


class Locked(ValidationError):
    """The campaign is locked (by a person, or by the review step it waits in): the message
    says by what, in plain text."""


MOVE_IN_REVIEW = ("This campaign is in review: moving a post would change what the reviewers "
                  "see. Withdraw it from review first.")


def post_move(*, campaign: CampaignPage, index: int, day: dt.date, user) -> CampaignPage:
    """Move post ``index`` of ``campaign`` to ``day``, keeping its time of day in the brand's
    zone, as a new revision. Only while the campaign is open for edits (a draft, or sent back
    for changes): in review or approved, moving it would change what reviewers and the client
    are looking at or agreed to."""
    if not campaign.permissions_for_user(user).can_edit():
        raise PermissionDenied("You cannot edit this campaign.")
    status = status_of(campaign)
    if status == CampaignStatus.IN_REVIEW:
        raise ValidationError(MOVE_IN_REVIEW)
    if status == CampaignStatus.APPROVED:
        raise ValidationError("This campaign is approved: its posts keep the times the client "
                              "approved. Edit the campaign to start a new approval.")
    draft = campaign.get_latest_revision_as_object()
    posts = list(draft.posts.all())
    if not 0 <= index < len(posts) or posts[index].publish_at is None:
        raise ValidationError("That post is no longer in the campaign, or has no time. Reload "
                              "the calendar.")
    post = posts[index]
    zone = current_zone()
    local = post.publish_at.astimezone(zone)
    post.publish_at = dt.datetime.combine(day, local.time(), tzinfo=zone)
    draft.posts = posts
    draft.save_revision(user=user, log_action=True)
    return draft


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_issue(*, label: str, user) -> tuple[CalendarFeed, str]:
    """A new feed and its token (shown once; only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(label=label.strip() or "Calendar feed",
                                       token_hash=_token_hash(token),
                                       created_by_id=getattr(user, "pk", None))
    return feed, token


def calendar_feed_revoke(*, feed: CalendarFeed) -> None:
    if feed.revoked_at is None:
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])


def calendar_feed_find(token: str) -> CalendarFeed | None:
    """The live feed for ``token``, noting its use; None for an unknown or revoked token."""
    feed = CalendarFeed.objects.filter(token_hash=_token_hash(token), revoked_at__isnull=True
                                       ).first()
    if feed is not None:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=timezone.now())
    return feed


def campaign_duplicate(*, campaign: CampaignPage, user) -> CampaignPage:
    """A new draft campaign with the brief, story, tags and posts of ``campaign``'s latest
    revision, and without its approvals, schedule (post times) or history."""
    from wagtail.models import Page

    if not campaign.get_parent().permissions_for_user(user).can_add_subpage():
        raise PermissionDenied("You cannot add campaigns here.")
    source = campaign.get_latest_revision_as_object()
    title = f"{source.title} (copy)"
    slug = base = f"{source.slug}-copy"
    siblings = Page.objects.child_of(campaign.get_parent())
    number = 2
    while siblings.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    copy = CampaignPage(
        title=title, slug=slug, live=False, owner=user, goal=source.goal,
        audience=source.audience, key_message=source.key_message, story=source.story,
        starts_on=None, ends_on=None,
    )
    copy.posts = [Post(copy=post.copy, media=post.media.raw_data, link=post.link,
                       first_comment=post.first_comment, channels=list(post.channels.all()),
                       network_options=post.network_options, publish_at=None)
                  for post in source.posts.all()]
    campaign.get_parent().add_child(instance=copy)
    copy.tags.set(source.tags.all())
    copy.save_revision(user=user, log_action=True)
    return copy


# --- Drafting through the API: the same checks as the campaign editor -----------------------

CAMPAIGN_FIELDS = ("title", "goal", "audience", "key_message", "story", "starts_on", "ends_on")
POST_FIELDS = ("copy", "link", "first_comment", "publish_at")


def _posts_from(data: list[dict], *, errors: dict) -> list[Post]:
    """Posts built from API input (``channels``: ids, ``media``: ``[{"image", "alt_text"}]`` or
    ``[{"video", "description"}]``), checked as the editor checks them: the brand's active
    channels, its images and videos, each network's rules. Problems go into ``errors`` under
    ``posts[i].field``."""
    from wagtail.blocks import StreamValue
    from wagtail.documents import get_document_model
    from wagtail.images import get_image_model

    channels = Channel.objects.in_bulk({c for item in data for c in item.get("channels", [])})
    chosen_media = [m for item in data for m in item.get("media", [])]
    images = get_image_model().objects.in_bulk({m["image"] for m in chosen_media if "image" in m})
    videos = get_document_model().objects.in_bulk(
        {m["video"] for m in chosen_media if "video" in m})
    posts = []
    for index, item in enumerate(data):
        where = f"posts[{index}]"
        chosen = []
        for channel_id in item.get("channels", []):
            channel = channels.get(channel_id)
            if channel is None or not channel.active:
                errors.setdefault(f"{where}.channels", []).append(
                    f"Channel {channel_id} is not one of this brand's active channels; list "
                    "them at /api/v1/channels/.")
            else:
                chosen.append(channel)
        media = []
        for number, block in enumerate(item.get("media", [])):
            if "video" in block:
                video = videos.get(block["video"])
                if video is None or video.file_extension.lower() not in VIDEO_TYPES:
                    errors.setdefault(f"{where}.media[{number}].video", []).append(
                        f"Video {block['video']} is not in this brand's video library; upload "
                        "it at /api/v1/videos/ first.")
                    continue
                media.append(("video", {"video": video,
                                        "description": block.get("description", "")}))
                continue
            image = images.get(block["image"])
            if image is None:
                errors.setdefault(f"{where}.media[{number}].image", []).append(
                    f"Image {block['image']} is not in this brand's media library; upload it "
                    "at /api/v1/media/ first.")
                continue
            media.append(("image", {"image": image, "alt_text": block.get("alt_text", "")}))
        post = Post(**{name: item.get(name) or ("" if name != "publish_at" else None)
                       for name in POST_FIELDS}, sort_order=index,
                    network_options=item.get("network_options") or {})
        post.channels = chosen
        post.media = StreamValue(Post._meta.get_field("media").stream_block, media)
        draft = post.draft()
        for channel in chosen:
            for problem in channel.rules.problems(draft, channel):
                errors.setdefault(f"{where}.copy", []).append(f"On {channel.name}: {problem}")
        posts.append(post)
    return posts


def _apply(page: CampaignPage, data: dict, errors: dict) -> None:
    from wagtail.admin.rich_text.converters.editor_html import EditorHTMLConverter

    for name in CAMPAIGN_FIELDS:
        if name in data:
            value = data[name]
            if name == "story" and value:
                # Only the markup the editor allows survives (no scripts, no foreign attributes).
                features = CampaignPage._meta.get_field("story").features
                value = EditorHTMLConverter(features=features).to_database_format(value)
            setattr(page, name, value if value is not None else
                    (None if name in ("starts_on", "ends_on") else ""))
    if "tags" in data:
        page.tags.set(data["tags"])  # in memory (modelcluster): saved with the page
    if "posts" in data:
        page.posts = _posts_from(data["posts"], errors=errors)
    if page.pk:  # a new page is checked by add_child (Wagtail's save runs full_clean)
        _clean(page, errors)


def _clean(page: CampaignPage, errors: dict) -> None:
    try:
        page.full_clean()
    except ValidationError as exc:
        _merge(errors, exc)


def _merge(errors: dict, exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        errors.setdefault(field if field != "__all__" else "non_field_errors", []).extend(
            messages)


def campaign_draft_create(*, data: dict, user) -> CampaignPage:
    """A new draft campaign below the brand's campaigns index, with its first revision, as the
    admin's "Save draft" makes it. Raises ValidationError (per field) and saves nothing when
    anything is wrong."""
    from django.db import transaction
    from wagtail.log_actions import log

    index = CampaignIndexPage.objects.get()
    if not index.permissions_for_user(user).can_add_subpage():
        raise PermissionDenied("Your role cannot create campaigns in this brand.")
    from django.utils.text import slugify
    from wagtail.coreutils import find_available_slug

    page = CampaignPage(owner=user, live=False, has_unpublished_changes=True)
    errors: dict = {}
    _apply(page, data, errors)
    page.slug = find_available_slug(index, slugify(page.title or "")[:200] or "campaign")
    with transaction.atomic():
        try:
            index.add_child(instance=page)
        except ValidationError as exc:
            _merge(errors, exc)
        if errors:
            transaction.set_rollback(True)
            raise ValidationError(errors)
        revision = page.save_revision(user=user, log_action=False)
        log(instance=page, action="wagtail.create", user=user, revision=revision,
            content_changed=True)
    return page


def campaign_draft_update(*, campaign: CampaignPage, data: dict, user) -> CampaignPage:
    """A new revision of ``campaign`` with ``data`` applied to its latest one (``posts``, when
    given, replaces every post). The same rules as the editor: the page must be editable by
    ``user`` and not locked (by a person or by a review step); an approved campaign edited
    needs approving again (Wagtail's reapproval on edit)."""
    from django.db import transaction

    perms = campaign.permissions_for_user(user)
    if not perms.can_edit():
        raise PermissionDenied("Your role cannot edit this campaign.")
    lock = campaign.get_lock()
    if lock and lock.for_user(user):
        # Wagtail words its lock message for its own pages, in HTML: plain text here.
        message = html.unescape(strip_tags(str(lock.get_message(user))))
        raise Locked(message or "This campaign is locked.")
    page = campaign.get_latest_revision_as_object()
    errors: dict = {}
    _apply(page, data, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if not page.live:
            page.save()
        page.save_revision(user=user, log_action=True,
                           previous_revision=campaign.get_latest_revision())
    return page


def campaign_submit(*, campaign: CampaignPage, user) -> None:
    """Submit the latest revision for review, as the editor's "Submit for review" does: a
    campaign sent back for changes resumes its workflow, any other starts it."""
    perms = campaign.permissions_for_user(user)
    status = status_of(campaign)
    if status == CampaignStatus.CHANGES_REQUESTED:
        if not perms.can_edit():
            raise PermissionDenied("Your role cannot resubmit this campaign.")
        campaign.current_workflow_state.resume(user)
        return
    if not perms.can_edit():
        raise PermissionDenied("Your role cannot submit this campaign.")
    if status == CampaignStatus.IN_REVIEW:
        raise ValidationError("This campaign is already in review.")
    if status == CampaignStatus.APPROVED:
        raise ValidationError("This campaign is approved and unchanged since: there is nothing "
                              "new to review.")
    if not perms.can_submit_for_moderation():
        raise ValidationError("This campaign cannot be submitted now (it is locked, or the "
                              "brand has no approval workflow).")
    campaign.get_workflow().start(campaign, user)


def image_upload(*, file, title: str, alt_text: str, user):
    """An image added to the brand's library through Wagtail's own upload form (file type,
    size and pixel limits, as in the admin), into the root collection, if ``user`` may add
    images there."""
    from wagtail.images import get_image_model
    from wagtail.images.forms import get_image_form
    from wagtail.models import Collection
    from wagtail.permissions import policy_registry

    Image = get_image_model()
    permission_policy = policy_registry.get_by_type(Image)
    collections = permission_policy.collections_user_has_permission_for(user, "add")
    root = Collection.get_first_root_node()
    if not collections.filter(pk=root.pk).exists():
        raise PermissionDenied("Your role cannot add images to this brand's library.")
    form_class = get_image_form(Image)
    form = form_class(
        data={"title": title or file.name.rsplit(".", 1)[0][:255] or "Image",
              "description": alt_text, "collection": root.pk, "tags": ""},
        files={"file": file}, user=user, instance=Image(uploaded_by_user=user))
    if not form.is_valid():
        raise ValidationError({("alt_text" if name == "description" else name): messages
                               for name, messages in form.errors.items()})
    return form.save()


# ISO files that are not videos: HEIF/AVIF images and M4A/M4B audio share the container.
NOT_VIDEO_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
                    b"avif", b"avis", b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}


def _video_kind(head: bytes) -> str | None:
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return None if head[8:12] in NOT_VIDEO_BRANDS else "iso"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "ebml"
    return None


def video_upload(*, file, title: str, user):
    """A video added to the brand's document library (Wagtail documents, where the editor's
    video blocks choose from), into the root collection, if ``user`` may add documents there.
    Only MP4, M4V, MOV and WebM files whose content is what their name says, up to
    ``VIDEO_MAX_MB``."""
    from django.conf import settings
    from wagtail.documents import get_document_model
    from wagtail.documents.forms import get_document_form
    from wagtail.models import Collection
    from wagtail.permissions import policy_registry

    Document = get_document_model()
    collections = policy_registry.get_by_type(Document).collections_user_has_permission_for(
        user, "add")
    root = Collection.get_first_root_node()
    if not collections.filter(pk=root.pk).exists():
        raise PermissionDenied("Your role cannot add videos to this brand's library.")
    name = file.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not extension:
        # Named without an extension: named for what it holds, then checked as any video.
        file.seek(0)
        kind = _video_kind(file.read(12))
        extension = {"iso": "mp4", "ebml": "webm"}.get(kind, "")
        if extension:
            name = file.name = f"{name or 'video'}.{extension}"
    if extension not in VIDEO_TYPES:
        raise ValidationError({"file": f"Upload an MP4, M4V, MOV or WebM video; “{name}” is "
                                       "not one of those."})
    if file.size > settings.VIDEO_MAX_MB * 1024 * 1024:
        raise ValidationError({"file": f"The video is {file.size / 1048576:.0f} MB; the limit "
                                       f"is {settings.VIDEO_MAX_MB} MB. Shorten or compress it."})
    file.seek(0)
    head = file.read(12)
    file.seek(0)
    if _video_kind(head) != VIDEO_TYPES[extension]:
        raise ValidationError({"file": f"“{name}” is not a .{extension} video inside: export it "
                                       "again as MP4 and upload that."})
    form = get_document_form(Document)(
        data={"title": title or name.rsplit(".", 1)[0][:255] or "Video",
              "collection": root.pk, "tags": ""},
        files={"file": file}, user=user, instance=Document(uploaded_by_user=user))
    if not form.is_valid():
        raise ValidationError(dict(form.errors.items()))
    return form.save()
