"""The brief's "edited by their site" section: a brand's posts changed after koubei stored them.

A complaint its author or site corrected, softened or made worse after it landed is stored over
its first version (the index keeps the edit, scored again, and its time as ``edited_at``); an
analyst reading the brief's hot posts would not know one had changed. The section says how many
of the brand's posts were edited and names the first few; a brand with none has no section.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from koubei.analysis.reports.content import LABEL_ZH, excerpt, safe_url, short_time

__all__ = ["TITLE_CHARS", "edited_section"]

#: Characters of an edited post's title (or text) a line of the section quotes.
TITLE_CHARS = 80


def edited_section(edited: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The section from a brand's edited posts (``total``, ``negative`` and ``posts``, as
    :func:`~koubei.pipeline.index.post_reads.edited_posts` reads them), or None when none was
    edited.

    >>> section = edited_section({"total": 3, "negative": 1, "posts": [{
    ...     "title": "更正：鲜牧牛奶异物", "url": "https://news.example/1", "brands": ["鲜牧"],
    ...     "platform": "news", "sentiment": {"label": "negative"},
    ...     "created_at": "2026-11-24T09:00:00+08:00", "edited_at": "2026-11-26T12:07:00+08:00"}]})
    >>> section["total"], section["more"], section["posts"][0]["edited"]
    (3, 2, '11-26 12:07')
    >>> edited_section({"total": 0, "negative": 0, "posts": []}) is None
    True
    """
    if not edited or not edited.get("total"):
        return None
    posts = [_row(p) for p in edited.get("posts") or []]
    total = int(edited["total"])
    return {
        "total": total,
        "negative": int(edited.get("negative") or 0),
        "posts": posts,
        "more": max(total - len(posts), 0),
    }


def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    label = str((record.get("sentiment") or {}).get("label"))
    # A news article has a title; a forum post or a review is known by its text.
    title = record.get("title") or record.get("text_clean") or record.get("text_raw")
    return {
        "title": excerpt(title, TITLE_CHARS) or "（无标题）",
        "url": safe_url(record.get("url")),
        "raw_url": str(record.get("url") or ""),
        "platform": str(record.get("platform") or ""),
        "brands": "、".join(str(b) for b in record.get("brands") or []),
        "edited": short_time(record.get("edited_at")),
        "posted": short_time(record.get("created_at")),
        "label": LABEL_ZH.get(label, "未评分"),
    }
