"""robots.txt is obeyed for every request asked before its rules came in, not the first only.

The fixture site's robots.txt is RFC 9309's shape (a ``User-agent: *`` group, ``Disallow`` by
path prefix). The pages are a source's ``urls``, all asked at the crawl's start, so each waits
for the host's robots.txt."""

from __future__ import annotations

from typing import Any

import pytest

from koubei import timeutil
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply

PAGE = (
    "<html><head><title>鲜牧新品</title>"
    '<meta property="article:published_time" content="2026-11-24T09:00:00+08:00">'
    "</head><body><article><p>"
    + "鲜牧的新品纯牛奶口感醇厚，早餐配面包刚好，价格也实惠，家里老人孩子都爱喝。" * 3
    + "</p></article></body></html>"
)


def test_every_page_asked_before_robots_txt_came_in_is_refused_as_it_disallows(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six disallowed pages and one allowed, asked together. Scrapy's own middleware gave the
    rules to the first waiting request only; the others were fetched (4 of 6 in a run)."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    routes = {f"/private/{n}.html": (lambda q: Reply(PAGE, 200, "text/html")) for n in range(6)}
    routes["/news/1.html"] = lambda q: Reply(PAGE, 200, "text/html")
    site = fixture_site(routes, robots="User-agent: *\nDisallow: /private/\n")
    urls = [f"{site.url}/private/{n}.html" for n in range(6)] + [f"{site.url}/news/1.html"]
    source = Source(name="news", platform="articles", urls=urls)
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)

    asked = [path for path, _ in site.requests]
    assert not [path for path in asked if path.startswith("/private/")]
    assert asked.count("/robots.txt") == 1 and "/news/1.html" in asked
    assert report.stats["errors"] == {"robots_disallowed": 6}
    assert report.items == 1
