from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei.pipeline.index import migrate, templates
from koubei.pipeline.index.templates import posts_alias, posts_index
from koubei.pipeline.index.writer import index_records

from .conftest import changed_template_dir

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
