"""The writer against what a later crawl or a foreign file may bring: moved times, poison ids.

A post's ``created_at`` picks its monthly index, and a re-crawl can move it: a platform shows a
date without time first (``11-01``, stored as that day's midnight in Shanghai, the previous
month in UTC) and the full time later, or a relative time (``3天前``) resolves to another
instant on each crawl. The alias must still hold one document per ``_id``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei.jsonl import read
from koubei.pipeline.index import spool
from koubei.pipeline.index.post_reads import search_posts
from koubei.pipeline.index.templates import posts_alias, posts_index
from koubei.pipeline.index.writer import index_records, replay_spool

from .faulty_proxy import faulty_proxy

MakeRecord = Callable[..., dict[str, Any]]


def _stored(es: Elasticsearch, prefix: str, doc_id: str) -> list[dict[str, Any]]:
    es.indices.refresh(index=posts_alias(prefix))
    hits = es.search(index=posts_alias(prefix), query={"ids": {"values": [doc_id]}})
    return list(hits["hits"]["hits"])


def _month_start(clock: datetime) -> datetime:
    """Midnight in Shanghai on the first of the clock's month (the previous month in UTC)."""
    return clock.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _crawled_twice(make_record: MakeRecord, day: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """One post as two crawls show it: first date-only (midnight in Shanghai on ``day``, the
    previous month in UTC), then with its time of day, an hour later, and more likes."""
    date_only = make_record(1, created_at=day, time_precision="day", crawled_at=day)
    full_time = make_record(
        1,
        created_at=day.replace(hour=9, minute=30),
        crawled_at=day.replace(hour=10),
        engagement={"likes": 50, "reposts": 0, "comments": 0, "helpful": 0},
    )
    return date_only, full_time


def test_a_recrawl_that_moves_created_at_to_another_month_updates_the_one_document(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord,
    clock: datetime,
) -> None:  # fmt: skip
    day = _month_start(clock)
    date_only, full_time = _crawled_twice(make_record, day)
    assert posts_index(index_prefix, date_only["created_at"]) != posts_index(
        index_prefix, full_time["created_at"]
    )
    first = index_records(es, [date_only], prefix=index_prefix)
    second = index_records(es, [full_time], prefix=index_prefix)
    assert (first.created, second.created, second.updated) == (1, 0, 1)
    hits = _stored(es, index_prefix, "weibo:1")
    assert len(hits) == 1
    stored = hits[0]["_source"]
    assert stored["created_at"] == full_time["created_at"]  # the latest crawl's values
    assert stored["engagement"]["likes"] == 50
    assert stored["first_seen"] == date_only["crawled_at"]
    # and back again: still one document, in the month it was first stored in
    index_records(es, [date_only], prefix=index_prefix)
    hits = _stored(es, index_prefix, "weibo:1")
    assert len(hits) == 1
    assert hits[0]["_index"] == posts_index(index_prefix, date_only["created_at"])


def test_a_recrawl_that_moves_a_post_out_of_a_closed_month_makes_no_second_copy(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord,
    clock: datetime,
) -> None:  # fmt: skip
    """The lookup search cannot see a month the operator closed (an archived month): a re-crawl
    that moved a post stored there into the next month created a second document, found once
    the month was reopened. Now a post whose time lies within a re-crawl's reach of a closed
    month is spooled, like a write into that month, until it is reopened; the replay then
    updates it where it is. A post far from every closed month is indexed as usual."""
    day = _month_start(clock)
    date_only, full_time = _crawled_twice(make_record, day)
    far = make_record(2, created_at=day - timedelta(days=75), crawled_at=day)
    assert index_records(es, [date_only], prefix=index_prefix).created == 1
    archived = posts_index(index_prefix, date_only["created_at"])
    es.indices.close(index=archived)
    moved = index_records(es, [full_time, far], prefix=index_prefix)
    assert (moved.sent, moved.created, moved.spooled, moved.failed) == (2, 1, 1, 0)
    assert [r["id"] for f in spool.spool_files(index_prefix) for r in read(f)] == ["weibo:1"]
    assert replay_spool(es, index_prefix).spooled == 1  # still closed: kept

    es.indices.open(index=archived)
    es.cluster.health(index=archived, wait_for_status="yellow", timeout="60s")
    replayed = replay_spool(es, index_prefix)
    assert (replayed.created, replayed.updated, replayed.spooled) == (0, 1, 0)
    (hit,) = _stored(es, index_prefix, "weibo:1")
    assert hit["_index"] == archived
    assert hit["_source"]["engagement"]["likes"] == 50
    assert hit["_source"]["created_at"] == full_time["created_at"]


@pytest.mark.parametrize("in_flight", [1, 2])
def test_one_run_with_the_same_post_in_two_months_stores_one_document(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord,
    clock: datetime, in_flight: int,
) -> None:  # fmt: skip
    day = _month_start(clock)
    records = []
    for i in range(40):
        records.append(make_record(i, created_at=day, time_precision="day"))
        records.append(make_record(i, created_at=day.replace(hour=12), crawled_at=clock))
    report = index_records(es, records, prefix=index_prefix, chunk_size=7, in_flight=in_flight)
    assert (report.sent, report.failed, report.spooled) == (80, 0, 0)
    assert report.created == 40
    es.indices.refresh(index=posts_alias(index_prefix))
    assert es.count(index=posts_alias(index_prefix))["count"] == 40


def test_a_lookup_search_that_fails_is_retried_or_spooled_never_guessed(
    es: Elasticsearch, es_url: str, index_prefix: str, koubei_home: str,
    make_record: MakeRecord, clock: datetime,
) -> None:  # fmt: skip
    """Without the lookup's answer the writer cannot know where a moved post lives."""
    day = _month_start(clock)
    index_records(
        es, [make_record(i, created_at=day, time_precision="day") for i in range(30)],
        prefix=index_prefix,
    )  # fmt: skip
    moved = [make_record(i, created_at=day.replace(hour=12)) for i in range(60)]

    def first_two(method: str, path: str, n: int) -> int | None:
        return 503 if path.endswith("/_search") and n <= 2 else None

    with faulty_proxy(es_url, first_two) as (url, injected):
        through = Elasticsearch(url, request_timeout=30)
        report = index_records(
            through, moved[:45], prefix=index_prefix, chunk_size=20, initial_backoff=0.01
        )
    assert injected[503] == 2 and report.retries >= 1
    assert (report.created, report.updated, report.spooled) == (15, 30, 0)

    def always(method: str, path: str, n: int) -> int | None:
        return 503 if path.endswith("/_search") else None

    with faulty_proxy(es_url, always) as (url, injected):
        through = Elasticsearch(url, request_timeout=30)
        down = index_records(
            through, moved, prefix=index_prefix, chunk_size=20, max_retries=1,
            initial_backoff=0.01,
        )  # fmt: skip
    assert (down.created, down.updated, down.spooled) == (0, 0, 60)
    replayed = replay_spool(es, index_prefix)
    assert (replayed.created, replayed.updated, replayed.spooled) == (15, 45, 0)
    es.indices.refresh(index=posts_alias(index_prefix))
    assert es.count(index=posts_alias(index_prefix))["count"] == 60


def test_a_time_without_offset_is_indexed_as_shanghai_time_like_koubei_reads_it(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord,
    clock: datetime,
) -> None:  # fmt: skip
    """``index load`` of a foreign file: Elasticsearch alone would read a naive time as UTC."""
    day = _month_start(clock)
    record = make_record(1)
    record["created_at"] = day.replace(hour=3).strftime("%Y-%m-%dT%H:%M:%S")
    record["crawled_at"] = day.replace(hour=4).strftime("%Y-%m-%dT%H:%M:%S")
    assert index_records(es, [record], prefix=index_prefix).created == 1
    (hit,) = _stored(es, index_prefix, "weibo:1")
    assert hit["_index"] == posts_index(index_prefix, day.replace(hour=3))
    assert hit["_source"]["created_at"] == day.replace(hour=3).isoformat()
    assert hit["_source"]["first_seen"] == day.replace(hour=4).isoformat()
    found = search_posts(es, index_prefix, start=day, end=day.replace(hour=6))
    assert [h.id for h in found] == ["weibo:1"]


def test_ids_elasticsearch_refuses_are_dead_lettered_and_the_rest_of_the_chunk_indexed(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord,
    clock: datetime,
) -> None:  # fmt: skip
    """An ``_id`` over 512 bytes or not a plain value fails the whole bulk request, not one item:
    sent as is, every good document of its chunk would be spooled, and replayed, for ever."""
    poison: list[Any] = ["w" * 513, "weibo:" + "字" * 200, ["a", "b"], {"a": 1}, "", True, None]
    good = [make_record(i) for i in range(10)]
    bad = []
    for n, doc_id in enumerate(poison):
        record = make_record(100 + n)
        record["id"] = doc_id
        bad.append(record)
    report = index_records(es, [*good[:5], *bad, *good[5:]], prefix=index_prefix)
    assert (report.created, report.failed, report.spooled) == (10, len(poison), 0)
    assert spool.spool_files(index_prefix) == []
    assert report.dead_letter is not None
    letters = list(read(report.dead_letter))
    assert [line["record"]["native_id"] for line in letters] == [
        str(100 + n) for n in range(len(poison))
    ]
    assert "512 bytes" in letters[0]["reason"]
    assert "512 bytes" in letters[1]["reason"]
    es.indices.refresh(index=posts_alias(index_prefix))
    assert es.count(index=posts_alias(index_prefix))["count"] == 10


def test_a_record_that_cannot_be_encoded_is_dead_lettered_not_a_crash(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord,
    clock: datetime,
) -> None:  # fmt: skip
    """A lone surrogate (half an emoji) from a caller that did not read through koubei.jsonl."""
    broken = make_record(99)
    broken["text_raw"] = "半个表情\ud83d"
    report = index_records(es, [make_record(1), broken, make_record(2)], prefix=index_prefix)
    assert (report.created, report.failed, report.spooled) == (2, 1, 0)
    assert report.dead_letter is not None
    (letter,) = read(report.dead_letter)
    assert letter["id"] == "weibo:99"
    assert "surrogate" in letter["reason"]


def test_an_edit_time_before_year_1_in_utc_is_no_edit_time_not_a_stopped_load(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    """Found by session 37's fuzzing of ``koubei index load``: ``extra.edited_at``
    ``0001-01-01T00:05:00+08:05:43`` (an offset in seconds, spelled out in UTC for Elasticsearch)
    is in year 0 there: ``OverflowError`` out of ``index_records``, the load's traceback, its
    10 good posts spooled, and the same on every run. Now no edit time, as for a value that is
    no time; the post is stored, its ``extra`` as sent."""
    odd = make_record(2, extra={"edited_at": "0001-01-01T00:05:00+08:05:43"})
    records = [make_record(1), odd, make_record(3)]
    report = index_records(es, records, prefix=index_prefix)
    assert (report.sent, report.created, report.failed, report.spooled) == (3, 3, 0, 0)
    [hit] = _stored(es, index_prefix, odd["id"])
    assert "edited_at" not in hit["_source"]
    assert hit["_source"]["extra"] == odd["extra"]


def test_a_month_whose_shard_is_unassigned_holds_only_the_posts_that_may_be_stored_there(
    es: Elasticsearch, es_url: str, index_prefix: str, koubei_home: str,
    make_record: MakeRecord,
) -> None:  # fmt: skip
    """A cluster red for one month (its primary shard unassigned: a lost node, a disk gone)
    answers the lookup search with a shard failure. The whole lookup used to fail, so every
    document of every month was spooled, run after run, until the shard came back. Now only
    the posts that may be stored in that month (within a re-crawl's reach of it, as for a
    closed month) are spooled, saying why; the rest are indexed, and the replay once the shard
    is back lands the held ones once."""
    index_records(es, [make_record(0)], prefix=index_prefix)  # November 2026
    lost = f"{index_prefix}-posts-2026.09"
    nowhere = {"index.routing.allocation.require._name": "no-such-node"}
    es.indices.create(index=lost, settings=nowhere, wait_for_active_shards="0")
    september = [make_record(i, created_at="2026-09-15T12:00:00+08:00") for i in (50, 51)]
    # A refresh of the red month waits for its shard (a minute): the writer's is cut short.
    impatient = Elasticsearch(es_url, request_timeout=5)
    try:
        assert es.cluster.health(index=lost)["status"] == "red"
        report = index_records(
            impatient, [make_record(i) for i in range(10)] + september, prefix=index_prefix,
            max_retries=1, initial_backoff=0.01,
        )  # fmt: skip
    finally:
        impatient.close()
        es.indices.put_settings(index=lost, settings=dict.fromkeys(nowhere))
    assert (report.created, report.updated, report.spooled, report.failed) == (9, 1, 2, 0)
    assert sorted(r["id"] for f in spool.spool_files(index_prefix) for r in read(f)) == [
        "weibo:50",
        "weibo:51",
    ]
    (cause,) = report.causes
    assert f"did not search {lost}" in cause and "cluster is red" in cause

    es.cluster.health(index=lost, wait_for_status="green", timeout="60s")
    replayed = replay_spool(es, index_prefix)
    assert (replayed.created, replayed.spooled) == (2, 0)
    es.indices.refresh(index=posts_alias(index_prefix))
    assert es.count(index=posts_alias(index_prefix))["count"] == 12
    assert es.count(index=lost)["count"] == 2


def test_fields_of_the_wrong_shape_are_dead_lettered_naming_record_and_field(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord,
    clock: datetime,
) -> None:  # fmt: skip
    """A foreign record (``index load`` of an export) whose ``engagement`` is no object, or whose
    ``aspects`` hold no objects, was dead-lettered with a Python error as its reason
    (``AttributeError("'str' object has no attribute 'values'")``). A count written as a whole
    number in a string is read as the number, as the document model reads it in ``koubei
    process`` (and as Elasticsearch stores it): it was stored as a string and left out of
    ``engagement_total``."""
    shapes: list[tuple[str, Any, str]] = [
        ("engagement", "12", "engagement is a string ('12'), not an object of counts"),
        ("engagement", "abc", "engagement is a string ('abc'), not an object of counts"),
        ("engagement", ["1"], "engagement is a list, not an object of counts"),
        ("engagement", 12, "engagement is a number (12), not an object of counts"),
        ("aspects", ["price"], "aspects[0] is a string ('price'), not an object"),
        ("aspects", "price", "aspects is a string ('price'), not a list of objects"),
    ]
    bad = []
    for n, (name, value, _) in enumerate(shapes):
        record = make_record(100 + n)
        record[name] = value
        bad.append(record)
    counted = make_record(200)
    counted["engagement"] = {"likes": "12", "reposts": 3, "comments": " 1 "}
    report = index_records(es, [make_record(1), *bad, counted], prefix=index_prefix)
    assert (report.created, report.failed, report.spooled) == (2, len(shapes), 0)
    assert report.dead_letter is not None
    letters = list(read(report.dead_letter))
    assert [line["id"] for line in letters] == [f"weibo:{100 + n}" for n in range(len(shapes))]
    for letter, (_, _, words) in zip(letters, shapes, strict=True):
        native = letter["record"]["native_id"]
        assert letter["reason"] == f"unindexable record 'weibo:{native}': {words}"
    (hit,) = _stored(es, index_prefix, "weibo:200")
    assert hit["_source"]["engagement"] == {"likes": 12, "reposts": 3, "comments": 1}
    assert hit["_source"]["engagement_total"] == 16


def test_a_red_month_is_left_out_of_the_refresh_and_no_run_waits_for_it(
    es: Elasticsearch, es_url: str, index_prefix: str, koubei_home: str,
    make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A month whose primary is unassigned (the cluster red) held every run up: the writer's
    refresh before indexing named it and waited out the client's 30 s timeout (the node waits
    a minute for the shard), and the flow's index task's refresh after indexing raised
    ``ConnectionTimeout``, so Prefect retried the task and the cycle failed. Now both refresh
    the months that answer and leave the red one out, saying so; what a run wrote is still
    searchable for the next run's lookup (a re-crawl moved to another month updates the one
    document) and for detection after the flow's task."""
    from structlog.testing import capture_logs

    from koubei import jsonl, paths
    from koubei.flows.monitor import index_pending
    from koubei.pipeline.index.client import client_from_env

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    index_records(es, [make_record(0)], prefix=index_prefix)
    november = posts_index(index_prefix, make_record(0)["created_at"])
    # Only a refresh makes a write searchable here: the test sees whether one was made.
    es.indices.put_settings(index=november, settings={"index.refresh_interval": "-1"})
    lost = f"{index_prefix}-posts-2026.09"
    nowhere = {"index.routing.allocation.require._name": "no-such-node"}
    es.indices.create(index=lost, settings=nowhere, wait_for_active_shards="0")
    moved = make_record(1, created_at="2026-10-25T12:00:00+08:00")  # a re-crawl, into October
    processed = paths.state_dir("processed") / "weibo-search" / "r1.jsonl"
    jsonl.write_atomic(processed, [make_record(i) for i in range(2, 5)])
    client = client_from_env()  # as koubei's commands have it: a 30 s request timeout
    try:
        started = time.monotonic()
        with capture_logs() as logs:
            first = index_records(client, [make_record(1)], prefix=index_prefix)
            again = index_records(client, [moved], prefix=index_prefix)
            assert time.monotonic() - started < 20  # was 60 s: 30 s each run
            indexed = index_pending.fn(index_prefix, False)  # raised ConnectionTimeout
    finally:
        client.close()
        es.indices.put_settings(index=lost, settings=dict.fromkeys(nowhere))
    assert (first.created, again.created, again.updated) == (1, 0, 1)
    assert not es.indices.exists(index=f"{index_prefix}-posts-2026.10")  # no second copy
    assert (indexed["created"], indexed["spooled"]) == (3, 0)
    assert es.count(index=november)["count"] == 5  # the task's refresh, for detection
    left_out = [e for e in logs if e["event"].startswith("refresh leaves out")]
    assert len(left_out) == 4 and all(e["indices"] == [lost] for e in left_out)
