"""``brands.yaml`` changed between runs: a page read again whose text is unchanged lands again
when the brands it names are not those it landed with, with its id and its first time, though
its server answers conditional requests with 304 (crawl alone, then crawl → process → index on
a real node)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import timeutil
from koubei.config import BrandsConfig
from koubei.crawlers.state import CrawlState
from koubei.pipeline.index.templates import posts_alias
from tests.crawlers.fixture_site import Reply
from tests.crawlers.spiders.feeds import HTML, brand_counts, feed_source, landed
from tests.crawlers.spiders.test_articles_edits import crawl_process_index, page

BOTH = "鲜牧纯牛奶和北岭鲜奶放在一起对比测评，鲜牧口感更醇厚，北岭价格更便宜，孩子更喜欢鲜牧。"
BEILING = "北岭鲜奶口感清爽，奶香自然，早餐配面包刚好，超市常有活动，价格实惠，会继续回购。"


def brands_of(*names: str) -> BrandsConfig:
    """The test ``brands`` fixture's brands named, plus 云朵 (named by no page here)."""
    every = {
        "鲜牧": {"name": "鲜牧", "aliases": ["XianMu"], "exclude": ["鲜牧场"]},
        "北岭": {"name": "北岭", "aliases": [], "exclude": ["北岭山"]},
        "云朵": {"name": "云朵", "aliases": ["Yunduo"]},
    }
    return BrandsConfig.model_validate({"brands": [every[name] for name in names]})


def revalidating_site(
    fixture_site: Any, pages: dict[str, tuple[str, str]], asked: dict[str, list[str | None]]
) -> tuple[Any, Any]:
    """A sitemap whose every ``lastmod`` is the time it is asked (each run reads every page
    again), of pages ``/a/<n>.html`` saying ``pages[n]`` (title, text) with a strong ``ETag``
    and answering 304 to it; ``asked[n]`` gets each ask's ``If-None-Match``."""

    def sitemap(url: list[str]) -> Reply:
        now = timeutil.now().isoformat()
        entries = "".join(
            f"<url><loc>{url[0]}/a/{n}.html</loc><lastmod>{now}</lastmod></url>" for n in pages
        )
        body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        return Reply(body, 200, "application/xml")

    def article(n: str) -> Any:
        def answer(query: dict[str, str], headers: dict[str, str]) -> Reply:
            asked.setdefault(n, []).append(headers.get("If-None-Match"))
            etag = {"ETag": f'"v1-{n}"'}
            if headers.get("If-None-Match") == etag["ETag"]:
                return Reply(b"", 304, HTML, etag)
            return Reply(page(*pages[n]), 200, HTML, etag)

        return answer

    return feed_source(
        fixture_site,
        lambda url: (
            {"/sitemap.xml": lambda q: sitemap(url)} | {f"/a/{n}.html": article(n) for n in pages}
        ),
        "/sitemap.xml",
    )


