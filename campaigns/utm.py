"""A brand's UTM preset: parameters added to a post's links when it is frozen for publishing.

The preset is text, one parameter a line (``utm_source={network}``); ``{network}``,
``{channel}`` and ``{campaign}`` are filled in per delivery. ``tag_url`` adds the parameters to a
link and keeps what its query string already has (a parameter the link sets itself wins);
``tag_text`` does so to every link in a post's text.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError

from campaigns.networks import URL_RE

PLACEHOLDERS = ("network", "channel", "campaign")
KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
# Sentence punctuation after a link belongs to the sentence, not to the link.
TRAILING = ".,;:!?)]}'\"”’"


def parse(text: str) -> list[tuple[str, str]]:
    """(key, value template) per line of ``text``. Raises ValidationError naming the line at
    fault and how to write it."""
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or not key or not value:
            raise ValidationError(f"Line {number} (“{line}”): write it as name=value, e.g. "
                                  "utm_medium=social.")
        if not KEY_RE.match(key):
            raise ValidationError(f"Line {number}: “{key}” cannot be a parameter's name: use "
                                  "letters, digits, _ . or -, e.g. utm_source.")
        for name in PLACEHOLDER_RE.findall(value):
            if name not in PLACEHOLDERS:
                raise ValidationError(
                    f"Line {number}: {{{name}}} is not something we can fill in. Use "
                    + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + ", or plain text.")
        if key in {k for k, _ in pairs}:
            raise ValidationError(f"Line {number}: {key} is given twice; keep one.")
        pairs.append((key, value))
    return pairs


def expand(pairs: list[tuple[str, str]], **values: str) -> list[tuple[str, str]]:
    """``pairs`` with their placeholders filled from ``values`` (network, channel, campaign)."""
    return [(key, PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), ""), value))
            for key, value in pairs]


def tag_url(url: str, params: list[tuple[str, str]]) -> str:
    """``url`` with ``params`` added to its query string; parameters it already has are kept
    as they are (and not added twice), as is its fragment."""
    if not params or not url:
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url
    have = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = [(key, value) for key, value in params if key not in have]
    if not extra:
        return url
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit(parts._replace(query=query))


def tag_text(text: str, params: list[tuple[str, str]]) -> str:
    """``text`` with ``tag_url`` applied to every link in it."""
    if not params:
        return text

    def one(match) -> str:
        url = match.group(0)
        stripped = url.rstrip(TRAILING)
        return tag_url(stripped, params) + url[len(stripped):]

    return URL_RE.sub(one, text)
