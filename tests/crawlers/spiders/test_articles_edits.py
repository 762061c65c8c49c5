"""A landed article edited later: read again once its feed dates it anew, landed with its id,
and updated in place in Elasticsearch (crawl → process → index, on a real node)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl, timeutil
from koubei.config import BrandsConfig
from koubei.pipeline import ledger
from koubei.pipeline.aspects import load_aspects
from koubei.pipeline.index.queries import filtered, volume_series
from koubei.pipeline.index.spool import index_file
from koubei.pipeline.index.templates import posts_alias
from koubei.pipeline.process import process_pending_files
from tests.crawlers.fixture_site import Reply
from tests.crawlers.spiders.feeds import HTML, feed_source, landed

PRAISE = "鲜牧纯牛奶口感醇厚，奶香浓郁，孩子很喜欢喝，家里一直回购，物流也很快，包装完好。"
COMPLAINT = (
    "更正：鲜牧纯牛奶被多名消费者投诉喝出黑色异物，有变质酸味，客服一直不回应，"
    "已向市场监管部门投诉，要求退款赔偿，太失望了。"
)
CORRECTED = (
    "更正：本站此前报道的纯牛奶异物投诉，经市场监管部门核实，涉事产品并非该品牌生产，"
    "系其他小作坊产品，特此更正并致歉。"
)


def page(title: str, text: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<article><h1>{title}</h1><p>{text}</p><p>{text}</p></article></body></html>"
    ).encode()


def sitemap_site(fixture_site: Any, served: dict[str, Any]) -> tuple[Any, Any]:
    """A sitemap of one page, ``/a/1.html``, dated ``served["lastmod"]``, saying
    ``served["text"]`` under the title ``served["title"]`` (default 鲜牧纯牛奶)."""

    def sitemap(url: list[str]) -> Reply:
        body = (
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
            f"<loc>{url[0]}/a/1.html</loc><lastmod>{served['lastmod']}</lastmod></url></urlset>"
        )
        return Reply(body, 200, "application/xml")

    return feed_source(
        fixture_site,
        lambda url: {
            "/sitemap.xml": lambda q: sitemap(url),
            "/a/1.html": lambda q: Reply(
                page(served.get("title", "鲜牧纯牛奶"), served["text"]), 200, HTML
            ),
        },
        "/sitemap.xml",
    )


def test_a_landed_page_is_read_again_once_its_lastmod_moves_and_lands_with_its_id(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page landed kept no version: its feed's ``lastmod`` moving (an edit: a correction, a
    complaint added) never had it fetched again, and the edit never reached the index."""
    served = {"lastmod": "2026-11-24T09:00:00+08:00", "text": PRAISE}
    site, source = sitemap_site(fixture_site, served)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    _, first = landed(source, brands, "r1")
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:05:00+08:00")
    unchanged, again = landed(source, brands, "r2")
    assert again == {} and len(site.hits("/a/1.html")) == 1  # not edited: not fetched again
    assert unchanged.stats["edited"] == 0

    served.update(lastmod="2026-11-24T12:07:00+08:00", text=COMPLAINT)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:10:00+08:00")
    report, edited = landed(source, brands, "r3")
    assert len(site.hits("/a/1.html")) == 2 and report.stats["edited"] == 1
    [(url, v1)], [(_, v2)] = first.items(), edited.items()
    assert v2["id"] == v1["id"] and url == f"{site.url}/a/1.html"
    assert "黑色异物" in v2["text_raw"] and "黑色异物" not in v1["text_raw"]

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:15:00+08:00")
    assert landed(source, brands, "r4")[1] == {} and len(site.hits("/a/1.html")) == 2


