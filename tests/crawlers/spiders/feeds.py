"""Fixture feeds and pages served for the articles spider's tests (``test_articles*.py``), and
what the brands-change tests read back from the index."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from koubei.pipeline.index.queries import filtered
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import PAGES, Reply

HTML = "text/html; charset=utf-8"


def xml_route(name: str, site_url: list[str]) -> Any:
    """A fixture feed with ``{site}`` replaced by the fixture site's URL (known once it runs)."""
    return lambda q: Reply(
        (PAGES / name).read_text().replace("{site}", site_url[0]), 200, "application/xml"
    )


def routes(site_url: list[str]) -> dict[str, Any]:
    return {
        "/rss.xml": xml_route("rss.xml", site_url),
        "/sitemap.xml": xml_route("sitemap.xml", site_url),
        "/a/1.html": lambda q: Reply.page("article1.html", HTML),
        "/a/2.html": lambda q: Reply.page("article2_gb2312.html", "text/html"),
        "/a/3.html": lambda q: Reply.page("article3_truncated.html", HTML),
        "/a/4.html": lambda q: Reply.page("article4_offtopic.html", HTML),
        "/a/5.html": lambda q: Reply.page("article5_big5.html", "text/html"),
        "/a/login.html": lambda q: Reply.page("login.html", HTML),
    }


def crawl_one_article(
    fixture_site: Any, brands: BrandsConfig, feed: bytes, content_type: str
) -> tuple[Any, dict[str, Any]]:
    """Crawl a feed served as ``feed`` with ``content_type`` whose one item links article1.html;
    the crawl's report and the one landed document."""
    site = fixture_site(
        {
            "/rss.xml": lambda q: Reply(feed, 200, content_type),
            "/blog/2026/11/1.html": lambda q: Reply.page("article1.html", HTML),
        }
    )
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/rss.xml"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    [doc] = jsonl.read(report.landing_file)
    return report, doc


def feed_source(
    fixture_site: Any, routes_of: Callable[[list[str]], dict[str, Any]], feed: str
) -> tuple[Any, Source]:
    """A fixture site serving ``routes_of(site_url)`` (``{site}`` filled in once it runs) and
    an articles source reading its ``feed`` path."""
    url: list[str] = []
    site = fixture_site(routes_of(url))
    url.append(site.url)
    return site, Source(name="news", platform="articles", feeds=[f"{site.url}{feed}"])


def atom_source(fixture_site: Any, fixture: str, feed: str) -> tuple[Any, Source]:
    """:func:`feed_source` serving the Atom fixture ``pages/<fixture>`` alone, at ``feed``."""
    text = (PAGES / fixture).read_text("utf-8")
    return feed_source(
        fixture_site,
        lambda url: {
            feed: lambda q: Reply(
                text.replace("{site}", url[0]).encode(), 200, "application/atom+xml"
            ),
        },
        feed,
    )


def landed(source: Source, brands: BrandsConfig, run_id: str) -> tuple[Any, dict[str, Any]]:
    """One crawl of ``source``: its report and the landed documents by URL."""
    [report] = crawl_sources([source], brands, run_id=run_id, settings=FAST)
    assert report.landing_file is not None
    return report, {r["url"]: r for r in jsonl.read(report.landing_file)}


def two_workers(
    source: Source, brands: BrandsConfig, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Any]:
    """Workers ``a`` and ``b`` of one run (``r1``) of ``source`` sharing its requests through
    Redis (``KOUBEI_SCHEDULER=redis``), in two threads, two requests at a time each: their
    reports. The scheduler is local again after them."""
    monkeypatch.setenv("KOUBEI_SCHEDULER", "redis")
    monkeypatch.setenv("REDIS_URL", redis_url)
    # The tests hold a reply until both workers are up (up to 20 s): under load, a request
    # timing out meanwhile (FAST's 5 s) was asked again, one request more than the test counts.
    settings = {**FAST, "CONCURRENT_REQUESTS": 2, "KOUBEI_REDIS_IDLE_S": 1, "DOWNLOAD_TIMEOUT": 30}

    def worker(name: str) -> Any:
        run = {**settings, "KOUBEI_WORKER": name}
        [report] = crawl_sources([source], brands, run_id="r1", settings=run)
        return report

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(worker, ["a", "b"])
    monkeypatch.setenv("KOUBEI_SCHEDULER", "local")
    return a, b


def brand_counts(es: Elasticsearch, alias: str) -> tuple[int, int, int]:
    """Posts indexed under ``alias`` counting for 鲜牧, for 北岭, and in all."""
    queries = (filtered(brand="鲜牧"), filtered(brand="北岭"), {"match_all": {}})
    a, b, c = (es.count(index=alias, query=query)["count"] for query in queries)
    return a, b, c
