"""Text parsers and cleaners on hostile text: nothing raises, and outputs keep their promises."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from koubei.analysis.spread import chains
from koubei.config import BrandsConfig
from koubei.crawlers import brandmatch, textutil
from koubei.pipeline.clean import clean_name, clean_record, clean_text, clean_url
from koubei.pipeline.clean.html import strip_html
from koubei.pipeline.clean.normalise import remove_invisible
from tests.fuzz.strategies import any_text, json_values

BRANDS = BrandsConfig.model_validate(
    {
        "brands": [
            {"name": "鲜牧", "aliases": ["XianMu", "鮮牧"], "exclude": ["鲜牧场"]},
            {"name": "北岭", "aliases": ["BeiLing"], "competitors": ["鲜牧"]},
        ]
    }
).brands
TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]{0,30}(?:\s[^<>]{0,2000})?/?>")
CONTROLS = {chr(c) for c in range(0x20) if chr(c) not in "\t\n"} | {"\x7f", "\u202e", "\ufeff"}


@given(any_text)
def test_clean_text_is_total_and_clean(text: str) -> None:
    out = clean_text(text)
    assert isinstance(out, str)
    assert not CONTROLS & set(out)
    assert not TAG.search(out), out  # entities decoding to markup are stripped too


@given(any_text, any_text, st.one_of(st.none(), any_text, json_values))
def test_clean_record_cleans_name_and_url_whatever_they_hold(
    text: str, name: str, url: Any
) -> None:
    record = {"text_raw": text, "title": name, "author": {"name": name}, "url": url}
    out = clean_record(record)
    assert out["author"]["name"] is None or not (CONTROLS | {"<", ">"}) & set(out["author"]["name"])
    assert out["title"] is None or not CONTROLS & set(out["title"])
    assert out["url"] is None or out["url"].lower().startswith(("http://", "https://"))
    assert record["author"]["name"] == name  # the input is not modified


@given(st.one_of(any_text, json_values))
def test_clean_name_and_url_are_total(value: Any) -> None:
    name = clean_name(value)
    assert name is None or (name and "<" not in name and ">" not in name and "\x00" not in name)
    url = clean_url(value)
    assert url is None or url.lower().startswith(("http://", "https://"))


@given(any_text)
def test_html_and_invisible_never_raise(text: str) -> None:
    assert isinstance(strip_html(text), str)
    assert "\x00" not in remove_invisible(text)


@given(any_text)
def test_both_chain_parsers_never_raise(text: str) -> None:
    # Issue 16 asks for one chain parser; until then both are fuzzed.
    assert all(isinstance(n, str) and n for n in textutil.repost_chain(text))
    assert isinstance(textutil.own_text(text), str)
    chain = chains.parse_chain(text)
    assert all(isinstance(n, str) for n in chain.names)
    assert isinstance(chains.own_text(text), str) and isinstance(chains.plain(text), str)
    assert isinstance(chains.chain_names(text), list)


# Records as the analysis gets them: valid Documents, so the types hold but the text is anyone's.
documents = st.fixed_dictionaries(
    {"text_raw": any_text},
    optional={
        "text_clean": st.none() | any_text,
        "extra": st.fixed_dictionaries(
            {}, optional={"repost_chain": st.lists(json_values | any_text, max_size=5)}
        ),
    },
)


@given(documents)
def test_chains_from_any_document_never_raise(record: dict[str, Any]) -> None:
    assert all(isinstance(n, str) for n in chains.record_chain(record))
    assert isinstance(chains.record_text(record), str)


@given(st.one_of(any_text, json_values))
def test_textutil_helpers_never_raise(value: Any) -> None:
    count = textutil.parse_count(value)
    assert count is None or isinstance(count, int)
    text = value if isinstance(value, str) else ""
    assert isinstance(textutil.html_to_text(text), str)
    assert isinstance(textutil.mentions(text), list) and isinstance(textutil.topics(text), list)


@given(st.lists(st.tuples(st.sampled_from(["text", "title", "context"]), st.none() | any_text)))
def test_brand_matching_never_raises(fields: list[tuple[str, str | None]]) -> None:
    matched, matches, excluded = brandmatch.match_brands(fields, BRANDS)
    assert set(matched) <= {"鲜牧", "北岭"} and not set(matched) & set(excluded)
    assert {m.brand for m in matches} == set(matched)
