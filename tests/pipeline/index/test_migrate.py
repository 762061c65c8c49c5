from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei.pipeline.index import migrate, templates
from koubei.pipeline.index.templates import posts_alias
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
) -> None:
    records = [make_record(i) for i in range(150)]
    index_records(es, records, prefix=index_prefix)
    month = f"{index_prefix}-posts-2026.11"
    assert migrate.reindex(es, index_prefix) == []  # already current

    # Two conflicting changes in a row (a field's type), so put_mapping cannot apply them.
    for rating_type in ("keyword", "double"):
        new_dir, version = changed_template_dir(tmp_path, {"rating": {"type": rating_type}})
        monkeypatch.setattr(templates, "TEMPLATE_DIR", new_dir)
        migrated = migrate.reindex(es, index_prefix)
        assert [(m.month, m.new_index, m.docs) for m in migrated] == [
            (month, f"{month}-v{version}", 150)
        ]
        assert es.indices.get_alias(name=month) == {
            f"{month}-v{version}": {"aliases": {month: {"is_write_index": True}}}
        }
        read = es.indices.get_alias(name=posts_alias(index_prefix))
        assert list(read) == [f"{month}-v{version}"]
        mapping = es.indices.get_mapping(index=month)[f"{month}-v{version}"]["mappings"]
        assert mapping["_meta"]["version"] == version
        assert mapping["properties"]["rating"]["type"] == rating_type

    es.indices.refresh(index=posts_alias(index_prefix))
    assert es.count(index=posts_alias(index_prefix))["count"] == 150
    # Writers address the month's name, now an alias: a re-crawl updates, a new post is created.
    report = index_records(es, [make_record(3), make_record(500)], prefix=index_prefix)
    assert (report.created, report.updated, report.failed) == (1, 1, 0)
    es.indices.refresh(index=posts_alias(index_prefix))
    assert es.count(index=posts_alias(index_prefix))["count"] == 151
    assert all(s.current for s in templates.template_status(es, index_prefix))
