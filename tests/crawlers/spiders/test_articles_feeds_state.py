"""What a feed's kept answer (the crawl state's ``feeds``) does over time: a page robots.txt
refuses waits for its next ask as a 404 page does, so its feed keeps its 304s; an answer whose
feed left the configuration is dropped.

The fixture servers answer as in ``test_articles_feeds_conditional.py`` (RFC 9110 validators
and 304s); ``robots.txt`` is RFC 9309's shape (a ``User-agent: *`` group of ``Disallow`` and
``Allow`` rules, served as ``text/plain`` at the site's root), which Scrapy's
``RobotsTxtMiddleware`` (``ROBOTSTXT_OBEY``, on by default) reads before any other request;
the sitemap index is sitemaps.org's ``sitemapindex`` of ``sitemap``/``loc``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from koubei import paths
from koubei.config import BrandsConfig, Source
from koubei.crawlers.health import read_health
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply
from tests.crawlers.spiders.feeds import HTML, landed, two_workers
from tests.crawlers.spiders.test_articles_feeds_conditional import (
    DATE,
    RSS,
    SITEMAP,
    URL,
    Served,
    asked_paths,
    at,
    serve,
)

DISALLOW = "User-agent: *\nDisallow: /private/\n"
ALLOW = "User-agent: *\nAllow: /\n"


def saved_state() -> dict[str, Any]:
    return json.loads(paths.state_dir("crawl-state").joinpath("news.json").read_text())


def robots_site(fixture_site: Any, feed: Served, robots: list[str]) -> tuple[Any, Source]:
    """A site whose robots.txt is ``robots[0]`` (changed by the test), serving ``feed`` at
    ``/sitemap.xml``, 北岭's article at ``/a/2.html``, 鲜牧's at ``/a/1.html`` and at
    ``/private/1.html``."""
    site, source = serve(
        fixture_site,
        {"/sitemap.xml": feed},
        {
            "/robots.txt": lambda q: Reply(robots[0], 200, "text/plain"),
            "/a/1.html": lambda q: Reply.page("article1.html", HTML),
            "/a/2.html": lambda q: Reply.page("article2_gb2312.html", "text/html"),
            "/private/1.html": lambda q: Reply.page("article1.html", HTML),
        },
    )
    return site, source


PRIVATE = URL.format(n=1, date="2026-11-24T10:30:00+08:00").replace("/a/", "/private/")
PUBLIC = URL.format(n=2, date="2026-11-23T09:00:00+08:00")


def test_a_page_robots_txt_refuses_waits_and_its_feed_keeps_its_304s(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitemap listing a page under a path robots.txt disallows. The page is refused (never
    sent to the site; counted ``robots_disallowed``) on the first run, then waits as a 404 page
    does: asked again an hour after and a day after the first refusal, the sitemap asked whole
    on those runs only and answering 304 on the others (a run reading it whole for another
    reason, an entry added, counts the page ``robots_waiting``, not asked). Refused on the
    third ask too, it is read as of its ``lastmod``; once robots.txt allows it and the sitemap
    dates it anew, it is asked and lands. Was: never read, so the sitemap was read whole on
    every run for as long as robots.txt refused the page."""
    robots = [DISALLOW]
    feed = Served(SITEMAP.format(PRIVATE + PUBLIC))
    site, source = robots_site(fixture_site, feed, robots)
    runs = {
        # run: (clock, paths asked, robots_disallowed, the sitemap asked without condition)
        "r1": ("2026-12-01T12:00:00+08:00", ["/a/2.html", "/sitemap.xml"], 1, True),
        "r2": ("2026-12-01T12:05:00+08:00", ["/sitemap.xml"], 0, False),
        "r3": ("2026-12-01T12:10:00+08:00", ["/a/1.html", "/sitemap.xml"], 0, False),  # 200
        "r4": ("2026-12-01T13:00:00+08:00", ["/sitemap.xml"], 1, True),  # due: whole
        "r5": ("2026-12-01T13:05:00+08:00", ["/sitemap.xml"], 0, False),
        "r6": ("2026-12-02T11:55:00+08:00", ["/sitemap.xml"], 0, False),
        "r7": ("2026-12-02T12:00:00+08:00", ["/sitemap.xml"], 1, True),  # due: refused, read
        "r8": ("2026-12-02T12:05:00+08:00", ["/sitemap.xml"], 0, False),  # nothing left
    }
    for run_id, (clock, asked, refused, unconditional) in runs.items():
        if run_id == "r3":
            feed.text = SITEMAP.format(
                PRIVATE + PUBLIC + URL.format(n=1, date="2026-12-01T12:07:00+08:00")
            )
        at(monkeypatch, clock)
        report, _ = landed(source, brands, run_id)
        assert asked_paths(site) == asked, run_id
        errors = {"robots_disallowed": refused} if refused else {}
        assert report.stats["errors"] == errors, run_id
        assert (feed.asked[-1] == (None, None)) == unconditional, run_id
        not_modified = {} if unconditional or run_id == "r3" else {"feed_not_modified": 1}
        assert report.stats["unchanged"] == not_modified, run_id
        assert (report.stats.get("robots_waiting") or 0) == (1 if run_id == "r3" else 0), run_id
        assert report.status == ("degraded" if refused else "ok"), run_id
        if run_id == "r1":
            [entry] = saved_state()["missing"].values()
            assert entry == ["2026-12-01T12:00:00+08:00", 1, "robots"]
    assert saved_state()["missing"] == {}

    robots[0] = ALLOW  # the site allows it, and its sitemap dates the page anew (an edit)
    feed.text = feed.text.replace("2026-11-24T10:30:00+08:00", "2026-12-02T12:07:00+08:00")
    at(monkeypatch, "2026-12-02T12:10:00+08:00")
    report, docs = landed(source, brands, "r9")
    assert asked_paths(site) == ["/private/1.html", "/sitemap.xml"]
    assert list(docs) == [f"{site.url}/private/1.html"] and report.status == "ok"


