"""When an articles crawl takes an entry as known: sitemaps of an index, pages lost for a run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from koubei import jsonl, paths, timeutil
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply
from tests.crawlers.spiders.feeds import HTML, routes, xml_route


def test_a_sitemap_that_failed_is_read_whole_next_run_though_its_siblings_moved_on(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitemap index (sitemaps.org) of a November and an October sitemap; October's answers
    503 past the retries in the first run. The index's one watermark moved to November's
    article, so the next run took October's as known and never fetched it."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    url: list[str] = []
    october = {"status": 503}

    def sitemap_2026_10(q: dict[str, str]) -> Reply:
        if october["status"] != 200:
            return Reply(b"Service Unavailable", october["status"], "text/html")
        return xml_route("sitemap_2026_10.xml", url)(q)

    site = fixture_site(
        {
            "/sitemap_index.xml": xml_route("sitemap_index.xml", url),
            "/sitemap-2026-11.xml": xml_route("sitemap_2026_11.xml", url),
            "/sitemap-2026-10.xml": sitemap_2026_10,
            "/a/1.html": lambda q: Reply.page("article1.html", HTML),
            "/a/2.html": lambda q: Reply.page("article2_gb2312.html", "text/html"),
        }
    )
    url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/sitemap_index.xml"])
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert first.landing_file is not None
    assert [r["url"] for r in jsonl.read(first.landing_file)] == [f"{site.url}/a/1.html"]
    assert first.stats["errors"] == {"http_503": 1}

    october["status"] = 200
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second.landing_file is not None
    [late] = list(jsonl.read(second.landing_file))
    assert late["url"] == f"{site.url}/a/2.html"
    assert late["created_at"] == "2026-10-30T08:00:00+08:00"
    assert site.hits("/a/1.html") == [{}]  # November's article: known, not fetched again
    assert second.stats["errors"] == {} and second.status == "ok"


def test_sitemaps_without_a_watermark_of_their_own_are_judged_by_the_index_s(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crawl state saved before each sitemap kept its own watermark holds the index's: its
    sitemaps are judged by it, so the first run after the change does not fetch every page
    they list again (those that landed are seen; those dropped as off-topic are not)."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    url: list[str] = []
    site = fixture_site(
        {
            "/sitemap_index.xml": xml_route("sitemap_index.xml", url),
            "/sitemap-2026-11.xml": xml_route("sitemap_2026_11.xml", url),
            "/sitemap-2026-10.xml": xml_route("sitemap_2026_10.xml", url),
        }
    )
    url.append(site.url)
    index = f"{site.url}/sitemap_index.xml"
    saved = {"watermarks": {f"feed:{index}": "2026-11-24T10:30:00+08:00"}, "seen": []}
    (paths.state_dir("crawl-state") / "news.json").write_text(json.dumps(saved))
    source = Source(name="news", platform="articles", feeds=[index])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.items == 0 and report.stats["known"] == 2
    assert site.hits("/a/1.html") == [] and site.hits("/a/2.html") == []


def test_an_article_page_answering_503_past_the_retries_is_fetched_again_next_run(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rss.xml``'s second article answers 503 past the retries in the first run. Its newer
    sibling landed and moved the feed's watermark past it, so the next run took it as known
    and never fetched it (a timeout on the same page was a lost page; a 503 was not)."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    url: list[str] = []
    busy = {"status": 503}

    def second(q: dict[str, str]) -> Reply:
        if busy["status"] != 200:
            return Reply(b"<h1>503 Service Unavailable</h1>", busy["status"], "text/html")
        return Reply.page("article2_gb2312.html", "text/html")

    site = fixture_site({**routes(url), "/a/2.html": second})
    url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/rss.xml"])
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert first.stats["errors"] == {"http_503": 1} and first.items == 1

    busy["status"] = 200
    [second_run] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second_run.landing_file is not None
    urls = [r["url"] for r in jsonl.read(second_run.landing_file)]
    assert f"{site.url}/a/2.html" in urls
