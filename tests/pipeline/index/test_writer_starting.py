"""A month whose primary shard is still starting (a loaded node) is waited for, not taken for
red. The node holds back every new primary for real (:func:`.conftest.held_back`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import es_local, timeutil
from koubei.pipeline.index.writer import index_records

from .conftest import OCTOBER, build_record, held_back

pytestmark = [pytest.mark.es, pytest.mark.slow]


def _ids(es: Elasticsearch, index: str) -> list[str]:
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=100, source_includes=["id"])["hits"]["hits"]
    return sorted(hit["_source"]["id"] for hit in hits)


def _index(es: Elasticsearch, records: Iterable[dict[str, Any]], prefix: str) -> tuple[int, ...]:
    report = index_records(es, records, prefix=prefix, max_retries=1, initial_backoff=0.01)
    return report.sent, report.created, report.spooled, report.failed


@pytest.mark.parametrize("answering", [True, False], ids=["beside-october", "alone"])
def test_a_month_another_writer_is_creating_is_waited_for_not_held_as_red(
    limits_es: Elasticsearch, koubei_home: str, monkeypatch: pytest.MonkeyPatch, answering: bool
) -> None:
    """Another lane or process has just created November, and its primary has not started:
    the lookup meets the month not answering. Its posts were held as if November were red and
    spooled (clean-clone CI on 2 cores: 1,000 of 2,001 posts of a re-score, a day of a
    backtest's history). Alone under the read alias, the month failed the lookup as a whole
    (503 "all shards failed"): retried, then spooled. Now the writer waits for the primary,
    looks again, and indexes them; no retry is spent on it (one is allowed: a lookup failure
    would use it)."""
    prefix = f"start{uuid.uuid4().hex[:8]}"
    november = f"{prefix}-posts-2026.11"
    # Setup creates the clock's month: a fixed one, removed, so that "alone" is alone (with
    # today's month beside it, the lookup never met the 503 path).
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-15T12:00:00+08:00")
    if answering:
        assert _index(limits_es, [build_record(0, created_at=OCTOBER)], prefix) == (1, 1, 0, 0)
    else:
        _index(limits_es, [], prefix)  # the templates, no month
    limits_es.indices.delete(index=f"{prefix}-posts-2026.12")
    seen: list[dict[str, Any]] = []
    months: list[list[str]] = []

    def arriving() -> Iterator[dict[str, Any]]:
        # Once this run has started (its refresh would have waited for a month it knew of),
        # the other writer creates November.
        limits_es.indices.create(index=november, wait_for_active_shards="0")
        seen.append(limits_es.cluster.health(index=november))
        months.append(sorted(limits_es.indices.get_alias(index=f"{prefix}-posts-*")))
        yield from (build_record(i) for i in range(1, 6))

    lift = held_back(limits_es)
    try:
        outcome = _index(limits_es, arriving(), prefix)
    finally:
        lift.join()
    # Yellow, not red (a new index, its primary not refused), and not answering a search.
    assert [health["active_primary_shards"] for health in seen] == [0], seen
    assert months == [[f"{prefix}-posts-2026.10", november] if answering else [november]]
    assert outcome == (5, 5, 0, 0)
    assert _ids(limits_es, november) == [f"weibo:{i}" for i in range(1, 6)]


def test_a_refresh_leaves_out_a_month_still_starting(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, koubei_home: str
) -> None:
    """A refresh naming a new month whose primary has not started waits a minute for it: the
    client's timeout first (here 5 s; koubei's own is 30 s), so the flow's index task raised
    and Prefect retried it. The month is now left out (and named), the others refreshed."""
    from koubei.pipeline.index.allocation import refresh_answering

    prefix = f"refresh{uuid.uuid4().hex[:8]}"
    october, november = f"{prefix}-posts-2026.10", f"{prefix}-posts-2026.11"
    index_records(limits_es, [build_record(0, created_at=OCTOBER)], prefix=prefix)
    limits_es.indices.put_settings(index=october, settings={"index.refresh_interval": "-1"})
    index_records(limits_es, [build_record(1, created_at=OCTOBER)], prefix=prefix)
    impatient = Elasticsearch(limits_node.url, request_timeout=5, max_retries=0)
    lift = held_back(limits_es, seconds=3 * 5)
    try:
        limits_es.indices.create(index=november, wait_for_active_shards="0")
        assert limits_es.count(index=october)["count"] == 1  # the second post not searchable
        assert refresh_answering(impatient, f"{prefix}-posts*") == [november]
        # October's second post is searchable: October was refreshed.
        assert limits_es.count(index=october)["count"] == 2
    finally:
        impatient.close()
        lift.join()
