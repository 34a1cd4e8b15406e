"""Each network's rules for a post, as the network itself counts them.

A network is registered here by name; the list is open (``register``). ``check_post`` returns
plain-language problems naming the network and what to change, so editors can fix a post before
it is submitted, and the publishing engine never meets a post the network will refuse.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import regex

from campaigns import video_info

URL_RE = regex.compile(r"https?://[^\s<>\"]+", regex.IGNORECASE)
MASTODON_MENTION_RE = regex.compile(r"(?<![\w@])@(\w+)@[\w.-]+\w", regex.UNICODE)


# Videos a post can carry, by extension, and what their first bytes must be: an ISO base media
# file ("ftyp" at offset 4: MP4, M4V, QuickTime) or a Matroska/EBML header (WebM).
VIDEO_TYPES = {"mp4": "iso", "m4v": "iso", "mov": "iso", "webm": "ebml"}


@dataclass(frozen=True)
class PostDraft:
    """What the rules look at: the text that goes out, and the media attached."""

    copy: str
    link: str = ""
    images: list[str] = field(default_factory=list)  # alt texts, one per image
    videos: int = 0
    video_files: list[str] = field(default_factory=list)  # file names, one per chosen video
    video_sizes: list[int | None] = field(default_factory=list)  # bytes, one per chosen video
    # (width, height) in pixels, one per image, where known
    image_sizes: list[tuple[int, int] | None] = field(default_factory=list)
    video_seconds: list[float | None] = field(default_factory=list)  # durations, where known
    image_files: list[str] = field(default_factory=list)  # file names, one per image, if known
    # The post's choices for each network that asks for some ({network: {option: value}}, the
    # post's ``network_options``), e.g. {"pinterest": {"board": "123"}}.
    options: dict = field(default_factory=dict)

    @classmethod
    def from_media(cls, *, copy: str, link: str, media, options=None) -> PostDraft:
        """From a post's fields, ``media`` being its StreamField value (image and video blocks)."""
        media = media or []
        return cls(copy=copy, link=link, options=options if isinstance(options, dict) else {},
                   images=[b.value["alt_text"] for b in media if b.block_type == "image"],
                   videos=sum(1 for b in media if b.block_type == "video"),
                   video_files=[b.value["video"].file.name for b in media
                                if b.block_type == "video" and b.value.get("video")],
                   video_sizes=[b.value["video"].file_size for b in media
                                if b.block_type == "video" and b.value.get("video")],
                   image_sizes=[_size(b.value.get("image")) for b in media
                                if b.block_type == "image"],
                   image_files=[b.value["image"].file.name for b in media
                                if b.block_type == "image" and b.value.get("image")],
                   video_seconds=[video_info.seconds(b.value["video"]) for b in media
                                  if b.block_type == "video" and b.value.get("video")])

    @property
    def text(self) -> str:
        """The text as sent: the copy, then the link on its own line unless already in it."""
        if self.link and self.link not in self.copy:
            return f"{self.copy.rstrip()}\n\n{self.link}" if self.copy.strip() else self.link
        return self.copy


def _size(image) -> tuple[int, int] | None:
    width, height = getattr(image, "width", None), getattr(image, "height", None)
    return (width, height) if width and height else None


HASHTAG_RE = regex.compile(r"(?<![\w#&])#\w+", regex.UNICODE)


def graphemes(text: str) -> int:
    """User-perceived characters: 👩🏽‍💻 and 🇬🇧 count as one each."""
    return len(regex.findall(r"\X", text))


def code_points(text: str) -> int:
    return len(text)


# X's weighted length (twitter-text 3, its v3 configuration): text in NFC; code points in these
# ranges (Latin, Greek, Cyrillic, Hebrew, Arabic, Indic scripts, general punctuation...) weigh 1,
# every other one 2 (CJK and other wide scripts); an emoji (a grapheme holding a pictograph, a
# flag's regional indicators or a keycap) weighs 2 whatever its code points; every http(s) URL
# weighs 23 (t.co's length). Limit 280.
X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
X_EMOJI_RE = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")


