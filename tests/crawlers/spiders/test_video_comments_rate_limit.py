"""Bilibili's rate-limit answers: ``code`` -509/-799."""

from __future__ import annotations

from typing import Any

from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply
from tests.crawlers.spiders.test_video_comments import routes

# Both as quoted from real answers: SocialSisterYi/bilibili-API-collect#664 (``x/space/arc/
# search`` answering ``{"code":-799,"message":"请求过于频繁，请稍后再试","ttl":1}``),
# Nemo2011/bilibili-api#549 (the same from user info), SK-415/bilireq#17 (``-509`` with this
# message); the codes are in the public error table, docs/misc/errcode.md (-509 超出限制,
# -799 请求过于频繁，请稍后再试).
TOO_FAST_509 = '{"code":-509,"message":"请求过于频繁，请稍后再试","ttl":1}'
TOO_FAST_799 = '{"code":-799,"message":"请求过于频繁，请稍后再试","ttl":1}'


def test_rate_limit_codes_are_blocked_not_platform_errors(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """-509 from ``view`` and -799 from the reply list are rate limiting, answered with HTTP 200:
    counted as blocked (was: ``errors: platform_error_-509``, a parse error of sorts)."""

    def view(q: dict[str, str]) -> Reply:
        return Reply.page("bili_view.json") if q.get("aid") == "777" else Reply(TOO_FAST_509)

    site = fixture_site(
        {
            **routes(),
            "/x/web-interface/view": view,
            "/x/v2/reply/main": lambda q: Reply(TOO_FAST_799),
        }
    )
    source = Source(
        name="bili", platform="video_comments", base_url=site.url, post_ids=["777", "778"]
    )
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.stats["blocked"] == {"rate_limited": 2}
    assert report.stats["errors"] == {}
    assert report.status == "blocked"  # nothing came through but the video itself
