from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei.es_local import free_port
from koubei.jsonl import read
from koubei.pipeline.index import spool
from koubei.pipeline.index.templates import posts_alias
from koubei.pipeline.index.writer import index_records, replay_spool
from koubei.timeutil import CLOCK_ENV

MakeRecord = Callable[..., dict[str, Any]]


def _count(es: Elasticsearch, prefix: str) -> int:
    es.indices.refresh(index=posts_alias(prefix))
    return int(es.count(index=posts_alias(prefix))["count"])


def test_reindexing_the_same_records_creates_no_second_document(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    records = [make_record(i) for i in range(250)]
    first = index_records(es, records, prefix=index_prefix, chunk_size=100)
    second = index_records(es, records, prefix=index_prefix, chunk_size=100)
    assert (first.sent, first.created, first.updated) == (250, 250, 0)
    assert (second.sent, second.created, second.updated) == (250, 0, 250)
    assert _count(es, index_prefix) == 250


def test_recrawl_updates_counts_and_last_seen_but_keeps_first_seen(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    original = make_record(7, crawled_at="2026-11-20T13:00:00+08:00")
    index_records(es, [original], prefix=index_prefix)
    recrawl = make_record(
        7,
        crawled_at="2026-11-21T09:30:00+08:00",
        engagement={"likes": 999, "reposts": 40, "comments": 3, "helpful": 0},
    )
    report = index_records(es, [recrawl], prefix=index_prefix)
    assert (report.created, report.updated) == (0, 1)
    es.indices.refresh(index=posts_alias(index_prefix))
    hits = es.search(index=posts_alias(index_prefix), query={"ids": {"values": ["weibo:7"]}})
    assert hits["hits"]["total"]["value"] == 1
    stored = hits["hits"]["hits"][0]["_source"]
    assert stored["engagement"]["likes"] == 999
    assert stored["engagement_total"] == 999 + 40 + 3
    assert stored["first_seen"] == "2026-11-20T13:00:00+08:00"
    assert stored["last_seen"] == "2026-11-21T09:30:00+08:00"


def test_an_export_loaded_over_a_crawled_post_keeps_its_crawl_time(
    es: Elasticsearch,
    index_prefix: str,
    koubei_home: str,
    make_record: MakeRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A record without ``crawled_at`` (an export, processed) is indexed without one, not with
    a null that its update would write over the crawl time the stored copy has."""
    index_records(es, [make_record(7, crawled_at="2026-11-21T09:30:00+08:00")], prefix=index_prefix)
    monkeypatch.setenv(CLOCK_ENV, "2026-11-22T12:00:00+08:00")  # loaded then
    export = make_record(7, crawled_at=None, engagement={"likes": 5})
    exported_only = make_record(8, crawled_at=None)
    report = index_records(es, [export, exported_only], prefix=index_prefix)
    assert (report.created, report.updated) == (1, 1)
    es.indices.refresh(index=posts_alias(index_prefix))
    query = {"ids": {"values": ["weibo:7", "weibo:8"]}}
    hits = es.search(index=posts_alias(index_prefix), query=query)["hits"]["hits"]
    stored = {h["_id"]: h["_source"] for h in hits}
    assert stored["weibo:7"]["engagement"]["likes"] == 5  # the export's counts are taken
    assert stored["weibo:7"]["crawled_at"] == "2026-11-21T09:30:00+08:00"  # before: null
    assert "crawled_at" not in stored["weibo:8"]
    assert stored["weibo:8"]["first_seen"] == "2026-11-22T04:00:00+00:00"  # the load's time


def test_mapping_conflict_goes_to_dead_letter_and_the_batch_goes_on(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    good = [make_record(i) for i in range(20)]
    bad = make_record(100)
    bad["engagement"]["likes"] = "很多"  # not a number: mapper_parsing_exception
    unknown_field = make_record(101)
    unknown_field["surprise"] = 1  # strict mapping
    report = index_records(es, [*good[:10], bad, unknown_field, *good[10:]], prefix=index_prefix)
    assert (report.sent, report.created, report.failed, report.spooled) == (22, 20, 2, 0)
    assert _count(es, index_prefix) == 20
    assert report.dead_letter is not None
    letters = {line["id"]: line for line in read(report.dead_letter)}
    assert set(letters) == {"weibo:100", "weibo:101"}
    assert letters["weibo:100"]["status"] == 400
    assert "likes" in letters["weibo:100"]["reason"]
    assert letters["weibo:100"]["record"]["engagement"]["likes"] == "很多"
    assert "surprise" in letters["weibo:101"]["reason"]


def test_record_without_id_or_date_is_dead_lettered_not_a_crash(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    no_id = make_record(1)
    del no_id["id"]
    no_date = make_record(2)
    del no_date["created_at"]
    report = index_records(es, [no_id, no_date, make_record(3)], prefix=index_prefix)
    assert (report.sent, report.created, report.failed) == (3, 1, 2)


def test_unreachable_cluster_spools_everything_and_replay_sends_it_once(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    records = [make_record(i) for i in range(120)]
    index_records(es, records[:30], prefix=index_prefix)
    nowhere = Elasticsearch(f"http://127.0.0.1:{free_port()}", request_timeout=2, max_retries=0)
    down = index_records(
        nowhere, records, prefix=index_prefix, chunk_size=50, max_retries=1, initial_backoff=0.01
    )
    assert (down.sent, down.spooled, down.created) == (120, 120, 0)
    assert spool.spooled_count(index_prefix) == 120
    replayed = replay_spool(es, index_prefix)
    assert (replayed.sent, replayed.created, replayed.updated) == (120, 90, 30)
    assert spool.spool_files(index_prefix) == []
    assert _count(es, index_prefix) == 120
    assert replay_spool(es, index_prefix).sent == 0


def test_write_blocked_index_is_retried_then_spooled_not_dead_lettered(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    index_records(es, [make_record(0)], prefix=index_prefix)
    month = f"{index_prefix}-posts-2026.11"
    es.indices.add_block(index=month, block="write")  # what a running migration does
    blocked = index_records(
        es, [make_record(i) for i in range(1, 11)], prefix=index_prefix,
        max_retries=1, initial_backoff=0.01,
    )  # fmt: skip
    assert (blocked.sent, blocked.spooled, blocked.failed, blocked.retries) == (10, 10, 0, 1)
    es.indices.put_settings(index=month, settings={"index.blocks.write": False})
    replayed = replay_spool(es, index_prefix)
    assert (replayed.created, replayed.failed) == (10, 0)
    assert _count(es, index_prefix) == 11


def test_a_400_from_the_clusters_state_is_spooled_and_replayed_not_dead_lettered(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    """A month's name that is an alias of two indices with no write index (a hand-made
    rollover, a half-mended migration) answers every write with 400 illegal_argument_exception;
    a cluster at its shard limit answers a new month's documents with 400 validation_exception.
    Neither is the document's fault: both used to dead-letter every document of the month."""
    index_records(es, [make_record(0)], prefix=index_prefix)
    month = f"{index_prefix}-posts-2026.11"
    es.indices.delete(index=month)
    for index in (f"{month}-a", f"{month}-b"):
        es.indices.create(index=index)
        es.indices.put_alias(index=index, name=month)
    aliased = index_records(es, [make_record(i) for i in range(1, 6)], prefix=index_prefix)
    assert (aliased.sent, aliased.failed, aliased.spooled) == (5, 0, 5)
    es.indices.update_aliases(
        actions=[{"add": {"index": f"{month}-a", "alias": month, "is_write_index": True}}]
    )
    replayed = replay_spool(es, index_prefix)
    assert (replayed.created, replayed.failed, replayed.spooled) == (5, 0, 0)
    assert _count(es, index_prefix) == 5

    # The node holds more than one shard already: no new index passes a limit of one.
    es.cluster.put_settings(persistent={"cluster.max_shards_per_node": 1})
    try:
        # A post of a month that has no index yet: creating it would pass the shard limit.
        full = index_records(
            es, [make_record(9, created_at="2026-08-01T12:00:00+08:00")], prefix=index_prefix
        )
    finally:
        es.cluster.put_settings(persistent={"cluster.max_shards_per_node": None})
    assert (full.failed, full.spooled) == (0, 1)
    assert (replay_spool(es, index_prefix).created, _count(es, index_prefix)) == (1, 6)


def test_a_replay_goes_on_past_a_file_whose_documents_the_cluster_refuses_for_now(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    """A spool file holding a post of a closed month is re-spooled at each replay (refused for
    the cluster's state). The replay used to stop at any re-spooled file, as if the cluster
    were down: after an outage whose spool files each held one such post, each cycle
    delivered one file's documents, and the rest of the backlog waited a cycle per file."""
    october = "2026-10-15T12:00:00+08:00"
    index_records(es, [make_record(1, created_at=october)], prefix=index_prefix)
    es.indices.close(index=f"{index_prefix}-posts-2026.10")
    for n in (10, 20, 30):  # three cycles' spool files, each with one post of October
        spooled = [make_record(n, created_at=october), make_record(n + 1), make_record(n + 2)]
        assert spool.write_spool(index_prefix, spooled)[1] == 3
    replayed = replay_spool(es, index_prefix)
    assert (replayed.sent, replayed.created, replayed.spooled) == (9, 6, 3)
    es.indices.refresh(index=posts_alias(index_prefix), ignore_unavailable=True)
    open_months = es.count(index=posts_alias(index_prefix), ignore_unavailable=True)
    assert open_months["count"] == 6
    assert spool.spooled_count(index_prefix) == 3


def test_an_older_crawl_loaded_again_never_overwrites_a_newer_one(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    """Re-loading an old processed file (a backfill) or replaying an old spool after a newer
    crawl was indexed put the old counts and ``last_seen`` back: likes 999 became 5 again."""
    old = make_record(
        7,
        crawled_at="2026-11-20T13:00:00+08:00",
        engagement={"likes": 5, "reposts": 0, "comments": 0, "helpful": 0},
    )
    new = make_record(
        7,
        crawled_at="2026-11-22T09:30:00+08:00",
        engagement={"likes": 999, "reposts": 40, "comments": 3, "helpful": 0},
    )
    same_crawl_rescored = make_record(
        8, crawled_at="2026-11-20T05:00:00Z", sentiment={"score": 0.05, "label": "negative",
                                                         "model_version": "v2"},
    )  # fmt: skip
    index_records(es, [old, make_record(8, crawled_at="2026-11-20T13:00:00+08:00")],
                  prefix=index_prefix)  # fmt: skip
    index_records(es, [new], prefix=index_prefix)
    again = index_records(es, [old, same_crawl_rescored], prefix=index_prefix)
    assert (again.sent, again.created, again.updated, again.failed) == (2, 0, 2, 0)
    es.indices.refresh(index=posts_alias(index_prefix))
    hits = es.search(index=posts_alias(index_prefix), query={"ids": {"values": ["weibo:7"]}})
    assert hits["hits"]["total"]["value"] == 1
    stored = hits["hits"]["hits"][0]["_source"]
    assert (stored["engagement"]["likes"], stored["engagement_total"]) == (999, 1042)
    assert stored["last_seen"] == "2026-11-22T09:30:00+08:00"
    assert stored["first_seen"] == "2026-11-20T13:00:00+08:00"
    # The same crawl processed again (a new sentiment model; the same instant spelt in UTC)
    # is still applied.
    rescored = es.get(index=posts_alias(index_prefix).replace("posts", "posts-2026.11"),
                      id="weibo:8")["_source"]  # fmt: skip
    assert rescored["sentiment"]["model_version"] == "v2"


def test_a_stored_crawl_time_ahead_of_the_clock_does_not_hold_later_crawls_back(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord,
    clock: datetime,
) -> None:  # fmt: skip
    """A copy stamped by a crawler whose clock ran ten days ahead is not "newer" than every
    honest crawl to come."""
    ahead = make_record(3, created_at=clock - timedelta(hours=2),
                        crawled_at=clock + timedelta(days=10))  # fmt: skip
    likes = {"likes": 77, "reposts": 0, "comments": 0, "helpful": 0}
    honest = make_record(3, created_at=clock - timedelta(hours=2), crawled_at=clock,
                         engagement=likes)  # fmt: skip
    index_records(es, [ahead], prefix=index_prefix)
    index_records(es, [honest], prefix=index_prefix)
    es.indices.refresh(index=posts_alias(index_prefix))
    hits = es.search(index=posts_alias(index_prefix), query={"ids": {"values": ["weibo:3"]}})
    assert hits["hits"]["hits"][0]["_source"]["engagement"]["likes"] == 77