def x_weighted(text: str) -> int:
    text = URL_RE.sub("x" * 23, unicodedata.normalize("NFC", text))
    total = 0
    for grapheme in regex.findall(r"\X", text):
        if X_EMOJI_RE.search(grapheme):
            total += 2
        else:
            total += sum(1 if any(low <= ord(c) <= high for low, high in X_LIGHT_RANGES) else 2
                         for c in grapheme)
    return total


@dataclass(frozen=True)
class Option:
    """One choice a network asks for beyond the text and media: per post (``post_options``, in
    the editor) or per channel (``channel_options``, in the channel's form, kept in
    ``Channel.settings``). ``kind``: "text", "textarea", "choice", "bool", "datetime" or "url".
    A choice's values are ``choices``, or the list a connection stored in the channel's settings
    under ``channel_choices`` (``[{"id": ..., "name": ...}]``, e.g. a Pinterest account's
    boards)."""

    name: str
    label: str
    kind: str = "text"
    choices: tuple[tuple[str, str], ...] = ()
    channel_choices: str = ""
    required: bool = False
    max_length: int | None = None
    help: str = ""
    default: object = None

    def choices_for(self, channels=()) -> list[tuple[str, str]]:
        """The values offered: fixed, or those of the given channels' settings (deduplicated)."""
        if not self.channel_choices:
            return list(self.choices)
        found: dict[str, str] = {}
        for channel in channels:
            for item in (getattr(channel, "settings", None) or {}).get(self.channel_choices) or []:
                if isinstance(item, dict) and item.get("id") not in (None, ""):
                    found.setdefault(str(item["id"]), str(item.get("name") or item["id"]))
        return list(found.items())

    def problem(self, value, *, network_label: str, channels=()) -> str:
        """What is wrong with ``value`` for this option, in words, or ""."""
        empty = value in (None, "", False)
        if empty:
            return (f"{network_label} needs “{self.label}”: "
                    f"{'choose one' if self.kind == 'choice' else 'fill it in'}."
                    if self.required else "")
        if self.kind == "bool":
            return "" if isinstance(value, bool) else f"“{self.label}” must be yes or no."
        if not isinstance(value, str):
            return f"“{self.label}” for {network_label} could not be read: set it again."
        if self.max_length and graphemes(value) > self.max_length:
            return (f"{network_label} allows {self.max_length} characters in “{self.label}”; "
                    f"this has {graphemes(value)}. Shorten it.")
        if self.kind == "choice":
            offered = self.choices_for(channels)
            if (self.choices or channels) and value not in {v for v, _ in offered}:
                where = (" in the channel's account (reconnect it to read them again)"
                         if self.channel_choices else "")
                return (f"“{self.label}” for {network_label} is not one of the choices{where}: "
                        "pick another.")
        if self.kind == "datetime":
            try:
                datetime.fromisoformat(value)
            except ValueError:
                return f"“{self.label}” for {network_label} is not a date and time."
        if self.kind == "url" and not URL_RE.fullmatch(value):
            return f"“{self.label}” for {network_label} must be a web address (https://…)."
        return ""


