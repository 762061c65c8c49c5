from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei.pipeline.index import migrate, templates
from koubei.pipeline.index.templates import posts_alias, posts_index
from koubei.pipeline.index.writer import index_records

from .conftest import changed_template_dir, older_template_dir, stored_before_edit_time

MakeRecord = Callable[..., dict[str, Any]]


def test_reindex_migrates_with_alias_swap_and_writers_keep_their_index_name(
    es: Elasticsearch,
    index_prefix: str,
    koubei_home: str,
    make_record: MakeRecord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: datetime,
) -> None:
    # Posts of the last 150 minutes: at a month's first minutes (CI runs this at month ends and
    # New Year) they fall into two monthly indices, and setup makes the current month's anyway.
    records = [make_record(i, created_at=clock - timedelta(minutes=i)) for i in range(150)]
    index_records(es, records, prefix=index_prefix)
    docs = Counter(posts_index(index_prefix, r["created_at"]) for r in records)
    docs.setdefault(posts_index(index_prefix, clock), 0)
    assert migrate.reindex(es, index_prefix) == []  # already current

    # Two conflicting changes in a row (a field's type), so put_mapping cannot apply them.
    for rating_type in ("keyword", "double"):
        new_dir, version = changed_template_dir(tmp_path, {"rating": {"type": rating_type}})
        monkeypatch.setattr(templates, "TEMPLATE_DIR", new_dir)
        migrated = migrate.reindex(es, index_prefix)
        assert sorted((m.month, m.new_index, m.docs) for m in migrated) == [
            (month, f"{month}-v{version}", n) for month, n in sorted(docs.items())
        ]
        for month in docs:
            assert es.indices.get_alias(name=month) == {
                f"{month}-v{version}": {"aliases": {month: {"is_write_index": True}}}
            }
            mapping = es.indices.get_mapping(index=month)[f"{month}-v{version}"]["mappings"]
            assert mapping["_meta"]["version"] == version
            assert mapping["properties"]["rating"]["type"] == rating_type
        read = es.indices.get_alias(name=posts_alias(index_prefix))
        assert sorted(read) == sorted(f"{month}-v{version}" for month in docs)

    es.indices.refresh(index=posts_alias(index_prefix))
    assert es.count(index=posts_alias(index_prefix))["count"] == 150
    # Writers address the month's name, now an alias: a re-crawl updates, a new post is created.
    again = make_record(3, created_at=clock - timedelta(minutes=3))
    report = index_records(es, [again, make_record(500, created_at=clock)], prefix=index_prefix)
    assert (report.created, report.updated, report.failed) == (1, 1, 0)
    es.indices.refresh(index=posts_alias(index_prefix))
    assert es.count(index=posts_alias(index_prefix))["count"] == 151
    assert all(s.current for s in templates.template_status(es, index_prefix))


def test_cascade_documents_under_a_bare_root_id_are_removed_and_brand_ones_kept(
    es: Elasticsearch, index_prefix: str
) -> None:
    """Before: a cascade document an earlier release keyed by its root alone stayed for good,
    in the view of the brand written last, once its cascade had no post in the daily run's
    days (only a rewrite of the same root removed it)."""
    templates.ensure_templates(es, index_prefix)
    assert migrate.remove_bare_cascades(es, index_prefix) == 0  # no cascades index yet
    index = f"{index_prefix}-cascades"
    docs = {
        "weibo:1": {"root_id": "weibo:1", "brand": "北岭", "size": 3},  # bare: written last by 北岭
        "鲜牧:weibo:1": {"root_id": "weibo:1", "brand": "鲜牧", "size": 9},
        "北岭:weibo:1": {"root_id": "weibo:1", "brand": "北岭", "size": 3},
        "dianping:77": {"root_id": "dianping:77", "brand": "鲜牧", "size": 2},  # bare
        "北岭:dianping:78": {"root_id": "dianping:78", "brand": "北岭", "size": 2},
    }
    for doc_id, doc in docs.items():
        es.index(index=index, id=doc_id, document={"id": doc_id, **doc})
    es.indices.refresh(index=index)

    status = {s.kind: s for s in templates.template_status(es, index_prefix)}
    assert (status["cascades"].bare_id_documents, status["cascades"].current) == (2, False)
    assert migrate.remove_bare_cascades(es, index_prefix) == 2
    assert all(s.current for s in templates.template_status(es, index_prefix))
    hits = es.search(index=index, query={"match_all": {}}, size=100)["hits"]["hits"]
    assert {h["_id"] for h in hits} == {"鲜牧:weibo:1", "北岭:weibo:1", "北岭:dianping:78"}
    assert migrate.remove_bare_cascades(es, index_prefix) == 0  # a second run finds none


