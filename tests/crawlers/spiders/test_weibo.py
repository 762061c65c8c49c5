"""The microblog spider: search cards, repost timeline, comments, ``//@`` chains, login walls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from koubei import jsonl
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply

ROOT = "5000000000000100"


def routes(login_everywhere: bool = False) -> dict[str, Any]:
    def search(q: dict[str, str]) -> Reply:
        inner = dict(part.split("=", 1) for part in q["containerid"].split("&"))
        keyword = inner["q"]
        if login_everywhere or keyword == "XianMu":
            return Reply.page("wb_login.json")
        if keyword == "北岭":
            return Reply.page("wb_search_beiling.json")
        page = int(q.get("page", 1))
        return Reply.page(
            {1: "wb_search_p1.json", 2: "wb_search_p2.json"}.get(page, "wb_search_end.json")
        )

    def reposts(q: dict[str, str]) -> Reply:
        assert q["id"] == ROOT
        return Reply.page(f"wb_reposts_p{q['page']}.json")

    def comments(q: dict[str, str]) -> Reply:
        assert q["id"] == ROOT and q["mid"] == ROOT
        return Reply.page(
            "wb_comments_p2.json" if q.get("max_id") == "138" else "wb_comments_p1.json"
        )

    def extend(q: dict[str, str]) -> Reply:
        assert q["id"] == "5000000000000010"
        return Reply.page("wb_extend.json")

    return {
        "/statuses/extend": extend,
        "/api/container/getIndex": search,
        "/api/statuses/repostTimeline": reposts,
        "/comments/hotflow": comments,
    }


def test_posts_reposts_comments_field_by_field(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    site = fixture_site(routes())
    source = Source(name="wb", platform="weibo", base_url=site.url)
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)

    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == sorted(
        [
            ROOT,
            "5000000000000200",
            "5000000000000300",
            "5000000000000400",
            "5000000000000010",
            "5000000000000500",
            "c4900000000001",
            "c4900000000002",
            "c4900000000003",
            "c4900000000004",
        ]
    )
    root = docs[ROOT]
    assert root["kind"] == "post" and root["id"] == f"weibo:{ROOT}"
    assert root["created_at"] == "2026-11-24T10:00:00+08:00"
    assert root["author"] == {
        "id": "1001",
        "name": "维权小王",
        "followers": 812,
        "verified": False,
        "region": "上海",
    }
    assert root["engagement"] == {"likes": 12, "reposts": 3, "comments": 3, "helpful": 0}
    assert root["topics"] == ["鲜牧喝出异物"] and root["mentions"] == ["鲜牧乳业"]
    assert "<img alt=[怒]" in root["text_raw"]  # raw HTML kept for the cleaning stage
    assert root["parent_id"] is None and root["relation"] is None

    amplifier = docs["5000000000000200"]
    assert amplifier["author"]["followers"] == 568_000 and amplifier["author"]["verified"]
    assert amplifier["engagement"]["likes"] == 12_000
    assert amplifier["relation"] == "repost"
    assert amplifier["root_id"] == amplifier["parent_id"] == f"weibo:{ROOT}"
    assert amplifier["brand_matches"][0]["field"] == "root_text"

    # No ``pid``: the platform names only the root, which stays the parent; the chain is kept
    # and the cascade build alone resolves it (tests/analysis/spread/test_crawled_weibo.py).
    second = docs["5000000000000300"]
    assert second["extra"]["repost_chain"] == ["消费维权观察"]
    assert second["extra"]["parent_from_platform"] is False
    assert second["parent_id"] == f"weibo:{ROOT}"
    third = docs["5000000000000400"]  # only in the repost timeline, 3 levels deep
    assert third["extra"]["repost_chain"] == ["路人甲", "消费维权观察"]
    assert third["parent_id"] == third["root_id"] == f"weibo:{ROOT}"

    reply = docs["c4900000000002"]
    assert reply["kind"] == "comment" and reply["relation"] == "reply"
    assert reply["parent_id"] == "weibo:c4900000000001" and reply["root_id"] == f"weibo:{ROOT}"
    assert docs["c4900000000001"]["parent_id"] == f"weibo:{ROOT}"
    long_post = docs["5000000000000010"]  # isLongText: the full text came from /statuses/extend
    assert long_post["text_raw"].endswith("冷藏后口感更好。<br />推荐给大家！")
    assert long_post["extra"]["long_text"] is True
    assert docs["5000000000000500"]["brands"] == ["北岭"]
    assert docs["5000000000000500"]["author"]["followers"] == 123_000

    assert report.stats["blocked"] == {"login_required": 1}  # the XianMu search: ok -100
    assert report.stats["errors"] == {"bad_entry": 1}
    assert report.stats["dropped"]["excluded"] == 1  # 鲜牧场
    assert report.status == "degraded"
    search_pages = [
        q["page"] for q in site.hits("/api/container/getIndex") if "鲜牧" in q["containerid"]
    ]
    assert sorted(search_pages) == ["1", "2", "3"]  # stops at the empty page (ok: 0)
    health = json.loads((Path(koubei_home) / "health" / "wb.json").read_text())
    assert health["status"] == "degraded" and health["alert"] is True

    site.requests.clear()
    [again] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert again.items == 0
    assert [
        q["page"] for q in site.hits("/api/container/getIndex") if "鲜牧" in q["containerid"]
    ] == ["1"]
    assert [q["page"] for q in site.hits("/api/statuses/repostTimeline")] == ["1"]
    assert len(site.hits("/comments/hotflow")) == 1


def test_login_wall_everywhere_is_blocked_not_quiet(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    site = fixture_site(routes(login_everywhere=True))
    source = Source(name="wb", platform="weibo", base_url=site.url)
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.status == "blocked"
    assert report.items == 0
    assert report.stats["blocked"] == {"login_required": 3}  # 鲜牧, XianMu, 北岭
    assert report.stats["alert"] is True
    assert report.landing_file is not None and list(jsonl.read(report.landing_file)) == []


OLD_POST, TYPED_POST = "5000000000000200", "5000000000000300"


def test_old_comment_api_and_cursor_types(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """hotflow refuses one post (old API: hot_data, reply_id, like_counts, ``11-24`` dates);
    the other pages with ``max_id_type`` 1, which must be sent back as given."""

    def hotflow(q: dict[str, str]) -> Reply:
        if q["id"] == OLD_POST:
            return Reply.page("wb_hotflow_refused.json")
        if "max_id" in q:
            assert q["max_id"] == "139772510052111" and q["max_id_type"] == "1"
            return Reply.page("wb_hotflow_type1_p2.json")
        assert q["max_id_type"] == "0"
        return Reply.page("wb_hotflow_type1_p1.json")

    def old(q: dict[str, str]) -> Reply:
        assert q["id"] == OLD_POST
        return Reply.page(f"wb_comments_old_p{q['page']}.json")

    empty = {"ok": 1, "data": {"data": [], "max": 0}}
    no_replies = {"ok": 1, "data": [], "max_id": 0}
    site = fixture_site(
        {
            "/comments/hotflow": hotflow,
            "/comments/hotFlowChild": lambda q: Reply(json.dumps(no_replies)),
            "/api/comments/show": old,
            "/api/statuses/repostTimeline": lambda q: Reply(json.dumps(empty)),
            "/api/container/getIndex": lambda q: Reply.page("wb_search_end.json"),
        }
    )
    source = Source(name="wb", platform="weibo", base_url=site.url, post_ids=[OLD_POST, TYPED_POST])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == [
        "c4900000000080",
        "c4900000000090",
        "c4900000000101",
        "c4900000000102",
        "c4900000000200",
        "c4900000000201",
    ]
    first = docs["c4900000000101"]  # in both the time list and the hot list: once
    assert first["parent_id"] == f"weibo:{OLD_POST}" and first["root_id"] == f"weibo:{OLD_POST}"
    assert first["engagement"]["likes"] == 7 and first["engagement"]["comments"] == 2
    assert first["created_at"][5:] == "11-24T00:00:00+08:00"
    assert first["time_precision"] == "day"
    assert first["mentions"] == ["鲜牧乳业"]  # from the link, not "鲜牧乳业纯牛奶喝出黑色异物"
    reply = docs["c4900000000102"]
    assert reply["parent_id"] == "weibo:c4900000000101" and reply["relation"] == "reply"
    assert reply["engagement"]["likes"] == 1 and reply["mentions"] == ["老顾客"]
    hot = docs["c4900000000090"]
    assert hot["extra"]["hot"] is True and hot["engagement"]["likes"] == 12_000
    assert hot["engagement"]["comments"] == 31 and hot["author"]["followers"] == 52000
    assert docs["c4900000000080"]["created_at"][5:] == "11-22T00:00:00+08:00"
    typed = docs["c4900000000201"]
    assert typed["engagement"]["comments"] == 5 and typed["time_precision"] is None
    assert typed["created_at"] == "2026-11-25T08:00:00+08:00"
    assert [q["page"] for q in site.hits("/api/comments/show")] == ["1", "2"]
    assert len(site.hits("/comments/hotflow")) == 3
    # 201 has 5 replies and none nested: its thread is asked for. The old API's comments
    # (hot 90 has 31) are not: it lists replies flat, each with its reply_id.
    assert [q["cid"] for q in site.hits("/comments/hotFlowChild")] == ["4900000000201"]


def test_search_follows_the_since_id_cursor(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    def search(q: dict[str, str]) -> Reply:
        if "since_id" in q:
            assert q["since_id"] == "4988000000000001" and "page" not in q
            return Reply.page("wb_search_end.json")
        return Reply.page("wb_search_since_p1.json")

    empty = json.dumps({"ok": 1, "data": {"data": [], "max": 0}})
    site = fixture_site(
        {
            "/api/container/getIndex": search,
            "/api/statuses/repostTimeline": lambda q: Reply(empty),
            "/comments/hotflow": lambda q: Reply(empty),
            "/statuses/extend": lambda q: Reply.page("wb_extend.json"),
        }
    )
    source = Source(name="wb", platform="weibo", base_url=site.url, brands=["鲜牧"])
    crawl_sources([source], brands, run_id="r1", settings=FAST)
    cursors = [q.get("since_id") for q in site.hits("/api/container/getIndex")]
    # Each keyword's first page, then its second page asked for by the cursor, not by number.
    assert cursors.count(None) == cursors.count("4988000000000001") >= 1


SHOWN = "5000000000000700"


def test_listed_post_is_fetched_and_its_text_matches_reposts_and_comments(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A ``post_ids`` post comes from ``statuses/show``: it is a record itself, and reposts
    ("转发微博") and comments that never name the brand match through its text."""

    def show(q: dict[str, str]) -> Reply:
        return Reply.page("wb_show.json" if q["id"] == SHOWN else "wb_hotflow_refused.json")

    site = fixture_site(
        {
            "/statuses/show": show,
            "/api/statuses/repostTimeline": lambda q: Reply.page("wb_show_reposts.json"),
            "/comments/hotflow": lambda q: Reply.page("wb_show_comments.json"),
            "/api/container/getIndex": lambda q: Reply.page("wb_search_end.json"),
        }
    )
    source = Source(name="wb", platform="weibo", base_url=site.url, post_ids=[SHOWN])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == [SHOWN, "5000000000000710", "c4900000000700"]
    post = docs[SHOWN]
    assert post["kind"] == "post" and post["relation"] is None
    assert post["created_at"] == "2026-11-23T20:15:00+08:00"
    assert post["author"] == {
        "id": "1007",
        "name": "酸奶爱好者",
        "followers": 21_000,
        "verified": False,
        "region": "江苏",
    }
    assert post["engagement"] == {"likes": 40, "reposts": 3, "comments": 2, "helpful": 0}
    assert post["mentions"] == ["鲜牧乳业"] and post["brands"] == ["鲜牧"]
    assert post["url"] == f"https://m.weibo.cn/detail/{SHOWN}"
    repost = docs["5000000000000710"]
    assert repost["text_raw"] == "转发微博" and repost["relation"] == "repost"
    assert repost["root_id"] == repost["parent_id"] == f"weibo:{SHOWN}"
    assert repost["brand_matches"][0]["field"] == "root_text"
    comment = docs["c4900000000700"]
    assert comment["parent_id"] == f"weibo:{SHOWN}" and comment["engagement"]["likes"] == 5
    assert comment["brand_matches"][0]["field"] == "root_text"
    assert [q["id"] for q in site.hits("/statuses/show")] == [SHOWN]
    assert [q["mid"] for q in site.hits("/comments/hotflow")] == [SHOWN]
    assert report.status == "ok"