@dataclass(frozen=True)
class Network:
    name: str
    label: str
    max_length: int
    count: str = "graphemes"  # how length is counted: "graphemes", "mastodon" or "x"
    max_images: int = 4
    max_videos: int = 1
    images_with_video: bool = False
    max_alt_length: int = 1500
    video_formats: tuple[str, ...] = tuple(VIDEO_TYPES)
    max_video_mb: int | None = None  # the network's own upload limit, if it has one
    requires_endpoint: bool = False
    credential_label: str = "Access token"
    media_required: bool = False  # no text-only posts (Instagram)
    max_hashtags: int | None = None
    # Image width / height the network takes (e.g. Instagram 4:5 = 0.8 up to 1.91:1), where it
    # limits it; checked when the image's size is known.
    min_aspect: float | None = None
    max_aspect: float | None = None
    max_video_seconds: int | None = None  # checked where a video's duration is known
    image_formats: tuple[str, ...] = ()  # extensions the network takes; () for any
    connected: bool = False  # connected by OAuth ("Connect account"), not a pasted secret
    post_options: tuple[Option, ...] = ()  # asked per post in the editor
    channel_options: tuple[Option, ...] = ()  # asked per channel, kept in Channel.settings
    # The network's own further rules: (draft, the channel's settings) -> problems in words.
    check: Callable[[PostDraft, dict], list[str]] | None = None

    def options_of(self, post: PostDraft) -> dict:
        """The post's choices for this network, with each option's default filled in."""
        given = post.options.get(self.name) if isinstance(post.options, dict) else None
        given = given if isinstance(given, dict) else {}
        return {option.name: given.get(option.name, option.default)
                for option in self.post_options}

    def length(self, text: str) -> int:
        if self.count == "mastodon":
            # Mastodon counts every URL as 23 characters and a remote mention as its local part.
            text = URL_RE.sub("x" * 23, text)
            text = MASTODON_MENTION_RE.sub(lambda m: "@" + m.group(1), text)
            return code_points(text)
        if self.count == "x":
            return x_weighted(text)
        return graphemes(text)

    def problems(self, post: PostDraft, channel=None) -> list[str]:
        """Everything the network would refuse in ``post``, in words. With ``channel`` (the
        brand's channel it goes to) the choices that depend on the account are checked too."""
        found = self._content_problems(post)
        options = self.options_of(post)
        channels = [channel] if channel is not None else []
        for option in self.post_options:
            problem = option.problem(options.get(option.name), network_label=self.label,
                                     channels=channels)
            if problem:
                found.append(problem)
        if self.check is not None:
            found.extend(self.check(post, dict(getattr(channel, "settings", None) or {})))
        return found

    def _content_problems(self, post: PostDraft) -> list[str]:
        found = []
        length = self.length(post.text)
        if length > self.max_length:
            unit = {"mastodon": "characters",
                    "x": "characters (links count 23, emoji and wide characters 2)"}.get(
                self.count, "characters (emoji count as one)")
            found.append(f"{self.label} allows {self.max_length} {unit}; this post has {length}. "
                         f"Shorten it by {length - self.max_length}.")
        if not post.text.strip() and not post.images and not post.videos:
            found.append(f"{self.label} needs some text or media: write the copy.")
        if len(post.images) > self.max_images:
            found.append(f"{self.label} takes at most {self.max_images} images; this post has "
                         f"{len(post.images)}. Remove {len(post.images) - self.max_images}.")
        if post.videos > self.max_videos:
            found.append(f"{self.label} takes at most {self.max_videos} video. Remove "
                         f"{post.videos - self.max_videos}.")
        if post.videos and post.images and not self.images_with_video:
            found.append(f"{self.label} cannot show images and a video in one post: keep one "
                         "kind, or split them into two posts.")
        for number, name in enumerate(post.video_files, start=1):
            extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            if extension not in self.video_formats:
                kind = f".{extension}" if extension else "of another kind"
                formats = ", ".join(self.video_formats).upper()
                found.append(f"{self.label} takes {formats} videos; video {number} is {kind}. "
                             "Convert it, or send this post to another channel.")
        for number, size in enumerate(post.video_sizes, start=1):
            if self.max_video_mb and size and size > self.max_video_mb * 1024 * 1024:
                found.append(f"{self.label} takes videos up to {self.max_video_mb} MB; video "
                             f"{number} is {size / 1048576:.0f} MB. Compress it, or send this "
                             "post to another channel.")
        if self.media_required and not post.images and not post.videos:
            found.append(f"{self.label} needs an image or a video in every post: add one, or "
                         "send this post to another channel.")
        if self.max_hashtags is not None:
            hashtags = len(HASHTAG_RE.findall(post.text))
            if hashtags > self.max_hashtags:
                found.append(f"{self.label} allows {self.max_hashtags} hashtags; this post has "
                             f"{hashtags}. Remove {hashtags - self.max_hashtags}.")
        for number, size in enumerate(post.image_sizes, start=1):
            if size is None or not (self.min_aspect or self.max_aspect):
                continue
            ratio = size[0] / size[1]
            if (self.min_aspect and ratio < self.min_aspect - 0.005) or \
                    (self.max_aspect and ratio > self.max_aspect + 0.005):
                found.append(f"{self.label} takes images from {_ratio(self.min_aspect)} (tall) "
                             f"to {_ratio(self.max_aspect)} (wide); image {number} is "
                             f"{size[0]}×{size[1]}. Crop it to fit.")
        for number, name in enumerate(post.image_files, start=1):
            extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            if self.image_formats and extension not in self.image_formats:
                formats = ", ".join(self.image_formats).upper()
                found.append(f"{self.label} takes {formats} images; image {number} is "
                             f".{extension or '?'}. Save it as JPEG, or send this post to "
                             "another channel.")
        for number, seconds in enumerate(post.video_seconds, start=1):
            if self.max_video_seconds and seconds and seconds > self.max_video_seconds:
                found.append(f"{self.label} takes videos up to {self.max_video_seconds} s; "
                             f"video {number} runs {seconds:.0f} s. Trim it.")
        for number, alt in enumerate(post.images, start=1):
            if not alt.strip():
                found.append(f"Image {number} has no alt text: describe it for people who use "
                             "screen readers.")
            elif graphemes(alt) > self.max_alt_length:
                found.append(f"{self.label} allows {self.max_alt_length} characters of alt text; "
                             f"image {number} has {graphemes(alt)}. Shorten it.")
        return found


