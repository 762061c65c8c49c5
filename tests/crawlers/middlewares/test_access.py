"""User agent and login cookie from config/env reach the platform; robots.txt is obeyed."""

from __future__ import annotations

from typing import Any

import pytest

from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply

PATH = "/comment/productPageComments.action"
PAGE = (
    '{"maxPage": 1, "comments": [{"id": 1, "content": "鲜牧好喝", '
    '"creationTime": "2026-11-24 10:00:00", "score": 5}]}'
)


def test_cookie_and_user_agent_sent_and_robots_obeyed(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SHOP_COOKIE", "SUB=abc123; _T_WM=42")
    open_site = fixture_site({PATH: lambda q: Reply(PAGE)})
    closed_site = fixture_site(
        {PATH: lambda q: Reply(PAGE)}, robots="User-agent: *\nDisallow: /comment/\n"
    )
    with_cookie = Source(
        name="a",
        platform="shop_json",
        base_url=open_site.url,
        product_ids=["1"],
        cookie_env="TEST_SHOP_COOKIE",
        user_agent="Mozilla/5.0 (koubei-test)",
    )
    robots = Source(name="b", platform="shop_json", base_url=closed_site.url, product_ids=["1"])
    first, second = crawl_sources([with_cookie, robots], brands, run_id="r", settings=FAST)

    page_headers = [
        h
        for (path, _), h in zip(open_site.requests, open_site.headers, strict=True)
        if path == PATH
    ]
    assert page_headers[0]["Cookie"] == "SUB=abc123; _T_WM=42"
    assert page_headers[0]["User-Agent"] == "Mozilla/5.0 (koubei-test)"
    assert first.items == 1 and first.status == "ok"

    assert [path for path, _ in closed_site.requests] == ["/robots.txt"]
    assert second.stats["errors"] == {"robots_disallowed": 1}
    assert second.items == 0 and second.status == "degraded"
