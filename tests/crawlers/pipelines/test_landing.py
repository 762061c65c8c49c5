from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Spider
from scrapy.statscollectors import StatsCollector
from scrapy.utils.test import get_crawler

from koubei import jsonl
from koubei.analysis.spread.cascade import build_cascades
from koubei.crawlers.pipelines.landing import LandingPipeline
from koubei.crawlers.textutil import repost_chain


def test_a_lone_surrogate_from_a_platform_is_landed_not_the_page_lost() -> None:
    """``response.json()`` keeps a lone surrogate (an emoji cut in two, e.g. ``"\\ud83d"``, as
    reported in encode/django-rest-framework#6895); writing the page's line must not raise, or
    Scrapy drops every record of the page."""
    from koubei.crawlers.pipelines.landing import _json_line
    from koubei.jsonl import parse_line

    record = json.loads(
        '{"id": "w:1", "text_raw": "\\u592a\\u68d2\\ud83d", "n": 18446744073709551616}'
    )
    line = _json_line(record)  # orjson refuses both the surrogate and the 65-bit integer
    assert parse_line(line) == {**record, "text_raw": "太棒\ufffd"}


def _weibo_repost(rid: str, name: str, minute: int, text: str) -> dict[str, Any]:
    """A repost as the Weibo spider writes it without the platform's ``pid``: parent = root."""
    return {
        "id": rid,
        "kind": "repost",
        "relation": "repost",
        "root_id": "w:root",
        "parent_id": "w:root",
        "author": {"name": name},
        "created_at": f"2026-11-24T10:{minute:02d}:00+08:00",
        "text_raw": text,
        "extra": {"repost_chain": repost_chain(text), "parent_from_platform": False},
    }


def _land(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` through the real landing pipeline, as one page of one crawl."""
    crawler = get_crawler(Spider)
    crawler.spider = SimpleNamespace(source=SimpleNamespace(name="wb"), run_id="r1")
    crawler.stats = StatsCollector(crawler)
    pipeline = LandingPipeline.from_crawler(crawler)
    pipeline.open_spider()
    pipeline.process_item({"records": records})
    pipeline.close_spider()
    assert pipeline.path is not None
    return list(jsonl.read(pipeline.path))


ROOT_POST = {
    "id": "w:root",
    "kind": "post",
    "author": {"name": "A"},
    "created_at": "2026-11-24T10:00:00+08:00",
    "text_raw": "鲜牧的奶变质了",
    "extra": {},
}


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param(
            # B reposted A, then reposted their own repost adding 太恶心; C's chain folds the
            # two //@B hops into one and quotes 太恶心: C came from B's second post.
            [
                _weibo_repost("w:b1", "B", 1, "转发//@A:鲜牧的奶变质了"),
                _weibo_repost("w:b2", "B", 3, "太恶心//@B:转发//@A:鲜牧的奶变质了"),
                _weibo_repost("w:c", "C", 5, "我也是//@B:太恶心//@B:转发//@A:鲜牧的奶变质了"),
            ],
            "w:b2",
            id="self-repost",
        ),
        pytest.param(
            # B reposted A twice; C quotes the words of the first, not the latest.
            [
                _weibo_repost("w:b1", "B", 1, "太恶心//@A:鲜牧的奶变质了"),
                _weibo_repost("w:b2", "B", 3, "转发//@A:鲜牧的奶变质了"),
                _weibo_repost("w:c", "C", 5, "我也是//@B:太恶心//@A:鲜牧的奶变质了"),
            ],
            "w:b1",
            id="quoted-words",
        ),
    ],
)
def test_a_landed_chain_is_resolved_by_the_analysis_alone(
    koubei_home: str, records: list[dict[str, Any]], expected: str
) -> None:
    """Landing keeps the chain and the spider's parent; the cascade is the analysis' answer.

    Landing used to pick the latest post of the chain's first name itself and write it as
    ``parent_id``, which the cascade build then trusted over its own matching.
    """
    landed = _land([ROOT_POST, *records])
    assert {r["id"]: r["parent_id"] for r in landed if r["id"] != "w:root"} == {
        r["id"]: "w:root" for r in records
    }
    G = build_cascades(landed)
    assert list(G.predecessors("w:c")) == [expected]
    assert G.edges[expected, "w:c"]["inferred"]
