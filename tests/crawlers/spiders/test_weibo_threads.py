"""Weibo reply threads: which reply a reply answers, and threads that grew since the last run.

Fixtures ``wb_answers_*.json`` (see ``pages/README.md``): a listed post whose hotflow has two
comments, T (5 replies, one nested) and U (2 replies, one nested), and their hotFlowChild pages.
"""

from __future__ import annotations

import json
from typing import Any

from koubei import jsonl
from koubei.analysis.spread.cascade import build_cascades
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply

POST = "5000000000000700"  # wb_show.json
T, U = "5337320000000001", "5337320000000002"
R = {n: f"c53373200000000{n}" for n in range(11, 20)}  # T's replies; 19 is on no page


def routes(grown: bool = False) -> dict[str, Any]:
    """The post, its hotflow and the two threads; ``grown``: T's count went from 5 to 7 and its
    thread holds two replies more, U is as it was."""

    def child(q: dict[str, str]) -> Reply:
        assert q["max_id"] == "0" and q["max_id_type"] == "0"
        if q["cid"] == T:
            return Reply.page("wb_answers_thread_grown.json" if grown else "wb_answers_thread.json")
        if q["cid"] == U:
            return Reply.page("wb_answers_thread_other.json")
        raise AssertionError(f"no thread should be read for {q['cid']}")

    empty = json.dumps({"ok": 1, "data": {"data": [], "max": 0}})
    hotflow = "wb_answers_hotflow_grown.json" if grown else "wb_answers_hotflow.json"
    return {
        "/statuses/show": lambda q: Reply.page("wb_show.json"),
        "/api/statuses/repostTimeline": lambda q: Reply(empty),
        "/comments/hotflow": lambda q: Reply.page(hotflow),
        "/comments/hotFlowChild": child,
        "/api/container/getIndex": lambda q: Reply.page("wb_search_end.json"),
    }


def test_a_reply_answering_another_reply_hangs_from_that_reply(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A reply naming the reply it answers (``reply_comment``) hangs from it, even when that
    reply is on no page read (a placeholder in the cascade); one naming none, a
    ``回复@NAME:`` opening for a name not in the thread or ``reply_comment: null`` (the answered
    reply deleted), hangs from the top comment. Every reply keeps its top comment."""
    site = fixture_site(routes())
    source = Source(name="wb", platform="weibo", base_url=site.url, post_ids=[POST])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    records = list(jsonl.read(report.landing_file))
    docs = {r["native_id"]: r for r in records}
    top = docs[f"c{T}"]
    assert top["parent_id"] == f"weibo:{POST}" and "thread_root" not in top["extra"]
    parents = {native: docs[native]["parent_id"] for native in [R[n] for n in range(11, 16)]}
    assert parents == {
        R[11]: f"weibo:c{T}",  # nested in hotflow, answering the comment
        R[12]: f"weibo:{R[11]}",  # reply_comment: R11
        R[13]: f"weibo:{R[19]}",  # reply_comment: R19, on no page
        R[14]: f"weibo:c{T}",  # 回复@路人丙: (no reply_comment; nobody of that name here)
        R[15]: f"weibo:c{T}",  # reply_comment: null
    }
    for native in parents:
        assert docs[native]["extra"]["thread_root"] == f"weibo:c{T}", native
        assert docs[native]["root_id"] == f"weibo:{POST}", native
    assert docs[R[12]]["extra"]["reply_to"] == "路人乙" and docs[R[12]]["mentions"] == ["路人乙"]
    assert docs[R[14]]["extra"]["reply_to"] == "路人丙" and docs[R[14]]["mentions"] == []
    assert "reply_to" not in docs[R[11]]["extra"]

    G = build_cascades(records)
    assert G.has_edge(f"weibo:c{T}", f"weibo:{R[11]}")
    assert G.has_edge(f"weibo:{R[11]}", f"weibo:{R[12]}")
    assert G.has_edge(f"weibo:{R[19]}", f"weibo:{R[13]}")
    assert G.nodes[f"weibo:{R[19]}"]["placeholder"] is True
    # the uncrawled reply R19 is in T's thread (R13's top comment), not a comment on the post
    assert list(G.predecessors(f"weibo:{R[19]}")) == [f"weibo:c{T}"]  # before: the post
    assert report.stats["errors"] == {} and report.status == "ok"


def test_a_known_comment_whose_replies_grew_has_its_thread_read_again(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """The crawl state keeps each comment's reply count (``total_number``). On the next run a
    known comment whose count grew has its thread read again and only its new replies land;
    one whose count did not grow is not asked for, nor is anything on a run after that."""
    site = fixture_site(routes())
    source = Source(name="wb", platform="weibo", base_url=site.url, post_ids=[POST])
    crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert sorted(q["cid"] for q in site.hits("/comments/hotFlowChild")) == [T, U]

    site.routes.update(routes(grown=True))
    site.requests.clear()
    [again] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert [q["cid"] for q in site.hits("/comments/hotFlowChild")] == [T]
    assert again.landing_file is not None
    landed = list(jsonl.read(again.landing_file))
    assert sorted(r["native_id"] for r in landed) == [R[16], R[17]]  # no reply twice
    docs = {r["native_id"]: r for r in landed}
    assert docs[R[16]]["parent_id"] == f"weibo:{R[12]}"
    assert docs[R[17]]["parent_id"] == f"weibo:c{T}"
    assert again.status == "ok"

    site.requests.clear()
    [third] = crawl_sources([source], brands, run_id="r3", settings=FAST)
    assert third.items == 0 and site.hits("/comments/hotFlowChild") == []


def test_a_reply_comment_that_is_not_an_id_names_no_comment(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """An odd ``reply_comment`` (an object or list where the id goes) or ``reply_id`` is no
    comment: the reply hangs from its top comment, not from an id made of its repr."""
    hotflow = json.loads(Reply.page("wb_answers_hotflow.json").body)
    [nested] = hotflow["data"]["data"][0]["comments"]
    nested["reply_comment"] = {"idstr": ["x"], "id": {"a": 1}}
    other = hotflow["data"]["data"][1]["comments"][0]
    other["reply_id"] = {"id": 5}
    site = fixture_site(
        {**routes(), "/comments/hotflow": lambda q: Reply(json.dumps(hotflow, ensure_ascii=False))}
    )
    source = Source(name="wb", platform="weibo", base_url=site.url, post_ids=[POST])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert docs[R[11]]["parent_id"] == f"weibo:c{T}"
    assert docs["c5337320000000021"]["parent_id"] == f"weibo:c{U}"
