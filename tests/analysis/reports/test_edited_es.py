"""The brief's section on posts their site edited after koubei stored them, on a real node.

The edit times are set as the articles spider sets them (``extra.edited_at``, ISO with its
offset: crawlers/spiders/articles.py), and the writer stores them as ``edited_at``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from koubei.analysis.reports import render
from koubei.pipeline.index.templates import posts_alias
from koubei.pipeline.index.writer import index_records
from koubei.timeutil import DEFAULT_TZ
from tests.analysis.reports.test_gather_es import _brief_section, _post

DAY = datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)


def _edited(record: dict, at: datetime, **changes: object) -> dict:
    return {**record, **changes, "extra": {"edited_at": at.isoformat()}}


def test_the_brief_names_the_brands_posts_edited_on_the_day_or_posted_then_and_edited_since(
    es: Elasticsearch, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the brief never said a post had changed. A complaint corrected into praise
    showed nowhere, and one of the day's hot complaints edited the next morning was quoted as
    it first read. Now the section counts them, lists them negative first with the edit's
    time, and a day without edits has no section."""
    corrected = _edited(  # a complaint of the 20th corrected on the day: no longer negative
        _post("old", DAY - timedelta(days=4), "positive", text="更正：鲜牧牛奶并无异物"),
        DAY + timedelta(hours=10),
    )
    overnight = _edited(  # the day's complaint, edited before the brief the next morning
        _post("day", DAY + timedelta(hours=8), "negative", text="鲜牧牛奶有异物，已投诉"),
        DAY + timedelta(days=1, hours=7),
    )
    before = _edited(_post("before", DAY - timedelta(days=4), "negative"), DAY - timedelta(hours=2))
    other = _edited(_post("other", DAY + timedelta(hours=9), "negative"), DAY + timedelta(hours=11),
                    brands=["北岭"])  # fmt: skip
    plain = _post("plain", DAY + timedelta(hours=12), "negative")  # never edited
    records = [corrected, overnight, before, other, plain]
    assert index_records(es, records, prefix=index_prefix).created == len(records)
    es.indices.refresh(index=posts_alias(index_prefix))

    edited = _brief_section(es, index_prefix, DAY, monkeypatch)["edited"]
    assert (edited["total"], edited["negative"], edited["more"]) == (2, 1, 0)
    assert [(p["title"], p["edited"], p["posted"], p["label"]) for p in edited["posts"]] == [
        ("鲜牧牛奶有异物，已投诉", "11-25 07:00", "11-24 08:00", "负面"),
        ("更正：鲜牧牛奶并无异物", "11-24 10:00", "11-20 00:00", "正面"),
    ]
    html = render.daily_path(DAY.date().isoformat()).read_text(encoding="utf-8")
    assert "<h3>原站修改</h3>" in html and "2 条帖子在收录后被原站修改" in html
    assert "修改于 11-24 10:00 · weibo · <bdi>鲜牧</bdi> · 正面 · 发布于 11-20 00:00" in html

    # A day none of the brand's posts was edited on, nor posted on and edited since.
    quiet = _brief_section(es, index_prefix, DAY - timedelta(days=2), monkeypatch)
    assert quiet["edited"] is None
    html = render.daily_path((DAY - timedelta(days=2)).date().isoformat()).read_text("utf-8")
    assert "原站修改" not in html
