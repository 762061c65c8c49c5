"""A feed that dates every entry anew on every run: its pages are asked conditionally."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from koubei import timeutil
from koubei.config import BrandsConfig
from koubei.crawlers.state import CrawlState
from tests.crawlers.fixture_site import Reply
from tests.crawlers.spiders.feeds import HTML, feed_source, landed
from tests.crawlers.spiders.test_articles_edits import COMPLAINT, PRAISE, page

# How each page's server answers: the validators it sends, and whether it honours them.
SERVERS = {
    "1": {"ETag": '"v1-5e1a"'},  # strong
    "2": {"ETag": 'W/"v1"', "Last-Modified": "Tue, 24 Nov 2026 01:00:00 GMT"},  # weak + date
    "3": {"Last-Modified": "Tue, 24 Nov 2026 01:00:00 GMT"},  # a date alone (IMF-fixdate)
    "4": {},  # neither
    "5": {"ETag": '"v1"'},  # sends one, ignores If-None-Match: 200 every time
    "6": {"ETag": '"v1-camp"'},  # a page off the brands (鲜牧场, excluded): read, never landed
}
OFF_BRANDS = "周末去鲜牧场露营，草地很大，适合带孩子放风筝，晚上还能看星星，强烈推荐大家去玩。"


def restamping_site(
    fixture_site: Any, text: dict[str, str], asked: dict[str, tuple[str | None, str | None]]
) -> tuple[Any, Any]:
    """A sitemap whose every ``lastmod`` is the time it is asked (koubei's clock), and its
    pages answering as :data:`SERVERS` says (with a new ETag once ``text`` changes); ``asked``
    gets each page's last ``If-None-Match`` and ``If-Modified-Since``."""
    first = dict(text)

    def sitemap(url: list[str]) -> Reply:
        now = timeutil.now().isoformat()
        entries = "".join(
            f"<url><loc>{url[0]}/a/{n}.html</loc><lastmod>{now}</lastmod></url>" for n in SERVERS
        )
        body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        return Reply(body, 200, "application/xml")

    def article(n: str) -> Any:
        def answer(query: dict[str, str], headers: dict[str, str]) -> Reply:
            asked[n] = (headers.get("If-None-Match"), headers.get("If-Modified-Since"))
            sent = dict(SERVERS[n])
            if text[n] != first[n] and "ETag" in sent:  # edited: a new entity tag
                sent["ETag"] = '"v2"'
            if "ETag" in sent:
                match = headers.get("If-None-Match") == sent["ETag"]
            else:  # a server knowing dates alone
                match = headers.get("If-Modified-Since") == sent.get("Last-Modified", "-")
            if match and n != "5":
                return Reply(b"", 304, HTML, {k: v for k, v in sent.items() if k == "ETag"})
            return Reply(page("鲜牧", text[n]), 200, HTML, sent)

        return answer

    return feed_source(
        fixture_site,
        lambda url: (
            {"/sitemap.xml": lambda q: sitemap(url)} | {f"/a/{n}.html": article(n) for n in SERVERS}
        ),
        "/sitemap.xml",
    )


def test_pages_of_a_feed_restamping_its_entries_are_asked_conditionally(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every entry's ``lastmod`` moves on every run, so every page is read again. It is asked
    with the validators it answered last; a 304 is unchanged (counted, not landed, no error,
    not gone), and a page answering 200 with the text landed before is not landed again.
    Before, every page was fetched whole each run (once edits of landed pages are read again,
    every page landed again too), and a 304 would have been an ``empty_body`` error."""
    text = dict.fromkeys(SERVERS, PRAISE) | {"6": OFF_BRANDS}
    asked: dict[str, tuple[str | None, str | None]] = {}
    site, source = restamping_site(fixture_site, text, asked)
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    first, docs = landed(source, brands, "r1")
    assert len(docs) == 5 and first.status == "ok" and first.stats["dropped"] == {"excluded": 1}
    assert set(asked.values()) == {(None, None)}

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:05:00+08:00")
    second, docs = landed(source, brands, "r2")
    assert docs == {} and second.status == "ok" and second.stats["errors"] == {}
    assert second.stats["edited"] == 6 and second.stats["gone"] == {}
    assert second.stats["unchanged"] == {"not_modified": 4, "same_text": 2}
    assert second.stats["responses_by_status"]["304"] == 4
    date = "Tue, 24 Nov 2026 01:00:00 GMT"
    assert asked == {
        "1": ('"v1-5e1a"', None),
        "2": ('W/"v1"', date),
        "3": (None, date),
        "4": (None, None),
        "5": ('"v1"', None),
        "6": ('"v1-camp"', None),
    }

    text["1"] = text["4"] = COMPLAINT  # edited: answered whole, and landed
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:10:00+08:00")
    third, docs = landed(source, brands, "r3")
    assert sorted(docs) == [f"{site.url}/a/1.html", f"{site.url}/a/4.html"]
    assert all("黑色异物" in doc["text_raw"] for doc in docs.values())
    assert third.stats["unchanged"] == {"not_modified": 3, "same_text": 1}
    state = CrawlState("news")
    assert state.validators(f"articles:{docs[f'{site.url}/a/1.html']['native_id']}").etag == (
        '"v2"'
    )

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:15:00+08:00")
    fourth, docs = landed(source, brands, "r4")  # the edit is known now, by its new ETag too
    assert docs == {} and fourth.stats["unchanged"] == {"not_modified": 4, "same_text": 2}
    assert asked["1"] == ('"v2"', None)


WHOLE, CUT = {"ETag": '"whole"'}, {"ETag": '"cut"'}


def test_a_cut_page_s_validators_are_not_kept(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page cut short (no ``</html>``) is still read, but the validators it came with are
    not kept: sent back, they would have the server answer 304 to the cut copy for good."""
    _, source = feed_source(
        fixture_site,
        lambda url: {
            "/sitemap.xml": lambda q: Reply(
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                + "".join(
                    f"<url><loc>{url[0]}/a/{n}.html</loc>"
                    "<lastmod>2026-11-24T09:00:00+08:00</lastmod></url>"
                    for n in (1, 3)
                )
                + "</urlset>",
                200,
                "application/xml",
            ),
            "/a/1.html": lambda q: replace(Reply.page("article1.html", HTML), headers=WHOLE),
            "/a/3.html": lambda q: replace(
                Reply.page("article3_truncated.html", HTML), headers=CUT
            ),
        },
        "/sitemap.xml",
    )
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    report, docs = landed(source, brands, "r1")
    assert len(docs) == 2 and report.stats["errors"] == {"truncated_html": 1}
    state = CrawlState("news")
    etags = {
        doc["url"].rsplit("/", 1)[1]: state.validators(doc["id"]).etag for doc in docs.values()
    }
    assert etags == {"1.html": '"whole"', "3.html": ""}
