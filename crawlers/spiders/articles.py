"""Articles and forum threads from RSS/Atom feeds and sitemaps, main text by trafilatura.

``feeds`` may list RSS 2.0, Atom or sitemap (``urlset`` / ``sitemapindex``) URLs; ``urls`` are
article pages fetched directly. Each article page goes through trafilatura (a maintained
main-text extractor, not per-site XPath) for its text, title, author and date; the feed's own
``pubDate``/``updated``/``lastmod`` and ``<meta property="article:published_time">`` win over
trafilatura's day-precision date. Pages are fetched only for entries newer than the watermark.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

from scrapy.http import Response
from scrapy.selector import Selector

from koubei.crawlers.spiders.base import BaseSpider, batched
from koubei.crawlers.timeparse import parse_iso

MIN_TEXT = 20  # shorter extractions are navigation or a broken page, not an article


def url_id(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


class ArticlesSpider(BaseSpider):
    name = "articles"

    async def start(self) -> AsyncIterator[Any]:
        for feed in self.source.feeds:
            yield self.get(feed, self.parse_feed, {"feed": feed})
        for url in self.source.urls:
            yield self.get(url, self.parse_article, {"key": "urls", "hint": {}})

    @batched
    def parse_feed(self, response: Response, feed: str) -> Iterator[Any]:
        if not self.check(response):
            return
        try:
            sel = Selector(text=self.text(response).lstrip("\ufeff"), type="xml")
            sel.remove_namespaces()
        except ValueError as exc:
            self.count_error("malformed_xml", response.url, str(exc)[:120])
            return
        root = sel.xpath("/*")
        tag = root.xpath("name()").get() if root else None
        if tag == "sitemapindex":
            locs = sel.xpath("//sitemap/loc/text()").getall()
            self.count_page(len(locs))
            for loc in locs:
                yield self.get(loc.strip(), self.parse_feed, {"feed": feed})
            return
        entries = list(self.entries(sel, tag))
        if tag not in {"rss", "feed", "urlset", "RDF"}:
            self.count_error("not_a_feed", response.url, f"root element {tag!r}")
            return
        self.count_page(len(entries))
        for link, hint in entries:
            when = hint.get("date")
            created = self.parse_time_or_count(when, response.url) if when else None
            if self.state.seen(self.doc_id(url_id(link))) or (
                created is not None and self.known(f"feed:{feed}", url_id(link), created)
            ):
                continue
            hint["created"] = created.isoformat() if created else None
            yield self.get(link, self.parse_article, {"key": f"feed:{feed}", "hint": hint})

    def entries(self, sel: Selector, tag: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
        if tag == "urlset":
            for url in sel.xpath("//url"):
                loc = url.xpath("loc/text()").get()
                if loc:
                    yield loc.strip(), {"date": url.xpath("lastmod/text()").get()}
        elif tag == "feed":
            for entry in sel.xpath("//entry"):
                link = entry.xpath("link[@rel='alternate']/@href | link[not(@rel)]/@href").get()
                if link:
                    yield (
                        link.strip(),
                        {
                            "date": entry.xpath("published/text() | updated/text()").get(),
                            "title": entry.xpath("title/text()").get(),
                            "author": entry.xpath("author/name/text()").get(),
                        },
                    )
        else:
            for item in sel.xpath("//item"):
                link = item.xpath("link/text()").get() or item.xpath("guid/text()").get()
                if link:
                    yield (
                        link.strip(),
                        {
                            "date": item.xpath("pubDate/text() | date/text()").get(),
                            "title": item.xpath("title/text()").get(),
                            "author": item.xpath("author/text() | creator/text()").get(),
                        },
                    )

    @batched
    def parse_article(self, response: Response, key: str, hint: dict[str, Any]) -> Iterator[Any]:
        import trafilatura

        if not self.check(response):
            return
        markup = self.text(response)
        truncated = "</html>" not in markup[-400:].lower()
        if truncated:  # still extracted: a cut-off page usually keeps most of its text
            self.count_error("truncated_html", response.url)
        extracted = trafilatura.bare_extraction(
            markup, url=response.url, with_metadata=True, include_comments=False
        )
        text = getattr(extracted, "text", None) or ""
        if len(text.strip()) < MIN_TEXT:
            self.count_error("no_main_text", response.url)
            return
        created = self.article_time(response, hint, getattr(extracted, "date", None))
        if created is None:
            return
        title = hint.get("title") or getattr(extracted, "title", None)
        author = (
            hint.get("author")
            or getattr(extracted, "author", None)
            or (Selector(text=markup).xpath("//meta[@name='author']/@content").get())
        )
        record = self.build(
            state_key=key,
            match_fields=[("title", title), ("text", text)],
            native_id=url_id(response.url),
            kind="article",
            url=response.url,
            title=title,
            author={"name": author},
            text_raw=text,
            created_at=created,
            extra={"site": getattr(extracted, "sitename", None), "truncated": truncated},
        )
        if record is not None:
            yield record

    def article_time(
        self, response: Response, hint: dict[str, Any], day: str | None
    ) -> datetime | None:
        if hint.get("created"):
            return parse_iso(hint["created"])  # the feed's time, already checked by parse_time
        meta = (
            Selector(text=self.text(response))
            .xpath(
                "//meta[@property='article:published_time' or @name='pubdate' or "
                "@itemprop='datePublished']/@content"
            )
            .get()
        )
        value = meta or day
        if not value:
            self.count_error("no_time", response.url)
            return None
        return self.parse_time_or_count(value, response.url)
