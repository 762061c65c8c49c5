"""The document model: stable ids, timezone-aware times, strict fields, JSONL round trips."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from koubei import jsonl
from koubei.model import Document, from_record, make_id, to_record


def make(**fields: object) -> Document:
    base: dict[str, object] = {
        "id": make_id("weibo", "4890"),
        "platform": "weibo",
        "source": "demo-weibo",
        "kind": "post",
        "native_id": "4890",
        "text_raw": "鲜牧牛奶喝出异物",
        "created_at": datetime(2026, 11, 24, 10, 0),
    }
    base.update(fields)
    return Document.model_validate(base)


def test_naive_times_become_shanghai_time() -> None:
    doc = make()
    assert doc.created_at.utcoffset() is not None
    assert doc.created_at.isoformat() == "2026-11-24T10:00:00+08:00"
    crawled = make(crawled_at=datetime(2026, 11, 24, 11, 0)).crawled_at
    assert crawled is not None and crawled.isoformat() == "2026-11-24T11:00:00+08:00"


def test_a_crawl_time_never_observed_stays_unknown() -> None:
    """Before: the clock's time at validation, so an export read as crawled when processed."""
    doc = make()
    assert doc.crawled_at is None
    assert to_record(doc)["crawled_at"] is None and from_record(to_record(doc)) == doc


def test_record_round_trip_is_lossless() -> None:
    doc = make(brands=["鲜牧"], author={"id": "1", "name": "小王", "followers": 12})
    assert from_record(to_record(doc)) == doc


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="colour"):
        make(colour="red")


def test_sentiment_score_is_a_probability() -> None:
    with pytest.raises(ValidationError):
        make(sentiment={"score": 1.5, "label": "positive", "model_version": "x"})


def test_atomic_write_leaves_no_partial_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "landing" / "run.jsonl"

    def records():  # type: ignore[no-untyped-def]
        yield to_record(make())
        raise RuntimeError("crawler killed")

    with pytest.raises(RuntimeError):
        jsonl.write_atomic(target, records())
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    assert jsonl.write_atomic(target, [to_record(make())]) == 1
    assert [r["id"] for r in jsonl.read(target)] == ["weibo:4890"]


def test_read_names_file_and_line_of_a_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not JSON"):
        list(jsonl.read(path))
