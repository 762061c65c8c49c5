"""Derived documents (cascades, accounts) are written by id; a refused one is named with why."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei.pipeline.index.derived import write_documents
from koubei.pipeline.index.templates import ensure_templates

pytestmark = pytest.mark.es


def test_refused_document_is_named_with_its_reason(es: Elasticsearch, index_prefix: str) -> None:
    ensure_templates(es, index_prefix)
    good = {"id": "weibo:1", "root_id": "weibo:1", "size": 3}
    bad = {"id": "weibo:2", "root_id": "weibo:2", "size": "很大"}  # `size` is a long
    report = write_documents(es, index_prefix, "cascades", [good, bad])
    assert report.written == 1
    [error] = report.errors
    assert error.startswith(f"{index_prefix}-cascades: 1 document not written (id weibo:2): ")
    assert "parsing_exception" in error and "size" in error
    assert es.count(index=f"{index_prefix}-cascades")["count"] == 1


def test_replace_removes_what_the_new_set_lacks(es: Elasticsearch, index_prefix: str) -> None:
    ensure_templates(es, index_prefix)
    day = {"term": {"day": "2026-11-25"}}
    old = [{"id": f"a{i}", "day": "2026-11-25", "brand": "鲜牧"} for i in range(3)]
    other_day = {"id": "b0", "day": "2026-11-24", "brand": "鲜牧"}
    write_documents(es, index_prefix, "accounts", [*old, other_day])
    report = write_documents(es, index_prefix, "accounts", old[:1], replace=day)
    assert (report.written, report.removed, report.errors) == (1, 2, [])
    hits = es.search(index=f"{index_prefix}-accounts", query={"match_all": {}})["hits"]["hits"]
    assert sorted(h["_id"] for h in hits) == ["a0", "b0"]


def test_a_write_conditional_on_what_was_read_leaves_a_copy_written_since(
    es: Elasticsearch, index_prefix: str
) -> None:
    """``read`` given: a document is written over the copy read (its ``_seq_no``), or created
    when read absent; one another writer changed since is a conflict, unwritten, no error."""
    ensure_templates(es, index_prefix)
    index = f"{index_prefix}-cascades"
    write_documents(es, index_prefix, "cascades", [{"id": "a", "root_id": "a", "size": 2}])
    read = es.get(index=index, id="a")
    es.index(index=index, id="a", document={"id": "a", "root_id": "a", "size": 9}, refresh=True)
    es.index(index=index, id="b", document={"id": "b", "root_id": "b", "size": 9}, refresh=True)
    mine = [{"id": i, "root_id": i, "size": 3} for i in ("a", "b", "c")]
    report = write_documents(es, index_prefix, "cascades", mine,
                             read={"a": (read["_seq_no"], read["_primary_term"])})  # fmt: skip
    # a: changed since read; b: read absent, created since; c: absent, and still so.
    assert (report.written, sorted(report.conflicts), report.errors) == (1, ["a", "b"], [])
    sizes = {i: es.get(index=index, id=i)["_source"]["size"] for i in ("a", "b", "c")}
    assert sizes == {"a": 9, "b": 9, "c": 3}
    current = es.get(index=index, id="a")
    again = write_documents(es, index_prefix, "cascades", mine[:1],
                            read={"a": (current["_seq_no"], current["_primary_term"])})  # fmt: skip
    assert (again.written, again.conflicts) == (1, [])
    assert es.get(index=index, id="a")["_source"]["size"] == 3


def test_replace_leaves_a_document_written_again_after_its_search(
    es: Elasticsearch, index_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documents ``replace`` removes are found by a search, then deleted by id, each only as
    that search saw it: one another run wrote again in between stays."""
    ensure_templates(es, index_prefix)
    index = f"{index_prefix}-accounts"
    day = {"term": {"day": "2026-11-25"}}
    old = [{"id": f"a{i}", "day": "2026-11-25", "brand": "鲜牧", "rank": i} for i in range(3)]
    write_documents(es, index_prefix, "accounts", old)
    search = es.search

    def search_then_rewrite(**kwargs: Any) -> Any:
        found = search(**kwargs)
        es.index(index=index, id="a1", document={**old[1], "rank": 9})  # another run's write
        return found

    monkeypatch.setattr(es, "search", search_then_rewrite)
    report = write_documents(es, index_prefix, "accounts", old[:1], replace=day)
    assert (report.written, report.removed, report.errors) == (1, 1, [])
    assert not es.exists(index=index, id="a2")
    assert es.get(index=index, id="a1")["_source"]["rank"] == 9
