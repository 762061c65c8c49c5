"""The Bilibili-shape reply spider: nested replies, cursor paging, ``code: -412``."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

from koubei import jsonl
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply


def routes() -> dict[str, Any]:
    def view(q: dict[str, str]) -> Reply:
        known = q.get("aid") == "777" or q.get("bvid") == "BV1xx"  # bili_view.json's two ids
        return Reply.page("bili_view.json" if known else "bili_412.json")

    def replies(q: dict[str, str]) -> Reply:
        assert q["mode"] == "2" and q["type"] == "1"
        return Reply.page("bili_replies_p1.json" if q["next"] == "0" else "bili_replies_p2.json")

    # No wbi keys from nav: the unsigned ``main`` endpoint is the fallback.
    return {
        "/x/web-interface/nav": lambda q: Reply('{"code": -101, "data": {}}'),
        "/x/web-interface/view": view,
        "/x/v2/reply/main": replies,
    }


def test_replies_field_by_field_and_second_run(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    site = fixture_site(routes())
    source = Source(
        name="bili", platform="video_comments", base_url=site.url, post_ids=["777", "888"]
    )
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == ["501", "502", "503", "504", "av777"]
    video = docs["av777"]
    assert video["kind"] == "post" and video["title"] == "鲜牧 vs 北岭 牛奶盲测"
    assert video["brands"] == ["鲜牧", "北岭"]
    assert video["author"] == {
        "id": "42",
        "name": "测评君",
        "followers": None,
        "verified": None,
        "region": None,
    }
    assert video["engagement"]["likes"] == 900
    top = docs["501"]
    assert top["text_raw"] == "第二款明显更香" and top["author"]["name"] == "路人A"
    assert top["created_at"] == "2026-11-24T10:00:00+08:00"  # epoch 1795485600
    assert top["parent_id"] == top["root_id"] == "video_comments:av777"
    assert top["brand_matches"][0]["field"] == "root_text"
    nested = docs["502"]
    assert nested["parent_id"] == "video_comments:501"
    assert nested["extra"]["thread_root"] == "video_comments:501"
    assert nested["mentions"] == ["路人A"]
    assert report.stats["blocked"] == {"platform_error_412": 1}
    assert report.status == "degraded"
    assert [q["next"] for q in site.hits("/x/v2/reply/main")] == ["0", "2"]  # then is_end

    site.requests.clear()
    [again] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert again.items == 0
    assert [q["next"] for q in site.hits("/x/v2/reply/main")] == ["0"]


MIXIN = "ea1db124af3c7062474693fa704f4ff8"  # the documented key of the two nav file names
# mode=2 (newest first) answers a type-3 offset with ``Data.cursor`` (bilibili-API-collect
# docs/comment/list.md, 获取评论区明细_懒加载); it goes back unread, inside ``pagination_str``.
NEXT_OFFSET = '{"type":3,"direction":1,"Data":{"cursor":2}}'


def test_wbi_signed_pages_and_null_members(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    def wbi_main(q: dict[str, str]) -> Reply:
        unsigned = {k: v for k, v in q.items() if k != "w_rid"}
        query = urlencode(sorted(unsigned.items()))
        assert q["w_rid"] == hashlib.md5((query + MIXIN).encode()).hexdigest()
        assert q["mode"] == "2" and q["oid"] == "777" and q["web_location"] == "1315875"
        offset = json.loads(q["pagination_str"])["offset"]
        return Reply.page("bili_wbi_p1.json" if offset == "" else "bili_wbi_p2.json")

    site = fixture_site(
        {
            "/x/web-interface/nav": lambda q: Reply.page("bili_nav_visitor.json"),
            "/x/web-interface/view": lambda q: Reply.page("bili_view.json"),
            "/x/v2/reply/wbi/main": wbi_main,
        }
    )
    source = Source(name="bili", platform="video_comments", base_url=site.url, post_ids=["777"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == ["699", "700", "701", "av777"]
    hot = docs["701"]  # member: null
    assert hot["author"]["id"] == "7010" and hot["author"]["name"] is None
    assert hot["text_raw"] == "鲜牧这个测评不公平"
    pinned = docs["700"]  # a top reply, member null, a mention in the platform's own list
    assert pinned["author"]["id"] == "7000" and pinned["mentions"] == ["测评君"]
    assert docs["699"]["author"] == {
        "id": "6990",
        "name": "用户6990",
        "followers": None,
        "verified": None,
        "region": None,
    }
    offsets = [json.loads(q["pagination_str"])["offset"] for q in site.hits("/x/v2/reply/wbi/main")]
    assert offsets == ["", NEXT_OFFSET]  # next_offset passed back verbatim, then is_end
    assert report.status == "ok"


def test_a_refused_wbi_signature_falls_back_to_the_unsigned_pages(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """The signing keys change daily (wbi.md): a signed page answered ``-403`` (its form from
    bilibili-API-collect ``docs/misc/errcode.md``) was a block, and the video's comments were
    lost for the run, for every video. Now the unsigned ``main`` pages are read instead."""
    site = fixture_site(
        {
            **routes(),
            "/x/web-interface/nav": lambda q: Reply.page("bili_nav_visitor.json"),
            "/x/v2/reply/wbi/main": lambda q: Reply(
                '{"code":-403,"message":"访问权限不足","ttl":1}'
            ),
        }
    )
    source = Source(name="bili", platform="video_comments", base_url=site.url, post_ids=["777"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == ["501", "502", "503", "504", "av777"]
    assert len(site.hits("/x/v2/reply/wbi/main")) == 1  # one refusal, then unsigned only
    assert [q["next"] for q in site.hits("/x/v2/reply/main")] == ["0", "2"]
    assert report.stats["blocked"] == {}
    assert report.status == "ok"


def test_thread_pages_pinned_upper_reply_and_closed_comments(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A reply nests 2 of its 12 replies: the other 10 come from ``x/v2/reply/reply`` (two
    pages, one reply answering another); the uploader's pinned reply is ``upper.top``;
    ``code 12002`` (comments closed) is skipped, not an error."""

    def main(q: dict[str, str]) -> Reply:
        return Reply.page("bili_thread_main.json" if q["oid"] == "999" else "bili_closed.json")

    def thread(q: dict[str, str]) -> Reply:
        assert q["oid"] == "999" and q["root"] == "801" and q["type"] == "1"
        return Reply.page(f"bili_thread_p{q['pn']}.json")

    site = fixture_site(
        {
            "/x/web-interface/nav": lambda q: Reply('{"code": -101, "data": {}}'),
            "/x/web-interface/view": lambda q: Reply.page("bili_view.json"),
            "/x/v2/reply/main": main,
            "/x/v2/reply/reply": thread,
        }
    )
    source = Source(
        name="bili", platform="video_comments", base_url=site.url, post_ids=["999", "998"]
    )
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == [*(str(n) for n in range(800, 814)), "av998", "av999"]
    pinned = docs["800"]
    assert pinned["author"] == {
        "id": "42",
        "name": "测评君",
        "followers": None,
        "verified": None,
        "region": None,
    }
    assert pinned["text_raw"] == "置顶：两款都已寄去第三方检测，结果出来更新"
    assert pinned["parent_id"] == "video_comments:av999"
    root = docs["801"]
    assert root["engagement"] == {"likes": 30, "comments": 12, "reposts": 0, "helpful": 0}
    tenth = docs["811"]  # only on the thread's first page
    assert tenth["parent_id"] == tenth["extra"]["thread_root"] == "video_comments:801"
    assert tenth["root_id"] == "video_comments:av999"
    assert tenth["created_at"] == "2026-11-24T10:10:00+08:00"
    assert tenth["author"]["name"] == "网友811"
    answer = docs["807"]  # answers another reply in the thread
    assert answer["parent_id"] == "video_comments:804"
    assert answer["text_raw"] == "回复 @网友804 :沉淀是蛋白质析出，摇匀就好"
    assert docs["813"]["brand_matches"][0]["field"] == "root_text"  # the thread's second page
    assert [q["pn"] for q in site.hits("/x/v2/reply/reply")] == ["1", "2"]
    assert report.stats["errors"] == {}
    assert report.status == "ok"

    site.requests.clear()
    [again] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert again.items == 0  # nothing is new
    # The known thread is checked at its last page only (new replies land there): one request.
    assert [q["pn"] for q in site.hits("/x/v2/reply/reply")] == ["2"]


