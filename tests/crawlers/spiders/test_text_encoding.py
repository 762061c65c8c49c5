"""Which charset an undeclared or wrongly declared Chinese body is read in: GB18030 or Big5.

GB18030 decodes most Big5 bytes without an error, so a Taiwan or Hong Kong page in Big5 with
no charset (or a copied ``charset=gb2312``) was read as mojibake that matched no brand and was
dropped; short GBK text decodes as Big5 too. The passages are real page text
(``pages/charset_passages.txt``), encoded as their sites would. A real spider built by a real
Scrapy crawler reads real responses (as in ``tests/fuzz/test_fuzz_spider_json.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from koubei import jsonl
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from koubei.crawlers.spiders.base import BaseSpider
from koubei.crawlers.state import CrawlState
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import PAGES, Reply


def _passages(kind: str) -> list[str]:
    lines = (PAGES / "charset_passages.txt").read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[1] for line in lines if line.startswith(f"{kind}\t")]


TRAD, SIMP = _passages("trad"), _passages("simp")
URL = "https://forum.example.com.tw/t/1.html"


@pytest.fixture
def spider(tmp_path: Path) -> BaseSpider:
    crawler = get_crawler(BaseSpider)
    built = BaseSpider.from_crawler(
        crawler,
        source=Source(name="tw", platform="articles"),
        brands=BrandsConfig.model_validate({"brands": [{"name": "鲜牧"}]}),
        state=CrawlState("tw", path=tmp_path / "tw.json"),
    )
    assert crawler.stats is not None
    return built


def read(spider: BaseSpider, body: bytes, content_type: str) -> tuple[str, dict[str, int]]:
    """The text the spider reads from ``body`` served as ``content_type``, and the encoding
    counts it made (``encoding/...`` in the crawl stats)."""
    cls = HtmlResponse if "html" in content_type else TextResponse
    text = spider.text(cls(URL, body=body, headers={"Content-Type": content_type}))
    assert spider.crawler.stats is not None
    stats = spider.crawler.stats.get_stats()
    prefix = "koubei/encoding/"
    return text, {k[len(prefix) :]: v for k, v in stats.items() if k.startswith(prefix)}


def page(text: str, meta: str = "") -> str:
    return f"<html><head>{meta}<title>{text[:12]}</title></head><body><p>{text}</p></body></html>"


@pytest.mark.parametrize("text", TRAD)
@pytest.mark.parametrize("shape", ["bare", "html"])
def test_an_undeclared_big5_page_is_read_as_big5(spider: BaseSpider, text: str, shape: str) -> None:
    """Fails on the old code: every passage was read as GB18030 (``數據診斷`` → ``计沮禘耞``)."""
    body = (text if shape == "bare" else page(text)).encode("big5")
    got, counts = read(spider, body, "text/plain" if shape == "bare" else "text/html")
    assert got == (text if shape == "bare" else page(text))
    assert counts == {"big5_guessed": 1}


@pytest.mark.parametrize("text", TRAD)
def test_an_undeclared_hong_kong_page_is_read_as_big5_hkscs(spider: BaseSpider, text: str) -> None:
    """Hong Kong's Big5 (HKSCS, as w3lib reads a ``big5`` label): Big5's bytes, and characters
    Big5 has none for (``㗎``, a Cantonese particle)."""
    text = text + "㗎"
    got, counts = read(spider, text.encode("big5hkscs"), "text/plain")
    assert got == text and counts == {"big5_guessed": 1}


@pytest.mark.parametrize("text", TRAD + SIMP)
def test_an_undeclared_gbk_page_is_still_gb18030(spider: BaseSpider, text: str) -> None:
    """Simplified pages and traditional text written in GBK read as before."""
    got, counts = read(spider, page(text).encode("gbk"), "text/html")
    assert got == page(text) and counts == {"gb18030_guessed": 1}


@pytest.mark.parametrize(
    "body", [page("Xianmu milk recall").encode(), page(SIMP[0] + TRAD[0]).encode()]
)
def test_ascii_and_utf8_pages_read_as_before(spider: BaseSpider, body: bytes) -> None:
    got, counts = read(spider, body, "text/html")
    assert got == body.decode() and counts == {}


@pytest.mark.parametrize("text", TRAD)
@pytest.mark.parametrize("where", ["header", "meta"])
def test_big5_bytes_labelled_gbk_are_read_as_big5(
    spider: BaseSpider, text: str, where: str
) -> None:
    """A template copied from a mainland site keeps ``gb2312`` over Big5 text; the body decodes
    in GB18030, so the old code took the label (fails there: mojibake, nothing counted)."""
    if where == "header":
        got, counts = read(spider, page(text).encode("big5"), "text/html; charset=gb2312")
        assert got == page(text)
    else:
        meta = '<meta charset="gbk">'
        got, counts = read(spider, page(text, meta).encode("big5"), "text/html")
        assert got == page(text, meta)
    assert counts == {"declared_wrong": 1}


@pytest.mark.parametrize("text", SIMP)
def test_gbk_bytes_labelled_big5_are_read_as_gbk(spider: BaseSpider, text: str) -> None:
    """The other way round. A long GBK body fails Big5 and was guessed right already; a short one
    decodes in Big5 (``推荐阅读`` → ``芢熱堐黍``) and was taken so by the old code."""
    got, counts = read(spider, page(text).encode("gbk"), "text/html; charset=big5")
    assert got == page(text)
    assert counts in ({"declared_wrong": 1}, {"declared_wrong": 1, "gb18030_guessed": 1})


@pytest.mark.parametrize(
    ("text", "encoding", "label"),
    [*((t, "big5", "big5") for t in TRAD), *((t, "gbk", "gbk") for t in TRAD + SIMP)],
)
def test_a_right_label_is_kept(spider: BaseSpider, text: str, encoding: str, label: str) -> None:
    got, counts = read(spider, page(text).encode(encoding), f"text/html; charset={label}")
    assert got == page(text) and counts == {}


def test_an_undeclared_big5_article_lands_with_its_brand(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: Any
) -> None:
    """A Taiwan news page in Big5 with no charset in its header or its markup, linked from a
    feed whose item names no brand: it landed as mojibake (``鮮牧`` read as GB18030), matched no
    brand and was dropped as off-brand. Fails on the old code."""
    monkeypatch.setenv("KOUBEI_NOW", "2026-12-01T12:00:00+08:00")
    article = (PAGES / "article5_big5.html").read_bytes().replace(b'<meta charset="big5">', b"")
    assert b"charset" not in article
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>新聞</title>'
        "<link>/</link><description>新聞</description><item><title>本報訊</title>"
        "<link>/a/5.html</link><pubDate>Tue, 24 Nov 2026 10:30:00 +0800</pubDate></item>"
        "</channel></rss>"
    )
    site = fixture_site(
        {
            "/rss.xml": lambda q: Reply(feed.encode(), 200, "application/rss+xml"),
            "/a/5.html": lambda q: Reply(article, 200, "text/html"),
        }
    )
    source = Source(name="tw-news", platform="articles", feeds=[f"{site.url}/rss.xml"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None, report.stats
    [doc] = jsonl.read(report.landing_file)
    assert doc["text_raw"].startswith("鮮牧進軍台灣\n本報訊：鮮牧乳業今日宣布")
    assert doc["author"]["name"] == "陳記者"
    assert doc["brand_matches"] == [{"brand": "鲜牧", "term": "鲜牧", "field": "text"}]
