"""A detection read that meets a month whose primary shard is still starting (another writer
created it a moment ago on a busy node) is answered by the months that answer, not failed. The
node holds back every new primary for real (:func:`.conftest.held_back`)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from structlog.testing import capture_logs

from koubei import timeutil
from koubei.pipeline.index.writer import index_records
from koubei.timeutil import DEFAULT_TZ

from .conftest import build_record, held_back

pytestmark = [pytest.mark.es, pytest.mark.slow]

OCTOBER_15 = datetime(2026, 10, 15, 12, tzinfo=DEFAULT_TZ)


@pytest.mark.parametrize("answering", [True, False], ids=["beside-october", "alone"])
def test_a_detection_read_leaves_out_a_month_another_writer_is_creating(
    limits_es: Elasticsearch, koubei_home: str, monkeypatch: pytest.MonkeyPatch, answering: bool
) -> None:
    """November has just been created by another writer, and its primary has not started: it
    is yellow (a new index, its allocation throttled, not refused) and answers no search. The
    detection cycle's series (``brand_series``: ``volume_series`` on the read alias) raised
    ``PartialResultsError`` beside an answering October, and failed as a whole alone (503 "all
    shards failed"), so that cycle detected nothing. No write has reached the new month yet:
    now October's posts are counted and November is named in a warning (alone: its primary is
    waited for, then read, as the writer waits)."""
    from koubei.flows.detect import brand_series

    prefix = f"read{uuid.uuid4().hex[:8]}"
    november = f"{prefix}-posts-2026.11"
    # Setup creates the clock's month: a fixed one, removed, so October is the only other.
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-15T12:00:00+08:00")
    posts = [build_record(i, created_at=OCTOBER_15 + timedelta(hours=i)) for i in range(3)]
    report = index_records(limits_es, posts if answering else [], prefix=prefix, refresh=True)
    assert report.created == (3 if answering else 0)
    limits_es.indices.delete(index=f"{prefix}-posts-2026.12")
    seen: list[dict[str, Any]] = []
    lift = held_back(limits_es)
    try:
        limits_es.indices.create(index=november, wait_for_active_shards="0")
        seen.append(limits_es.cluster.health(index=november))
        with capture_logs() as logs:
            bins, _ = brand_series(
                limits_es, prefix, "奶茶甲", OCTOBER_15 - timedelta(days=1),
                datetime(2026, 11, 20, tzinfo=DEFAULT_TZ), 3600,
            )  # fmt: skip
    finally:
        lift.join()
    # Yellow, not red, and not answering a search when the read was made.
    assert [(h["status"], h["active_primary_shards"]) for h in seen] == [("yellow", 0)], seen
    # ids 0 and 2 are 奶茶甲's (build_record), 0 negative.
    assert (sum(b.total for b in bins), sum(b.negative for b in bins)) == (
        (2, 1) if answering else (0, 0)
    )
    event = "read leaves out" if answering else "read waits for"
    named = [e["indices"] for e in logs if e["event"].startswith(event)]
    assert named == [[november]], logs
