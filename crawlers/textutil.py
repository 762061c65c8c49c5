"""Small parsers for platform text: ``12.3万`` counts, HTML to text, ``//@`` chains, mentions."""

from __future__ import annotations

import html
import re
from typing import Any

_TAG = re.compile(r"<[^>]+>")
_CHAIN = re.compile(r"//\s*@([^:：\s/]+)\s*[:：]")
_MENTION = re.compile(r"@([\w\-]{1,30})")
_TOPIC = re.compile(r"#([^#\s][^#]{0,40})#")
_UNITS = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "k": 1_000, "K": 1_000}


def parse_count(value: Any) -> int | None:
    """``1234``, ``"1234"``, ``"12.3万"``, ``"1.2亿"``, ``"10万+"`` → int; junk → None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return int(value)
        except (OverflowError, ValueError):  # inf and nan: not a count
            return None
    text = str(value).strip().rstrip("+").replace(",", "")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([万wW亿kK]?)", text)
    if not match:
        return None
    number = float(match.group(1)) * _UNITS.get(match.group(2), 1)
    return round(number)


def html_to_text(markup: str) -> str:
    """Visible text of a post's HTML (emoji images become their ``alt``)."""
    with_alts = re.sub(r"<img[^>]*\balt=['\"]?([^'\" >]+)['\"]?[^>]*>", r"\1", markup or "")
    with_breaks = re.sub(r"<br\s*/?>", "\n", with_alts, flags=re.I)
    return html.unescape(_TAG.sub("", with_breaks)).strip()


def repost_chain(text: str) -> list[str]:
    """Names in a repost's ``//@name:`` chain, nearest first: the first is the parent's author."""
    return _CHAIN.findall(text)


def own_text(text: str) -> str:
    """What the reposter wrote, before the first ``//@``."""
    return text.split("//@", 1)[0].strip()


def mentions(text: str) -> list[str]:
    return list(dict.fromkeys(_MENTION.findall(text)))


def topics(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in _TOPIC.findall(text)))