def test_a_page_robots_txt_refused_lands_at_its_next_ask_once_allowed(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """robots.txt allows the page again before its next ask (RFC 9309 2.4: a crawler reads
    robots.txt anew, a day's cache at most): the sitemap answers 304 until the ask is due, an
    hour after the refusal, then is asked whole and the page lands; it waits no more."""
    robots = [DISALLOW]
    feed = Served(SITEMAP.format(PRIVATE + PUBLIC))
    site, source = robots_site(fixture_site, feed, robots)
    at(monkeypatch, "2026-12-01T12:00:00+08:00")
    first, _ = landed(source, brands, "r1")
    assert first.stats["errors"] == {"robots_disallowed": 1}
    robots[0] = ALLOW
    asked_paths(site)

    at(monkeypatch, "2026-12-01T12:05:00+08:00")
    second, docs = landed(source, brands, "r2")
    assert docs == {} and asked_paths(site) == ["/sitemap.xml"]
    assert second.stats["unchanged"] == {"feed_not_modified": 1}
    at(monkeypatch, "2026-12-01T13:00:00+08:00")
    third, docs = landed(source, brands, "r3")
    assert asked_paths(site) == ["/private/1.html", "/sitemap.xml"]
    assert list(docs) == [f"{site.url}/private/1.html"] and third.status == "ok"
    assert saved_state()["missing"] == {}
    at(monkeypatch, "2026-12-01T13:05:00+08:00")
    fourth, _ = landed(source, brands, "r4")
    assert asked_paths(site) == ["/sitemap.xml"]
    assert fourth.stats["unchanged"] == {"feed_not_modified": 1}


def test_workers_sharing_a_run_leave_pages_robots_txt_refused_waiting(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two workers of one run (Redis): one fetches the sitemap, its six pages on another host
    (a CDN, as news sites serve articles) are shared out between both, each worker reading
    that host's robots.txt, which refuses them all, before its first page there. Whoever was
    refused, the refusals are merged into the saved state: the next run asks the sitemap with
    its validators (304), and the run an hour later asks it whole and each page again."""
    refused = range(10, 16)
    up, robots, lock = threading.Event(), [0], threading.Lock()

    def robots_txt(query: dict[str, str]) -> Reply:
        with lock:
            robots[0] += 1
            if robots[0] >= 2:
                up.set()
        up.wait(20)  # both workers took a page from the shared queue before either is refused
        return Reply(DISALLOW, 200, "text/plain")

    cdn = fixture_site({"/robots.txt": robots_txt})
    listed = "".join(f"<url><loc>{cdn.url}/private/{n}.html</loc></url>" for n in refused)
    feed = Served(SITEMAP.format(listed))
    site, source = serve(fixture_site, {"/sitemap.xml": feed}, {})
    at(monkeypatch, "2026-12-01T12:00:00+08:00")
    a, b = two_workers(source, brands, redis_url, monkeypatch)
    assert [r.stats["errors"].get("robots_disallowed", 0) > 0 for r in (a, b)] == [True, True]
    merged = read_health("news")
    assert merged is not None and merged["workers"] == ["a", "b"]
    assert merged["errors"] == {"robots_disallowed": len(refused)}
    assert len(saved_state()["missing"]) == len(refused)
    asked_paths(site)

    at(monkeypatch, "2026-12-01T12:05:00+08:00")
    second, _ = landed(source, brands, "r2")
    assert asked_paths(site) == ["/sitemap.xml"] and feed.asked[-1] == (feed.tag(), DATE)
    assert second.stats["unchanged"] == {"feed_not_modified": 1} and second.status == "ok"
    at(monkeypatch, "2026-12-01T13:00:00+08:00")
    # Six pages queued at once wait for the host's robots.txt together: each is refused
    # (koubei.crawlers.middlewares.robots; Scrapy's own let all but the first through).
    [third] = crawl_sources([source], brands, run_id="r3", settings=FAST)
    assert feed.asked[-1] == (None, None) and asked_paths(site) == ["/sitemap.xml"]
    assert third.stats["errors"] == {"robots_disallowed": len(refused)}
    assert [path for path, _ in cdn.requests] == ["/robots.txt"] * 3  # r1 (each), r3: no page


@pytest.mark.parametrize("validators", ["etag", "none"])
def test_the_answers_of_feeds_no_longer_configured_are_dropped(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    validators: str,
) -> None:
    """A source of an RSS feed and a sitemap index (its ``ETag`` and ``Last-Modified``, or
    neither) of two sitemaps. The RSS feed leaves the source's ``feeds`` and the index stops
    listing its second sitemap: the next complete run drops both answers from the crawl
    state (counted ``feeds_dropped: 2`` and named in the log), and keeps the index's and its
    remaining sitemap's, asked with their validators from then on. An index served without
    validators keeps the sitemaps it lists all the same, so those are not dropped. Was: every
    answer was kept for good."""
    index = Served(
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>{site}/sitemap-11.xml</loc></sitemap>"
        "<sitemap><loc>{site}/sitemap-12.xml</loc></sitemap></sitemapindex>",
        etag="strong" if validators == "etag" else "",
        last_modified=DATE if validators == "etag" else "",
    )
    november = Served(SITEMAP.format(URL.format(n=1, date="2026-11-24T10:30:00+08:00")))
    december = Served(SITEMAP.format(URL.format(n=2, date="2026-11-23T09:00:00+08:00")))
    rss = Served(RSS.format(""), "application/rss+xml")
    site, source = serve(
        fixture_site,
        {"/rss.xml": rss, "/sitemap_index.xml": index},
        {
            "/a/1.html": lambda q: Reply.page("article1.html", HTML),
            "/a/2.html": lambda q: Reply.page("article2_gb2312.html", "text/html"),
            "/sitemap-11.xml": november,
            "/sitemap-12.xml": december,
        },
    )
    url = site.url
    at(monkeypatch, "2026-12-01T12:00:00+08:00")
    first, docs = landed(source, brands, "r1")
    assert len(docs) == 2 and not first.stats.get("feeds_dropped")
    every = ["/rss.xml", "/sitemap-11.xml", "/sitemap-12.xml", "/sitemap_index.xml"]
    assert sorted(saved_state()["feeds"]) == [url + p for p in every]

    index.text = index.text.replace("<sitemap><loc>{site}/sitemap-12.xml</loc></sitemap>", "")
    source = source.model_copy(update={"feeds": [f"{url}/sitemap_index.xml"]})
    at(monkeypatch, "2026-12-01T12:05:00+08:00")
    second, _ = landed(source, brands, "r2")
    assert second.stats.get("feeds_dropped") == 2 and second.status == "ok"
    kept = saved_state()["feeds"]
    assert sorted(kept) == [f"{url}/sitemap-11.xml", f"{url}/sitemap_index.xml"]
    assert kept[f"{url}/sitemap_index.xml"][4] == [f"{url}/sitemap-11.xml"]
    asked_paths(site)

    at(monkeypatch, "2026-12-01T12:10:00+08:00")
    third, _ = landed(source, brands, "r3")
    assert asked_paths(site) == ["/sitemap-11.xml", "/sitemap_index.xml"]
    assert november.asked[-1] == (november.tag(), november.last_modified)
    unchanged = 2 if validators == "etag" else 1  # an index without validators: read whole
    assert third.stats["unchanged"] == {"feed_not_modified": unchanged}
    assert third.stats["feeds_dropped"] == 0
