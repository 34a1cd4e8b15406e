"""Network rules count text the way each network does and say what to change."""

import pytest

from campaigns.networks import PostDraft, get, graphemes


def test_mastodon_counts_every_link_as_23_characters():
    mastodon = get("mastodon")
    long_link = "https://example.com/" + "a" * 200
    assert mastodon.length(f"Read {long_link}") == len("Read ") + 23


def test_mastodon_counts_a_remote_mention_by_its_local_part():
    assert get("mastodon").length("Thanks @alice@example.social!") == len("Thanks @alice!")


def test_bluesky_counts_graphemes_so_emoji_and_flags_are_one_each():
    text = "Team 👩🏽‍💻 in 🇬🇧"
    assert graphemes(text) == len("Team x in x")
    assert get("bluesky").length(text) == 11
    assert get("mastodon").length(text) > 11  # code points: Mastodon's own count


def test_the_link_field_counts_as_part_of_the_text():
    draft = PostDraft(copy="x" * 290, link="https://acme.example/autumn")
    problems = get("bluesky").problems(draft)
    assert problems == ["Bluesky allows 300 characters (emoji count as one); this post has 319. "
                        "Shorten it by 19."]


@pytest.mark.parametrize("draft, network, expected", [
    (PostDraft(copy="hi", images=["a"] * 5), "mastodon",
     "Mastodon takes at most 4 images; this post has 5. Remove 1."),
    (PostDraft(copy="hi", images=["a"], videos=1), "bluesky",
     "Bluesky cannot show images and a video in one post"),
    (PostDraft(copy="hi", images=["  "]), "sandbox",
     "Image 1 has no alt text: describe it for people who use screen readers."),
    (PostDraft(copy="hi", images=["x" * 1501]), "mastodon",
     "Mastodon allows 1500 characters of alt text; image 1 has 1501."),
    (PostDraft(copy=""), "sandbox", "Sandbox needs some text or media"),
    (PostDraft(copy="hi", videos=1, video_files=["v.mp4"], video_sizes=[150 * 1048576]),
     "mastodon", "Mastodon takes videos up to 99 MB; video 1 is 150 MB. Compress it"),
    (PostDraft(copy="hi", videos=1, video_files=["documents/pour.mov"]), "bluesky",
     "Bluesky takes MP4 videos; video 1 is .mov. Convert it, or send this post to another "
     "channel."),
])
def test_each_broken_rule_is_named_with_the_fix(draft, network, expected):
    assert any(expected in problem for problem in get(network).problems(draft))


def test_a_mov_video_is_fine_where_the_network_takes_it():
    draft = PostDraft(copy="hi", videos=1, video_files=["documents/pour.MOV"])
    assert get("mastodon").problems(draft) == []


def test_a_post_within_every_rule_has_no_problems():
    draft = PostDraft(copy="Autumn roast is here ☕", link="https://acme.example/autumn",
                      images=["A barista pours coffee into a blue cup."])
    for network in ("sandbox", "webhook", "mastodon", "bluesky"):
        assert get(network).problems(draft) == []


@pytest.mark.django_db
def test_the_editor_refuses_a_document_that_is_not_a_video_in_a_video_block(world):
    from django.core.files.base import ContentFile
    from django_tenants.utils import schema_context
    from wagtail.blocks.struct_block import StructBlockValidationError
    from wagtail.documents.models import Document

    from campaigns.models import VideoBlock

    with schema_context(world.acme.client.schema_name):
        brief, clip = Document(title="Brief"), Document(title="Clip")
        brief.file.save("brief.pdf", ContentFile(b"%PDF-1.4"))
        clip.file.save("clip.MOV", ContentFile(b"\x00\x00\x00\x14ftypqt  "))
        block = VideoBlock()
        with pytest.raises(StructBlockValidationError) as refused:
            block.clean(block.to_python({"video": brief.pk, "description": "Not a video"}))
        assert "“Brief” is a .pdf file, not a video" in str(refused.value.block_errors["video"])
        assert block.clean(block.to_python({"video": clip.pk, "description": "A pour"}))


def _box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def _mp4(seconds: float, *, version: int = 0, media_bytes: int = 4096) -> bytes:
    """A minimal ISO base media file: ftyp, a media box, then moov with its mvhd (at the end,
    where many encoders put it)."""
    timescale = 600
    if version == 1:
        mvhd = bytes([1, 0, 0, 0]) + bytes(16) + timescale.to_bytes(4, "big") \
            + int(seconds * timescale).to_bytes(8, "big") + bytes(80)
    else:
        mvhd = bytes(4) + bytes(8) + timescale.to_bytes(4, "big") \
            + int(seconds * timescale).to_bytes(4, "big") + bytes(80)
    return (_box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + _box(b"mdat", bytes(media_bytes))
            + _box(b"moov", _box(b"mvhd", mvhd)))


@pytest.mark.parametrize("version", [0, 1])
def test_a_videos_running_time_is_read_from_its_header(version):
    import io

    from campaigns.video_info import mp4_seconds

    assert mp4_seconds(io.BytesIO(_mp4(400.5, version=version))) == pytest.approx(400.5)
    assert mp4_seconds(io.BytesIO(b"\x00\x00\x00\x14ftypqt  ")) is None  # no moov: unknown
    assert mp4_seconds(io.BytesIO(b"")) is None


@pytest.mark.django_db
def test_a_video_too_long_for_the_network_is_caught_while_the_post_is_written(world):
    """Threads takes up to 5 minutes, Instagram 15: a 400 s clip is refused for Threads (with
    what to do) and fine for Instagram, before anything is sent."""
    from django.core.files.base import ContentFile
    from django_tenants.utils import schema_context
    from wagtail.blocks import StreamValue
    from wagtail.documents.models import Document

    from campaigns.models import Post

    with schema_context(world.acme.client.schema_name):
        clip = Document(title="Long pour")
        clip.file.save("long-pour.mp4", ContentFile(_mp4(400)))
        clip.file_size = clip.file.size
        clip.save()
        block = Post._meta.get_field("media").stream_block
        media = StreamValue(block, [("video", {"video": clip, "description": "A slow pour"})])
        draft = PostDraft.from_media(copy="Slow Sunday", link="", media=media)
    assert draft.video_seconds == [pytest.approx(400)]
    assert "Threads takes videos up to 300 s; video 1 runs 400 s. Trim it." \
        in get("threads").problems(draft)
    assert not [p for p in get("instagram").problems(draft) if "runs" in p]
