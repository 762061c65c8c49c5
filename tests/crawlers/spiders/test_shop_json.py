"""The JD-shape shop review spider against fixture pages served over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from koubei import jsonl
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import PAGES, Reply

PATH = "/comment/productPageComments.action"


PAGE_2 = {  # page 2 as the site serves it when nothing is wrong
    "maxPage": 3,
    "comments": [
        {
            "id": 13000000001,
            "content": "鲜牧的牛奶还行",
            "creationTime": "2026-11-20 09:00:00",
            "referenceId": "1001",
            "referenceName": "鲜牧 纯牛奶",
            "score": 4,
            "nickname": "a***b",
        }
    ],
}


def jd_route(extra_first: dict[str, Any] | None = None, page_2_cut: bool = True) -> Any:
    def route(q: dict[str, str]) -> Reply:
        if q["productId"] == "2002":
            return Reply.page("captcha.html", "text/html; charset=utf-8")
        if q["productId"] == "3003":
            return Reply(b"", 200)
        if q["productId"] == "4004":
            return Reply("", 412, "text/html")  # risk control
        page = int(q["page"])
        if page == 0:
            data = json.loads((PAGES / "jd_p0.json").read_text(encoding="utf-8"))
            if extra_first:
                data["comments"].insert(0, extra_first)
            return Reply(json.dumps(data, ensure_ascii=False))
        if page == 1:
            return Reply.page("jd_p1_gbk.json", "application/json;charset=GBK")
        if page_2_cut:
            return Reply.page("jd_p2_truncated.json")
        return Reply(json.dumps(PAGE_2, ensure_ascii=False))

    return route


def by_id(path: Path) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in jsonl.read(path)}


def test_reviews_field_by_field_with_bad_pages_counted(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    site = fixture_site({PATH: jd_route()})
    source = Source(
        name="shop",
        platform="shop_json",
        base_url=site.url,
        product_ids=["1001", "2002", "3003", "4004"],
    )

    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)

    assert report.landing_file == Path(koubei_home) / "landing" / "shop" / "r1.jsonl"
    docs = by_id(report.landing_file)
    assert sorted(docs) == [
        "shop_json:14000000002",
        "shop_json:15000000002",
        "shop_json:15000000003",
        "shop_json:15000000003-after",
    ]
    review = docs["shop_json:15000000003"]
    assert review["kind"] == "review" and review["source"] == "shop"
    assert review["text_raw"] == "鲜牧纯牛奶口感不错，孩子爱喝"
    assert review["created_at"] == "2026-11-24T10:00:00+08:00"
    assert review["rating"] == 5.0 and review["product_id"] == "1001"
    assert review["author"]["name"] == "j***x"
    assert review["engagement"]["helpful"] == 7 and review["engagement"]["comments"] == 1
    assert review["brands"] == ["鲜牧"]
    assert review["brand_matches"] == [{"brand": "鲜牧", "term": "鲜牧", "field": "text"}]
    assert review["extra"]["shop_replies"][0]["text"] == "感谢您的支持"
    assert review["extra"]["sku"] == "鲜牧 纯牛奶 250ml*12盒"
    followup = docs["shop_json:15000000003-after"]
    assert followup["parent_id"] == followup["root_id"] == review["id"]
    assert followup["relation"] == "reply"
    assert followup["created_at"] == "2026-11-25T09:30:00+08:00"
    # No brand word in the text: it matches through the product's name.
    assert docs["shop_json:15000000002"]["brand_matches"][0]["field"] == "product"
    # The GBK page decodes by its declared charset.
    assert docs["shop_json:14000000002"]["text_raw"] == "鲜牧牛奶有股怪味，疑似变质"

    assert report.stats["errors"] == {"bad_time": 1, "malformed_json": 1, "empty_body": 1}
    assert report.stats["blocked"] == {"captcha": 1, "http_412": 1}
    assert report.stats["dropped"] == {"excluded": 1}  # 鲜牧场 on the GBK page
    # robots + 3 pages + captcha + empty body; 412 is not retried (a block, not a hiccup)
    assert report.stats["responses_by_status"] == {"200": 6, "412": 1}
    assert report.status == "degraded"
    assert report.items == 4
    # First crawl (no watermark): after page 0 the rest is fetched in parallel.
    assert sorted(q["page"] for q in site.hits(PATH) if q["productId"] == "1001") == ["0", "1", "2"]
    assert not list(report.landing_file.parent.glob("*.part"))


# JD's passport page as public copies of it show its head (GBK, ``<title>京东-欢迎登录</title>``;
# found by ``find_string``, e.g. a scraper's test "does not treat JD login page as a product
# page"), served in place of the answer with HTTP 200 at the asked URL; and a forum's.
LOGIN_PAGES = {
    "5005": ("<html><head><meta charset='GBK'><title>京东-欢迎登录</title></head>"
             "<body><form>账户登录</form></body></html>").encode("gbk"),
    "6006": "<html><head><title>用户登录 - 乳品论坛</title></head><body></body></html>".encode(),
}  # fmt: skip


def test_a_login_page_in_place_of_the_answer_is_a_login_wall(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A login page's own title (no ``请登录`` in it) at the asked URL was an unreadable answer
    (``malformed_json``), so health said the platform's format broke, not that it wants a
    login."""
    site = fixture_site(
        {PATH: lambda q: Reply(LOGIN_PAGES[q["productId"]], 200, "text/html; charset=gbk")}
    )
    source = Source(
        name="shop", platform="shop_json", base_url=site.url, product_ids=list(LOGIN_PAGES)
    )
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.stats["blocked"] == {"login_wall": 2}
    assert report.stats.get("errors", {}) == {}


