"""Short record values written by strangers: author names and URLs.

A name is shown in reports, Kibana and alert messages, so markup, control characters and NUL bytes
in it are removed like in the text; a URL is kept only if it is a web address (``http``/``https``),
so a ``javascript:`` or ``data:`` link can never be rendered as a clickable link.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from koubei.pipeline.clean.html import strip_html
from koubei.pipeline.clean.normalise import nfc, remove_invisible

# Longer names are truncated: no platform allows names this long.
MAX_NAME_CHARS = 100
MAX_URL_CHARS = 4096
_WHITESPACE = re.compile(r"\s+")
_ANGLE = re.compile(r"[<>]")


def clean_name(value: object) -> str | None:
    """A display name without markup, control characters or line breaks; None if nothing is left.

    >>> clean_name("<script>alert(1)</script>小\\x00明")
    '小明'
    >>> clean_name("<b>老王</b>")
    '老王'
    """
    if value is None:
        return None
    text = remove_invisible(str(value)[: MAX_NAME_CHARS * 10])
    text = strip_html(text)
    text = remove_invisible(text)  # entities can decode to invisible characters
    # Angle brackets left over (a lone "<" or a decoded "&lt;script&gt;") cannot form markup.
    text = _ANGLE.sub("", nfc(text))
    text = _WHITESPACE.sub(" ", text).strip()[:MAX_NAME_CHARS]
    return text or None


def clean_url(value: object) -> str | None:
    """``value`` if it is an absolute http(s) URL without control characters or spaces, else None.

    >>> clean_url("javascript:alert(1)") is None
    True
    >>> clean_url(" https://weibo.com/1/abc ")
    'https://weibo.com/1/abc'
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_URL_CHARS or remove_invisible(text) != text or " " in text:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an invalid IPv6 host in brackets
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    return text
