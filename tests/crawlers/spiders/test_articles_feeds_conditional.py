"""304 Not Modified to feeds, sitemaps and their pages: a broken cache answering it to a
request without a condition.

The servers here answer as RFC 9110 has a server that keeps validators answer: a strong
(``"…"``) or weak (``W/"…"``) ``ETag`` and a ``Last-Modified`` in IMF-fixdate (8.8.2, 8.8.3,
5.6.7); ``If-None-Match`` compared weakly and ``If-Modified-Since`` ignored beside it (13.1.2,
13.2.2); a ``304 Not Modified`` with no body, carrying the ``ETag`` a 200 would have (15.4.5).
As in ``test_articles_conditional.py``, a server knowing dates alone matches
``If-Modified-Since`` by equality, not by date order: the fixture's simplification.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from koubei import timeutil
from koubei.config import BrandsConfig, Source
from tests.crawlers.fixture_site import PAGES, Reply
from tests.crawlers.spiders.feeds import HTML, landed

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