def _ratio(value: float | None) -> str:
    known = {0.8: "4:5", 1.91: "1.91:1", 1.0: "1:1", 0.5625: "9:16"}
    return known.get(round(value or 0, 4), f"{value:g}:1")


NETWORKS: dict[str, Network] = {}


def register(network: Network) -> Network:
    NETWORKS[network.name] = network
    return network


register(Network("sandbox", "Sandbox", max_length=1000, max_images=4))
register(Network("webhook", "Webhook", max_length=10000, max_images=10, max_videos=4,
                 images_with_video=True, requires_endpoint=True, credential_label="Signing secret"))
register(Network("mastodon", "Mastodon", max_length=500, count="mastodon", max_images=4,
                 max_alt_length=1500, max_video_mb=99, requires_endpoint=True))
register(Network("bluesky", "Bluesky", max_length=300, max_images=4, max_alt_length=2000,
                 video_formats=("mp4",), max_video_mb=100, credential_label="App password"))
# LinkedIn (Posts API): commentary up to 3,000 characters; one image (media) or 2 to 20
# (multiImage), each with alt text up to 4,086 characters; or one MP4 video (Videos API: 75 KB
# to 500 MB, 3 s to 30 min); never images and a video together.
register(Network("linkedin", "LinkedIn", max_length=3000, max_images=20, max_videos=1,
                 max_alt_length=4086, video_formats=("mp4",), max_video_mb=500,
                 max_video_seconds=30 * 60))

def tiktok_check(draft: PostDraft, channel_settings: dict) -> list[str]:
    """TikTok's per-post options against the creator's (``Channel.settings``, read from TikTok
    at connection and refreshed at each post): the privacy level one the account offers (only
    "Only me" while TikTok has not audited the app), branded content public, videos within the
    account's own length limit."""
    # Deferred: campaigns.providers import campaigns.models, which imports this module
    from campaigns.providers import tiktok

    options = get("tiktok").options_of(draft)
    settings_ = channel_settings or {}
    found = []
    privacy = options.get("privacy_level") or ""
    offered = {level.get("id"): level.get("name") for level in
               settings_.get("privacy_levels") or []}
    if privacy and offered and privacy not in offered:
        found.append(f"TikTok does not offer “{tiktok.PRIVACY_LABELS.get(privacy, privacy)}” "
                     f"for this account: choose one of {', '.join(offered.values())}.")
    if not tiktok.audited() and privacy and privacy != tiktok.PRIVATE:
        found.append("TikTok: this app can only post privately until TikTok audits it: choose "
                     "“Only me” as who can see the post.")
    if options.get("brand_content_toggle") and privacy == tiktok.PRIVATE:
        found.append("TikTok does not let branded content (a paid partnership) be private: "
                     "choose another privacy level, or untick branded content.")
    longest = settings_.get("max_video_post_duration_sec")
    for number, seconds in enumerate(draft.video_seconds, start=1):
        if longest and seconds and seconds > longest:
            found.append(f"TikTok lets this account post videos up to {longest} s; video "
                         f"{number} runs {seconds:.0f} s. Trim it.")
    return found


