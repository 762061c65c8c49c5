"""The daily spread documents of a brand, read from and written to a real Elasticsearch."""

from __future__ import annotations

from datetime import date

import pytest
from elasticsearch import Elasticsearch

from koubei.analysis.spread.daily import index_day
from koubei.pipeline.index.writer import index_records
from tests.analysis.spread.incident import _doc, incident

pytestmark = pytest.mark.es


def test_a_cascade_older_than_the_window_is_written_whole(
    es: Elasticsearch, index_prefix: str
) -> None:
    """Before: a repost a week after its root rewrote the root's cascade as 2 posts."""
    late = _doc("99", "网友Z", 7 * 24 * 60 + 60, "还没解决？")  # 2026-12-02 10:00, reposts w:1
    report = index_records(es, [*incident(), late], prefix=index_prefix, refresh=True)
    assert report.failed == 0 and report.spooled == 0
    cascades = f"{index_prefix}-cascades"

    assert index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25)).errors == []
    before = es.get(index=cascades, id="weibo:1")["_source"]
    later = index_day(es, index_prefix, ["鲜牧"], date(2026, 12, 2))
    assert later.errors == [] and later.written["cascades"] >= 1
    after = es.get(index=cascades, id="weibo:1")["_source"]
    assert after["size"] == before["size"] + 1
    assert after["started_at"] == before["started_at"]
    assert after["depth"] == before["depth"]
    # The day's accounts are that day's alone: the late reposter, and the root it reposted.
    accounts = es.search(
        index=f"{index_prefix}-accounts", query={"term": {"day": "2026-12-02"}}, size=100
    )["hits"]["hits"]
    assert "u-网友Z" in {h["_source"]["account_id"] for h in accounts}