def run(
    monkeypatch: pytest.MonkeyPatch, source: Any, brands: BrandsConfig, clock: str, run_id: str
) -> tuple[Any, list[Any]]:
    """A crawl of ``source`` under ``brands`` at ``clock`` on the 24th: its report and the
    landed documents in the order of their URLs."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, f"2026-11-24T{clock}:00+08:00")
    report, docs = landed(source, brands, run_id)
    return report, [docs[url] for url in sorted(docs)]


def test_a_brand_added_counts_a_page_landed_before_that_names_it(
    fixture_site: Any, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page naming 鲜牧 and 北岭 landed while brands.yaml had 鲜牧 alone; 北岭 is added. Its
    server answers 304 to its ETag, so the next run learnt nothing and it never counted for
    北岭. Now it is asked without the condition, and its unchanged text lands again with both
    brands, its id and its first ``created_at``, no ``edited_at`` (its site changed nothing).
    A change naming no brand the page names (云朵 added) reads it whole but lands nothing;
    runs under unchanged brands ask it conditionally and land nothing, as before."""
    asked: dict[str, list[str | None]] = {}
    _, source = revalidating_site(fixture_site, {"1": ("鲜牧", BOTH)}, asked)
    _, [v1] = run(monkeypatch, source, brands_of("鲜牧"), "12:00", "r1")
    assert v1["brands"] == ["鲜牧"]

    second, [v2] = run(monkeypatch, source, brands_of("鲜牧", "北岭"), "12:05", "r2")
    assert asked["1"] == [None, None]  # asked whole: a 304 would leave no text to match
    assert v2["brands"] == ["鲜牧", "北岭"] and v2["text_raw"] == v1["text_raw"]
    assert [m["brand"] for m in v2["brand_matches"]] == ["鲜牧", "北岭"]
    assert (v2["id"], v2["created_at"]) == (v1["id"], v1["created_at"])
    assert "edited_at" not in v2["extra"]
    assert second.stats["relanded"] == {"brands_changed": 1}
    assert second.stats["unchanged"] == {} and second.status == "ok"

    third, docs = run(
        monkeypatch, source, brands_of("鲜牧", "北岭"), "12:10", "r3"
    )  # brands unchanged
    assert docs == [] and third.stats["unchanged"] == {"not_modified": 1}
    assert asked["1"][-1] == '"v1-1"' and third.stats["relanded"] == {}

    fourth, docs = run(monkeypatch, source, brands_of("鲜牧", "北岭", "云朵"), "12:15", "r4")
    assert docs == [] and asked["1"][-1] is None  # read whole, its brands the same
    assert fourth.stats["unchanged"] == {"same_text": 1} and fourth.stats["relanded"] == {}
    fifth, docs = run(monkeypatch, source, brands_of("鲜牧", "北岭", "云朵"), "12:20", "r5")
    assert docs == [] and asked["1"][-1] == '"v1-1"'  # conditional again
    assert fifth.stats["unchanged"] == {"not_modified": 1}