# TikTok (Content Posting API, Direct Post): a video's caption up to 2,200 characters; one MP4,
# WebM or MOV video up to 4 GB, as long as the creator may post (creator_info's
# max_video_post_duration_sec, checked in tiktok_check); or up to 35 JPEG/WebP photos (fetched
# by TikTok from links); no text-only posts, never photos and a video together.
register(Network("tiktok", "TikTok", max_length=2200, max_images=35, max_videos=1,
                 video_formats=("mp4", "webm", "mov"), max_video_mb=4096,
                 max_video_seconds=10 * 60, media_required=True,
                 image_formats=("jpg", "jpeg", "webp"), connected=True,
                 # TikTok's Direct Post asks each post who may see it (one of the creator's own
                 # levels, read at connection) and which interactions to allow; TikTok's UX
                 # guidelines: no level chosen for the person, commercial content declared.
                 post_options=(
                     Option("privacy_level", "Who can see it on TikTok", kind="choice",
                            channel_choices="privacy_levels", required=True,
                            help="The account's own choices on TikTok. Until TikTok audits "
                                 "this app, only “Only me” can be used."),
                     Option("disable_comment", "Turn off comments", kind="bool", default=False),
                     Option("disable_duet", "Turn off Duet (videos)", kind="bool",
                            default=False),
                     Option("disable_stitch", "Turn off Stitch (videos)", kind="bool",
                            default=False),
                     Option("brand_organic_toggle", "Promotes the account's own business",
                            kind="bool", default=False,
                            help="TikTok labels it “Promotional content”."),
                     Option("brand_content_toggle", "Paid partnership (branded content)",
                            kind="bool", default=False,
                            help="TikTok labels it “Paid partnership”; it cannot be private."),
                 ),
                 check=tiktok_check))


# Meta's limits, from its developer documentation: Facebook Pages' post text 63,206
# characters, up to 10 photos in a multi-photo post; Instagram's content publishing (caption
# 2,200 characters, 30 hashtags, carousel of 10, images JPEG from 4:5 to 1.91:1 and 8 MB, Reels
# MP4/MOV up to 15 minutes and 300 MB, alt text on images); Threads (500 characters, carousel
# of 2 to 20 items, images JPEG/PNG up to 8 MB, videos MP4/MOV up to 5 minutes and 1 GB).
register(Network("facebook", "Facebook Page", max_length=63206, max_images=10,
                 max_alt_length=1000, video_formats=("mp4", "mov"), max_video_mb=1024,
                 max_video_seconds=240 * 60, connected=True))
register(Network("instagram", "Instagram", max_length=2200, max_images=10, max_videos=1,
                 images_with_video=False, max_alt_length=1000, video_formats=("mp4", "mov"),
                 max_video_mb=300, max_video_seconds=15 * 60, media_required=True,
                 max_hashtags=30, min_aspect=0.8, max_aspect=1.91, image_formats=("jpg", "jpeg"),
                 connected=True))
register(Network("threads", "Threads", max_length=500, max_images=20, max_videos=1,
                 images_with_video=False, max_alt_length=1000, video_formats=("mp4", "mov"),
                 max_video_mb=1024, max_video_seconds=5 * 60, connected=True))
