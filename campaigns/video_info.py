"""A video's running time, read from its own header, so the rules can say "trim it" while the
post is written rather than the network refusing it at publish time.

MP4, M4V and MOV files (ISO base media) carry their duration in the ``mvhd`` box inside
``moov``; the top-level boxes are walked by seeking (``moov`` is often at the end of a large
file, so nothing else is read). WebM is not read: its duration is left unknown (None), and the
network's own check stays the last word. Each file is read once: the answer is cached by its
name and size.
"""

from __future__ import annotations

import struct

from django.core.cache import cache

MAX_MOOV_BYTES = 8 * 1024 * 1024  # a moov box larger than this is not read (unusual; unknown)


def mp4_seconds(handle) -> float | None:
    """The duration in seconds of the ISO base media file open in ``handle`` (binary, seekable),
    or None if it cannot be told."""
    handle.seek(0, 2)
    end = handle.tell()
    position = 0
    while position + 8 <= end:
        handle.seek(position)
        header = handle.read(8)
        if len(header) < 8:
            return None
        size, kind = struct.unpack(">I4s", header)
        offset = 8
        if size == 1:
            large = handle.read(8)
            if len(large) < 8:
                return None
            size, offset = struct.unpack(">Q", large)[0], 16
        elif size == 0:
            size = end - position
        if size < offset:
            return None
        if kind == b"moov":
            if size > MAX_MOOV_BYTES:
                return None
            return _mvhd_seconds(handle.read(size - offset))
        position += size
    return None


def _mvhd_seconds(moov: bytes) -> float | None:
    position = 0
    while position + 8 <= len(moov):
        size, kind = struct.unpack(">I4s", moov[position:position + 8])
        if size < 8:
            return None
        if kind == b"mvhd":
            body = moov[position + 8:position + size]
            if not body:
                return None
            if body[0] == 1 and len(body) >= 32:
                timescale, duration = struct.unpack(">IQ", body[20:32])
            elif len(body) >= 20:
                timescale, duration = struct.unpack(">II", body[12:20])
            else:
                return None
            return duration / timescale if timescale else None
        position += size
    return None


def seconds(document) -> float | None:
    """The running time of a video in the document library, where its kind can be read."""
    name = getattr(document.file, "name", "") or ""
    if name.rsplit(".", 1)[-1].lower() not in {"mp4", "m4v", "mov"}:
        return None
    key = f"video-seconds:{name}:{getattr(document, 'file_size', None) or ''}"
    found = cache.get(key)
    if found is not None:
        return found or None  # 0.0 stands for "cannot be told"
    try:
        with document.file.open("rb") as handle:
            value = mp4_seconds(handle)
    except (OSError, ValueError, struct.error):
        value = None
    cache.set(key, value or 0.0, timeout=None)
    return value