def test_a_brand_removed_stops_counting_the_pages_landed_for_it(
    fixture_site: Any, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """北岭 is removed from brands.yaml: a page naming it alone lands again with ``brands``
    empty (counted ``off_brands`` in the health), one naming 鲜牧 too with 鲜牧 alone. Before,
    both answered 304 and the index kept counting them for 北岭."""
    asked: dict[str, list[str | None]] = {}
    pages = {"1": ("鲜牧", BOTH), "2": ("北岭", BEILING)}
    _, source = revalidating_site(fixture_site, pages, asked)
    _, first = run(monkeypatch, source, brands_of("鲜牧", "北岭"), "12:00", "r1")
    assert [d["brands"] for d in first] == [["鲜牧", "北岭"], ["北岭"]]

    second, again = run(monkeypatch, source, brands_of("鲜牧"), "12:05", "r2")
    assert [d["brands"] for d in again] == [["鲜牧"], []]
    assert again[1]["brand_matches"] == [] and again[1]["text_raw"] == first[1]["text_raw"]
    assert [(d["id"], d["created_at"]) for d in again] == [
        (d["id"], d["created_at"]) for d in first
    ]
    assert second.stats["relanded"] == {"brands_changed": 2} and second.stats["off_brands"] == 1
    assert second.stats["dropped"] == {}

    third, docs = run(monkeypatch, source, brands_of("鲜牧"), "12:10", "r3")
    assert docs == [] and third.stats["unchanged"] == {"not_modified": 2}
    assert third.stats["off_brands"] == 0


def test_a_crawl_state_saved_before_brands_were_kept_lands_nothing_again_on_upgrade(
    fixture_site: Any, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state saved by session 30 (validators of five: no brands kept), read under brands
    that changed since its pages landed: nothing lands again (a page answering 304, one whose
    server ignores the condition and answers its same text), as before. From then on they
    follow brands.yaml: the one whose brands were read lands again on the next change only
    if they differ; the one answering 304, whose brands were never read, lands again once."""
    asked: dict[str, list[str | None]] = {}
    pages = {"1": ("鲜牧", BOTH), "2": ("鲜牧", BOTH)}
    site, source = revalidating_site(fixture_site, pages, asked)
    ignoring = site.routes["/a/2.html"]
    site.routes["/a/2.html"] = lambda q, h: ignoring(q, {})  # answers 200 to any condition
    _, first = run(monkeypatch, source, brands_of("鲜牧"), "12:00", "r1")
    assert len(first) == 2
    path = CrawlState("news").path
    saved = json.loads(path.read_text())
    saved["validators"] = {k: v[:5] for k, v in saved["validators"].items()}  # session 30's
    path.write_text(json.dumps(saved))

    upgraded, docs = run(monkeypatch, source, brands_of("鲜牧", "北岭"), "12:05", "r2")
    assert docs == [] and upgraded.stats["unchanged"] == {"not_modified": 1, "same_text": 1}
    assert upgraded.stats["relanded"] == {} and not upgraded.stats["errors"]
    assert asked["1"][-1] == '"v1-1"'  # asked conditionally, as before

    later, docs = run(monkeypatch, source, brands_of("鲜牧", "北岭", "云朵"), "12:10", "r3")
    assert [d["url"].rsplit("/", 1)[1] for d in docs] == ["1.html"]
    assert docs[0]["brands"] == ["鲜牧", "北岭"] and docs[0]["id"] == first[0]["id"]
    assert later.stats["relanded"] == {"brands_changed": 1}
    assert later.stats["unchanged"] == {"same_text": 1}


def test_a_brand_removed_and_added_again_moves_the_stored_posts(
    fixture_site: Any,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    es: Elasticsearch,
    index_prefix: str,
) -> None:
    """Crawl → process → index on a real node, the pages answering 304 throughout: 北岭
    removed from brands.yaml, its two posts stop counting for it (the one naming 鲜牧 too
    still counts for 鲜牧, the other has ``brands`` empty); added again, both count again.
    Still two documents, each keeping its ``created_at`` and ``first_seen``."""
    pages = {"1": ("鲜牧", BOTH), "2": ("北岭", BEILING)}
    _, source = revalidating_site(fixture_site, pages, {})
    alias = posts_alias(index_prefix)

    def stored() -> dict[str, Any]:
        hits = es.search(index=alias)["hits"]["hits"]
        return {hit["_id"]: hit["_source"] for hit in hits}

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    crawl_process_index(source, brands_of("鲜牧", "北岭"), "r1", es, index_prefix)
    assert brand_counts(es, alias) == (1, 2, 2)
    before = stored()

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:05:00+08:00")
    crawl_process_index(source, brands_of("鲜牧"), "r2", es, index_prefix)
    assert brand_counts(es, alias) == (1, 0, 2)
    after = stored()
    assert sorted(doc["brands"] for doc in after.values()) == [[], ["鲜牧"]]
    assert {k: (d["created_at"], d["first_seen"]) for k, d in after.items()} == {
        k: (d["created_at"], d["first_seen"]) for k, d in before.items()
    }

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:10:00+08:00")
    crawl_process_index(source, brands_of("鲜牧", "北岭"), "r3", es, index_prefix)
    assert brand_counts(es, alias) == (1, 2, 2)


def test_a_forum_post_built_from_its_feed_follows_the_brands_too(
    fixture_site: Any, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread's post (``#p1``) built from its feed entry, no page fetched, its ``updated``
    restamped on every run: 北岭 added, its unchanged text lands again with both brands."""

    def atom(url: list[str]) -> Reply:
        body = (
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>论坛</title><entry>'
            f'<title>鲜牧</title><link href="{url[0]}/t/88.html#p1"/>'
            "<published>2026-11-24T09:15:00+08:00</published>"
            f"<updated>{timeutil.now().isoformat()}</updated>"
            f'<content type="html">&lt;p&gt;{BOTH}&lt;/p&gt;</content></entry></feed>'
        )
        return Reply(body, 200, "application/atom+xml")

    site, source = feed_source(
        fixture_site, lambda url: {"/atom.xml": lambda q: atom(url)}, "/atom.xml"
    )
    _, [v1] = run(monkeypatch, source, brands_of("鲜牧"), "12:00", "r1")
    second, [v2] = run(monkeypatch, source, brands_of("鲜牧", "北岭"), "12:05", "r2")
    assert (v1["brands"], v2["brands"]) == (["鲜牧"], ["鲜牧", "北岭"])
    assert (v2["id"], v2["created_at"]) == (v1["id"], v1["created_at"])
    assert second.stats["relanded"] == {"brands_changed": 1} and site.hits("/t/88.html") == []
    third, docs = run(monkeypatch, source, brands_of("鲜牧", "北岭"), "12:10", "r3")
    assert docs == [] and third.stats["unchanged"] == {"same_text": 1}