# X (API v2 and its media upload reference, twitter-text's weighted length): 280 weighted
# characters; up to 4 images (JPEG, PNG, WebP, GIF; 5 MB) each with alt text up to 1,000
# characters, or one MP4/MOV video (512 MB, up to 140 s for most accounts); never both.
register(Network("x", "X", max_length=280, count="x", max_images=4, max_videos=1,
                 max_alt_length=1000, video_formats=("mp4", "mov"), max_video_mb=512,
                 max_video_seconds=140, image_formats=("jpg", "jpeg", "png", "webp", "gif"),
                 connected=True))

# YouTube (Data API v3, videos.insert; developers.google.com/youtube/v3/docs/videos): one video
# a post, up to 256 GB (and 12 h); the description up to 5,000 bytes (the post's text), the
# title 100 characters (the post's "Video title", else its first line); the post's one image
# becomes the thumbnail (thumbnails.set: JPEG or PNG up to 2 MB). Privacy and "made for kids"
# are the channel's (status.privacyStatus, status.selfDeclaredMadeForKids).
def _youtube_check(post: PostDraft, channel_settings: dict) -> list[str]:
    found = []
    if not post.videos:
        found.append("YouTube needs a video in every post (an image alone becomes nothing "
                     "there): add a video, or send this post to another channel.")
    size = len(post.text.encode())
    if size > 5000:
        found.append(f"YouTube allows 5,000 bytes of description; this post's text has {size} "
                     "(accents and emoji take 2 to 4 bytes each). Shorten it.")
    return found


register(Network("youtube", "YouTube", max_length=5000, max_images=1, max_videos=1,
                 images_with_video=True, video_formats=("mp4", "mov", "webm", "m4v"),
                 max_video_mb=256 * 1024, max_video_seconds=12 * 3600,
                 image_formats=("jpg", "jpeg", "png"), connected=True, check=_youtube_check,
                 post_options=(Option("title", "Video title", max_length=100,
                                      help="Up to 100 characters; empty: the post's first "
                                           "line."),),
                 channel_options=(
                     Option("privacy", "Privacy of new videos", kind="choice",
                            choices=(("public", "Public"), ("unlisted", "Unlisted"),
                                     ("private", "Private")), default="public",
                            help="Who can watch the videos this channel's posts upload."),
                     Option("made_for_kids", "Made for kids", kind="bool", default=False,
                            help="YouTube's audience setting (COPPA): yes if the channel's "
                                 "videos are made for children."))))

# Pinterest (API v5, Create Pin and Register media upload): a board per pin, title up to 100
# characters, description up to 500, alt text up to 500; one image (JPEG or PNG, sent inline) or
# one video (MP4, MOV or M4V, 4 s to 15 min, up to 2 GB) with at most one image as its cover; no
# pin without media.
def _pinterest_check(draft: PostDraft, channel_settings: dict) -> list[str]:
    if "boards" in channel_settings and not channel_settings["boards"]:
        return ["The Pinterest account has no boards: create one on Pinterest, then reconnect "
                "the channel so its boards are read again."]
    return []


register(Network("pinterest", "Pinterest", max_length=500, max_images=1, max_videos=1,
                 images_with_video=True, max_alt_length=500, video_formats=("mp4", "mov", "m4v"),
                 max_video_mb=2048, max_video_seconds=15 * 60, media_required=True,
                 image_formats=("jpg", "jpeg", "png"), connected=True, check=_pinterest_check,
                 post_options=(
                     Option("board", "Board", kind="choice", channel_choices="boards",
                            required=True, help="The board the pin is saved to (the account's "
                            "boards, read when the channel connects and on each token refresh)."),
                     Option("title", "Pin title", max_length=100,
                            help="Shown over the pin; the post's text is its description."))))


