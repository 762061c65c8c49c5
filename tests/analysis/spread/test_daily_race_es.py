"""Two daily spread runs for different days at once: the cascade documents the later day's run
writes are not overwritten by the earlier day's, whichever writes between the other's read and
write. Deterministic: the second run is run whole from inside the first, just before the first
writes the cascade document both build (between its read and its write)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei.analysis.spread.daily import index_day
from koubei.pipeline.index import derived
from koubei.pipeline.index.writer import index_records
from tests.analysis.spread.incident import _doc, incident

pytestmark = pytest.mark.es

BRANDS = ["鲜牧", "北岭"]
EARLIER, LATER = date(2026, 11, 25), date(2026, 11, 26)
#: The cascade of w:1 in 北岭's view: 4 posts up to 11-25's end, 14 with 11-26's reposts.
BEILING = "北岭:weibo:1"


def _index_two_brands(es: Elasticsearch, prefix: str) -> None:
    """The incident with w:1 and two reposts naming 北岭 too, and ten reposts of w:1 on 11-26
    naming 北岭 alone (as in test_daily_es's test of a run for an earlier day)."""
    records = incident()
    for record in records:
        if record["id"] in ("weibo:1", "weibo:2", "weibo:5"):
            record["brands"] = BRANDS
    for i in range(10):
        records.append({**_doc(f"b{i}", f"北岭粉{i}", 25 * 60 + i, "转发微博"), "brands": ["北岭"]})
    assert index_records(es, records, prefix=prefix, refresh=True).failed == 0


def _between_read_and_write(monkeypatch: pytest.MonkeyPatch, run: Callable[[], None]) -> None:
    """Call ``run`` once, when a spread run is about to write :data:`BEILING` (it has read the
    stored cascades of its roots already), then let that write go on."""
    write = derived.write_documents
    fired: list[bool] = []

    def write_after_run(es: Any, prefix: str, kind: str, docs: list[dict[str, Any]],
                        **kwargs: Any) -> derived.DerivedReport:  # fmt: skip
        if not fired and any(d["id"] == BEILING for d in docs):
            fired.append(True)
            run()
        return write(es, prefix, kind, docs, **kwargs)

    monkeypatch.setattr(derived, "write_documents", write_after_run)


def _placed(es: Elasticsearch, prefix: str) -> dict[str, Any]:
    """Every stored post's ``cascade`` (None for none)."""
    hits = es.search(index=f"{prefix}-posts", query={"match_all": {}}, size=1000)["hits"]["hits"]
    return {h["_id"]: h["_source"].get("cascade") for h in hits}


@pytest.mark.parametrize("stored", [False, True], ids=["absent-when-read", "stored-when-read"])
def test_a_later_days_run_writing_between_an_earlier_runs_read_and_write_is_kept(
    es: Elasticsearch, index_prefix: str, monkeypatch: pytest.MonkeyPatch, stored: bool
) -> None:
    """Before: an earlier day's run that read 北岭's cascade of w:1 before 11-26's run wrote it
    (14 posts, ending 11-26) wrote its own over it (4 posts, ending 11-25), and moved the
    posts of w:1 back to 11-25's view, until the next daily run. Now its write is conditional
    on what it read (absent: ``create``; stored: that copy's ``_seq_no``) and meets the newer
    copy as a conflict: kept, counted, and its posts left as 11-26's run placed them."""
    _index_two_brands(es, index_prefix)
    cascades = f"{index_prefix}-cascades"
    if stored:  # 11-25 ran before: the copy the earlier run reads is its own, of 4 posts
        assert index_day(es, index_prefix, BRANDS, EARLIER).errors == []
        assert es.get(index=cascades, id=BEILING)["_source"]["size"] == 4
    later: dict[str, Any] = {}

    def later_run() -> None:
        report = index_day(es, index_prefix, BRANDS, LATER)
        assert report.errors == [] and report.kept == 0
        later.update(doc=es.get(index=cascades, id=BEILING), posts=_placed(es, index_prefix))

    _between_read_and_write(monkeypatch, later_run)
    earlier = index_day(es, index_prefix, BRANDS, EARLIER)

    assert later, "the later day's run did not run between the earlier run's read and write"
    assert later["doc"]["_source"]["size"] == 14
    assert later["doc"]["_source"]["last_at"].startswith("2026-11-26")
    assert es.get(index=cascades, id=BEILING)["_source"] == later["doc"]["_source"]
    assert es.get(index=cascades, id=BEILING)["_seq_no"] == later["doc"]["_seq_no"]
    assert earlier.errors == [] and earlier.kept == 1
    # 鲜牧's cascade of w:1 ends on 11-25: the earlier run's copy is as good, written over
    # the later run's (read again after the conflict, when created before; as read, when not).
    assert es.get(index=cascades, id="鲜牧:weibo:1")["_source"]["size"] == 10
    # The posts of w:1 keep 11-26's placing (网友C's repost in 北岭's bigger view).
    placed = _placed(es, index_prefix)
    assert placed["weibo:5"]["parent_id"] == "~hop:weibo:1:网友A"
    assert placed == later["posts"]


def test_an_earlier_days_run_writing_between_a_later_runs_read_and_write_is_written_over(
    es: Elasticsearch, index_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other order: 11-25's run writes 北岭's cascade of w:1 between 11-26's read and
    write. 11-26's conditional write meets it as a conflict too, but the copy, read again,
    ends before 11-26's end (a run that saw less wrote it): written over, not kept."""
    _index_two_brands(es, index_prefix)
    cascades = f"{index_prefix}-cascades"
    assert index_day(es, index_prefix, BRANDS, EARLIER).errors == []
    before = es.get(index=cascades, id=BEILING)
    between: dict[str, Any] = {}

    def earlier_run() -> None:
        report = index_day(es, index_prefix, BRANDS, EARLIER)
        assert report.errors == [] and report.kept == 0
        between.update(doc=es.get(index=cascades, id=BEILING))

    _between_read_and_write(monkeypatch, earlier_run)
    later = index_day(es, index_prefix, BRANDS, LATER)

    assert between["doc"]["_seq_no"] > before["_seq_no"]  # written between read and write
    assert later.errors == [] and later.kept == 0
    doc = es.get(index=cascades, id=BEILING)
    assert doc["_source"]["size"] == 14 and doc["_seq_no"] > between["doc"]["_seq_no"]
    assert _placed(es, index_prefix)["weibo:5"]["parent_id"] == "~hop:weibo:1:网友A"
