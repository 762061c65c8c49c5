"""Retries honour ``Retry-After`` and back off; giving up is counted, never fatal."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from koubei.config import BrandsConfig, Source
from koubei.crawlers.middlewares.polite_retry import retry_after_seconds
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply

PATH = "/comment/productPageComments.action"
PAGE = (
    '{"maxPage": 1, "comments": [{"id": 1, "content": "鲜牧好喝", '
    '"creationTime": "2026-11-24 10:00:00", "score": 5, "referenceName": "鲜牧"}]}'
)


def test_retry_after_values() -> None:
    at = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds(format_datetime(at + timedelta(seconds=30), usegmt=True), at) == 30
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_429_waits_retry_after_then_succeeds(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    times: list[float] = []

    def route(q: dict[str, str]) -> Reply:
        times.append(time.monotonic())
        if len(times) == 1:
            return Reply("slow down", 429, "text/plain", {"Retry-After": "1"})
        return Reply(PAGE)

    site = fixture_site({PATH: route})
    source = Source(name="s", platform="shop_json", base_url=site.url, product_ids=["1"])
    [report] = crawl_sources([source], brands, run_id="r", settings=FAST)
    assert report.items == 1 and report.status == "ok"
    assert len(times) == 2 and times[1] - times[0] >= 0.95
    assert report.stats["responses_by_status"] == {"200": 2, "429": 1}


def test_giving_up_is_counted_and_a_huge_retry_after_is_not_waited(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    def route(q: dict[str, str]) -> Reply:
        if q["productId"] == "1":
            return Reply("down", 503, "text/plain")
        return Reply("later", 429, "text/plain", {"Retry-After": "86400"})

    site = fixture_site({PATH: route})
    source = Source(name="s", platform="shop_json", base_url=site.url, product_ids=["1", "2"])
    started = time.monotonic()
    [report] = crawl_sources([source], brands, run_id="r", settings=FAST)
    assert time.monotonic() - started < 20
    assert len([q for q in site.hits(PATH) if q["productId"] == "1"]) == 3  # 1 + RETRY_TIMES 2
    assert len(site.hits(PATH)) == 4  # the 429 with a day-long Retry-After is not retried
    assert report.stats["errors"] == {"http_503": 1, "http_429": 1, "retry_after_too_long": 1}
    assert report.status == "degraded" and report.stats["alert"] is True
