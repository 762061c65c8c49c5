"""The spiders' JSON/JSONP body decoder on any body: a value or None (counted), never a raise.

A real spider built by a real Scrapy crawler decodes real ``TextResponse`` objects; only the
network is left out, since the decoder never touches it.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scrapy.http import Response, TextResponse
from scrapy.utils.test import get_crawler

from koubei.config import BrandsConfig, Source
from koubei.crawlers.spiders._body import json_sequence
from koubei.crawlers.spiders.base import BaseSpider
from koubei.crawlers.state import CrawlState
from tests.fuzz.strategies import any_text, json_values, utf8


@pytest.fixture(scope="module")
def spider(tmp_path_factory: pytest.TempPathFactory) -> BaseSpider:
    crawler = get_crawler(BaseSpider)
    state = CrawlState("fuzz", path=tmp_path_factory.mktemp("state") / "fuzz.json")
    built = BaseSpider.from_crawler(
        crawler,
        source=Source(name="fuzz", platform="weibo"),  # any known platform: load_json is shared
        brands=BrandsConfig.model_validate({"brands": [{"name": "鲜牧"}]}),
        state=state,
    )
    assert crawler.stats is not None
    return built


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: utf8(json.dumps(v, ensure_ascii=False))),
    st.tuples(st.from_regex(r"[\w$.]{1,12}", fullmatch=True), json_values).map(
        lambda t: f"{t[0]}({json.dumps(t[1])});".encode()
    ),
    st.integers(min_value=1, max_value=20_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=1, max_value=20_000).map(lambda n: b"cb(" + b"[" * n + b"]" * n + b")"),
    any_text.map(utf8),
)
content_types = st.sampled_from(
    [b"application/json", b"application/javascript; charset=gbk", b"text/html", b""]
)


@given(bodies, content_types, st.sampled_from([200, 404, 418, 503]))
def test_load_json_never_raises(spider: BaseSpider, body: bytes, ctype: bytes, status: int) -> None:
    cls = TextResponse if ctype else Response
    headers = {"Content-Type": ctype} if ctype else {}
    response = cls("https://m.weibo.cn/api/x", body=body, headers=headers, status=status)
    spider.load_json(response)  # a value or None; exceptions fail the test


glued = st.lists(json_values.map(lambda v: json.dumps(v, ensure_ascii=False)), max_size=6).map(
    "".join
)


@given(st.one_of(glued, any_text, glued.map(lambda t: "{" + t), glued.map(lambda t: t + "]")))
def test_json_sequence_never_raises(text: str) -> None:
    values = json_sequence(text)  # the values, or None; exceptions fail the test
    assert values is None or 1 < len(values) <= 4
