"""``#话题#`` topics and ``@名字`` mentions, pulled out as record fields (the text keeps them)."""

from __future__ import annotations

import re

TOPIC = re.compile(r"#([^#\n@]{1,40})#")
MENTION = re.compile(r"(?<![A-Za-z0-9_.])@([\w\u4e00-\u9fff-]{1,30})")


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def extract_topics(text: str) -> list[str]:
    """Distinct ``#topic#`` names in order of appearance, stripped."""
    return _unique([m.group(1).strip() for m in TOPIC.finditer(text)])


def extract_mentions(text: str) -> list[str]:
    """Distinct ``@name`` handles in order of appearance (e-mail addresses excluded)."""
    return _unique([m.group(1).rstrip("-") for m in MENTION.finditer(text)])
