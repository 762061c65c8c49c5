"""Landing lines as bytes from anywhere: each becomes a record or a reject, nothing raises."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from koubei import jsonl
from koubei.model import from_record
from koubei.pipeline.aspects import load_aspects
from koubei.pipeline.enrich import enrich
from koubei.pipeline.process import validate
from koubei.pipeline.sentiment import load_model
from tests.fuzz.strategies import any_text, json_values, utf8

GOOD = {
    "id": "weibo:1",
    "platform": "weibo",
    "source": "s",
    "kind": "post",
    "native_id": "1",
    "text_raw": "好",
    "created_at": "2026-11-20T08:00:00+08:00",
    "crawled_at": "2026-11-21T08:00:00+08:00",
}
FIELDS = [*GOOD, "author", "engagement", "rating", "extra", "brands", "url", "sentiment"]

# Records close to valid, with any field replaced by any JSON value or hostile text.
near_records = st.dictionaries(st.sampled_from(FIELDS), json_values | any_text).map(
    lambda changes: {**GOOD, **changes}
)
lines = st.one_of(
    st.binary(max_size=300),
    near_records.map(lambda r: utf8(json.dumps(r, ensure_ascii=False))),
    # ASCII-escaped, as many writers emit JSON: a lone surrogate arrives as "\ud800" (half an
    # emoji cut by a platform), valid JSON that no UTF-8 file can hold once decoded.
    near_records.map(lambda r: json.dumps(r).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(min_value=1, max_value=20_000).map(lambda n: b"[" * n + b"]" * n),
    any_text.map(utf8),
)


@given(st.lists(lines, max_size=5))
def test_every_line_is_a_record_or_a_reject(raw_lines: list[bytes]) -> None:
    numbered: list[tuple[int, Any]] = []
    for number, raw in enumerate(raw_lines, start=1):
        item = jsonl.parse_line(raw, number)
        assert isinstance(item, dict | jsonl.BadLine)
        numbered.append((number, item))
    valid, rejected = validate(numbered, source="fuzz.jsonl")
    assert len(valid) + len(rejected) == len(raw_lines)
    for reject in rejected:
        assert reject["file"] == "fuzz.jsonl" and reject["reason"]
        json.dumps(reject, ensure_ascii=False, default=str)  # the reject file can be written
    for record in valid:  # writable as UTF-8 and indexable
        json.dumps(record, ensure_ascii=False, allow_nan=False).encode("utf-8")


MODEL = load_model()
LEXICON = load_aspects()


@given(any_text, st.none() | any_text, any_text)
def test_enriching_any_valid_record_never_raises(text: str, title: str | None, name: str) -> None:
    """The per-record work of the process stage (clean, sentiment, aspects) on hostile text."""
    record = {**GOOD, "text_raw": text, "title": title, "author": {"name": name}}
    out = enrich(record, MODEL, LEXICON)
    assert 0.0 <= out["sentiment"]["score"] <= 1.0
    from_record(out)  # still a valid Document