def test_second_run_stops_at_the_watermark_and_takes_only_new(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    site = fixture_site({PATH: jd_route(page_2_cut=False)})
    source = Source(name="shop", platform="shop_json", base_url=site.url, product_ids=["1001"])
    crawl_sources([source], brands, run_id="r1", settings=FAST)
    state = json.loads((Path(koubei_home) / "crawl-state" / "shop.json").read_text())
    assert state["watermarks"]["product:1001"] == "2026-11-24T10:00:00+08:00"

    site.requests.clear()
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second.items == 0
    assert [q["page"] for q in site.hits(PATH)] == ["0"]  # page 0 all known: paging stops
    assert second.stats["known"] == 2

    fresh = {
        "id": 16000000001,
        "content": "鲜牧新包装很好看",
        "creationTime": "2026-11-25 08:00:00",
        "referenceId": "1001",
        "referenceName": "鲜牧 纯牛奶",
        "score": 5,
        "nickname": "n***w",
    }
    site.routes[PATH] = jd_route(extra_first=fresh, page_2_cut=False)
    [third] = crawl_sources([source], brands, run_id="r3", settings=FAST)
    assert assert_ids(third.landing_file) == ["shop_json:16000000001"]


def assert_ids(path: Path | None) -> list[str]:
    assert path is not None
    return [r["id"] for r in jsonl.read(path)]


def test_a_lost_page_keeps_the_state_so_the_next_run_reaches_it(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """Page 2 comes back cut short: without the kept state, the next run would stop at page 0
    (all known) and page 2's review would never land."""
    site = fixture_site({PATH: jd_route()})
    source = Source(name="shop", platform="shop_json", base_url=site.url, product_ids=["1001"])
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert first.stats["errors"]["malformed_json"] == 1
    assert not (Path(koubei_home) / "crawl-state" / "shop.json").exists()  # state kept as it was

    site.routes[PATH] = jd_route(page_2_cut=False)  # the site recovered
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    landed = assert_ids(second.landing_file)
    assert "shop_json:13000000001" in landed  # the lost page's review, once
    # What the first run landed lands again with the same ids (the index updates it in place).
    assert set(assert_ids(first.landing_file)) <= set(landed)
    state = json.loads((Path(koubei_home) / "crawl-state" / "shop.json").read_text())
    assert state["watermarks"]["product:1001"] == "2026-11-24T10:00:00+08:00"


def test_a_page_lost_on_every_run_says_since_when_and_a_recovery_clears_it(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: Any
) -> None:
    """The source's health carries since when every run kept the state; the detection flow
    raises a page that never comes back (tests/analysis/detectors/test_operational.py)."""
    site = fixture_site({PATH: jd_route()})  # page 2 cut short on every run
    source = Source(name="shop", platform="shop_json", base_url=site.url, product_ids=["1001"])
    health_file = Path(koubei_home) / "health" / "shop.json"
    for run_id, at in (("r1", "2026-11-25T10:00:00+08:00"), ("r2", "2026-11-26T11:00:00+08:00")):
        monkeypatch.setenv("KOUBEI_NOW", at)
        [report] = crawl_sources([source], brands, run_id=run_id, settings=FAST)
        health = json.loads(health_file.read_text(encoding="utf-8"))
        assert report.stats["errors"]["malformed_json"] == 1
        assert health["state_kept"] is True
        assert health["state_kept_since"] == "2026-11-25T10:00:00+08:00"  # the first such run

    site.routes[PATH] = jd_route(page_2_cut=False)  # the site recovered: the state moves on
    monkeypatch.setenv("KOUBEI_NOW", "2026-11-26T11:05:00+08:00")
    crawl_sources([source], brands, run_id="r3", settings=FAST)
    health = json.loads(health_file.read_text(encoding="utf-8"))
    assert health["state_kept"] is False and health["state_kept_since"] is None
    assert (Path(koubei_home) / "crawl-state" / "shop.json").exists()


def test_gbk_bytes_declared_utf8_are_read_not_dropped(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A page whose header says utf-8 but whose bytes are GBK: decoded with "replace" it would
    parse, name no brand and be dropped as off-topic; it is read as GB18030 instead."""
    healthy = jd_route(page_2_cut=False)

    def route(q: dict[str, str]) -> Reply:
        if q["page"] == "1":
            return Reply.page("jd_p1_gbk.json", "application/json; charset=utf-8")
        return healthy(q)

    site = fixture_site({PATH: route})
    source = Source(name="shop", platform="shop_json", base_url=site.url, product_ids=["1001"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    docs = by_id(report.landing_file)
    assert docs["shop_json:14000000002"]["text_raw"] == "鲜牧牛奶有股怪味，疑似变质"
    assert report.stats["dropped"] == {"excluded": 1}  # 鲜牧场, as with the right header


def test_jsonp_answer_as_jd_serves_it_field_by_field(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: Any
) -> None:
    """JD's own answer (``fetchJSON_comment98({...});``) with every field a real comment has,
    and a follow-up whose ``hAfterUserComment`` is null: that once raised inside the page's
    callback and lost every review of the page (the README cites the shape's sources)."""
    monkeypatch.setenv("KOUBEI_NOW", "2026-12-01T12:00:00+08:00")

    def route(q: dict[str, str]) -> Reply:
        return Reply.page("jd_jsonp_fields.jsonp", "text/html;charset=UTF-8")

    site = fixture_site({PATH: route})
    source = Source(name="shop", platform="shop_json", base_url=site.url, product_ids=["1001"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    docs = by_id(report.landing_file)
    assert sorted(docs) == [
        "shop_json:10681890470",
        "shop_json:10681890470-after",
        "shop_json:10681890471",
    ]
    review = docs["shop_json:10681890470"]
    # The text as the API gives it (entities and newlines are the clean stage's business).
    assert review["text_raw"] == (
        "鲜牧这款很好的，没有什么味道。&hellip;物流配送一直如此快速！\n好评！"
    )
    assert review["created_at"] == "2026-11-24T00:44:24+08:00"
    assert review["rating"] == 5.0 and review["title"] is None
    assert review["product_id"] == "2531316"  # referenceId, the sku reviewed
    assert review["url"] == "https://item.jd.com/2531316.html#comment-10681890470"
    assert review["author"]["id"] == "544a5a1f-b37c-43a7-bfa3-d2299958d4f4"
    assert review["author"]["name"] == "山***彡"  # anonymised by JD
    assert review["engagement"]["helpful"] == 31 and review["engagement"]["comments"] == 3
    assert review["extra"]["images"] == 2 and review["extra"]["sku"] == "鲜牧 纯牛奶 250ml*12盒"
    [reply] = review["extra"]["shop_replies"]
    assert reply == {
        "text": "您好，感谢您的支持！\n",
        "created": "2026-11-24 14:41:40",
        "name": "鲜牧京东自营旗舰店",
    }
    followup = docs["shop_json:10681890470-after"]
    assert followup["text_raw"] == "喝完一箱了，还会回购"
    assert followup["created_at"] == "2026-11-30T19:07:41+08:00"
    assert followup["parent_id"] == review["id"] and followup["relation"] == "reply"
    assert followup["extra"]["days_after"] == 6  # afterDays
    # The platform's stand-in text lands as given; sentiment labels it no_opinion.
    assert docs["shop_json:10681890471"]["text_raw"] == "此用户未填写评价内容"
    assert report.stats.get("errors", {}) == {}
    assert report.status == "ok"


def test_a_damaged_state_file_is_moved_aside_and_the_crawl_goes_on(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A state file cut short (a full disk, an interrupted copy) stopped every crawl of the
    source at its first line, for good: the run crashed, nothing landed, status degraded."""
    site = fixture_site({PATH: jd_route(page_2_cut=False)})
    source = Source(name="shop", platform="shop_json", base_url=site.url, product_ids=["1001"])
    state_file = Path(koubei_home) / "crawl-state" / "shop.json"
    state_file.parent.mkdir(parents=True)
    state_file.write_text('{"source": "shop", "watermarks": {"product:1001": "2026-11-2', "utf-8")

    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None and report.items == 5  # as with no state at all
    assert report.stats["errors"] == {"state_unreadable": 1, "bad_time": 1}  # said, once
    assert report.status == "degraded"
    saved = json.loads(state_file.read_text(encoding="utf-8"))
    assert saved["watermarks"]["product:1001"] == "2026-11-24T10:00:00+08:00"
    assert [p.name.split("-")[0] for p in state_file.parent.glob("shop.json.unreadable-*")] == [
        "shop.json.unreadable"
    ]
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second.items == 0 and "state_unreadable" not in second.stats["errors"]


def test_a_damaged_health_file_does_not_fail_the_crawl(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A health file cut short (a full disk) raised at the end of every later crawl, after it
    had landed: each run reported ``crawler_failed`` with no landing file, for good."""
    site = fixture_site({PATH: jd_route(page_2_cut=False)})
    source = Source(name="shop", platform="shop_json", base_url=site.url, product_ids=["1001"])
    health = Path(koubei_home) / "health"
    (health / "shop").mkdir(parents=True)
    (health / "shop.json").write_text('{"source": "shop", "run_id": "r0", "sta', "utf-8")
    (health / "shop" / "r0.0.json").write_bytes(b"\x00" * 16)

    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None and report.items == 5
    assert "crawler_failed" not in report.stats["errors"]
    saved = json.loads((health / "shop.json").read_text(encoding="utf-8"))
    assert saved["run_id"] == "r1" and saved["items"] == 5


def test_counts_written_as_text_are_read_not_fatal(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """JD writes its summary counts as text (``"13万+"``, jd_jsonp_fields.jsonp); a comment's
    counts or score in that form (our robustness case) raised on ``int()``/``float()``, and
    the whole page was lost."""
    comment = {
        "id": 18000000001,
        "content": "鲜牧酸奶很多人说好",
        "creationTime": "2026-11-24 11:00:00",
        "referenceId": "1001",
        "referenceName": "鲜牧 酸奶",
        "score": "5",
        "usefulVoteCount": "1.2万",
        "replyCount": "10万+",
        "nickname": "k***y",
    }
    odd_score = {**comment, "id": 18000000002, "score": "好评", "usefulVoteCount": "3"}
    site = fixture_site({PATH: lambda q: Reply(json.dumps(
        {"maxPage": "1", "comments": [comment, odd_score]}, ensure_ascii=False
    ))})  # fmt: skip
    source = Source(name="shop", platform="shop_json", base_url=site.url, product_ids=["1001"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None and report.status == "ok"
    docs = by_id(report.landing_file)
    first = docs["shop_json:18000000001"]
    assert first["engagement"]["helpful"] == 12_000 and first["engagement"]["comments"] == 100_000
    assert first["rating"] == 5.0
    assert docs["shop_json:18000000002"]["rating"] is None


def test_an_empty_object_in_place_of_a_page_is_a_refusal_not_the_end(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """JD answers ``{}`` when it withholds its reviews (Dimlitter/jd_AutoComment#46: the raw
    answer logged as ``RawProductCommentsData:{}``, then ``KeyError: 'comments'``; #73 the same
    ``KeyError`` from ``productPageComments.action``). Read as an empty page it ended the
    listing, the run said ``ok`` and saved its state, so no later run reached that page's
    reviews; a product answering ``{}`` at once read as one without reviews."""
    healthy = jd_route(page_2_cut=False)
    withheld = {"on": True}

    def route(q: dict[str, str]) -> Reply:
        if q["productId"] == "5005" or (q["page"] == "1" and withheld["on"]):
            return Reply("{}")
        return healthy(q)

    site = fixture_site({PATH: route})
    source = Source(
        name="shop", platform="shop_json", base_url=site.url, product_ids=["1001", "5005"]
    )
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert "shop_json:14000000002" not in assert_ids(first.landing_file)  # page 1's review
    assert first.stats["blocked"] == {"empty_answer": 2} and first.status == "degraded"
    assert not (Path(koubei_home) / "crawl-state" / "shop.json").exists()  # state kept

    withheld["on"] = False
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert "shop_json:14000000002" in assert_ids(second.landing_file)
