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
    before = es.get(index=cascades, id="鲜牧:weibo:1")["_source"]
    later = index_day(es, index_prefix, ["鲜牧"], date(2026, 12, 2))
    assert later.errors == [] and later.written["cascades"] >= 1
    after = es.get(index=cascades, id="鲜牧:weibo:1")["_source"]
    assert after["size"] == before["size"] + 1
    assert after["started_at"] == before["started_at"]
    assert after["depth"] == before["depth"]
    # The day's accounts are that day's alone: the late reposter, and the root it reposted.
    accounts = es.search(
        index=f"{index_prefix}-accounts", query={"term": {"day": "2026-12-02"}}, size=100
    )["hits"]["hits"]
    assert "u-网友Z" in {h["_source"]["account_id"] for h in accounts}


def _ids_of(es: Elasticsearch, index: str, brand: str) -> dict[str, dict]:
    hits = es.search(index=index, query={"term": {"brand": brand}}, size=100)["hits"]["hits"]
    return {h["_id"]: h["_source"] for h in hits}


def test_a_cascade_of_two_brands_stays_in_each_brands_view(
    es: Elasticsearch, index_prefix: str
) -> None:
    """Before: both brands' cascade of w:1 had the id weibo:1, so the brand written last
    took it over and 鲜牧's view of the index lost its biggest cascade."""
    records = incident()
    for record in records:
        # The root and two of its reposts name 北岭 too: 北岭's cascade of w:1 is its 3 posts.
        if record["id"] in ("weibo:1", "weibo:2", "weibo:6"):
            record["brands"] = ["鲜牧", "北岭"]
    report = index_records(es, records, prefix=index_prefix, refresh=True)
    assert report.failed == 0 and report.spooled == 0
    cascades = f"{index_prefix}-cascades"
    # A document the earlier release wrote under the root's id alone: the run replaces it.
    legacy = {"id": "weibo:1", "root_id": "weibo:1", "brand": "鲜牧", "size": 2}
    es.index(index=cascades, id="weibo:1", document=legacy, refresh=True)

    first = index_day(es, index_prefix, ["鲜牧", "北岭"], date(2026, 11, 25))
    assert first.errors == []
    xianmu, beiling = _ids_of(es, cascades, "鲜牧"), _ids_of(es, cascades, "北岭")
    assert {d["root_id"] for d in xianmu.values()} >= {"weibo:1"}
    assert {d["root_id"]: d["size"] for d in beiling.values()} == {"weibo:1": 3}
    assert max(d["size"] for d in xianmu.values()) > 3  # 鲜牧's own cascade, not 北岭's
    assert "weibo:1" not in xianmu | beiling  # the legacy copy is gone, not a duplicate
    accounts = f"{index_prefix}-accounts"
    ranked = {b: set(_ids_of(es, accounts, b)) for b in ("鲜牧", "北岭")}
    assert all(ranked.values())  # each brand's run kept the other's accounts of the day

    again = index_day(es, index_prefix, ["鲜牧", "北岭"], date(2026, 11, 25))
    assert again.errors == [] and again.written == first.written
    assert _ids_of(es, cascades, "鲜牧") == xianmu
    assert _ids_of(es, cascades, "北岭") == beiling
    assert es.count(index=cascades)["count"] == len(xianmu) + len(beiling)
    assert {b: set(_ids_of(es, accounts, b)) for b in ranked} == ranked