def test_rate_limited_answers_are_blocked_not_empty(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """``{"ok": 0, "errno": "100005"}`` is rate limiting: counted as blocked, not "no results"."""
    site = fixture_site({"/api/container/getIndex": lambda q: Reply.page("wb_rate_limited.json")})
    source = Source(name="wb", platform="weibo", base_url=site.url)
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.status == "blocked"
    assert report.stats["blocked"] == {"rate_limited": 3}  # 鲜牧, XianMu, 北岭
    assert report.items == 0


def test_search_pages_that_repeat_what_this_run_read_stop_the_paging(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """Past its last page, a search answers the same cards again under each next page number
    (and a cursor that moves without new content). Every repeat counted as new, because only
    earlier runs' items were "known": each keyword paged on to ``max_pages``."""

    def search(q: dict[str, str]) -> Reply:
        inner = dict(part.split("=", 1) for part in q["containerid"].split("&"))
        if inner["q"] != "鲜牧":
            return Reply.page("wb_search_end.json")
        data = json.loads(Reply.page("wb_search_p1.json").body)
        data["data"]["cardlistInfo"]["page"] = int(q.get("page", 1)) + 1
        return Reply(json.dumps(data, ensure_ascii=False))

    site = fixture_site({**routes(), "/api/container/getIndex": search})
    source = Source(name="wb", platform="weibo", base_url=site.url, max_pages=12)
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    pages = [q["page"] for q in site.hits("/api/container/getIndex") if "鲜牧" in q["containerid"]]
    assert pages == ["1", "2"]  # page 2 brought nothing this run had not read: stop
    assert report.landing_file is not None


def test_comment_fields_as_hotflow_answers_them(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """Comments as real answers carry them (``wb_hotflow_fields.json``): the commenter's IP
    region in ``source`` (``来自 北京``, ``来自广东``), ``like_count`` as a string, an emoji as
    ``<span class="url-icon"><img alt="[允悲]"/></span>``, a mention linking the full
    ``https://m.weibo.cn/n/NAME``."""
    site = fixture_site(
        {**routes(), "/comments/hotflow": lambda q: Reply.page("wb_hotflow_fields.json")}
    )
    source = Source(name="wb", platform="weibo", base_url=site.url)
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    top, nested, answer = (
        docs["c5337290303868548"],
        docs["c5337290936160046"],
        docs["c5176653778784993"],
    )
    assert top["author"]["region"] == "北京"
    assert nested["author"]["region"] == "陕西"
    assert answer["author"]["region"] == "广东"
    assert top["engagement"]["likes"] == 2007 and nested["engagement"]["likes"] == 74
    assert nested["parent_id"] == "weibo:c5337290303868548"
    assert answer["mentions"] == ["网友E"] and answer["author"]["followers"] == 158


def test_visitor_system_page_is_a_wall_not_a_broken_answer(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """Without a visitor cookie Weibo answers with HTTP 200 and its ``Sina Visitor System``
    page (GB2312, ``wb_visitor.html``) in place of the JSON: a wall the crawl is blocked by,
    whether the page comes labelled HTML or unlabelled, not a malformed answer."""
    for content_type in ("text/html", "application/octet-stream"):
        visitor = Reply.page("wb_visitor.html", content_type=content_type)
        site = fixture_site({"/api/container/getIndex": lambda q, v=visitor: v})
        source = Source(name="wb", platform="weibo", base_url=site.url)
        [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
        assert report.stats["blocked"] == {"login_wall": 3}, content_type  # 鲜牧, XianMu, 北岭
        assert report.stats["errors"] == {}, content_type
        assert report.status == "blocked"


def test_ok_0_saying_log_in_is_a_wall_not_an_empty_answer(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """``{"ok": 0, "message": "前方有点拥堵，请登录后使用"}`` (``wb_login_message.json``) is
    Weibo asking for a login: blocked, not a search with no results (``empty``)."""
    site = fixture_site({"/api/container/getIndex": lambda q: Reply.page("wb_login_message.json")})
    source = Source(name="wb", platform="weibo", base_url=site.url)
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.stats["blocked"] == {"login_required": 3}  # 鲜牧, XianMu, 北岭
    assert report.status == "blocked"


def test_deleted_listed_post_is_skipped_not_an_error(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A listed post that was deleted answers ``{"ok": 0, "errno": "20101", "msg": "该微博不存在"}``
    (``wb_show_deleted.json``): an answer, counted as skipped; its reposts and comments are
    still read, and the source stays ``ok``."""
    site = fixture_site(
        {
            "/statuses/show": lambda q: Reply.page("wb_show_deleted.json"),
            "/api/statuses/repostTimeline": lambda q: Reply.page("wb_show_reposts.json"),
            "/comments/hotflow": lambda q: Reply.page("wb_show_comments.json"),
            "/api/container/getIndex": lambda q: Reply.page("wb_search_end.json"),
        }
    )
    source = Source(name="wb", platform="weibo", base_url=site.url, post_ids=[SHOWN])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert [q["id"] for q in site.hits("/api/statuses/repostTimeline")] == [SHOWN]
    assert [q["id"] for q in site.hits("/comments/hotflow")] == [SHOWN]
    assert report.stats["errors"] == {}
    assert report.status == "ok"


# Comment ids of ``wb_thread_hotflow.json``: a thread paged on hotFlowChild, one whose comment
# was deleted (the "暂无数据" page), one answered with no replies and a cursor, one complete.
PAGED, DELETED_TOP, FOLDED, COMPLETE = (
    "5337300000000001",
    "5337300000000002",
    "5337300000000003",
    "5337300000000004",
)


def thread_routes(refused: set[str] | None = None) -> dict[str, Any]:
    """A listed post (``wb_show.json``) whose hotflow is ``wb_thread_hotflow.json``; the
    hotFlowChild answers per comment id, ``refused`` ones answering ``{"ok": 0}``."""

    def child(q: dict[str, str]) -> Reply:
        cid = q["cid"]
        if cid in (refused or set()):
            return Reply.page("wb_thread_refused.json")
        if cid == PAGED:
            if q["max_id"] == "0":
                assert q["max_id_type"] == "0"
                return Reply.page("wb_thread_p1.json")
            assert q["max_id"] == "4986000000000123" and q["max_id_type"] == "0"
            return Reply.page("wb_thread_p2.json")
        if cid == DELETED_TOP:
            return Reply.page("wb_thread_gone.html", content_type="text/html; charset=utf-8")
        if cid == FOLDED:
            return Reply.page("wb_thread_empty.json")
        raise AssertionError(f"no thread should be read for {cid}")

    empty = json.dumps({"ok": 1, "data": {"data": [], "max": 0}})
    return {
        "/statuses/show": lambda q: Reply.page("wb_show.json"),
        "/api/statuses/repostTimeline": lambda q: Reply(empty),
        "/comments/hotflow": lambda q: Reply.page("wb_thread_hotflow.json"),
        "/comments/hotFlowChild": child,
        "/api/container/getIndex": lambda q: Reply.page("wb_search_end.json"),
    }


def test_replies_beyond_the_nested_ones_come_from_hot_flow_child(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A comment whose ``total_number`` is more than its nested ``comments`` has its thread read
    from ``hotFlowChild`` (``cid``, ``max_id`` from 0 until 0), the replies linked to it as the
    nested ones are. A thread whose comment was deleted (Weibo's HTML ``暂无数据`` page) and one
    answered with no replies (``data: []`` with a cursor still set) end there, quietly; a
    comment whose nested replies are all of them, or that has none, asks for nothing."""
    from koubei.analysis.spread.cascade import build_cascades

    site = fixture_site(thread_routes())
    source = Source(name="wb", platform="weibo", base_url=site.url, post_ids=[SHOWN])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    records = list(jsonl.read(report.landing_file))
    docs = {r["native_id"]: r for r in records}
    threaded = [f"c53373000000000{n}" for n in (11, 12, 13, 14, 15)]
    assert set(threaded) <= set(docs)
    assert sorted(n for n in docs if n.startswith("c")) == sorted(
        [f"c{c}" for c in (PAGED, DELETED_TOP, FOLDED, COMPLETE, "5337300000000005")]
        + [*threaded, "c5337300000000041"]
    )
    for native in threaded:
        reply = docs[native]
        assert reply["kind"] == "comment" and reply["relation"] == "reply", native
        assert reply["parent_id"] == f"weibo:c{PAGED}", native
        assert reply["root_id"] == f"weibo:{SHOWN}", native
    later = docs["c5337300000000013"]
    assert later["author"] == {
        "id": "602",
        "name": "路人乙",
        "followers": 12_000,
        "verified": None,
        "region": "江苏",
    }
    assert later["mentions"] == ["楼主的邻居"] and later["engagement"]["likes"] == 0
    assert docs["c5337300000000012"]["engagement"]["likes"] == 27
    assert docs["c5337300000000015"]["brand_matches"][0]["field"] == "text"

    # The spread analysis sees the thread: each reply hangs from the comment, under the post.
    G = build_cascades(records)
    for native in threaded:
        assert G.has_edge(f"weibo:c{PAGED}", f"weibo:{native}"), native
        assert G.edges[f"weibo:c{PAGED}", f"weibo:{native}"]["relation"] == "reply"
    assert G.has_edge(f"weibo:{SHOWN}", f"weibo:c{PAGED}")

    asked = [(q["cid"], q["max_id"]) for q in site.hits("/comments/hotFlowChild")]
    assert sorted(asked) == sorted(
        [(PAGED, "0"), (PAGED, "4986000000000123"), (DELETED_TOP, "0"), (FOLDED, "0")]
    )
    assert report.stats["errors"] == {}
    assert report.status == "ok"
    log = (Path(koubei_home) / "logs" / "crawl" / "wb" / "r1.log").read_text()
    assert log.count("thread_gone:") == 1 and f"cid={DELETED_TOP}" in log

    # The next run: every comment is known, so no thread is read again.
    site.requests.clear()
    [again] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert again.items == 0 and site.hits("/comments/hotFlowChild") == []


def test_thread_pages_stop_at_max_pages(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """The source's ``max_pages`` caps a thread's pages as it caps every listing's."""
    site = fixture_site(thread_routes())
    source = Source(name="wb", platform="weibo", base_url=site.url, post_ids=[SHOWN], max_pages=1)
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert [q["max_id"] for q in site.hits("/comments/hotFlowChild") if q["cid"] == PAGED] == ["0"]
    assert report.landing_file is not None
    docs = {r["native_id"] for r in jsonl.read(report.landing_file)}
    assert {"c5337300000000012", "c5337300000000013"} <= docs
    assert "c5337300000000014" not in docs


def test_refused_thread_is_a_lost_page_and_read_again_next_run(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """``{"ok": 0}`` from hotFlowChild is a refusal, not "no replies": counted, and the crawl
    state stays behind, so the next run reads the comment as new and its thread again."""
    site = fixture_site(thread_routes(refused={PAGED}))
    source = Source(name="wb", platform="weibo", base_url=site.url, post_ids=[SHOWN])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.stats["errors"] == {"thread_refused": 1}
    assert report.status == "degraded"
    assert report.landing_file is not None
    assert "c5337300000000012" not in {r["native_id"] for r in jsonl.read(report.landing_file)}

    site.routes.update(thread_routes())
    site.requests.clear()
    [again] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert again.landing_file is not None
    docs = {r["native_id"] for r in jsonl.read(again.landing_file)}
    assert {f"c53373000000000{n}" for n in (12, 13, 14, 15)} <= docs
    assert again.stats["errors"] == {}