# Google Business Profile (My Business API v4 local posts, developers.google.com/my-business):
# summary up to 1,500 characters, one photo (JPG or PNG, fetched by Google from its sourceUrl), no
# video; EVENT and OFFER posts carry an event (title, up to 58 characters, and schedule: required
# for both), an OFFER its coupon, redeem URL and terms; a call to action (BOOK, ORDER, SHOP,
# LEARN_MORE, SIGN_UP, CALL) needs a URL except CALL, and is ignored on offers.
GBP_POST_TYPES = (("STANDARD", "Update"), ("EVENT", "Event"), ("OFFER", "Offer"))
GBP_ACTIONS = (("", "No button"), ("BOOK", "Book"), ("ORDER", "Order online"), ("SHOP", "Buy"),
               ("LEARN_MORE", "Learn more"), ("SIGN_UP", "Sign up"), ("CALL", "Call now"))


def option_moment(value) -> datetime | None:
    """A datetime from an option's value (a datetime, or ISO text as the editor sends it)."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).strip()) if value else None
    except ValueError:
        return None


def google_business_problems(options: dict, *, videos: int = 0, link: str = "") -> list[str]:
    """What a local post's choices lack together (each option alone is checked by its
    ``Option``), said to the writer; a button without its own URL opens the post's ``link``."""
    found, kind = [], (options.get("post_type") or "STANDARD")
    if videos:
        found.append("Google Business Profile posts take photos only, no video: remove the "
                     "video, or send this post to another channel.")
    if kind in ("EVENT", "OFFER"):
        what = "An event" if kind == "EVENT" else "An offer"
        if not str(options.get("event_title") or "").strip():
            found.append(f"{what} on Google Business Profile needs a title: write one.")
        start = option_moment(options.get("event_start"))
        end = option_moment(options.get("event_end"))
        for label, value in (("start", options.get("event_start")),
                             ("end", options.get("event_end"))):
            if not value:
                found.append(f"{what} on Google Business Profile needs its {label} date and "
                             "time: set it.")
        if start and end and end <= start:
            found.append(f"The {kind.lower()} ends before it starts: set its end after "
                         f"{start:%d %B %Y %H:%M}.")
    action = options.get("cta_type") or ""
    if action and action != "CALL" and kind != "OFFER" and not (options.get("cta_url") or link):
        label = dict(GBP_ACTIONS).get(action, action)
        found.append(f"The “{label}” button needs the address it opens: add its URL or the "
                     "post's link (only “Call now” needs none).")
    return found


def _google_business_check(draft, channel_settings=None) -> list[str]:
    options = (draft.options or {}).get("google_business") or {}
    return google_business_problems(options, videos=draft.videos, link=draft.link)


register(Network("google_business", "Google Business Profile", max_length=1500, max_images=1,
                 max_videos=1, image_formats=("jpg", "jpeg", "png"), connected=True,
                 check=_google_business_check, post_options=(
                     Option("post_type", "Post type", kind="choice", choices=GBP_POST_TYPES,
                            default="STANDARD"),
                     Option("cta_type", "Button", kind="choice", choices=GBP_ACTIONS,
                            help="Not shown on offers."),
                     Option("cta_url", "Button opens", kind="url",
                            help="Empty: the post's link. “Call now” needs none."),
                     Option("event_title", "Event or offer title", max_length=58),
                     Option("event_start", "Starts", kind="datetime",
                            help="At the location's local time."),
                     Option("event_end", "Ends", kind="datetime"),
                     Option("offer_coupon", "Coupon code"),
                     Option("offer_redeem_url", "Redeem online at", kind="url"),
                     Option("offer_terms", "Offer terms", kind="textarea"))))


def network_choices() -> list[tuple[str, str]]:
    return [(name, network.label) for name, network in NETWORKS.items()]


def client_rules() -> dict[str, dict]:
    """The rules the editor's composer applies while typing (static/campaigns/composer.js counts
    "graphemes", "mastodon" and "x" exactly as ``Network.length`` does; tests hold both to the same
    samples)."""
    return {name: {"label": n.label, "max_length": n.max_length, "count": n.count,
                   "max_images": n.max_images}
            for name, n in NETWORKS.items()}


def get(name: str) -> Network:
    return NETWORKS[name]
