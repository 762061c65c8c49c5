"""Feeds and sitemaps asked conditionally: with what each answered when read whole last, as
feed readers ask (feedparser's ``etag=``/``modified=``); what a 304 skips and what it may not.

The servers here answer as RFC 9110 has a server that keeps validators answer: a strong
(``"…"``) or weak (``W/"…"``) ``ETag`` and a ``Last-Modified`` in IMF-fixdate (8.8.2, 8.8.3,
5.6.7); ``If-None-Match`` compared weakly and ``If-Modified-Since`` ignored beside it (13.1.2,
13.2.2); a ``304 Not Modified`` with no body, carrying the ``ETag`` a 200 would have (15.4.5).
As in ``test_articles_conditional.py``, a server knowing dates alone matches
``If-Modified-Since`` by equality, not by date order: the fixture's simplification.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from koubei import paths, timeutil
from koubei.config import BrandsConfig, Source
from koubei.crawlers.health import read_health
from tests.crawlers.fixture_site import PAGES, Reply
from tests.crawlers.spiders.feeds import HTML, landed, two_workers
from tests.crawlers.spiders.test_articles_brands import BEILING, brands_of

SITEMAP = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</urlset>\n'
URL = "<url><loc>{{site}}/a/{n}.html</loc><lastmod>{date}</lastmod></url>"
RSS = '<?xml version="1.0"?><rss version="2.0"><channel><title>快讯</title>{}</channel></rss>'
ITEM = (
    "<item><title>{title}</title><link>{{site}}/a/{n}.html</link><pubDate>{date}</pubDate></item>"
)
ATOM = '<feed xmlns="http://www.w3.org/2005/Atom"><title>快讯</title>{}</feed>'
ENTRY = (
    '<entry><title>{title}</title><link href="{{site}}/a/{n}.html"/>'
    "<published>{date}</published></entry>"
)
DATE = "Tue, 24 Nov 2026 01:00:00 GMT"
LATER = "Tue, 24 Nov 2026 04:30:00 GMT"


@dataclass
class Served:
    """A feed or page served as a server keeping validators serves it (RFC 9110, above):
    ``etag`` ``"strong"``, ``"weak"`` or ``""`` (none; the tag is a hash of the text, so it
    changes with it), ``last_modified`` an IMF-fixdate or ""; ``broken``: a cache answering
    304 to every request, conditional or not. ``asked`` gets each request's
    ``(If-None-Match, If-Modified-Since)``."""

    text: str
    content_type: str = "application/xml"
    etag: str = "strong"
    last_modified: str = DATE
    status: int = 200
    broken: bool = False
    asked: list[tuple[str | None, str | None]] = field(default_factory=list)

    def tag(self) -> str:
        opaque = '"' + hashlib.sha1(self.text.encode()).hexdigest()[:12] + '"'
        return {"strong": opaque, "weak": f"W/{opaque}"}.get(self.etag, "")

    def route(self, site: list[str]) -> Any:
        def answer(query: dict[str, str], headers: dict[str, str]) -> Reply:
            none_match, since = headers.get("If-None-Match"), headers.get("If-Modified-Since")
            self.asked.append((none_match, since))
            validators = {"ETag": self.tag(), "Last-Modified": self.last_modified}
            validators = {k: v for k, v in validators.items() if v}
            if none_match is not None:  # weak comparison; If-Modified-Since ignored beside it
                fresh = bool(self.tag()) and _opaque(none_match) == _opaque(self.tag())
            else:
                fresh = since is not None and since == self.last_modified
            if self.broken or (fresh and self.status == 200):
                return Reply(
                    b"", 304, self.content_type, {"ETag": self.tag()} if self.tag() else {}
                )
            body = self.text.replace("{site}", site[0])
            return Reply(body, self.status, self.content_type, validators)

        return answer


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def serve(fixture_site: Any, feeds: dict[str, Served], pages: dict[str, Any]) -> tuple[Any, Source]:
    """A fixture site serving ``feeds`` and ``pages`` (path → a :class:`Served` or a route),
    and an articles source reading the feeds in order."""
    site_url: list[str] = []
    routes = {path: served.route(site_url) for path, served in feeds.items()}
    for path, page in pages.items():
        routes[path] = page.route(site_url) if isinstance(page, Served) else page
    site = fixture_site(routes)
    site_url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[site.url + p for p in feeds])
    return site, source


def at(monkeypatch: pytest.MonkeyPatch, clock: str) -> None:
    monkeypatch.setenv(timeutil.CLOCK_ENV, clock)


def asked_paths(site: Any) -> list[str]:
    """The paths the last crawl asked (robots.txt aside), and clear the record."""
    asked = sorted({path for path, _ in site.requests} - {"/robots.txt"})
    site.requests.clear()
    return asked


ARTICLES = {
    "/a/1.html": lambda q: Reply.page("article1.html", HTML),  # 鲜牧
    "/a/2.html": lambda q: Reply.page("article2_gb2312.html", "text/html"),  # 北岭
}
SHAPES = {
    # a sitemap with a strong ETag and a Last-Modified: If-None-Match is sent and decides
    "sitemap": (
        SITEMAP.format(
            URL.format(n=1, date="2026-11-24T10:30:00+08:00")
            + URL.format(n=2, date="2026-11-23T09:00:00+08:00")
        ),
        "application/xml",
        "strong",
        DATE,
    ),
    # WordPress's RSS feed: a weak ETag, sent back as it came
    "rss": (
        RSS.format(
            ITEM.format(n=1, title="鲜牧牛奶被曝喝出异物", date="Tue, 24 Nov 2026 02:30:00 GMT")
            + ITEM.format(n=2, title="北岭发布新品", date="Mon, 23 Nov 2026 01:00:00 GMT")
        ),
        "application/rss+xml",
        "weak",
        DATE,
    ),
    # a static Atom file whose server keeps dates alone
    "atom": (
        ATOM.format(
            ENTRY.format(n=1, title="鲜牧牛奶被曝喝出异物", date="2026-11-24T10:30:00+08:00")
            + ENTRY.format(n=2, title="北岭发布新品", date="2026-11-23T09:00:00+08:00")
        ),
        "application/atom+xml",
        "",
        DATE,
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_an_unchanged_feed_is_asked_with_its_validators_and_its_304_reads_nothing(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
) -> None:
    """The second crawl of an unchanged feed sends what it answered (``If-None-Match``,
    ``If-Modified-Since``), gets a 304 and asks no page: nothing lands, it is counted
    ``unchanged: {feed_not_modified: 1}``, no error, and the run is ``ok`` (not ``empty``).
    Before, every feed was fetched whole on every run, its conditions never sent."""
    text, content_type, etag, last_modified = SHAPES[shape]
    feed = Served(text, content_type, etag, last_modified)
    site, source = serve(fixture_site, {"/feed.xml": feed}, ARTICLES)
    at(monkeypatch, "2026-11-24T12:00:00+08:00")
    first, docs = landed(source, brands, "r1")
    assert len(docs) == 2 and first.status == "ok" and feed.asked == [(None, None)]
    asked_paths(site)

    at(monkeypatch, "2026-11-24T12:05:00+08:00")
    second, docs = landed(source, brands, "r2")
    sent = {"strong": feed.tag(), "weak": feed.tag(), "": None}[etag]
    assert feed.asked[-1] == (sent, DATE)
    assert docs == {} and asked_paths(site) == ["/feed.xml"]
    assert second.stats["unchanged"] == {"feed_not_modified": 1}
    assert second.stats["responses_by_status"] == {"200": 1, "304": 1}  # robots.txt, the feed
    assert second.stats["errors"] == {} and second.stats["blocked"] == {}
    assert second.status == "ok" and second.stats["pages"] == 0


def test_a_changed_feed_is_read_whole_and_its_new_entry_lands(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed that gained an entry has a new ``ETag``: the condition fails, it answers 200 and
    is read as before (its new entry lands, the known one is not asked); its new ``ETag`` is
    sent from then on."""
    one = URL.format(n=1, date="2026-11-24T10:30:00+08:00")
    feed = Served(SITEMAP.format(one))
    site, source = serve(fixture_site, {"/sitemap.xml": feed}, ARTICLES)
    at(monkeypatch, "2026-11-24T12:00:00+08:00")
    _, docs = landed(source, brands, "r1")
    assert len(docs) == 1
    at(monkeypatch, "2026-11-24T12:05:00+08:00")
    second, docs = landed(source, brands, "r2")
    assert docs == {} and second.stats["unchanged"] == {"feed_not_modified": 1}
    old = feed.tag()

    feed.text = SITEMAP.format(one + URL.format(n=2, date="2026-11-24T12:07:00+08:00"))
    asked_paths(site)
    at(monkeypatch, "2026-11-24T12:10:00+08:00")
    third, docs = landed(source, brands, "r3")
    assert feed.asked[-1] == (old, DATE) and feed.tag() != old
    assert [doc["url"] for doc in docs.values()] == [f"{site.url}/a/2.html"]
    assert asked_paths(site) == ["/a/2.html", "/sitemap.xml"]
    assert third.stats["unchanged"] == {} and third.status == "ok"

    at(monkeypatch, "2026-11-24T12:15:00+08:00")
    fourth, docs = landed(source, brands, "r4")
    assert feed.asked[-1] == (feed.tag(), DATE) and docs == {}
    assert fourth.stats["unchanged"] == {"feed_not_modified": 1}


