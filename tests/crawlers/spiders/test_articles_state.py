"""When an articles crawl takes an entry as known: sitemaps of an index, pages lost for a run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from koubei import jsonl, paths, timeutil
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply
from tests.crawlers.spiders.feeds import HTML, feed_source, landed, routes, xml_route


def test_a_sitemap_that_failed_is_read_whole_next_run_though_its_siblings_moved_on(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitemap index (sitemaps.org) of a November and an October sitemap; October's answers
    503 past the retries in the first run. The index's one watermark moved to November's
    article, so the next run took October's as known and never fetched it."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    url: list[str] = []
    october = {"status": 503}

    def sitemap_2026_10(q: dict[str, str]) -> Reply:
        if october["status"] != 200:
            return Reply(b"Service Unavailable", october["status"], "text/html")
        return xml_route("sitemap_2026_10.xml", url)(q)

    site = fixture_site(
        {
            "/sitemap_index.xml": xml_route("sitemap_index.xml", url),
            "/sitemap-2026-11.xml": xml_route("sitemap_2026_11.xml", url),
            "/sitemap-2026-10.xml": sitemap_2026_10,
            "/a/1.html": lambda q: Reply.page("article1.html", HTML),
            "/a/2.html": lambda q: Reply.page("article2_gb2312.html", "text/html"),
        }
    )
    url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/sitemap_index.xml"])
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert first.landing_file is not None
    assert [r["url"] for r in jsonl.read(first.landing_file)] == [f"{site.url}/a/1.html"]
    assert first.stats["errors"] == {"http_503": 1}

    october["status"] = 200
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second.landing_file is not None
    [late] = list(jsonl.read(second.landing_file))
    assert late["url"] == f"{site.url}/a/2.html"
    assert late["created_at"] == "2026-10-30T08:00:00+08:00"
    assert site.hits("/a/1.html") == [{}]  # November's article: known, not fetched again
    assert second.stats["errors"] == {} and second.status == "ok"


def test_sitemaps_without_a_watermark_of_their_own_are_judged_by_the_index_s(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crawl state saved before each sitemap kept its own watermark holds the index's: its
    sitemaps are judged by it, so the first run after the change does not fetch every page
    they list again (those that landed are seen; those dropped as off-topic are not)."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    url: list[str] = []
    site = fixture_site(
        {
            "/sitemap_index.xml": xml_route("sitemap_index.xml", url),
            "/sitemap-2026-11.xml": xml_route("sitemap_2026_11.xml", url),
            "/sitemap-2026-10.xml": xml_route("sitemap_2026_10.xml", url),
        }
    )
    url.append(site.url)
    index = f"{site.url}/sitemap_index.xml"
    saved = {"watermarks": {f"feed:{index}": "2026-11-24T10:30:00+08:00"}, "seen": []}
    (paths.state_dir("crawl-state") / "news.json").write_text(json.dumps(saved))
    source = Source(name="news", platform="articles", feeds=[index])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.items == 0 and report.stats["known"] == 2
    assert site.hits("/a/1.html") == [] and site.hits("/a/2.html") == []


def test_an_article_page_answering_503_past_the_retries_is_fetched_again_next_run(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rss.xml``'s second article answers 503 past the retries in the first run. Its newer
    sibling landed and moved the feed's watermark past it, so the next run took it as known
    and never fetched it (a timeout on the same page was a lost page; a 503 was not)."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    url: list[str] = []
    busy = {"status": 503}

    def second(q: dict[str, str]) -> Reply:
        if busy["status"] != 200:
            return Reply(b"<h1>503 Service Unavailable</h1>", busy["status"], "text/html")
        return Reply.page("article2_gb2312.html", "text/html")

    site = fixture_site({**routes(url), "/a/2.html": second})
    url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/rss.xml"])
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert first.stats["errors"] == {"http_503": 1} and first.items == 1

    busy["status"] = 200
    [second_run] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second_run.landing_file is not None
    urls = [r["url"] for r in jsonl.read(second_run.landing_file)]
    assert f"{site.url}/a/2.html" in urls


def test_an_article_page_answering_404_is_asked_again_though_a_newer_sibling_landed(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rss.xml``'s second article answers nginx's 404 page in the first run (an article
    unpublished for an edit) while its newer sibling lands and moves the feed's watermark past
    it. Its recheck an hour later never came: the entry was taken as known by the watermark
    before its wait was looked at, so it was never asked again, and never landed when back."""
    url: list[str] = []
    recall = {"status": 404}

    def second(q: dict[str, str]) -> Reply:
        if recall["status"] == 404:
            return Reply.page("nginx_404.html", "text/html", 404)
        return Reply.page("article2_gb2312.html", "text/html")

    site = fixture_site({**routes(url), "/a/2.html": second})
    url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/rss.xml"])
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert first.items == 1 and first.stats["gone"] == {"http_404": 1}

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:05:00+08:00")  # its ask not due
    [waiting] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert waiting.items == 0 and waiting.stats["gone_waiting"] == 1  # before: known, 0
    recall["status"] = 200
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T13:05:00+08:00")
    [back] = crawl_sources([source], brands, run_id="r3", settings=FAST)
    assert back.landing_file is not None
    assert [r["url"] for r in jsonl.read(back.landing_file)] == [f"{site.url}/a/2.html"]
    assert back.stats["gone"] == {} and back.stats["gone_waiting"] == 0


