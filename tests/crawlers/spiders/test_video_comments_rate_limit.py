"""Bilibili's rate-limit answers: ``code`` -509/-799, alone or glued before the real answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from koubei import jsonl
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


def test_a_rate_limit_notice_glued_before_the_answer_is_read_as_the_answer(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """``{"code":-509,…}{"code":0,…}`` in one body: the gateway's notice, then the whole answer
    (SocialSisterYi/bilibili-API-collect#664, “两个 JSON 被错误地拼接在一起”, on
    ``x/space/acc/info`` and ``x/space/arc/search``; SK-415/bilireq#17 and
    Executor-Cheng/BililiveNotification#2 quote it; public clients strip the notice and read the
    rest). Was: ``malformed_json``, the page lost and the crawl state kept back on every run
    that met it."""

    def replies(q: dict[str, str]) -> Reply:
        page = "bili_replies_p1.json" if q["next"] == "0" else "bili_replies_p2.json"
        return Reply(TOO_FAST_509.encode() + Reply.page(page).body)

    site = fixture_site({**routes(), "/x/v2/reply/main": replies})
    source = Source(name="bili", platform="video_comments", base_url=site.url, post_ids=["777"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"] for r in jsonl.read(report.landing_file)}
    assert docs == {"501", "502", "503", "504", "av777"}
    assert report.stats["errors"] == {} and report.stats["blocked"] == {}
    assert report.status == "ok"
    log = (Path(koubei_home) / "logs" / "crawl" / "bili" / "r1.log").read_text(encoding="utf-8")
    assert log.count("rate-limit notice before the answer, answer read") == 2


def test_glued_bodies_that_are_not_a_notice_and_an_answer_stay_malformed(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """Only a rate-limit notice before a ``code: 0`` answer is read; two answers glued together,
    or a notice before an error, are a malformed body as before."""
    bodies = {
        "777": Reply.page("bili_replies_p1.json").body * 2,
        "778": TOO_FAST_509.encode() + Reply.page("bili_412.json").body,
    }
    site = fixture_site(
        {
            **routes(),
            "/x/web-interface/view": lambda q: Reply.page("bili_view.json"),
            "/x/v2/reply/main": lambda q: Reply(bodies[q["oid"]]),
        }
    )
    source = Source(
        name="bili", platform="video_comments", base_url=site.url, post_ids=["777", "778"]
    )
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert len(site.hits("/x/v2/reply/main")) == 2
    assert report.stats["errors"] == {"malformed_json": 2}