def test_a_page_that_answered_404_is_asked_again_when_due_though_its_feed_is_unchanged(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitemap listing a page that answers 404 (nginx's page). The page is asked again an
    hour after its first 404 and a day after it (``missing_due``), which only the feed's pass
    does: the feed is asked whole (no condition) on the run its page is due, and with its
    validators, answered 304, on the runs between, where the page is not asked. So the
    rechecks run as on a feed read whole every time (``test_articles_state.py``), and the
    page is read as gone after the third 404."""
    undated = "<url><loc>{site}/bbs/thread-90.html</loc></url><url><loc>{site}/a/9.html</loc></url>"
    feed = Served(SITEMAP.format(undated))  # its pages dated by themselves
    site, source = serve(
        fixture_site,
        {"/sitemap.xml": feed},
        {
            "/bbs/thread-90.html": lambda q: Reply.page("bbs_thread90.html", HTML),
            "/a/9.html": lambda q: Reply.page("nginx_404.html", "text/html", 404),
        },
    )
    runs = {
        "r1": ("2026-12-01T12:00:00+08:00", ["/a/9.html", "/bbs/thread-90.html", "/sitemap.xml"]),
        "r2": ("2026-12-01T12:05:00+08:00", ["/sitemap.xml"]),  # 304
        "r3": ("2026-12-01T13:00:00+08:00", ["/a/9.html", "/sitemap.xml"]),  # due: whole
        "r4": ("2026-12-01T13:05:00+08:00", ["/sitemap.xml"]),  # 304
        "r5": ("2026-12-02T11:55:00+08:00", ["/sitemap.xml"]),  # 304
        "r6": ("2026-12-02T12:00:00+08:00", ["/a/9.html", "/sitemap.xml"]),  # due: read, gone
        "r7": ("2026-12-02T12:05:00+08:00", ["/sitemap.xml"]),  # 304
        "r8": ("2026-12-02T14:00:00+08:00", ["/sitemap.xml"]),  # 304: nothing left for later
    }
    reports = {}
    for run_id, (clock, asked) in runs.items():
        at(monkeypatch, clock)
        reports[run_id], _ = landed(source, brands, run_id)
        assert asked_paths(site) == asked, run_id
        assert reports[run_id].status == "ok" and reports[run_id].stats["errors"] == {}, run_id
    whole = {"r1", "r3", "r6"}
    for run_id, report in reports.items():
        conditional = feed.asked[list(runs).index(run_id)] != (None, None)
        assert conditional == (run_id not in whole), run_id
        unchanged = {} if run_id in whole else {"feed_not_modified": 1}
        assert report.stats["unchanged"] == unchanged, run_id
        assert report.stats["gone"] == ({"http_404": 1} if run_id in whole else {}), run_id
    assert reports["r1"].items == 1
    saved = json.loads(paths.state_dir("crawl-state").joinpath("news.json").read_text())
    assert saved["missing"] == {}


def test_a_304_to_a_request_without_a_condition_is_its_own_error(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache answering 304 to every request (a broken proxy): a feed so answered on its
    first run, and a page asked without condition, are counted ``unconditional_304``, an
    error (the run ``degraded``, as for an empty body), not ``empty_body``. The page was not
    read, so the next run reads its feed whole and asks it again; once the cache is mended
    it lands."""
    feed = Served(SITEMAP.format(URL.format(n=1, date="2026-11-24T10:30:00+08:00")))
    cached = Served(SITEMAP.format(URL.format(n=2, date="2026-11-24T11:00:00+08:00")), broken=True)
    site, source = serve(
        fixture_site,
        {"/sitemap.xml": feed, "/cached.xml": cached},
        {"/a/1.html": Served((PAGES / "article1.html").read_text(), HTML, broken=True)},
    )
    at(monkeypatch, "2026-11-24T12:00:00+08:00")
    first, docs = landed(source, brands, "r1")
    assert docs == {} and first.stats["errors"] == {"unconditional_304": 2}
    assert first.status == "degraded" and cached.asked == [(None, None)]

    at(monkeypatch, "2026-11-24T12:05:00+08:00")
    second, _ = landed(source, brands, "r2")
    assert feed.asked[-1] == (None, None)  # its page left unread: read whole again
    assert second.stats["errors"] == {"unconditional_304": 2}

    site.routes["/a/1.html"] = lambda q: Reply.page("article1.html", HTML)
    at(monkeypatch, "2026-11-24T12:10:00+08:00")
    third, docs = landed(source, brands, "r3")
    assert [doc["url"] for doc in docs.values()] == [f"{site.url}/a/1.html"]
    assert feed.asked[-1] == (None, None) and third.stats["errors"] == {"unconditional_304": 1}


def test_a_crawl_state_saved_before_feeds_kept_theirs_asks_each_feed_whole_once(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crawl state saved before feeds kept their answers (no ``feeds``) loads as it did:
    the feed is fetched whole once, its entries known (nothing asked, nothing landed), and
    asked with its validators from the next run on."""
    feed = Served(SITEMAP.format(URL.format(n=1, date="2026-11-24T10:30:00+08:00")))
    site, source = serve(fixture_site, {"/sitemap.xml": feed}, ARTICLES)
    at(monkeypatch, "2026-11-24T12:00:00+08:00")
    landed(source, brands, "r1")
    state_file = paths.state_dir("crawl-state") / "news.json"
    saved = json.loads(state_file.read_text())
    assert list(saved["feeds"]) == [f"{site.url}/sitemap.xml"]
    del saved["feeds"]
    state_file.write_text(json.dumps(saved))
    asked_paths(site)

    at(monkeypatch, "2026-11-24T12:05:00+08:00")
    second, docs = landed(source, brands, "r2")
    assert docs == {} and feed.asked[-1] == (None, None)
    assert asked_paths(site) == ["/sitemap.xml"]
    assert second.stats["errors"] == {} and second.status == "ok"

    at(monkeypatch, "2026-11-24T12:10:00+08:00")
    third, _ = landed(source, brands, "r3")
    assert feed.asked[-1] == (feed.tag(), DATE)
    assert third.stats["unchanged"] == {"feed_not_modified": 1}


def test_a_sitemap_index_and_each_of_its_sitemaps_keep_their_own_answer(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitemap index (sitemaps.org) of a November and a December sitemap, each with its own
    ``ETag``. Unchanged, the index answers 304 and each sitemap it listed is asked with its
    own: December's gained an article and answers 200 (it lands), November's 304."""
    index = Served(
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>{site}/sitemap-11.xml</loc></sitemap>"
        "<sitemap><loc>{site}/sitemap-12.xml</loc></sitemap></sitemapindex>"
    )
    november = Served(SITEMAP.format(URL.format(n=1, date="2026-11-24T10:30:00+08:00")))
    december = Served(SITEMAP.format(""), last_modified="")
    site, source = serve(
        fixture_site,
        {"/sitemap_index.xml": index},
        {**ARTICLES, "/sitemap-11.xml": november, "/sitemap-12.xml": december},
    )
    at(monkeypatch, "2026-12-01T12:00:00+08:00")
    first, docs = landed(source, brands, "r1")
    assert len(docs) == 1 and first.status == "ok"
    at(monkeypatch, "2026-12-01T12:05:00+08:00")
    second, docs = landed(source, brands, "r2")
    assert docs == {} and second.stats["unchanged"] == {"feed_not_modified": 3}
    assert [s.asked[-1][0] for s in (index, november, december)] == [
        index.tag(),
        november.tag(),
        december.tag(),
    ]
    asked_paths(site)

    december.text = SITEMAP.format(URL.format(n=2, date="2026-12-01T12:07:00+08:00"))
    at(monkeypatch, "2026-12-01T12:10:00+08:00")
    third, docs = landed(source, brands, "r3")
    assert [doc["url"] for doc in docs.values()] == [f"{site.url}/a/2.html"]
    assert third.stats["unchanged"] == {"feed_not_modified": 2}
    assert asked_paths(site) == [
        "/a/2.html",
        "/sitemap-11.xml",
        "/sitemap-12.xml",
        "/sitemap_index.xml",
    ]


def test_a_feed_is_read_whole_once_brands_yaml_changes(
    fixture_site: Any, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forum's Atom feed whose post (``#p1``, built from the feed's own text) names 北岭
    alone, crawled under 鲜牧: not landed, nor read (it is matched again on every read of
    the feed). Unchanged, the feed answers 304; once 北岭 is added to ``brands.yaml`` it is
    asked whole, and the post lands."""
    feed = Served(
        ATOM.format(
            '<entry><title>新品试喝</title><link href="{site}/t/88.html#p1"/>'
            "<published>2026-11-24T09:15:00+08:00</published>"
            f'<content type="html">&lt;p&gt;{BEILING}&lt;/p&gt;</content></entry>'
        ),
        "application/atom+xml",
    )
    site, source = serve(fixture_site, {"/atom.xml": feed}, {})
    at(monkeypatch, "2026-11-24T12:00:00+08:00")
    first, docs = landed(source, brands_of("鲜牧"), "r1")
    assert docs == {} and first.stats["dropped"] == {"no_brand": 1}
    at(monkeypatch, "2026-11-24T12:05:00+08:00")
    second, docs = landed(source, brands_of("鲜牧"), "r2")
    assert docs == {} and second.stats["unchanged"] == {"feed_not_modified": 1}

    at(monkeypatch, "2026-11-24T12:10:00+08:00")
    _, docs = landed(source, brands_of("鲜牧", "北岭"), "r3")
    assert feed.asked[-1] == (None, None)
    assert [doc["brands"] for doc in docs.values()] == [["北岭"]]
    assert site.hits("/t/88.html") == []
    at(monkeypatch, "2026-11-24T12:15:00+08:00")
    fourth, docs = landed(source, brands_of("鲜牧", "北岭"), "r4")
    assert docs == {} and fourth.stats["unchanged"] == {"feed_not_modified": 1}


def test_a_feed_cut_short_keeps_no_answer(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitemap cut short in transfer (its ``</urlset>`` lost, the length it was sent with):
    lxml reads it to the cut without a word. Its ``ETag`` is not kept: sent back, a 304 would
    keep the entries after the cut unread until the sitemap changes. Read whole, it is
    asked with its validators from then on."""
    whole = SITEMAP.format(
        URL.format(n=1, date="2026-11-24T10:30:00+08:00")
        + URL.format(n=2, date="2026-11-24T11:00:00+08:00")  # oldest first, as many list
    )
    feed = Served(whole)
    cut = whole[: whole.index("<url>", whole.index("</url>"))]
    site, source = serve(fixture_site, {"/sitemap.xml": feed}, ARTICLES)
    site.routes["/sitemap.xml"] = lambda q, h: replace_body(feed, q, h, cut, site.url)
    at(monkeypatch, "2026-11-24T12:00:00+08:00")
    _, docs = landed(source, brands, "r1")
    assert [doc["url"] for doc in docs.values()] == [f"{site.url}/a/1.html"]

    site.routes["/sitemap.xml"] = feed.route([site.url])
    at(monkeypatch, "2026-11-24T12:05:00+08:00")
    _, docs = landed(source, brands, "r2")
    assert feed.asked[-1] == (None, None)
    assert [doc["url"] for doc in docs.values()] == [f"{site.url}/a/2.html"]
    at(monkeypatch, "2026-11-24T12:10:00+08:00")
    third, _ = landed(source, brands, "r3")
    assert feed.asked[-1] == (feed.tag(), DATE)
    assert third.stats["unchanged"] == {"feed_not_modified": 1}


def replace_body(served: Served, query: Any, headers: Any, body: str, site: str) -> Reply:
    """``served``'s answer with ``body`` in place of its text (a transfer cut short)."""
    reply = served.route([site])(query, headers)
    return Reply(body.replace("{site}", site), reply.status, reply.content_type, reply.headers)


def test_workers_sharing_a_run_leave_a_feed_s_404_pages_due_whoever_fetched_them(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers of one run (Redis): one fetches the sitemap, its six pages answering 404
    are shared out between both. Whoever fetched them, the feed is asked with its validators
    (304) on the next run, and whole once the pages are due again (an hour after the first
    404), when each is asked. What a feed's read left is judged from the merged ``seen`` and
    ``missing`` when it is asked, not noted by the worker that fetched the page."""
    dead = range(10, 16)
    up, robots, lock = threading.Event(), [0], threading.Lock()

    def robots_txt(query: dict[str, str]) -> Reply:
        with lock:
            robots[0] += 1
            if robots[0] >= 2:
                up.set()
        return Reply("User-agent: *\nAllow: /\n", 200, "text/plain")

    def gone(query: dict[str, str]) -> Reply:
        up.wait(20)  # every worker up: both take pages from the shared queue
        time.sleep(0.05)
        return Reply.page("nginx_404.html", "text/html", 404)

    listed = ["/bbs/thread-90.html"] + [f"/a/{n}.html" for n in dead]
    feed = Served(SITEMAP.format("".join(f"<url><loc>{{site}}{p}</loc></url>" for p in listed)))
    site, source = serve(
        fixture_site,
        {"/sitemap.xml": feed},
        {
            "/robots.txt": robots_txt,
            "/bbs/thread-90.html": lambda q: Reply.page("bbs_thread90.html", HTML),
            **{f"/a/{n}.html": gone for n in dead},
        },
    )
    at(monkeypatch, "2026-12-01T12:00:00+08:00")
    a, b = two_workers(source, brands, redis_url, monkeypatch)
    assert sum(sum(r.stats["gone"].values()) for r in (a, b)) == len(dead)
    merged = read_health("news")
    assert merged is not None and merged["workers"] == ["a", "b"] and merged["status"] == "ok"
    asked_paths(site)

    at(monkeypatch, "2026-12-01T12:05:00+08:00")
    second, _ = landed(source, brands, "r2")
    assert asked_paths(site) == ["/sitemap.xml"] and feed.asked[-1] == (feed.tag(), DATE)
    assert second.stats["unchanged"] == {"feed_not_modified": 1}
    at(monkeypatch, "2026-12-01T13:00:00+08:00")
    third, _ = landed(source, brands, "r3")
    assert feed.asked[-1] == (None, None)
    assert asked_paths(site) == sorted([f"/a/{n}.html" for n in dead] + ["/sitemap.xml"])
    assert third.stats["gone"] == {"http_404": len(dead)}
