from __future__ import annotations

import json
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
    assert props["edited_at"] == {"type": "date"}  # extra.edited_at, mapped (version 6)
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


def test_an_index_left_behind_by_a_stopped_upgrade_is_upgraded_at_the_next_start(
    es: Elasticsearch, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    koubei_home: str,
) -> None:  # fmt: skip
    """A run stopped between installing a newer template and the in-place upgrade: the next
    start-up found the template current and never looked at the index again, so the strict
    mapping dead-lettered every document carrying the new field."""
    from koubei.pipeline.index.writer import index_records

    from .conftest import build_record

    now = datetime(2026, 11, 5, tzinfo=UTC)
    ensure_templates(es, index_prefix, now=now)
    newer, _ = changed_template_dir(tmp_path, {"added_field": {"type": "keyword"}})
    for kind in templates.KINDS:  # the stopped run got as far as the templates
        body = templates.load_template(kind, index_prefix, template_dir=newer)
        es.indices.put_index_template(name=templates.template_name(index_prefix, kind), **body)
    monkeypatch.setattr(templates, "TEMPLATE_DIR", newer)
    ensure_templates(es, index_prefix, now=now)
    assert all(status.current for status in templates.template_status(es, index_prefix))
    record = {**build_record(1, created_at="2026-11-06T10:00:00+08:00"), "added_field": "x"}
    report = index_records(es, [record], prefix=index_prefix, ensure=False)
    assert (report.created, report.failed) == (1, 0)


