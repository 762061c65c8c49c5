"""``brands.yaml`` changed between runs of a platform spider (microblog search here): a post
landed for one brand and met again by a competitor's new search lands again with both brands,
and the new search pages on past it. Feed and sitemap pages follow a change through their own
validators (``test_articles_brands.py``).

The search answers are ``api/container/getIndex`` card pages in the shape of the committed
``wb_search_p1.json`` (``card_type`` 9, ``mblog``, ``cardlistInfo.page``; its sources are in
``pages/README.md``), and past the last page the committed ``wb_search_end.json`` (``msg ==
'这里还没有内容'``, the real end of a list there); ids and texts are ours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl, timeutil
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from koubei.crawlers.state import CrawlState, page_of
from koubei.pipeline.index.templates import posts_alias
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply
from tests.crawlers.spiders.feeds import brand_counts
from tests.crawlers.spiders.test_articles_edits import crawl_process_index

BOTH = "5000000000000901"  # compares 鲜牧 with 北岭: found by both searches
XIANMU = "5000000000000902"  # 鲜牧 alone
BEILING = "5000000000000903"  # 北岭 alone, older: on the second page of 北岭's search
TEXTS = {
    BOTH: (
        "Tue Nov 24 10:30:00 +0800 2026",
        "鲜牧和北岭的纯牛奶放一起喝了一周，鲜牧更醇，北岭更便宜",
    ),
    XIANMU: ("Tue Nov 24 10:20:00 +0800 2026", "鲜牧的酸奶早餐配燕麦刚好"),
    BEILING: ("Mon Nov 23 09:00:00 +0800 2026", "北岭的新品鲜奶试了，口感清爽"),
}
SEARCH = {"鲜牧": [[BOTH, XIANMU]], "北岭": [[BOTH], [BEILING]]}  # keyword -> pages of posts


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The day of the posts, whatever today is (the index test moves it on)."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")


def card(post: str) -> dict[str, Any]:
    created, text = TEXTS[post]
    return {
        "card_type": 9,
        "mblog": {
            "id": post,
            "mid": post,
            "created_at": created,
            "text": text,
            "user": {"id": 1009, "screen_name": "测评君", "followers_count": 120},
            "reposts_count": 0,
            "comments_count": 0,
            "attitudes_count": 1,
            "isLongText": False,
        },
    }


def search(q: dict[str, str]) -> Reply:
    keyword = dict(part.split("=", 1) for part in q["containerid"].split("&"))["q"]
    pages = SEARCH.get(keyword, [])
    page = int(q.get("page", 1))
    if page > len(pages):
        return Reply.page("wb_search_end.json")
    body = {
        "ok": 1,
        "data": {"cardlistInfo": {"page": page + 1}, "cards": [card(p) for p in pages[page - 1]]},
    }
    return Reply(json.dumps(body, ensure_ascii=False))


def crawl(site: Any, brands: BrandsConfig, names: list[str], run_id: str) -> tuple[Any, dict]:
    """A crawl tracking ``names``: its report and the landed posts by id."""
    source = Source(name="wb", platform="weibo", base_url=site.url, brands=names)
    [report] = crawl_sources([source], brands, run_id=run_id, settings=FAST)
    landed = jsonl.read(Path(report.landing_file)) if report.landing_file else []
    return report, {doc["native_id"]: doc for doc in landed}


def beiling_pages(site: Any) -> list[str]:
    return [
        q.get("page", "1")
        for q in site.hits("/api/container/getIndex")
        if "北岭" in q["containerid"]
    ]


def test_a_competitor_added_counts_the_posts_landed_before_and_its_search_pages_on(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """北岭 is added to a source tracking 鲜牧. Its first search page holds only the comparison
    post landed for 鲜牧: it was "known", so 北岭 never counted it, and the all-known page
    stopped the paging, so 北岭's own older post on page 2 was never landed, for good (the
    watermark then passed it). Now the post lands again with both brands, its id and its time,
    and the search pages on. Under unchanged brands the next run lands nothing again."""
    site = fixture_site({"/api/container/getIndex": search})
    _, docs = crawl(site, brands, ["鲜牧"], "r1")
    assert {k: v["brands"] for k, v in docs.items()} == {BOTH: ["鲜牧"], XIANMU: ["鲜牧"]}

    second, again = crawl(site, brands, ["鲜牧", "北岭"], "r2")
    assert beiling_pages(site)[:2] == ["1", "2"]  # then its end page
    assert {k: v["brands"] for k, v in again.items()} == {
        BOTH: ["鲜牧", "北岭"],
        BEILING: ["北岭"],
    }
    assert (again[BOTH]["id"], again[BOTH]["created_at"]) == (
        docs[BOTH]["id"],
        docs[BOTH]["created_at"],
    )
    assert second.stats["relanded"] == {"brands_yaml_changed": 1}

    third, none = crawl(site, brands, ["鲜牧", "北岭"], "r3")
    assert none == {} and third.stats["relanded"] == {}
    assert third.stats["known"] >= 1


def test_a_crawl_state_kept_before_brands_were_lands_nothing_again_on_upgrade(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A state whose ``seen`` holds bare ids (as saved before items were read as of their
    brands): the items stay known, so the upgrade lands nothing again, as before."""
    site = fixture_site({"/api/container/getIndex": search})
    crawl(site, brands, ["鲜牧"], "r1")
    state = CrawlState("wb")
    saved = json.loads(state.path.read_text("utf-8"))
    assert all(" @" in key for key in saved["seen"])  # read as of the brands' digest
    saved["seen"] = [page_of(key) for key in saved["seen"]]
    state.path.write_text(json.dumps(saved), "utf-8")

    second, again = crawl(site, brands, ["鲜牧", "北岭"], "r2")
    assert BOTH not in again and second.stats["relanded"] == {}


def test_the_index_counts_the_posts_landed_before_for_the_competitor_added(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    es: Elasticsearch,
    index_prefix: str,
) -> None:
    """Crawl → process → index on a real node: 北岭 added counts the comparison post stored
    for 鲜牧 and its own older post; still one document per post, the comparison post keeping
    its ``created_at`` and ``first_seen``."""
    site = fixture_site({"/api/container/getIndex": search})
    alias = posts_alias(index_prefix)

    def kept(post: str) -> tuple[str, str]:
        [hit] = es.search(index=alias, query={"term": {"native_id": post}})["hits"]["hits"]
        return hit["_source"]["created_at"], hit["_source"]["first_seen"]

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    source = Source(name="wb", platform="weibo", base_url=site.url, brands=["鲜牧"])
    crawl_process_index(source, brands, "r1", es, index_prefix)
    assert brand_counts(es, alias) == (2, 0, 2)
    before = kept(BOTH)

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:05:00+08:00")
    source = Source(name="wb", platform="weibo", base_url=site.url, brands=["鲜牧", "北岭"])
    crawl_process_index(source, brands, "r2", es, index_prefix)
    assert brand_counts(es, alias) == (2, 2, 3)
    assert kept(BOTH) == before