def edited_since(es: Elasticsearch, prefix: str, when: str) -> list[str]:
    """Ids of the posts edited at or after ``when``, latest edit first: what an analyst asks."""
    es.indices.refresh(index=posts_alias(prefix))
    query = {"range": {"edited_at": {"gte": when}}}
    order = {"edited_at": {"order": "desc", "unmapped_type": "date"}}  # as Kibana sorts
    hits = es.search(index=posts_alias(prefix), query=query, sort=[order])
    return [hit["_id"] for hit in hits["hits"]["hits"]]


def test_a_month_of_version_5_is_copied_and_its_edits_are_found_by_their_edit_time(
    es: Elasticsearch,
    index_prefix: str,
    koubei_home: str,
    make_record: MakeRecord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Posts version 6 maps ``edited_at``. Before, an edit said its time in ``extra.edited_at``
    alone, which the template does not index (``enabled: false``): no range query or Kibana
    filter could find the posts edited after they were first seen. A month stored then keeps
    every post through ``koubei index reindex``, and its edits are found by their time; a
    second run copies nothing and duplicates nothing."""
    current = templates.TEMPLATE_DIR
    older = older_template_dir(tmp_path, 5, without=("edited_at",))
    monkeypatch.setattr(templates, "TEMPLATE_DIR", older)
    templates.ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    month = f"{index_prefix}-posts-2026.11"
    edit = {"edited_at": "2026-11-21T09:30:00+08:00", "from": {"feed": "a"}}
    stored_before_edit_time(es, [
        make_record(1, extra=edit),  # an article edited once it had landed
        make_record(2, extra={"edited_at": "昨天"}),  # a foreign file's: no time
        *(make_record(i) for i in range(3, 30)),  # never edited
    ], index_prefix)  # fmt: skip
    assert edited_since(es, index_prefix, "2026-11-01T00:00:00+08:00") == []

    monkeypatch.setattr(templates, "TEMPLATE_DIR", current)
    templates.ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    # A start-up maps the field in place, so the month takes new edits with their time...
    later = make_record(40, extra={"edited_at": "2026-11-22T18:00:00+08:00"})
    assert index_records(es, [later], prefix=index_prefix, ensure=False).created == 1
    assert edited_since(es, index_prefix, "2026-11-01T00:00:00+08:00") == [later["id"]]
    # ...but the posts edited before have none, so the month is behind until copied.
    [status] = [s for s in templates.template_status(es, index_prefix) if s.kind == "posts"]
    assert (status.stale_indices, status.current) == ([month], False)

    [migrated] = migrate.reindex(es, index_prefix)
    assert (migrated.old_index, migrated.new_index, migrated.docs) == (month, f"{month}-v7", 30)
    assert es.count(index=posts_alias(index_prefix))["count"] == 30
    first_id = make_record(1)["id"]
    assert edited_since(es, index_prefix, "2026-11-01T00:00:00+08:00") == [later["id"], first_id]
    assert edited_since(es, index_prefix, "2026-11-22T00:00:00+08:00") == [later["id"]]
    first = es.get(index=month, id=first_id)["_source"]
    assert (first["edited_at"], first["extra"]) == ("2026-11-21T09:30:00+08:00", edit)
    foreign = es.get(index=month, id=make_record(2)["id"])["_source"]
    assert "edited_at" not in foreign and foreign["extra"] == {"edited_at": "昨天"}
    mapping = es.indices.get_mapping(index=month)[f"{month}-v7"]["mappings"]
    assert mapping["_meta"]["version"] == 7 and mapping["properties"]["edited_at"]["type"] == "date"
    assert all(s.current for s in templates.template_status(es, index_prefix))

    assert migrate.reindex(es, index_prefix) == []  # run again: nothing to copy
    assert es.count(index=posts_alias(index_prefix))["count"] == 30
    assert len(edited_since(es, index_prefix, "2026-11-01T00:00:00+08:00")) == 2
