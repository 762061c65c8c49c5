"""An edit of a stored post (``extra.edited_at``) replaces its stored copy whole, on a real node:
a partial update merged objects key by key, and the old version's ``extra`` keys stayed. Its
time is stored as ``edited_at``, a mapped date a range query finds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei.model import from_record
from koubei.pipeline.index import placement
from koubei.pipeline.index.derived import update_posts
from koubei.pipeline.index.documents import strip_index_fields
from koubei.pipeline.index.templates import posts_alias
from koubei.pipeline.index.writer import index_records

MakeRecord = Callable[..., dict[str, Any]]
CASCADE = {"root_id": "weibo:1", "parent_id": None, "depth": 0, "via": None}


def stored(es: Elasticsearch, prefix: str) -> dict[str, Any]:
    es.indices.refresh(index=posts_alias(prefix))
    [hit] = es.search(index=posts_alias(prefix))["hits"]["hits"]
    return dict(hit["_source"])


def versions(make_record: MakeRecord) -> tuple[dict[str, Any], dict[str, Any]]:
    """A page landed (v1), and its edit crawled an hour later (v2), lacking v1's ``extra``
    keys ``site`` and ``truncated`` but one."""
    v1 = make_record(
        1,
        crawled_at="2026-11-20T13:00:00+08:00",
        extra={"site": "某报", "truncated": True, "from": {"feed": "a", "page": "b"}},
    )
    v2 = make_record(
        1,
        crawled_at="2026-11-20T14:00:00+08:00",
        text_raw="更正：第1条",
        extra={"from": {"feed": "a"}, "edited_at": "2026-11-20T13:50:00+08:00"},
    )
    return v1, v2


def test_an_edit_replaces_the_stored_extra_and_keeps_first_seen_and_cascade(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    v1, v2 = versions(make_record)
    assert index_records(es, [v1], prefix=index_prefix).created == 1
    first = stored(es, index_prefix)
    month = es.search(index=posts_alias(index_prefix))["hits"]["hits"][0]["_index"]
    update_posts(es, {v1["id"]: {"cascade": CASCADE}}, {v1["id"]: {month}})  # the daily run

    report = index_records(es, [v2], prefix=index_prefix)
    assert (report.created, report.updated, report.ok) == (0, 1, True)
    doc = stored(es, index_prefix)
    assert doc["extra"] == v2["extra"]  # was: site, truncated and from.page stayed
    assert doc["text_raw"] == "更正：第1条"
    assert doc["first_seen"] == first["first_seen"] == "2026-11-20T13:00:00+08:00"
    assert doc["last_seen"] == "2026-11-20T14:00:00+08:00"
    assert doc["cascade"] == CASCADE

    # A re-crawl that is no edit still merges (a crawl lacking a key keeps the stored one).
    index_records(es, [{**v2, "extra": {}, "crawled_at": "2026-11-20T15:00:00+08:00"}],
                  prefix=index_prefix)  # fmt: skip
    assert stored(es, index_prefix)["extra"] == v2["extra"]


def test_an_edit_sent_over_a_copy_written_since_it_was_read_reads_it_again(
    es: Elasticsearch,
    index_prefix: str,
    koubei_home: str,
    make_record: MakeRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The daily spread run writes the post's ``cascade`` between the writer's read of the
    stored copy and its write: the write, conditional on the copy read, answers 409, and the
    edit is read again and sent over the new copy, its cascade kept (not put back to none)."""
    v1, v2 = versions(make_record)
    index_records(es, [v1], prefix=index_prefix)
    stored(es, index_prefix)
    month = es.search(index=posts_alias(index_prefix))["hits"]["hits"][0]["_index"]
    read = placement.Placement.replace_edits
    calls = []

    def then_the_daily_run_writes(self: placement.Placement, entries: list[Any]) -> None:
        read(self, entries)
        if not calls:
            update_posts(es, {v1["id"]: {"cascade": CASCADE}}, {v1["id"]: {month}})
        calls.append(len(entries))

    monkeypatch.setattr(placement.Placement, "replace_edits", then_the_daily_run_writes)
    report = index_records(es, [v2], prefix=index_prefix)
    assert (report.updated, report.ok) == (1, True)
    doc = stored(es, index_prefix)
    assert doc["extra"] == v2["extra"] and doc["cascade"] == CASCADE
    assert len(calls) == 2  # read, conflict, read again


def test_an_edit_is_found_by_a_range_query_on_its_edit_time(
    es: Elasticsearch, index_prefix: str, koubei_home: str, make_record: MakeRecord
) -> None:
    """An edit said its time in ``extra.edited_at`` alone, which the posts template does not
    index (``enabled: false``), so neither a range query nor Kibana could list the posts edited
    after they were first seen. Now the writer stores it as ``edited_at``, a mapped date."""
    v1, v2 = versions(make_record)
    alias = posts_alias(index_prefix)

    def edited(since: str) -> list[str]:
        es.indices.refresh(index=alias)
        query = {"range": {"edited_at": {"gte": since}}}
        return [h["_id"] for h in es.search(index=alias, query=query)["hits"]["hits"]]

    index_records(es, [v1], prefix=index_prefix)
    assert edited("2026-11-01T00:00:00+08:00") == []  # landed, never edited
    assert index_records(es, [v2], prefix=index_prefix).updated == 1
    assert edited("2026-11-20T13:50:00+08:00") == [v1["id"]]  # was: [] (not mapped)
    assert edited("2026-11-20T13:51:00+08:00") == []
    doc = stored(es, index_prefix)
    assert doc["edited_at"] == doc["extra"]["edited_at"] == "2026-11-20T13:50:00+08:00"

    # A re-crawl that is no edit keeps the time of the last edit; a record read back from the
    # index is a plain Document again (edited_at is the index's, as @timestamp is).
    index_records(es, [{**v2, "extra": {}, "crawled_at": "2026-11-20T15:00:00+08:00"}],
                  prefix=index_prefix)  # fmt: skip
    assert edited("2026-11-20T13:50:00+08:00") == [v1["id"]]
    assert from_record(strip_index_fields(stored(es, index_prefix))).extra == v2["extra"]

    # An edit time that is no time (a foreign file's) stores the post, without edited_at.
    odd = make_record(2, extra={"edited_at": "上周"})
    assert index_records(es, [odd], prefix=index_prefix).created == 1
    assert edited("2000-01-01T00:00:00+08:00") == [v1["id"]]
