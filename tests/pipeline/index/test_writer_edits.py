"""An edit of a stored post (``extra.edited_at``) replaces its stored copy whole, on a real node:
a partial update merged objects key by key, and the old version's ``extra`` keys stayed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei.pipeline.index import placement
from koubei.pipeline.index.derived import update_posts
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