def test_a_changed_text_analyzer_is_installed_for_the_months_to_come(
    es: Elasticsearch, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``KOUBEI_ES_ANALYZER`` changed on an existing cluster was ignored for good: the template
    kept the first analyzer (its mapping version had not moved) and `index status` said
    current. The node has only the standard tokenizer, so the second analyzer is a variant of
    it (no lowercase filter) offered in a copy of analyzers.json."""
    import json
    import shutil

    for path in templates.TEMPLATE_DIR.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    choices = json.loads((tmp_path / "analyzers.json").read_text(encoding="utf-8"))
    cased = {"type": "custom", "tokenizer": "standard", "filter": []}
    choices["cased"] = {"preflight_tokenizer": "standard", "analyzer": cased, "plugin": None}
    (tmp_path / "analyzers.json").write_text(json.dumps(choices), encoding="utf-8")
    monkeypatch.setattr(templates, "TEMPLATE_DIR", tmp_path)

    ensure_templates(es, index_prefix, analyzer="standard", now=datetime(2026, 11, 5, tzinfo=UTC))
    ensure_templates(es, index_prefix, analyzer="cased", now=datetime(2026, 11, 5, tzinfo=UTC))
    found = es.indices.get_index_template(name=f"{index_prefix}-posts")["index_templates"]
    settings = found[0]["index_template"]["template"]["settings"]["index"]
    assert settings["analysis"]["analyzer"]["koubei_text"] == cased
    es.indices.create(index=f"{index_prefix}-posts-2026.12")
    new_month = es.indices.get_settings(index=f"{index_prefix}-posts-2026.12")
    analysis = new_month[f"{index_prefix}-posts-2026.12"]["settings"]["index"]["analysis"]
    assert analysis["analyzer"]["koubei_text"]["tokenizer"] == "standard"
    assert not analysis["analyzer"]["koubei_text"].get("filter")  # was ["lowercase"]


def test_posts_fields_of_versions_4_to_7_are_added_in_place_to_a_month_of_version_3(
    es: Elasticsearch, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 4's ``cascade`` object, version 5's ``aspect_lexicon_version``, version 6's
    ``edited_at`` and version 7's ``sentiment.rules_version`` are additive: a month created
    under version 3 takes them on the next start-up, so a post carrying them is stored there.
    Version 6's field is derived from what posts stored before hold (``extra.edited_at``), so
    that month stays behind, in ``index status``, until ``index reindex`` copies it
    (``test_migrate.py``)."""
    from koubei.pipeline.index.writer import index_records

    from .conftest import build_record, older_template_dir

    current = templates.TEMPLATE_DIR
    assert json.loads((current / "posts.json").read_text(encoding="utf-8"))["_meta"] == {
        "version": 7, "managed_by": "koubei", "kind": "posts", "reindex_below": 6,
    }  # fmt: skip
    added = ("cascade", "aspect_lexicon_version", "edited_at", "sentiment.rules_version")
    monkeypatch.setattr(templates, "TEMPLATE_DIR", older_template_dir(tmp_path, 3, without=added))
    ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    index = f"{index_prefix}-posts-2026.11"
    props = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert not set(added) & set(props)
    assert "rules_version" not in props["sentiment"]["properties"]

    monkeypatch.setattr(templates, "TEMPLATE_DIR", current)
    for _ in range(2):  # every start-up extends it again, and leaves it behind
        ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
        status = {s.kind: s for s in templates.template_status(es, index_prefix)}
        assert (status["posts"].installed_version, status["posts"].stale_indices) == (7, [index])
        assert all(s.current for s in status.values() if s.kind != "posts")
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["_meta"]["version"] == 3
    props = mapping["properties"]
    assert props["cascade"]["properties"]["root_id"] == {"type": "keyword"}
    assert props["cascade"]["properties"]["depth"] == {"type": "integer"}
    assert props["aspect_lexicon_version"] == {"type": "keyword"}
    assert props["edited_at"] == {"type": "date"}
    assert props["sentiment"]["properties"]["rules_version"] == {"type": "keyword"}
    record = {**build_record(1, created_at="2026-11-06T10:00:00+08:00",
                             extra={"edited_at": "2026-11-07T09:00:00+08:00"}),
              "aspect_lexicon_version": "0123abcd"}  # fmt: skip
    report = index_records(es, [record], prefix=index_prefix, ensure=False)
    assert (report.created, report.failed) == (1, 0)


def test_a_month_of_version_6_takes_the_rules_version_in_place_and_is_current(
    es: Elasticsearch, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 7 maps ``sentiment.rules_version`` (the scoring rules a post was scored under,
    ``pipeline/sentiment/rules.py``). The mapping is strict: without it a month refused every
    post scored by this koubei. A month of version 6 takes it in place on start-up and needs no
    copy (no post stored before has one to derive), so it is current; a post stored before,
    without it, stays valid beside one carrying it."""
    from koubei.pipeline.index.writer import index_records
    from koubei.pipeline.sentiment.rules import rules_version

    from .conftest import build_record, older_template_dir

    current = templates.TEMPLATE_DIR
    older = older_template_dir(tmp_path, 6, without=("sentiment.rules_version",))
    monkeypatch.setattr(templates, "TEMPLATE_DIR", older)
    ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    index = f"{index_prefix}-posts-2026.11"
    sentiment = {"score": 0.2, "label": "negative", "model_version": "m1"}
    before = build_record(1, created_at="2026-11-06T10:00:00+08:00", sentiment=sentiment)
    del before["sentiment"]["rules_version"]  # (None in the model) as a release before wrote it
    assert index_records(es, [before], prefix=index_prefix, ensure=False).created == 1

    monkeypatch.setattr(templates, "TEMPLATE_DIR", current)
    ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["_meta"]["version"] == 7
    assert mapping["properties"]["sentiment"]["properties"]["rules_version"] == {"type": "keyword"}
    assert all(s.current for s in templates.template_status(es, index_prefix))
    after = build_record(2, created_at="2026-11-06T11:00:00+08:00",
                         sentiment={**sentiment, "rules_version": rules_version()})  # fmt: skip
    report = index_records(es, [after], prefix=index_prefix, ensure=False)
    assert (report.created, report.failed) == (1, 0)
    es.indices.refresh(index=index)
    found = es.search(index=index, query={"term": {"sentiment.rules_version": rules_version()}})
    assert [hit["_id"] for hit in found["hits"]["hits"]] == [after["id"]]
