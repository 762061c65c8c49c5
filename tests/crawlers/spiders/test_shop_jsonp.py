"""The Tmall-shape JSONP rate-list spider: GBK, undeclared GB18030, broken JSONP, login walls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from koubei import jsonl
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import PAGES, Reply

PATH = "/list_detail_rate.htm"
BRANDS = BrandsConfig.model_validate({"brands": [{"name": "云朵", "exclude": ["云朵棉"]}]})


def route(q: dict[str, str]) -> Reply:
    assert q["callback"] == "jsonp128" and q["order"] == "1"
    if q["itemId"] == "2":
        return Reply.page("tmall_login.jsonp", "application/javascript; charset=utf-8")
    return {
        "1": Reply.page("tmall_p1_gbk.jsonp", "text/html;charset=GBK"),
        "2": Reply.page("tmall_p2_gb18030_nocharset.jsonp", "application/javascript"),
    }.get(q["currentPage"], Reply.page("tmall_p3_broken.jsonp", "application/javascript"))


def test_rate_list_field_by_field(fixture_site: Any, koubei_home: str) -> None:
    site = fixture_site({PATH: route})
    source = Source(
        name="tmall",
        platform="shop_jsonp",
        base_url=site.url,
        product_ids=["1", "2"],
        brands=["云朵"],
    )
    [report] = crawl_sources([source], BRANDS, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == ["9001", "9002", "9003", "9003-append"]
    first = docs["9003"]
    assert first["text_raw"] == "云朵酸奶很浓稠，好喝"
    assert first["created_at"] == "2026-11-24T10:00:00+08:00"
    assert first["author"]["name"] == "t**1" and first["product_id"] == "1"
    assert first["extra"]["sku"] == "口味:原味;规格:200g*10"
    assert first["rating"] is None  # the list API carries no star score
    append = docs["9003-append"]
    assert append["parent_id"] == "shop_jsonp:9003" and append["relation"] == "reply"
    assert append["extra"]["days_after"] == 2
    assert append["brand_matches"][0]["field"] == "product_owner"  # text names no brand
    assert docs["9002"]["brand_matches"][0]["field"] == "product_owner"
    assert docs["9001"]["text_raw"] == "云朵的包装漏了一盒"  # GB18030 without a declared charset

    assert report.stats["errors"] == {"bad_entry": 1, "malformed_jsonp": 1}
    assert report.stats["blocked"] == {"login_wall": 1}
    assert report.status == "degraded"
    assert sorted(q["currentPage"] for q in site.hits(PATH) if q["itemId"] == "1") == [
        "1",
        "2",
        "3",
    ]


def healthy_route(q: dict[str, str]) -> Reply:
    """As :func:`route`, with a whole last page: a run that lost a page keeps its old state
    (the next run must reach that page again), so the watermark is tested on a healthy list."""
    if q["currentPage"] == "3":
        last = {"rateDetail": {"paginator": {"items": 5, "lastPage": 3, "page": 3}, "rateList": []}}
        return Reply(f"jsonp128({json.dumps(last)})", 200, "application/javascript")
    return route(q)


def test_second_run_stops_at_the_watermark(fixture_site: Any, koubei_home: str) -> None:
    site = fixture_site({PATH: healthy_route})
    source = Source(
        name="tmall", platform="shop_jsonp", base_url=site.url, product_ids=["1"], brands=["云朵"]
    )
    crawl_sources([source], BRANDS, run_id="r1", settings=FAST)
    site.requests.clear()
    [again] = crawl_sources([source], BRANDS, run_id="r2", settings=FAST)
    assert again.items == 0 and again.stats["known"] == 2
    assert [q["currentPage"] for q in site.hits(PATH)] == ["1"]  # page 1 all known: stop
    assert again.status == "ok"


# --- Taobao's mtop rate API ---------------------------------------------------------------

MTOP_PATH = "/h5/mtop.taobao.rate.detaillist.get/6.0/"
# ``ret`` as the gateway answers a logged-out cookie and a rate limit (README: sources).
REFUSALS = {
    "701": "FAIL_SYS_SESSION_EXPIRED::Session过期",
    "702": "FAIL_SYS_TRAFFIC_LIMIT::哎哟喂,被挤爆啦,请稍后重试",
}
TOKEN = "5f1e0c2a9b"


def mtop_route(q: dict[str, str]) -> Reply:
    import hashlib
    import json

    assert q["api"] == "mtop.taobao.rate.detaillist.get" and q["callback"] == "mtopjsonp1"
    expected = hashlib.md5(f"{TOKEN}&{q['t']}&{q['appKey']}&{q['data']}".encode()).hexdigest()
    if q["sign"] != expected:  # what the real gateway does without a valid token cookie
        reply = Reply.page("mtop_token_empty.jsonp", "application/javascript")
        reply.headers["Set-Cookie"] = f"_m_h5_tk={TOKEN}_1764500000000; Path=/; Domain=127.0.0.1"
        return reply
    data = json.loads(q["data"])
    if data["auctionNumId"] == "666":
        return Reply.page("mtop_punish.jsonp", "application/javascript")
    if data["auctionNumId"] in REFUSALS:
        answer = {"api": q["api"], "data": {}, "ret": [REFUSALS[data["auctionNumId"]]], "v": "6.0"}
        return Reply(f"mtopjsonp1({json.dumps(answer, ensure_ascii=False)})")
    page = {1: "mtop_rates_p1.jsonp", 2: "mtop_rates_p2.jsonp"}[data["pageNo"]]
    return Reply.page(page, "application/javascript;charset=UTF-8")


def test_mtop_rate_api_field_by_field(fixture_site: Any, koubei_home: str) -> None:
    site = fixture_site({MTOP_PATH: mtop_route})
    source = Source(
        name="taobao",
        platform="shop_jsonp",
        base_url=f"{site.url}/h5",
        product_ids=["600100", "666"],
        brands=["云朵"],
    )
    [report] = crawl_sources([source], BRANDS, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == [
        "1077000000001",
        "1077000000002",
        "1077000000003",
        "1077000000003-append",
    ]
    first = docs["1077000000003"]
    assert first["id"] == "shop_jsonp:1077000000003" and first["kind"] == "review"
    assert first["text_raw"] == "云朵酸奶很浓稠，孩子爱喝"
    assert first["created_at"] == "2026-11-24T00:00:00+08:00"
    assert first["time_precision"] == "day"  # feedbackDate is a day, not a moment
    assert first["author"]["name"] == "t**1" and first["product_id"] == "600100"
    assert first["url"] == "https://item.taobao.com/item.htm?id=600100#rate-1077000000003"
    assert first["extra"]["sku"] == "口味:原味;规格:200g*10"
    assert first["extra"]["shop_reply"] == "感谢亲的支持"
    assert first["extra"]["images"] == 2 and first["extra"]["rate_type"] == "1"
    append = docs["1077000000003-append"]
    assert append["text_raw"] == "追评：喝了两箱，最后一箱胀袋了"
    assert append["parent_id"] == "shop_jsonp:1077000000003" and append["relation"] == "reply"
    assert append["created_at"] == "2026-11-27T00:00:00+08:00"
    assert append["extra"]["days_after"] == 3 and append["time_precision"] == "day"
    assert docs["1077000000002"]["extra"]["rate_type"] == "-1"
    assert docs["1077000000002"]["author"]["name"] == "x**9"
    assert docs["1077000000001"]["extra"]["sku"] == "口味:原味"  # from skuMap

    assert report.stats["errors"] == {"bad_entry": 1}
    assert report.stats["blocked"] == {"captcha": 1}
    hits = site.hits(MTOP_PATH)
    pages = [json.loads(q["data"])["pageNo"] for q in hits if "600100" in q["data"]]
    assert pages == [1, 1, 2]  # unsigned, re-signed with the cookie's token, next page


# --- wrappers, fields and risk control as the public sources show them ---------------------

FIELDS = (PAGES / "tmall_fields.json").read_text(encoding="utf-8")
WRAPPERS = {
    "plain": "jsonp128({})",
    "crlf_semicolon": "\r\n\r\njsonp128({});\n",
    "comment_led": "/**/jsonp128({});",  # Baidu's open APIs, WordPress, AUR
    "express": "/**/ typeof jsonp128 === 'function' && jsonp128({});",  # Express res.jsonp
}


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_rate_list_in_every_jsonp_wrapper_field_by_field(
    wrapper: str, fixture_site: Any, koubei_home: str, monkeypatch: Any
) -> None:
    """A ``/**/``-led or ``typeof cb === 'function' &&`` wrapper was counted malformed and the
    page lost. Also every field of the real record shape: ``appendComment`` and ``pics`` as
    ``""``, ``reply`` null, a platform's stand-in text with photos only."""
    monkeypatch.setenv("KOUBEI_NOW", "2026-12-01T12:00:00+08:00")
    body = WRAPPERS[wrapper].replace("{}", FIELDS.strip())
    site = fixture_site({PATH: lambda q: Reply(body, 200, "text/html;charset=UTF-8")})
    source = Source(
        name="tmall", platform="shop_jsonp", base_url=site.url, product_ids=["77"], brands=["云朵"]
    )
    [report] = crawl_sources([source], BRANDS, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == [
        "1092830492390",
        "1092830492394",
        "1092830492394-append",
        "211016063895",
    ]
    plain = docs["211016063895"]
    assert plain["text_raw"] == "云朵超快物流 值"
    assert plain["created_at"] == "2026-11-25T12:46:17+08:00"
    assert plain["author"]["name"] == "林万霖11" and plain["product_id"] == "77"
    assert plain["url"] == "https://detail.tmall.com/item.htm?id=77#rate-211016063895"
    assert plain["extra"] == {"sku": "口味:原味", "shop_reply": None, "images": 0}
    photos = docs["1092830492394"]
    assert photos["text_raw"] == "此用户没有填写评价。"  # sentiment: no_opinion
    assert photos["author"]["name"] == "t***1" and photos["extra"]["images"] == 2
    append = docs["1092830492394-append"]
    assert append["text_raw"] == "追评：喝完了，下次还买"
    assert append["created_at"] == "2026-11-28T15:00:00+08:00"
    assert append["parent_id"] == "shop_jsonp:1092830492394" and append["extra"]["days_after"] == 4
    default = docs["1092830492390"]
    assert default["text_raw"] == "评价方未及时做出评价,系统默认好评!"
    assert default["extra"]["shop_reply"] is None
    assert report.stats.get("errors", {}) == {} and report.status == "ok"
    assert len(site.hits(PATH)) == 1  # lastPage 1: no second page asked for


def test_risk_control_answers_are_blocks_not_errors(fixture_site: Any, koubei_home: str) -> None:
    """``{"rgv587_flag": "sm", "url": "https://sec.taobao.com/query.htm?..."}`` (a URL naming
    neither login nor punish) was an ``unexpected_shape`` error; Alibaba's punish page, HTML
    titled 访问被拒绝 with ``x5secdata``, was ``html_instead_of_json`` when not served as HTML."""
    sm = '{"rgv587_flag":"sm","url":"https://sec.taobao.com/query.htm?action=QueryAction"}'

    def route(q: dict[str, str]) -> Reply:
        if q["itemId"] == "1":
            return Reply(f"jsonp128({sm})", 200, "application/javascript;charset=GBK")
        if q["itemId"] == "2":
            return Reply.page("alibaba_punish.html", "text/html; charset=utf-8")
        return Reply.page("alibaba_punish.html", "application/json;charset=UTF-8")

    site = fixture_site({PATH: route})
    source = Source(
        name="tmall", platform="shop_jsonp", base_url=site.url, product_ids=["1", "2", "3"]
    )
    [report] = crawl_sources([source], BRANDS, run_id="r1", settings=FAST)
    assert report.stats["blocked"] == {"captcha": 3}
    assert report.stats.get("errors", {}) == {}
    assert report.items == 0


# --- the PC item pages' rate API ------------------------------------------------------------

PC_PATH = "/h5/mtop.alibaba.review.list.for.new.pc.detail/1.0/"


def pc_route(q: dict[str, str]) -> Reply:
    import hashlib

    assert q["api"] == "mtop.alibaba.review.list.for.new.pc.detail" and q["v"] == "1.0"
    expected = hashlib.md5(f"{TOKEN}&{q['t']}&{q['appKey']}&{q['data']}".encode()).hexdigest()
    if q["sign"] != expected:
        reply = Reply.page("mtop_token_empty.jsonp", "application/javascript")
        reply.headers["Set-Cookie"] = f"_m_h5_tk={TOKEN}_1764500000000; Path=/; Domain=127.0.0.1"
        return reply
    data = json.loads(q["data"])
    assert data["channel"] == "pc_detail" and data["bizCode"] == "ali.china.tmall"
    page = {1: "mtop_pc_reviews_p1.jsonp", 2: "mtop_pc_reviews_p2.jsonp"}[data["pageNum"]]
    return Reply.page(page, "application/javascript;charset=UTF-8")


def test_pc_detail_rate_api_field_by_field(
    fixture_site: Any, koubei_home: str, monkeypatch: Any
) -> None:
    """``mtop.alibaba.review.list.for.new.pc.detail`` (``data.module.reviewVOList``), the API
    today's item pages call, was not known: a base URL naming it asked the old API's path."""
    monkeypatch.setenv("KOUBEI_NOW", "2026-12-01T12:00:00+08:00")
    site = fixture_site({PC_PATH: pc_route})
    source = Source(
        name="tmall",
        platform="shop_jsonp",
        base_url=f"{site.url}/h5/mtop.alibaba.review.list.for.new.pc.detail",
        product_ids=["600100"],
        brands=["云朵"],
    )
    [report] = crawl_sources([source], BRANDS, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == [
        "1233000000001",
        "1233000000002",
        "1233000000003",
        "1233000000003-append",
    ]
    first = docs["1233000000003"]
    assert first["text_raw"] == "云朵酸奶很浓稠，孩子爱喝"
    assert first["created_at"] == "2026-11-24T00:00:00+08:00"
    assert first["time_precision"] == "day"  # reviewDate is a day
    assert first["author"]["name"] == "t***1" and first["product_id"] == "600100"
    assert first["url"] == "https://detail.tmall.com/item.htm?id=600100#rate-1233000000003"
    assert first["engagement"]["likes"] == 2  # interactionVO.likeCount, a string
    assert first["extra"] == {
        "sku": "口味:原味;规格:200g*10",
        "shop_reply": "感谢亲的支持",
        "images": 2,
        "video": True,
    }
    append = docs["1233000000003-append"]
    assert append["text_raw"] == "追评：喝了两箱，最后一箱胀袋了"
    assert append["parent_id"] == "shop_jsonp:1233000000003" and append["relation"] == "reply"
    assert append["created_at"] == "2026-11-27T00:00:00+08:00" and append["time_precision"] == "day"
    assert append["extra"]["days_after"] == 3
    photo_only = docs["1233000000002"]
    assert photo_only["text_raw"] == "此用户没有填写评价。" and photo_only["extra"]["images"] == 1
    assert photo_only["extra"]["sku"] == "" and photo_only["extra"]["shop_reply"] is None
    assert docs["1233000000001"]["extra"]["sku"] == "口味:草莓"  # an empty append is no record
    assert report.stats.get("errors", {}) == {} and report.status == "ok"
    pages = [json.loads(q["data"])["pageNum"] for q in site.hits(PC_PATH)]
    assert pages == [1, 1, 2]  # unsigned, signed, then page 2; hasNext "false" ends it


def test_mtop_session_expiry_and_rate_limit_are_blocks(fixture_site: Any, koubei_home: str) -> None:
    """``FAIL_SYS_SESSION_EXPIRED`` and ``FAIL_SYS_TRAFFIC_LIMIT`` were counted as platform
    errors: a login wall and a rate limit are blocks, which health reports as such."""
    site = fixture_site({MTOP_PATH: mtop_route})
    source = Source(
        name="taobao", platform="shop_jsonp", base_url=f"{site.url}/h5", product_ids=["701", "702"]
    )
    [report] = crawl_sources([source], BRANDS, run_id="r1", settings=FAST)
    assert report.stats["blocked"] == {"login_wall": 1, "rate_limited": 1}
    assert report.stats.get("errors", {}) == {}
