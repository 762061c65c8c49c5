"""Feeds, sitemaps and trafilatura extraction: encodings, truncated pages, login walls."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from koubei import jsonl, timeutil
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from koubei.crawlers.spiders.articles import url_id
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import PAGES, Reply
from tests.crawlers.spiders.feeds import (
    HTML,
    atom_source,
    crawl_one_article,
    feed_source,
    landed,
    routes,
    xml_route,
)


def test_feed_and_sitemap_articles(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    url: list[str] = []
    site = fixture_site(routes(url))
    url.append(site.url)
    source = Source(
        name="news", platform="articles", feeds=[f"{site.url}/rss.xml", f"{site.url}/sitemap.xml"]
    )
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["url"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == [f"{site.url}/a/{n}.html" for n in (1, 2, 3, 5)]
    first = docs[f"{site.url}/a/1.html"]
    assert first["kind"] == "article" and first["title"] == "鲜牧牛奶被曝喝出异物"
    assert first["author"]["name"] == "李记者"
    assert first["created_at"] == "2026-11-24T10:30:00+08:00"
    assert first["native_id"] == url_id(first["url"])
    assert "近日购买的鲜牧纯牛奶中喝出黑色异物" in first["text_raw"]
    assert "热门推荐" not in first["text_raw"] and "首页" not in first["text_raw"]
    second = docs[f"{site.url}/a/2.html"]  # gb2312, declared only in a meta tag
    assert second["brands"] == ["北岭"] and "北岭牧业今日发布新款低脂牛奶" in second["text_raw"]
    third = docs[f"{site.url}/a/3.html"]  # truncated, still extracted
    assert third["extra"]["truncated"] is True
    assert third["created_at"] == "2026-11-22T08:00:00+08:00"  # sitemap lastmod
    big5 = docs[f"{site.url}/a/5.html"]  # Big5, declared in a meta tag; traditional script
    assert big5["title"] == "鮮牧進軍台灣" and big5["author"]["name"] == "陳記者"
    assert big5["brand_matches"] == [{"brand": "鲜牧", "term": "鲜牧", "field": "title"}]
    assert report.stats["errors"] == {"truncated_html": 1}
    assert report.stats["blocked"] == {"login_wall": 1}
    assert report.stats["dropped"] == {"excluded": 1}  # 鲜牧场 camping post
    assert report.status == "degraded"

    site.requests.clear()
    [again] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert again.items == 0
    fetched = {path for path, _ in site.requests}
    assert not {"/a/1.html", "/a/2.html", "/a/3.html", "/a/5.html"} & fetched


def test_a_text_sitemap_lists_articles(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """``sitemap.txt``: one URL a line (CRLF, a blank line, one URL twice), served as
    ``text/plain`` with no charset, as Baidu's webmaster platform takes a sitemap. It was
    ``not_a_feed`` (no root element) and gave nothing. Its articles land once, dated by their
    pages; a page with no date is counted ``no_time``, as for a sitemap entry without
    ``lastmod``. No page is fetched again by the next run: an undated entry was new to every
    run that had not landed it, so the pages without a date were fetched every run (and so
    would any page off the brands: a site's whole sitemap, every five minutes)."""
    site, source = feed_source(
        fixture_site,
        lambda url: {
            **routes(url),
            "/bbs/thread-90.html": lambda q: Reply.page("bbs_thread90.html", HTML),
            "/sitemap.txt": lambda q: Reply(
                (PAGES / "sitemap.txt").read_bytes().replace(b"{site}", url[0].encode()),
                200,
                "text/plain",
            ),
        },
        "/sitemap.txt",
    )
    report, docs = landed(source, brands, "r1")
    assert sorted(docs) == [f"{site.url}/a/3.html", f"{site.url}/bbs/thread-90.html"]
    assert docs[f"{site.url}/a/3.html"]["created_at"] == "2026-11-22T09:15:00+08:00"
    assert docs[f"{site.url}/bbs/thread-90.html"]["time_precision"] == "day"
    assert report.stats["entries"] == 4  # the repeated line is one entry
    assert report.stats["errors"] == {"no_time": 2, "truncated_html": 1}  # 1.html, 4.html
    assert sum(path == "/a/3.html" for path, _ in site.requests) == 1
    site.requests.clear()
    [again] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert again.items == 0
    assert {path for path, _ in site.requests} <= {"/sitemap.txt", "/robots.txt"}


def test_feed_items_sharing_a_page_each_keep_their_own_id(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A GB2312 forum feed: three replies on one thread page (``#pid``), one date-only page."""
    url: list[str] = []
    feed = (PAGES / "rss_fragments_gb2312.xml").read_bytes().decode("gb2312")
    site = fixture_site(
        {
            "/bbs/rss.xml": lambda q: Reply(
                feed.replace("{site}", url[0]).encode("gb2312"), 200, "application/rss+xml"
            ),
            "/bbs/thread-88.html": lambda q: Reply.page("bbs_thread88.html", HTML),
            "/bbs/thread-90.html": lambda q: Reply.page("bbs_thread90.html", HTML),
        }
    )
    url.append(site.url)
    source = Source(name="bbs", platform="articles", feeds=[f"{site.url}/bbs/rss.xml"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["url"]: r for r in jsonl.read(report.landing_file)}
    thread = f"{site.url}/bbs/thread-88.html"
    assert sorted(docs) == [
        f"{thread}#pid1001",
        f"{thread}#pid1002",
        f"{thread}#pid1003",
        f"{site.url}/bbs/thread-90.html",
    ]
    assert len({d["id"] for d in docs.values()}) == 4
    first = docs[f"{thread}#pid1001"]
    assert first["native_id"] == url_id(f"{thread}#pid1001")
    assert first["text_raw"] == "今天早上给孩子倒鲜牧纯牛奶，杯底有黑色异物，已经拍照留证。"
    assert first["author"]["name"] == "奶爸老周" and first["title"].endswith("1楼")
    assert first["created_at"] == "2026-11-24T09:15:00+08:00"
    assert first["time_precision"] is None
    second = docs[f"{thread}#pid1002"]
    assert second["author"]["name"] == "小区团长" and "寄回检测" in second["text_raw"]
    third = docs[f"{thread}#pid1003"]  # description too short: the page was fetched for it
    assert third["native_id"] == url_id(f"{thread}#pid1003")
    assert third["created_at"] == "2026-11-24T10:05:00+08:00"
    dated = docs[f"{site.url}/bbs/thread-90.html"]  # the page gives a day only
    assert dated["created_at"] == "2026-11-25T00:00:00+08:00"
    assert dated["time_precision"] == "day"
    assert report.status == "ok"


def test_forum_atom_entries_keep_their_own_words(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """``atom_forum_posts.xml``: a forum's Atom feed of the replies on one thread (``#p``).

    phpBB's entries quote the answered post in a ``<blockquote>`` and close with a statistics
    paragraph and ``<hr />``; another generator writes an excerpt ``summary`` before the full
    ``content``, or the content as ``xhtml``. Each reply is built from the feed alone, with
    only its author's words: before, the quoted post and the statistics line were the reply's
    text, the excerpt stood for the whole post, and the xhtml post's thread page was fetched and
    its whole text taken as that one reply.
    """
    site, source = atom_source(fixture_site, "atom_forum_posts.xml", "/forum/feed.xml")
    report, docs = landed(source, brands, "r1")
    topic = f"{site.url}/forum/viewtopic.php?t=88&p="
    thread = f"{site.url}/bbs/thread-88.html"
    assert sorted(docs) == sorted(
        [f"{topic}1001#p1001", f"{topic}1002#p1002", f"{thread}#pid1003", f"{thread}#pid1004"]
    )
    assert all(d["extra"].get("from_feed") for d in docs.values())  # no page fetched
    assert {path for path, _ in site.requests} <= {"/forum/feed.xml", "/robots.txt"}
    first = docs[f"{topic}1001#p1001"]
    assert first["text_raw"] == "今天早上给孩子倒鲜牧纯牛奶，杯底有黑色异物，已经拍照留证。"
    assert first["author"]["name"] == "奶爸老周"
    assert first["created_at"] == "2026-11-24T09:15:00+08:00"
    reply = docs[f"{topic}1002#p1002"]
    assert reply["text_raw"] == "同一批次我们小区也有人遇到，客服说要寄回检测，还没有下文。"
    # 鲜牧 is in the thread's title; in the text it was only in the quoted post
    assert [m["field"] for m in reply["brand_matches"]] == ["title"]
    excerpted = docs[f"{thread}#pid1003"]["text_raw"]
    assert excerpted.endswith("保留好包装和小票。") and "…" not in excerpted
    assert docs[f"{thread}#pid1004"]["text_raw"] == "喝了十年鲜牧，第一次遇到这种事，太失望了。"
    assert report.status == "ok"


def test_bare_ampersands_and_html_entities_in_a_feed_are_read_as_a_browser_would(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rss_entities.xml``: HTML entities XML does not know (``&nbsp;``, ``&ensp;``,
    ``&middot;``) and bare ``&`` in links and titles. lxml's recovery dropped them silently:
    the title ended at ``&nbsp;`` (``鲜牧``), the reply's text at ``&ensp;`` (so its page was
    fetched instead), and each link lost its ``&page`` (``?tid=93=1``: another URL, another id).
    """
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    url: list[str] = []
    site = fixture_site({"/bbs/rss.xml": xml_route("rss_entities.xml", url)})
    url.append(site.url)
    source = Source(name="bbs", platform="articles", feeds=[f"{site.url}/bbs/rss.xml"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["url"]: r for r in jsonl.read(report.landing_file)}
    thread = f"{site.url}/bbs/viewthread.php?tid=93&page=1"
    assert sorted(docs) == [f"{thread}#pid4001", f"{thread}#pid4002"]
    first = docs[f"{thread}#pid4001"]
    assert first["native_id"] == url_id(f"{thread}#pid4001")
    assert first["title"] == "鲜牧\xa0纯牛奶喝出异物 - 1楼"
    # feedparser's rule: an entity HTML does not know either stays as it was written.
    assert first["text_raw"] == "楼主说\u2002鲜牧纯牛奶里有黑色异物·已经拍照留证&doesnotexist;"
    assert docs[f"{thread}#pid4002"]["title"] == "北岭 & 鲜牧 联名奶卡 - 2楼"
    assert site.hits("/bbs/viewthread.php") == []  # both built from the feed
    assert report.status == "ok" and not report.stats["errors"]


def test_control_characters_in_a_cdata_section_cost_only_themselves(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rss_control_chars.xml`` with U+0008 and U+0010 in two replies' CDATA descriptions, as
    pasted post text brings them (hexo-generator-feed#41). lxml's recovery dropped the text
    before the character and kept ``]]>``: one reply's text fell short and its thread page was
    fetched instead, the other landed as ``，我家也结块，…]]>``."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    feed = (PAGES / "rss_control_chars.xml").read_text(encoding="utf-8")
    feed = feed.replace("{0x08}", "\x08").replace("{0x10}", "\x10")
    url: list[str] = []
    site = fixture_site(
        {"/bbs/rss.xml": lambda q: Reply(feed.replace("{site}", url[0]), 200, "application/xml")}
    )
    url.append(site.url)
    source = Source(name="bbs", platform="articles", feeds=[f"{site.url}/bbs/rss.xml"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    texts = {r["url"].rsplit("#", 1)[1]: r["text_raw"] for r in jsonl.read(report.landing_file)}
    assert texts == {
        "pid5001": "鲜牧奶粉冲开全是结块，批号和小票都已拍照留证。",
        "pid5002": "同一批号，我家也结块，鲜牧客服让拍视频再申请退款。",
    }
    assert site.hits("/bbs/thread-94.html") == []
    assert report.status == "ok" and not report.stats["errors"]


@pytest.mark.parametrize("feed", ["atom_relative.xml", "rss_relative.xml"])
def test_relative_entry_links_resolve_against_xml_base_and_the_feed(
    feed: str, fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: Any
) -> None:
    """An entry link relative to the feed (``xml:base`` on the feed or the entry, else the
    feed's own URL, as feedparser resolves them) raised in Scrapy's Request ("Missing scheme")
    and lost the whole feed page."""
    monkeypatch.setenv("KOUBEI_NOW", "2026-12-01T12:00:00+08:00")
    page = lambda q: Reply.page("article1.html", HTML)  # noqa: E731
    site = fixture_site(
        {
            f"/{feed}": lambda q: Reply.page(feed, "application/xml"),
            "/blog/2026/11/1.html": page,
            "/news/2.html": page,
        }
    )
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/{feed}"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["url"]: r for r in jsonl.read(report.landing_file)}
    expected = [f"{site.url}/blog/2026/11/1.html"]
    if feed.startswith("atom"):
        expected.append(f"{site.url}/news/2.html")  # the entry's own xml:base
    assert sorted(docs) == sorted(expected)
    first = docs[f"{site.url}/blog/2026/11/1.html"]
    assert first["native_id"] == url_id(first["url"])
    assert first["title"] == "鲜牧牛奶被曝喝出异物"
    assert first["created_at"] == "2026-11-24T10:30:00+08:00"  # published, not updated
    assert report.stats.get("errors", {}) == {}


@pytest.mark.parametrize(
    ("where", "content_type"),
    [("declaration", "application/xml"), ("header", "application/xml; charset=GB2312")],
)
def test_utf8_feed_labelled_gb2312_is_read_as_utf8(
    where: str,
    content_type: str,
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    monkeypatch: Any,
) -> None:
    """A UTF-8 feed still labelled GB2312 (a server or a template left from before a
    migration): GB18030 decodes many UTF-8 byte strings without an error, into other
    characters (鲜牧 → 椴滅墽), so the title landed as mojibake that names no brand."""
    monkeypatch.setenv("KOUBEI_NOW", "2026-12-01T12:00:00+08:00")
    feed = (PAGES / "rss_relative.xml").read_text(encoding="utf-8")
    if where == "declaration":
        feed = feed.replace('encoding="utf-8"', 'encoding="gb2312"')
    _, doc = crawl_one_article(fixture_site, brands, feed.encode("utf-8"), content_type)
    assert doc["title"] == "鲜牧牛奶被曝喝出异物"
    assert doc["brand_matches"][0] == {"brand": "鲜牧", "term": "鲜牧", "field": "title"}


# How .NET writes feeds: an XmlWriter over a StringBuilder always declares
# ``encoding="utf-16"``, and the string is then sent as UTF-8 (mrpfister.com, “XML
# Stringbuilder Gotcha”; Kirk Evans, “XmlWriterSettings Encoding Being Ignored?”, MSDN; both
# `search` pages); an XmlWriter writing UTF-16 puts the BOM ``FF FE`` first (Marcelo Lopez Ruiz,
# “Encoding fun with XmlWriter and StreamWriter”, MSDN: ``FF FE 3C 00 3F 00 78 00 …``).
def _declared_utf16(feed: str, pad: str) -> bytes:
    return (feed.replace('encoding="utf-8"', 'encoding="utf-16"') + pad).encode("utf-8")


UTF16_FEEDS = {
    # An odd number of bytes fails to decode as UTF-16 and fell back to UTF-8 by luck; an even
    # number decodes, into nonsense.
    "utf8_declared_utf16_odd": lambda feed: _declared_utf16(feed, ""),
    "utf8_declared_utf16_even": lambda feed: _declared_utf16(feed, "\n"),
    "utf16_bom_undeclared": lambda feed: (
        b"\xff\xfe" + feed.replace(' encoding="utf-8"', "").encode("utf-16-le")
    ),
}


@pytest.mark.parametrize("variant", sorted(UTF16_FEEDS))
def test_utf16_labels_and_utf16_bodies_are_read_as_what_they_are(
    variant: str, fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: Any
) -> None:
    """A UTF-8 feed declaring ``utf-16`` was decoded as UTF-16 (one CJK-looking character per
    two bytes: not a feed); a UTF-16 feed with its BOM and no declared charset was guessed as
    GB18030, into mojibake. The byte order mark wins, and a label of UTF-16 on a body with no
    NUL byte (markup in UTF-16 is full of them) is read as the UTF-8 it is."""
    monkeypatch.setenv("KOUBEI_NOW", "2026-12-01T12:00:00+08:00")
    body = UTF16_FEEDS[variant]((PAGES / "rss_relative.xml").read_text(encoding="utf-8"))
    report, doc = crawl_one_article(fixture_site, brands, body, "application/rss+xml")
    assert doc["title"] == "鲜牧牛奶被曝喝出异物"
    assert report.stats["errors"] == {}


@pytest.mark.parametrize(
    ("where", "content_type"),
    [("header", "application/rss+xml; charset=utf-8"), ("declaration", "application/rss+xml")],
)
def test_a_utf8_feed_with_a_few_bad_bytes_stays_utf8(
    where: str,
    content_type: str,
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    monkeypatch: Any,
) -> None:
    """A feed labelled UTF-8 (header or declaration) whose one description holds a character
    cut to two of its three bytes, as in kurtmckee/feedparser#421 (a UTF-8 feed, "charset=utf-8",
    with a few invalid bytes) and feedparser's ``bozo_http_charset_utf-8_errors_replace.xml``.
    It did not decode as UTF-8, so it was read as GB18030, which took it without an error:
    every character of the feed mojibake (鲜牧 → 椴滅墽), the title landed so, nothing counted."""
    monkeypatch.setenv("KOUBEI_NOW", "2026-12-01T12:00:00+08:00")
    feed = (PAGES / "rss_relative.xml").read_text(encoding="utf-8")
    if where == "header":
        feed = feed.replace(' encoding="utf-8"', "")
    head, tail = feed.split("<pubDate>")
    body = (
        head.encode()
        + "<description><![CDATA[鲜牧".encode()
        + "纯".encode()[:2]
        + b"]]></description><pubDate>"
        + tail.encode()
    )
    report, doc = crawl_one_article(fixture_site, brands, body, content_type)
    assert doc["title"] == "鲜牧牛奶被曝喝出异物"
    assert doc["brand_matches"][0] == {"brand": "鲜牧", "term": "鲜牧", "field": "title"}
    assert report.stats["errors"] == {}


def test_a_guid_that_is_not_a_permalink_is_not_fetched(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: Any
) -> None:
    """An item without ``<link>`` whose ``guid`` says ``isPermaLink="false"`` (RSS 2.0: not a
    URL) was requested as if it were one; a guid without the attribute is the item's link."""
    monkeypatch.setenv("KOUBEI_NOW", "2026-12-01T12:00:00+08:00")
    feed = "rss_guid_not_permalink.xml"
    site = fixture_site(
        {
            f"/{feed}": lambda q: Reply.page(feed, "application/xml"),
            "/news/2.html": lambda q: Reply.page("article1.html", HTML),
        }
    )
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/{feed}"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    assert [r["url"] for r in jsonl.read(report.landing_file)] == [f"{site.url}/news/2.html"]
    assert [path for path, _ in site.requests if path != "/robots.txt"] == [
        f"/{feed}",
        "/news/2.html",
    ]
    assert report.stats["errors"] == {"no_link": 1}  # counted, not requested as a URL


def test_news_sitemap_gives_the_publication_date_and_title(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A Google News sitemap (``sitemap_news.xml``) dates its articles in
    ``news:news/news:publication_date``, with no ``lastmod``, and titles them in ``news:title``:
    an article page that shows no date of its own takes the sitemap's, not ``no_time``."""
    url: list[str] = []
    site = fixture_site({**routes(url), "/news.xml": xml_route("sitemap_news.xml", url)})
    url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/news.xml"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    [article] = list(jsonl.read(report.landing_file))
    assert article["url"] == f"{site.url}/a/1.html"
    assert article["created_at"] == "2026-11-24T10:30:00+08:00"
    assert article["time_precision"] is None
    assert article["title"] == "鲜牧牛奶被曝喝出异物"
    assert report.stats["errors"] == {}


@pytest.mark.parametrize("gzipped", ["child", "index"])
@pytest.mark.parametrize("content_type", ["application/x-gzip", "application/octet-stream"])
def test_gzipped_sitemaps_are_read(
    gzipped: str, content_type: str, fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """A sitemap index listing ``sitemap1.xml.gz`` (sitemaps.org's own example), the file served
    as it is, without ``Content-Encoding``; or the index itself gzipped. The gzip bytes were
    decoded as text: ``undecodable`` and ``not_a_feed``, no article read."""
    url: list[str] = []

    def served(name: str, zipped: bool) -> Any:
        def reply(q: dict[str, str]) -> Reply:
            body = (PAGES / name).read_text().replace("{site}", url[0]).encode()
            return (
                Reply(gzip.compress(body), 200, content_type)
                if zipped
                else Reply(body, 200, "application/xml")
            )

        return reply

    index = "/sitemap_index.xml.gz" if gzipped == "index" else "/sitemap_index.xml"
    site = fixture_site(
        {
            index: served("sitemap_index_gz.xml", gzipped == "index"),
            "/sitemap1.xml.gz": served("sitemap1.xml", gzipped == "child"),
            "/a/1.html": lambda q: Reply.page("article1.html", HTML),
        }
    )
    url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[f"{site.url}{index}"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    [article] = list(jsonl.read(report.landing_file))
    assert article["url"] == f"{site.url}/a/1.html"
    assert article["created_at"] == "2026-11-24T10:30:00+08:00"
    assert report.stats["errors"] == {} and report.status == "ok"


def test_lines_of_an_english_forum_post_stay_apart(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """``atom_phpbb_en.xml``: an English phpBB board's Atom feed, posts broken into lines by
    ``<br />`` (one quoting the other with a ``<cite>``, a smiley and a posted picture). The
    lines were glued (``yesterday.It smelled``; ``date stamp Sent it`` as one sentence):
    ``text_content()`` drops ``<br>`` with nothing in its place, which Chinese text hides."""
    site, source = atom_source(fixture_site, "atom_phpbb_en.xml", "/forum/feed.php")
    report, docs = landed(source, brands, "r1")
    topic = f"{site.url}/forum/viewtopic.php?t=431&p="
    first, reply = docs[f"{topic}5120#p5120"], docs[f"{topic}5124#p5124"]
    assert first["text_raw"] == (
        "Bought a carton of XianMu whole milk at the supermarket yesterday.\n\n"
        "It smelled sour the moment I opened it, and the best before date is next week."
    )
    assert reply["text_raw"] == (
        "Same batch here, 鲜牧 customer service asked for a photo of the date stamp\n"
        "Sent it, no answer yet."
    )
    assert first["brands"] == reply["brands"] == ["鲜牧"]
    assert report.status == "ok" and {path for path, _ in site.requests} <= {
        "/forum/feed.php",
        "/robots.txt",
    }
