from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from koubei.pipeline.index import templates
from koubei.pipeline.index.templates import AnalyzerMissingError, ensure_templates, posts_alias

from .conftest import changed_template_dir


def test_posts_index_is_monthly_by_created_at_in_utc() -> None:
    assert templates.posts_index("k", "2026-11-30T23:59:00+00:00") == "k-posts-2026.11"
    # 07:00 on 1 December in Shanghai is still 30 November in UTC.
    assert templates.posts_index("k", "2026-12-01T07:00:00+08:00") == "k-posts-2026.11"
    assert templates.posts_index("k", datetime(2027, 1, 1, tzinfo=UTC)) == "k-posts-2027.01"


def test_ensure_templates_is_idempotent_and_creates_the_read_alias(
    es: Elasticsearch, index_prefix: str
) -> None:
    now = datetime(2026, 11, 5, tzinfo=UTC)
    ensure_templates(es, index_prefix, now=now)
    ensure_templates(es, index_prefix, now=now)
    aliases = es.indices.get_alias(name=posts_alias(index_prefix))
    assert list(aliases) == [f"{index_prefix}-posts-2026.11"]
    for kind in ("alerts", "accounts", "cascades"):
        assert es.indices.exists(index=f"{index_prefix}-{kind}")
    settings = es.indices.get_settings(index=f"{index_prefix}-posts-2026.11")
    assert (
        settings[f"{index_prefix}-posts-2026.11"]["settings"]["index"]["number_of_replicas"] == "0"
    )
    assert all(status.current for status in templates.template_status(es, index_prefix))


def test_posts_mapping_has_cjk_text_keyword_subfields_and_closed_extra(
    es: Elasticsearch, index_prefix: str
) -> None:
    ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    index = f"{index_prefix}-posts-2026.11"
    props = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["created_at"]["type"] == "date" and props["@timestamp"]["type"] == "date"
    assert props["text_raw"]["fields"]["keyword"]["type"] == "keyword"
    assert props["terms"]["type"] == "keyword"
    assert props["extra"]["enabled"] is False
    tokens = es.indices.analyze(index=index, field="text_raw", text="奶茶难喝")["tokens"]
    assert [t["token"] for t in tokens] == ["奶", "茶", "难", "喝"]


def test_additive_template_change_is_applied_in_place_on_startup(
    es: Elasticsearch, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    newer, version = changed_template_dir(tmp_path, {"added_field": {"type": "keyword"}})
    monkeypatch.setattr(templates, "TEMPLATE_DIR", newer)
    ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    status = {s.kind: s for s in templates.template_status(es, index_prefix)}
    assert status["posts"].installed_version == version
    assert status["posts"].current  # the existing index took the new field, no copy needed
    index = f"{index_prefix}-posts-2026.11"
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["_meta"]["version"] == version
    assert mapping["properties"]["added_field"] == {"type": "keyword"}


def test_conflicting_template_change_leaves_index_stale_for_reindex(
    es: Elasticsearch, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    newer, version = changed_template_dir(tmp_path, {"rating": {"type": "keyword"}})
    monkeypatch.setattr(templates, "TEMPLATE_DIR", newer)
    ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    status = {s.kind: s for s in templates.template_status(es, index_prefix)}
    assert status["posts"].installed_version == version
    assert status["posts"].stale_indices == [f"{index_prefix}-posts-2026.11"]
    assert status["alerts"].current


def test_missing_analyzer_plugin_is_a_clear_error(es: Elasticsearch, index_prefix: str) -> None:
    with pytest.raises(AnalyzerMissingError, match="analysis-smartcn") as info:
        ensure_templates(es, index_prefix, analyzer="smartcn")
    assert "KOUBEI_ES_ANALYZER=standard" in str(info.value)
    assert not es.indices.exists_index_template(name=f"{index_prefix}-posts")