def test_post_ids_as_the_site_shows_them_bv_and_av(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """``BV1xx`` (what a video URL shows) is asked by ``bvid`` and its replies by the ``aid``
    the view answer gives; ``av777`` is aid 777."""
    for post_id in ("BV1xx", "av777"):
        site = fixture_site(routes())
        source = Source(
            name=f"bili-{post_id.lower()}",
            platform="video_comments",
            base_url=site.url,
            post_ids=[post_id],
        )
        [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
        assert report.landing_file is not None
        docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
        assert sorted(docs) == ["501", "502", "503", "504", "av777"], post_id
        assert {q["oid"] for q in site.hits("/x/v2/reply/main")} == {"777"}
        assert report.stats["errors"] == {}


def test_every_field_of_a_real_reply_page(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: Any
) -> None:
    """A reply page in the full shape the site answers today: the author's region is
    ``reply_control.location`` ("IP属地：广东") and verification ``member.official_verify.type``
    (-1 none); both were dropped. A picture-only reply (``message: ""``, ``content.pictures``)
    keeps its picture count."""
    monkeypatch.setenv("KOUBEI_NOW", "2026-12-01T12:00:00+08:00")
    view = {
        "code": 0,
        "message": "0",
        "data": {
            "aid": 1556386640,
            "bvid": "BV1sx4y1m7Ng",
            "title": "鲜牧 vs 北岭 牛奶盲测",
            "desc": "-",
            "pubdate": 1795478400,
            "owner": {"mid": 442947096, "name": "测评君", "face": ""},
            "stat": {"view": 10293, "reply": 3, "like": 900, "share": 12},
        },
    }
    site = fixture_site(
        {
            "/x/web-interface/nav": lambda q: Reply('{"code": -101, "data": {}}'),
            "/x/web-interface/view": lambda q: Reply(json.dumps(view, ensure_ascii=False)),
            "/x/v2/reply/main": lambda q: Reply.page("bili_main_fields.json"),
        }
    )
    source = Source(
        name="bili", platform="video_comments", base_url=site.url, post_ids=["av1556386640"]
    )
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == ["237106897104", "237109513696", "237495603232", "av1556386640"]
    root = docs["237106897104"]
    assert root["author"] == {
        "id": "442947096",
        "name": "测评君",
        "followers": None,
        "verified": True,  # official_verify.type 0
        "region": "广东",
    }
    assert root["text_raw"] == "这期鲜牧测得很细[doge]"
    assert root["created_at"] == "2026-11-24T10:00:00+08:00"
    assert root["engagement"]["likes"] == 12 and root["engagement"]["comments"] == 2
    assert root["url"] == "https://www.bilibili.com/video/av1556386640#reply237106897104"
    answer = docs["237109513696"]
    assert answer["author"]["region"] == "辽宁" and answer["author"]["verified"] is False
    assert answer["parent_id"] == root["id"] and answer["extra"]["thread_root"] == root["id"]
    picture = docs["237495603232"]
    assert picture["text_raw"] == "" and picture["extra"]["images"] == 1
    assert picture["author"]["region"] is None  # no location given
    assert picture["parent_id"] == answer["id"]
    assert report.stats.get("errors", {}) == {} and report.status == "ok"


def test_risk_control_on_a_later_page_keeps_the_state_for_the_next_run(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """``code: -412`` (bili_412.json) on page 2: the run lands page 1, but must not save its
    watermark, or the next run stops at page 1 (all known) and never reads page 2's replies."""
    refuse = {"on": True}

    def replies(q: dict[str, str]) -> Reply:
        if q["next"] == "0":
            return Reply.page("bili_replies_p1.json")
        return Reply.page("bili_412.json" if refuse["on"] else "bili_replies_p2.json")

    site = fixture_site({**routes(), "/x/v2/reply/main": replies})
    source = Source(name="bili", platform="video_comments", base_url=site.url, post_ids=["777"])
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert first.landing_file is not None
    assert "504" not in {r["native_id"] for r in jsonl.read(first.landing_file)}
    assert first.stats["blocked"] == {"platform_error_412": 1}

    refuse["on"] = False
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second.landing_file is not None
    assert "504" in {r["native_id"] for r in jsonl.read(second.landing_file)}


def test_an_answer_the_parser_trips_on_is_counted_and_read_again_next_run(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A page whose ``cursor`` is not an object made the callback raise after its replies
    were noted in the crawl state: Scrapy logged it, the page's replies never landed, the
    health said ``ok`` and the saved state made every later run skip them."""
    broken = {"on": True}

    def replies(q: dict[str, str]) -> Reply:
        data = json.loads(Reply.page("bili_replies_p1.json").body)
        if broken["on"]:
            data["data"]["cursor"] = ["not", "an", "object"]
        else:
            data["data"]["cursor"]["is_end"] = True
        return Reply(json.dumps(data, ensure_ascii=False))

    site = fixture_site({**routes(), "/x/v2/reply/main": replies})
    source = Source(name="bili", platform="video_comments", base_url=site.url, post_ids=["777"])
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert first.stats["errors"] == {"parse_failed_attribute_error": 1}
    assert first.status == "degraded"

    broken["on"] = False
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second.landing_file is not None
    assert {"501", "503"} <= {r["native_id"] for r in jsonl.read(second.landing_file)}


# Risk control answered as success: ``code: 0`` and a ``data`` holding only a captcha voucher,
# as reported from real answers in SocialSisterYi/bilibili-API-collect#895 ("有时候只返回一个
# v_voucher"), renmu123/biliAPI#4 (``{v_voucher:'voucher_<some_uuid>'}`` instead of the data)
# and Ailitonia/omega-miya#161 (``input_value={'v_voucher': 'voucher_52...'}`` where the user
# data should be). The voucher's uuid is ours.
VOUCHER = {
    "code": 0,
    "message": "0",
    "ttl": 1,
    "data": {"v_voucher": "voucher_6c0e3f1e-8b0a-4d52-9a57-2f6f1f1c0d11"},
}


def test_a_captcha_voucher_answered_as_success_is_a_block_not_an_empty_page(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    voucher = {"on": True}

    def replies(q: dict[str, str]) -> Reply:
        if q["next"] == "0":
            return Reply.page("bili_replies_p1.json")
        return Reply(
            json.dumps(VOUCHER) if voucher["on"] else Reply.page("bili_replies_p2.json").body
        )

    site = fixture_site({**routes(), "/x/v2/reply/main": replies})
    source = Source(name="bili", platform="video_comments", base_url=site.url, post_ids=["777"])
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert first.stats["blocked"] == {"risk_voucher": 1}
    assert first.status == "degraded"

    voucher["on"] = False
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second.landing_file is not None
    assert "504" in {r["native_id"] for r in jsonl.read(second.landing_file)}


# ``x/web-interface/view`` answers for a video that is there but not shown, from the ``code``
# row of SocialSisterYi/bilibili-API-collect ``docs/video/info.md`` (62002：稿件不可见,
# 62004：稿件审核中, 62012：仅UP主自己可见); the answer's form (``data`` absent) as for
# ``-404`` in the same table.
HIDDEN_VIDEOS = {
    "555": '{"code": 62002, "message": "稿件不可见", "ttl": 1}',
    "556": '{"code": 62004, "message": "稿件审核中", "ttl": 1}',
    "557": '{"code": 62012, "message": "仅UP主自己可见", "ttl": 1}',
}


def test_hidden_or_reviewed_video_is_skipped_not_an_error(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A listed video taken down, under review or private has nothing to read: skipped like a
    closed comment area (``12002``) or ``-404``, and the source stays ``ok``."""

    def view(q: dict[str, str]) -> Reply:
        hidden = HIDDEN_VIDEOS.get(q.get("aid", ""))
        return Reply(hidden) if hidden else Reply.page("bili_view.json")

    site = fixture_site({**routes(), "/x/web-interface/view": view})
    source = Source(
        name="bili",
        platform="video_comments",
        base_url=site.url,
        post_ids=["777", *HIDDEN_VIDEOS],
    )
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == ["501", "502", "503", "504", "av777"]
    assert {q["oid"] for q in site.hits("/x/v2/reply/main")} == {"777"}
    assert report.stats["errors"] == {}
    assert report.status == "ok"


def test_video_without_description_is_its_title_not_a_dash(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """Bilibili answers ``"desc": "-"`` for a video with no description
    (``bili_view_nodesc.json``): the video's text is its title, not ``-``."""
    site = fixture_site(
        {**routes(), "/x/web-interface/view": lambda q: Reply.page("bili_view_nodesc.json")}
    )
    source = Source(name="bili", platform="video_comments", base_url=site.url, post_ids=["777"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    video = docs["av777"]
    assert video["text_raw"] == video["title"] == "鲜牧 vs 北岭 牛奶盲测"