def test_an_atom_entry_landed_is_read_again_once_updated_though_the_watermark_passed_it(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Atom entry is dated by ``published``, which an edit leaves; a later entry moved the
    feed's watermark past it, so once ``updated`` moved it was new by its version but known
    by the watermark, and was not read again (off the brands or landed alike)."""
    updated = {"1": "2026-11-24T09:00:00+08:00"}
    text = {"1": PRAISE, "2": PRAISE}

    def atom(url: list[str]) -> Reply:
        entries = "".join(
            f'<entry><title>t{n}</title><link href="{url[0]}/a/{n}.html"/>'
            f"<published>2026-11-24T{8 + int(n)}:00:00+08:00</published>"
            f"<updated>{updated.get(n, f'2026-11-24T{8 + int(n)}:00:00+08:00')}</updated>"
            "</entry>"
            for n in ("1", "2")
        )
        body = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{entries}</feed>'
        return Reply(body, 200, "application/atom+xml")

    site, source = feed_source(
        fixture_site,
        lambda url: {
            "/atom.xml": lambda q: atom(url),
            "/a/1.html": lambda q: Reply(page("鲜牧", text["1"]), 200, HTML),
            "/a/2.html": lambda q: Reply(page("鲜牧", text["2"]), 200, HTML),
        },
        "/atom.xml",
    )
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    assert len(landed(source, brands, "r1")[1]) == 2  # the watermark is entry 2's 10:00

    updated["1"], text["1"] = "2026-11-24T12:03:00+08:00", COMPLAINT
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:05:00+08:00")
    _, docs = landed(source, brands, "r2")
    [doc] = docs.values()
    assert doc["url"] == f"{site.url}/a/1.html" and "黑色异物" in doc["text_raw"]
    assert doc["created_at"] == "2026-11-24T09:00:00+08:00"  # its published time, as before
    assert len(site.hits("/a/1.html")) == 2 and len(site.hits("/a/2.html")) == 1


def crawl_process_index(
    source: Any, brands: BrandsConfig, run_id: str, es: Elasticsearch, prefix: str
) -> None:
    """One cycle as ``koubei run`` makes it: crawl, process what landed, index what was
    processed (the flows' tasks call these stages)."""
    landed(source, brands, run_id)
    for report in process_pending_files(
        ledger.pending_landing(), lexicon=load_aspects(), workers=1
    ):
        assert report.error is None
    for path in ledger.pending_index():
        report = index_file(es, path, prefix)
        assert report.ok
        ledger.mark_indexed(path, report.as_dict())
    es.indices.refresh(index=f"{prefix}-posts*")


def test_an_edited_article_updates_its_one_document_in_elasticsearch(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    es: Elasticsearch,
    index_prefix: str,
) -> None:
    """The site serves v1, a cycle runs; it serves v2 with a later ``lastmod``, a cycle runs:
    one document in the index, with v2's text and v2's sentiment (scored again), its first
    crawl kept. Before, the second crawl did not fetch the page and the index kept v1."""
    served = {"lastmod": "2026-11-24T09:00:00+08:00", "text": PRAISE}
    _, source = sitemap_site(fixture_site, served)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    crawl_process_index(source, brands, "r1", es, index_prefix)
    [v1] = es.search(index=posts_alias(index_prefix))["hits"]["hits"]

    served.update(lastmod="2026-11-24T12:07:00+08:00", text=COMPLAINT)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:10:00+08:00")
    crawl_process_index(source, brands, "r2", es, index_prefix)
    assert es.count(index=posts_alias(index_prefix))["count"] == 1
    [v2] = es.search(index=posts_alias(index_prefix))["hits"]["hits"]
    assert v2["_id"] == v1["_id"]
    assert "黑色异物" in v2["_source"]["text_raw"] and "黑色异物" in v2["_source"]["text_clean"]
    [processed] = [
        r for path in ledger.processed_files() for r in jsonl.read(path) if "异物" in r["text_raw"]
    ]
    assert v2["_source"]["sentiment"] == processed["sentiment"]
    assert v2["_source"]["sentiment"]["score"] < v1["_source"]["sentiment"]["score"]
    assert v2["_source"]["first_seen"] == v1["_source"]["first_seen"]
    assert v2["_source"]["last_seen"] > v1["_source"]["last_seen"]


def test_a_forum_post_built_from_its_feed_lands_again_once_edited_not_once_restamped(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A post of a thread page (``#p1``) is built from its feed entry's own content, no page
    fetched: edited (``updated`` moved, new content), it lands again with its id; its
    ``updated`` moved alone (a feed restamping its entries), it says what was landed and
    does not land again."""
    entry = {"updated": "2026-11-24T09:15:00+08:00", "content": PRAISE}

    def atom(url: list[str]) -> Reply:
        body = (
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>论坛</title><entry>'
            f'<title>鲜牧</title><link href="{url[0]}/t/88.html#p1"/>'
            f"<published>2026-11-24T09:15:00+08:00</published>"
            f"<updated>{entry['updated']}</updated>"
            f'<content type="html">&lt;p&gt;{entry["content"]}&lt;/p&gt;</content>'
            "</entry></feed>"
        )
        return Reply(body, 200, "application/atom+xml")

    site, source = feed_source(
        fixture_site, lambda url: {"/atom.xml": lambda q: atom(url)}, "/atom.xml"
    )
    runs = {}
    for run, (clock, updated, content) in enumerate(
        [
            ("12:00", "09:15", PRAISE),
            ("12:05", "09:15", PRAISE),
            ("12:10", "12:07", COMPLAINT),  # edited
            ("12:15", "12:12", COMPLAINT),  # restamped
        ],
        1,
    ):
        entry.update(updated=f"2026-11-24T{updated}:00+08:00", content=content)
        monkeypatch.setenv(timeutil.CLOCK_ENV, f"2026-11-24T{clock}:00+08:00")
        runs[run] = landed(source, brands, f"r{run}")
    [v1], [v3] = runs[1][1].values(), runs[3][1].values()
    assert runs[2][1] == {} and runs[4][1] == {}
    assert (
        v3["id"] == v1["id"] and "黑色异物" in v3["text_raw"] and "黑色异物" not in v1["text_raw"]
    )
    assert runs[4][0].stats["unchanged"] == {"same_text": 1}
    assert site.hits("/t/88.html") == []


def test_an_edit_keeps_the_time_its_article_landed_with_first(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    es: Elasticsearch,
    index_prefix: str,
) -> None:
    """A sitemap entry without ``news:publication_date`` is dated by its ``lastmod``, which an
    edit moves: the edited article moved to the edit's time, and the brand's volume (what the
    spike detectors read) counted it again two days later. Now it keeps the time it landed with
    first; the edit's own time is ``extra.edited_at``."""
    served = {"lastmod": "2026-11-24T09:00:00+08:00", "text": PRAISE}
    _, source = sitemap_site(fixture_site, served)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    crawl_process_index(source, brands, "r1", es, index_prefix)

    served.update(lastmod="2026-11-26T12:07:00+08:00", text=COMPLAINT)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-26T12:10:00+08:00")
    crawl_process_index(source, brands, "r2", es, index_prefix)
    [doc] = es.search(index=posts_alias(index_prefix))["hits"]["hits"]
    assert "黑色异物" in doc["_source"]["text_raw"]
    assert doc["_source"]["created_at"] == "2026-11-24T09:00:00+08:00"
    assert doc["_source"]["extra"]["edited_at"] == "2026-11-26T12:07:00+08:00"
    # ...which the index maps as edited_at: a range query lists the posts edited since a time.
    since = {"range": {"edited_at": {"gte": "2026-11-26T00:00:00+08:00"}}}
    assert es.count(index=posts_alias(index_prefix), query=since)["count"] == 1
    start = datetime.fromisoformat("2026-11-24T00:00:00+08:00")
    bins = volume_series(es, index_prefix, "鲜牧", start, start + timedelta(days=3), 86_400)
    assert [b.total for b in bins] == [1, 0, 0]  # was [0, 0, 1]: counted at the edit

    # Edited again: still its first time, and the crawl state kept it across runs.
    served.update(lastmod="2026-11-27T08:00:00+08:00", text=PRAISE)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-27T08:10:00+08:00")
    crawl_process_index(source, brands, "r3", es, index_prefix)
    [doc] = es.search(index=posts_alias(index_prefix))["hits"]["hits"]
    assert doc["_source"]["created_at"] == "2026-11-24T09:00:00+08:00"
    assert "黑色异物" not in doc["_source"]["text_raw"]


def test_an_edit_that_no_longer_names_the_brand_stops_counting_for_it(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    es: Elasticsearch,
    index_prefix: str,
) -> None:
    """A complaint about 鲜牧, corrected: the brand was named in error. The edit named no brand,
    so it was dropped, and the index kept the complaint under 鲜牧, a negative mention for good.
    Now it lands as an update with ``brands`` empty: the brand's posts and volume lose it."""
    served = {"lastmod": "2026-11-24T09:00:00+08:00", "text": COMPLAINT}
    _, source = sitemap_site(fixture_site, served)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    crawl_process_index(source, brands, "r1", es, index_prefix)
    alias, start = posts_alias(index_prefix), datetime.fromisoformat("2026-11-24T00:00:00+08:00")
    assert es.count(index=alias, query=filtered(brand="鲜牧"))["count"] == 1

    served.update(lastmod="2026-11-24T14:00:00+08:00", title="更正说明", text=CORRECTED)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T14:05:00+08:00")
    crawl_process_index(source, brands, "r2", es, index_prefix)
    assert es.count(index=alias, query=filtered(brand="鲜牧"))["count"] == 0
    [bin_] = volume_series(es, index_prefix, "鲜牧", start, start + timedelta(days=1), 86_400)
    assert bin_.total == 0 and bin_.negative == 0
    [doc] = es.search(index=alias)["hits"]["hits"]  # still one document, its text corrected
    assert doc["_source"]["brands"] == [] and doc["_source"]["brand_matches"] == []
    assert doc["_source"]["text_raw"].startswith("更正")

    # Named again by a later edit: it counts again, still one document.
    served.update(lastmod="2026-11-24T16:00:00+08:00", title="鲜牧纯牛奶", text=PRAISE)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T16:05:00+08:00")
    crawl_process_index(source, brands, "r3", es, index_prefix)
    assert es.count(index=alias, query=filtered(brand="鲜牧"))["count"] == 1
    assert es.count(index=alias)["count"] == 1