def dead_site(fixture_site: Any, recall: dict[str, int]) -> tuple[Any, Source]:
    """``sitemap_dead.xml`` (no ``lastmod``): a forum thread, a page answering nginx's 410
    and one answering ``recall["status"]`` (nginx's 404 page, or the article)."""

    def recall_page(q: dict[str, str]) -> Reply:
        if recall["status"] == 404:
            return Reply.page("nginx_404.html", "text/html", 404)
        return Reply.page("article3_truncated.html", HTML)  # dated by its page

    return feed_source(
        fixture_site,
        lambda url: {
            "/sitemap_dead.xml": xml_route("sitemap_dead.xml", url),
            "/bbs/thread-90.html": lambda q: Reply.page("bbs_thread90.html", HTML),
            "/news/2019/promo.html": lambda q: Reply.page("nginx_410.html", "text/html", 410),
            "/news/2020/recall.html": recall_page,
        },
        "/sitemap_dead.xml",
    )


def test_a_gone_page_is_asked_once_and_a_missing_one_three_times_over_a_day(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitemap listing pages that no longer exist (nginx's 410 and 404 pages). They were
    never marked read, so every run asked them again (a sitemap's dead links every five
    minutes, for good), each time an ``http_404``/``http_410`` error that made the source
    ``degraded``. A 410 (RFC 9110: permanent) is read at once; a 404 once it has answered so
    on three runs over at least a day. Neither degrades the source: the site's dead links,
    counted under ``gone``.

    Nor is the 404 asked on every run of that day (session 28 asked it on each: 288 times a
    day at 5-minute runs): again an hour after its first 404, then a day after it, when it is
    read; the runs between count it under ``gone_waiting``."""
    site, source = dead_site(fixture_site, {"status": 404})
    runs = {
        "r1": "2026-12-01T12:00:00+08:00",
        "r2": "2026-12-01T12:05:00+08:00",
        "r3": "2026-12-01T13:00:00+08:00",
        "r4": "2026-12-01T13:05:00+08:00",
        "r5": "2026-12-02T11:55:00+08:00",
        "r6": "2026-12-02T12:00:00+08:00",
        "r7": "2026-12-02T12:05:00+08:00",
    }
    reports, asked = {}, {}
    for run_id, at in runs.items():
        monkeypatch.setenv(timeutil.CLOCK_ENV, at)
        site.requests.clear()
        reports[run_id], _ = landed(source, brands, run_id)
        asked[run_id] = sorted({path for path, _ in site.requests} - {"/robots.txt"})
    first = reports["r1"]
    assert first.items == 1 and first.status == "ok" and first.stats["errors"] == {}
    assert first.stats["gone"] == {"http_404": 1, "http_410": 1}
    assert asked["r1"] == [
        "/bbs/thread-90.html",
        "/news/2019/promo.html",
        "/news/2020/recall.html",
        "/sitemap_dead.xml",
    ]
    for run_id in ("r3", "r6"):  # a 404 may be a site's slip: asked again, spaced over a day
        assert asked[run_id] == ["/news/2020/recall.html", "/sitemap_dead.xml"]
        assert reports[run_id].status == "ok"
        assert reports[run_id].stats["gone"] == {"http_404": 1}
        assert reports[run_id].stats["gone_waiting"] == 0
    for run_id in ("r2", "r4", "r5"):  # its next ask not due
        assert asked[run_id] == ["/sitemap_dead.xml"]
        assert reports[run_id].status == "ok" and reports[run_id].stats["gone"] == {}
        assert reports[run_id].stats["gone_waiting"] == 1
    assert asked["r7"] == ["/sitemap_dead.xml"]  # read on r6: gone
    assert reports["r7"].stats["gone_waiting"] == 0
    saved = json.loads(paths.state_dir("crawl-state").joinpath("news.json").read_text())
    assert saved["missing"] == {}


def test_a_missing_page_that_comes_back_is_read_at_its_next_ask(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page answering 404 for a while (a site being moved, an article unpublished for an
    edit) is not taken as gone: back by its next ask, an hour after its first 404, it lands."""
    recall = {"status": 404}
    site, source = dead_site(fixture_site, recall)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    landed(source, brands, "r1")
    recall["status"] = 200
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:05:00+08:00")
    report, docs = landed(source, brands, "r2")
    assert docs == {} and report.stats["gone_waiting"] == 1
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T13:05:00+08:00")
    report, docs = landed(source, brands, "r3")
    assert list(docs) == [f"{site.url}/news/2020/recall.html"]
    assert report.stats["errors"] == {"truncated_html": 1}  # the page's own fault, not gone
    assert report.stats["gone"] == {} and report.stats["gone_waiting"] == 0


def test_a_feed_whose_new_pages_are_all_gone_is_degraded(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dead links are the site's, but a feed whose pages all answer 404 is a site moved or
    links built wrong: the run that first meets them says so (``degraded``); later runs, which
    only ask them again, do not repeat it."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    _, source = feed_source(
        fixture_site,
        lambda url: {"/sitemap.xml": xml_route("sitemap.xml", url)},  # its pages: no route
        "/sitemap.xml",
    )
    first, _ = landed(source, brands, "r1")
    assert first.status == "degraded" and first.stats["gone"] == {"http_404": 3}
    assert "gone" in first.stats["reason"]
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:05:00+08:00")
    waiting, _ = landed(source, brands, "r2")  # none asked: none due
    assert waiting.status == "ok" and waiting.stats["gone_waiting"] == 3
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T13:00:00+08:00")
    again, _ = landed(source, brands, "r3")
    assert again.status == "ok" and again.stats["gone"] == {"http_404": 3}


def test_a_page_off_the_brands_is_fetched_once_until_its_feed_dates_it_anew(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitemap of pages none of which is about a brand, each dated to the second: nothing
    lands, so the watermark never moves and every page was fetched by every run, for good.
    A page read is known as of its ``lastmod``; edited (a later ``lastmod``), it is read
    again, and lands once it names a brand."""
    lastmod = {"1": "2026-11-24T09:00:00+08:00", "4": "2026-11-24T10:00:00+08:00"}
    page = {"1": "article4_offtopic.html", "4": "article4_offtopic.html"}

    def sitemap(url: list[str]) -> Any:
        entries = "".join(
            f"<url><loc>{url[0]}/a/{n}.html</loc><lastmod>{lastmod[n]}</lastmod></url>"
            for n in sorted(lastmod)
        )
        body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        return Reply(body, 200, "application/xml")

    site, source = feed_source(
        fixture_site,
        lambda url: {
            "/sitemap.xml": lambda q: sitemap(url),
            "/a/1.html": lambda q: Reply.page(page["1"], HTML),
            "/a/4.html": lambda q: Reply.page(page["4"], HTML),
        },
        "/sitemap.xml",
    )
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    first, docs = landed(source, brands, "r1")
    assert docs == {} and first.stats["dropped"] == {"excluded": 2}
    assert len(site.hits("/a/1.html")) == len(site.hits("/a/4.html")) == 1

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:05:00+08:00")
    second, docs = landed(source, brands, "r2")
    assert docs == {} and second.status == "ok"
    assert len(site.hits("/a/1.html")) == len(site.hits("/a/4.html")) == 1  # was 2 each

    lastmod["1"], page["1"] = "2026-11-24T12:07:00+08:00", "article1.html"  # edited
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:10:00+08:00")
    _, docs = landed(source, brands, "r3")
    assert list(docs) == [f"{site.url}/a/1.html"]
    assert len(site.hits("/a/1.html")) == 2 and len(site.hits("/a/4.html")) == 1


def test_an_atom_entry_off_the_brands_is_read_again_once_updated(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Atom entry dates its page by ``published``; an edit moves its ``updated`` alone. The
    page read off the brands is read again once ``updated`` moves, and lands naming one."""
    updated = {"at": "2026-11-24T09:00:00+08:00", "page": "article4_offtopic.html"}

    def atom(url: list[str]) -> Reply:
        body = (
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>x</title>'
            f'<link href="{url[0]}/a/1.html"/><published>2026-11-24T09:00:00+08:00</published>'
            f"<updated>{updated['at']}</updated></entry></feed>"
        )
        return Reply(body, 200, "application/atom+xml")

    site, source = feed_source(
        fixture_site,
        lambda url: {
            "/atom.xml": lambda q: atom(url),
            "/a/1.html": lambda q: Reply.page(updated["page"], HTML),
        },
        "/atom.xml",
    )
    for run, clock in enumerate(("12:00", "12:05"), 1):
        monkeypatch.setenv(timeutil.CLOCK_ENV, f"2026-11-24T{clock}:00+08:00")
        assert landed(source, brands, f"r{run}")[1] == {}
    assert len(site.hits("/a/1.html")) == 1

    updated.update(at="2026-11-24T12:07:00+08:00", page="article1.html")
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:10:00+08:00")
    _, docs = landed(source, brands, "r3")
    assert [d["created_at"] for d in docs.values()] == ["2026-11-24T09:00:00+08:00"]
