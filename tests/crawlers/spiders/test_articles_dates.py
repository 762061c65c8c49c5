"""Feed and page times for articles: the forms feeds write, a day alone, a blank date."""

from __future__ import annotations

from typing import Any

import pytest

from koubei import jsonl, timeutil
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import PAGES, Reply
from tests.crawlers.spiders.feeds import HTML, feed_source, landed, routes, xml_route


def test_feed_times_in_cst_are_china_time(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CST`` pubDates (RFC 822 and Java's ``Date.toString()``) are +08:00, not US Central:
    read as -06:00 they lie 14 hours ahead, in the future at crawl time, and were dropped.
    The feed declares GB2312 but holds a GBK-only character (喆); one item's text is only in
    ``content:encoded``."""
    # Crawled two hours after the last item: read as US Central, both would be in the future.
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    url: list[str] = []
    feed = (PAGES / "rss_cst_gbk.xml").read_bytes().decode("gbk")
    site = fixture_site(
        {
            "/bbs/rss.xml": lambda q: Reply(
                feed.replace("{site}", url[0]).encode("gbk"), 200, "application/rss+xml"
            ),
        }
    )
    url.append(site.url)
    source = Source(name="bbs", platform="articles", feeds=[f"{site.url}/bbs/rss.xml"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["url"]: r for r in jsonl.read(report.landing_file)}
    thread = f"{site.url}/bbs/thread-91.html"
    assert sorted(docs) == [f"{thread}#pid2001", f"{thread}#pid2002"]
    first = docs[f"{thread}#pid2001"]
    assert first["created_at"] == "2026-11-24T09:30:00+08:00"
    assert first["author"]["name"] == "喆喆妈"
    assert first["text_raw"] == "新开的一罐鲜牧奶粉冲开全是结块，批号已拍照。"
    second = docs[f"{thread}#pid2002"]
    assert second["created_at"] == "2026-11-24T10:00:00+08:00"  # Java Date.toString()
    assert second["text_raw"] == "同一批号我家也结块，鲜牧客服让拍视频再申请退款。"
    assert second["author"]["name"] == "路人丙" and second["title"] == "鲜牧奶粉结块 - 2楼"
    assert site.hits("/bbs/thread-91.html") == []  # both built from the feed
    assert report.status == "ok" and not report.stats["errors"]


def test_feed_dates_in_the_forms_feeds_write_keep_their_zone(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rss_odd_dates.xml``: pubDates with a Chinese month (Bing's zh-CN RSS), ``GMT+0100``,
    ``-05:00``, ``-0000`` and no time of day. email.utils returned the zones it does not know
    as naive times, taken as China's (hours off); it refused the Chinese month and the date
    alone (``bad_time``), and the thread page was fetched for each of those replies."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    url: list[str] = []
    site = fixture_site({"/bbs/rss.xml": xml_route("rss_odd_dates.xml", url)})
    url.append(site.url)
    source = Source(name="bbs", platform="articles", feeds=[f"{site.url}/bbs/rss.xml"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["url"].rsplit("#", 1)[1]: r for r in jsonl.read(report.landing_file)}
    assert {pid: d["created_at"] for pid, d in docs.items()} == {
        "pid3001": "2026-11-20T16:42:00+08:00",  # 周五, 20 11月 2026 08:42:00 GMT
        "pid3002": "2026-11-23T21:30:22+08:00",  # GMT+0100
        "pid3003": "2026-11-23T23:00:00+08:00",  # -05:00
        "pid3004": "2026-11-24T09:28:36+08:00",  # -0000: UTC
        "pid3005": "2026-11-19T00:00:00+08:00",  # a day
    }
    assert docs["pid3005"]["time_precision"] == "day"
    assert docs["pid3004"]["time_precision"] is None
    assert site.hits("/bbs/thread-92.html") == []  # every reply built from the feed
    assert report.status == "ok" and not report.stats["errors"]


def test_an_entry_dated_by_its_day_is_new_later_that_day(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitemap whose ``lastmod`` is a date (sitemaps.org's example: ``2005-01-01``), crawled
    at noon and again at 18:00, when it lists one more article of that day. Both dates read
    as midnight: the second article was not after the watermark, so it was skipped as known,
    for good. One of two days before stays known (not fetched); one of the day before would
    be fetched once, as the day may be a site's west of China (see the test below)."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T12:00:00+08:00")
    url: list[str] = []
    listed = {"name": "sitemap_day.xml"}
    site = fixture_site(
        {
            "/sitemap.xml": lambda q: xml_route(listed["name"], url)(q),
            "/a/1.html": lambda q: Reply.page("article1.html", HTML),
            "/a/2.html": lambda q: Reply.page("article2_gb2312.html", "text/html"),
            "/a/5.html": lambda q: Reply.page("article5_big5.html", "text/html"),
        }
    )
    url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/sitemap.xml"])
    [first] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert first.landing_file is not None
    [morning] = list(jsonl.read(first.landing_file))
    assert morning["created_at"] == "2026-11-24T00:00:00+08:00"
    assert morning["time_precision"] == "day"

    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T18:00:00+08:00")
    listed["name"] = "sitemap_day_later.xml"
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second.landing_file is not None
    [evening] = list(jsonl.read(second.landing_file))
    assert evening["url"] == f"{site.url}/a/2.html"
    assert evening["created_at"] == "2026-11-24T00:00:00+08:00"
    assert site.hits("/a/5.html") == []  # two days before: known
    assert second.stats["errors"] == {}


def test_a_sitemap_dated_by_the_month_or_the_year_is_no_bad_date(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``lastmod`` is W3C Datetime (sitemaps.org), whose coarsest forms are a year (``2026``)
    and a month (``2003-12``). Each was counted a ``bad_time`` error, every entry every run,
    so the source read as degraded for good. Now an entry is judged by its period's end and
    dated by its page; a month long past the watermark is known, not fetched."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-26T12:00:00+08:00")
    site, source = feed_source(
        fixture_site,
        lambda url: {
            "/sitemap.xml": xml_route("sitemap_month.xml", url),
            "/a/3.html": lambda q: Reply.page("article3_truncated.html", HTML),
            "/bbs/thread-90.html": lambda q: Reply.page("bbs_thread90.html", HTML),
            "/a/old.html": lambda q: Reply.page("article1.html", HTML),
        },
        "/sitemap.xml",
    )
    first, docs = landed(source, brands, "r1")
    assert sorted(docs) == [f"{site.url}/a/3.html", f"{site.url}/bbs/thread-90.html"]
    assert docs[f"{site.url}/a/3.html"]["created_at"] == "2026-11-22T09:15:00+08:00"
    thread = docs[f"{site.url}/bbs/thread-90.html"]
    assert (thread["created_at"], thread["time_precision"]) == ("2026-11-25T00:00:00+08:00", "day")
    # article1.html gives no date of its own: counted, as for an entry without lastmod
    assert first.stats["errors"] == {"truncated_html": 1, "no_time": 1}
    site.requests.clear()
    [second] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert second.items == 0 and second.stats["errors"] == {}
    assert site.hits("/a/old.html") == []  # 2003-12 is long before the watermark


def test_a_page_gives_the_time_of_day_a_sitemap_dated_by_its_day_lacks(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Google News sitemap whose ``news:publication_date`` is a date (Google's own example:
    ``2008-12-23``). The sitemap's day beat the page's ``article:published_time``
    (``2026-11-22T09:15:00+08:00``): the article landed at midnight, precision ``day``, kept
    out of intraday counts. A page with no time of its own keeps the sitemap's day."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    url: list[str] = []
    site = fixture_site({**routes(url), "/news.xml": xml_route("sitemap_news_day.xml", url)})
    url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/news.xml"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["url"]: r for r in jsonl.read(report.landing_file)}
    timed = docs[f"{site.url}/a/3.html"]
    assert (timed["created_at"], timed["time_precision"]) == ("2026-11-22T09:15:00+08:00", None)
    dated = docs[f"{site.url}/a/1.html"]  # no time on the page
    assert (dated["created_at"], dated["time_precision"]) == ("2026-11-24T00:00:00+08:00", "day")
    assert report.stats["errors"] == {"truncated_html": 1}  # article3 is cut short


def test_a_blank_pub_date_is_no_date_not_a_bad_one(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rss_blank_dates.xml``: a template that prints ``<pubDate> </pubDate>`` for every item
    (as a public PHP feed generator does). Each blank date counted ``bad_time``, so the source
    read ``degraded`` on every run, though the pages give the dates."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    url: list[str] = []
    site = fixture_site(
        {
            "/rss.xml": xml_route("rss_blank_dates.xml", url),
            "/a/3.html": lambda q: Reply.page("article3_truncated.html", HTML),
            "/bbs/thread-90.html": lambda q: Reply.page("bbs_thread90.html", HTML),
        }
    )
    url.append(site.url)
    source = Source(name="news", platform="articles", feeds=[f"{site.url}/rss.xml"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)
    assert report.landing_file is not None
    docs = {r["url"].rsplit("/", 1)[1]: r for r in jsonl.read(report.landing_file)}
    assert docs["3.html"]["created_at"] == "2026-11-22T09:15:00+08:00"  # the page's time
    assert docs["thread-90.html"]["created_at"] == "2026-11-25T00:00:00+08:00"
    assert report.stats["errors"] == {"truncated_html": 1}  # article3 is cut short; no bad_time


def test_an_entry_dated_by_a_site_s_utc_day_is_new_after_china_s_midnight(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sitemap written on a server that keeps UTC (``lastmod`` the UTC day, as cloud images
    run): until 08:00 in China it still writes the 24th. Its page of 18:00 UTC (02:00 on
    China's 25th) landed at 02:05 and moved the watermark past the end of China's 24th, so the
    next page it dated by its 24th, published at 23:30 UTC (07:30 in Shanghai), was judged
    known at 07:35 and never fetched. Judged by the day's end west of China, it lands; an
    off-brand page of that day is fetched once, not on every run until the watermark passes."""
    listed = {"pages": ["late1"]}
    published = {"late1": "2026-11-24T18:00:00Z", "late2": "2026-11-24T23:30:00Z"}
    article = (PAGES / "article1.html").read_text("utf-8")

    def sitemap(url: list[str]) -> Any:
        entries = "".join(
            f"<url><loc>{url[0]}/a/{name}.html</loc><lastmod>2026-11-24</lastmod></url>"
            for name in listed["pages"]
        )
        body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        return lambda q: Reply(body, 200, "application/xml")

    def page(name: str) -> Any:
        meta = f'<meta property="article:published_time" content="{published[name]}">'
        return lambda q: Reply(article.replace("</head>", f"{meta}</head>"), 200, HTML)

    site, source = feed_source(
        fixture_site,
        lambda url: {
            "/sitemap.xml": lambda q: sitemap(url)(q),
            "/a/late1.html": page("late1"),
            "/a/late2.html": page("late2"),
            "/a/off.html": lambda q: Reply.page("article4_offtopic.html", HTML),
        },
        "/sitemap.xml",
    )
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-25T02:05:00+08:00")
    _, docs = landed(source, brands, "r1")
    assert [d["created_at"] for d in docs.values()] == ["2026-11-25T02:00:00+08:00"]

    listed["pages"] = ["late1", "late2", "off"]
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T23:35:00Z")  # 07:35 in Shanghai
    second, docs = landed(source, brands, "r2")
    assert [(d["url"], d["created_at"]) for d in docs.values()] == [
        (f"{site.url}/a/late2.html", "2026-11-25T07:30:00+08:00")
    ]
    assert site.hits("/a/off.html") and second.stats["errors"] == {}

    site.requests.clear()
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-25T07:40:00+08:00")
    third, _ = landed(source, brands, "r3")
    assert third.items == 0
    assert sorted({path for path, _ in site.requests} - {"/robots.txt"}) == ["/sitemap.xml"]


def test_a_day_begun_east_of_china_is_no_time_in_the_future(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Japanese site's sitemap dates its page by its day, ``2026-11-25``, from 23:00 of
    China's 24th (00:00 in Tokyo). Read as China's midnight, it lay 55 minutes ahead of a crawl
    at 23:05: counted ``time_future``, the page not landed and the run degraded. It lands at
    the crawl's time, its precision the day; a day not begun anywhere is still refused."""
    entries = {"1": "2026-11-25"}

    def sitemap(url: list[str]) -> Reply:
        body = "".join(
            f"<url><loc>{url[0]}/a/{n}.html</loc><lastmod>{day}</lastmod></url>"
            for n, day in entries.items()
        )
        return Reply(f"<urlset>{body}</urlset>", 200, "application/xml")

    _, source = feed_source(
        fixture_site,
        lambda url: {
            "/sitemap.xml": lambda q: sitemap(url),
            "/a/1.html": lambda q: Reply.page("article1.html", HTML),
        },
        "/sitemap.xml",
    )
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-24T23:05:00+08:00")
    report, docs = landed(source, brands, "r1")
    assert [(d["created_at"], d["time_precision"]) for d in docs.values()] == [
        ("2026-11-24T23:05:00+08:00", "day")
    ]
    assert report.stats["errors"] == {} and report.status == "ok"

    entries["4"] = "2026-11-26"  # begins at 18:00 of China's 25th at +14:00
    report, docs = landed(source, brands, "r2")
    assert docs == {} and report.stats["errors"] == {"time_future": 1}
