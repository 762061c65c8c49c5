"""Articles and forum threads from RSS/Atom feeds and sitemaps, main text by trafilatura.

``feeds`` may list RSS 2.0, Atom or sitemap (``urlset`` / ``sitemapindex``, Google News
sitemaps' ``news:publication_date`` and ``news:title`` included, gzipped ``.xml.gz`` too, and
text sitemaps of one URL a line) URLs;
``urls`` are article pages fetched directly. Each article page goes through trafilatura (a
maintained main-text extractor, not per-site XPath) for its text, title, author and date; the
feed's own ``pubDate``/``updated``/``lastmod`` and ``<meta property="article:published_time">``
win over trafilatura's day-precision date (the feed's over the page's, unless the feed gives a
day alone and the page its time of day). Pages are fetched only for entries newer than the
watermark.

A record's id comes from the entry's own link (or ``guid``), never from the fetched page's URL:
forum and news feeds list several items on one page as ``page.html#post-1``, ``#post-2``. Such
an item whose feed ``content:encoded`` or ``description`` carries its text is built from the
feed alone (the page's main text would be the whole thread); otherwise its page is fetched with
the duplicate filter off, since Scrapy's filter ignores fragments and would drop all but the
first silently.
A date without a time of day gives ``time_precision: "day"``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urldefrag

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.selector import Selector
from twisted.python.failure import Failure

from koubei.crawlers import brandmatch
from koubei.crawlers.spiders._conditional import (
    answered,
    conditional_headers,
    fingerprint,
    not_modified,
)
from koubei.crawlers.spiders._feed_pass import FeedSpider
from koubei.crawlers.spiders._feed_xml import (
    closed,
    feed_entries,
    own_words,
    text_sitemap,
)
from koubei.crawlers.spiders.base import batched, time_precision
from koubei.crawlers.state import read_mark
from koubei.crawlers.timeparse import (
    TimeParseError,
    coarse_period_end,
    date_only,
    parse_iso,
    parse_time,
)

MIN_TEXT = 20  # shorter extractions are navigation or a broken page, not an article
# A date alone (a sitemap's ``lastmod`` of ``2026-11-24``, a month, a year) is the site's day,
# read as China's (timeparse): a server on UTC, as cloud images run, or a site in Europe or the
# Americas still writes ``2026-11-24`` until 08:00 (16:00 at -08:00) of China's 25th. Such an
# entry is judged by the end of its period at -08:00 (US Pacific), 16 hours after China's.
_WEST_OF_CHINA = timedelta(hours=16)
_DAY_END = timedelta(days=1, microseconds=-1) + _WEST_OF_CHINA


def url_id(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


class ArticlesSpider(FeedSpider):
    name = "articles"

    @property
    def read_as_of(self) -> str | None:
        """None: a feed entry is read as of its feed's version; a ``brands.yaml`` change
        reaches the pages read again through the brands each landed with (:meth:`note_read`)."""
        return None

    async def start(self) -> AsyncIterator[Any]:
        for feed in self.source.feeds:
            yield self.feed_request(feed, feed)
        for url in self.source.urls:
            yield self.get(url, self.parse_article, {"key": "urls", "hint": {"link": url}})

    @batched
    def parse_feed(self, response: Response, feed: str, part: str = "") -> Iterator[Any]:
        """A feed's or sitemap's entries; ``part`` is the URL of a sitemap an index listed.

        Each such sitemap keeps its own watermark (state key ``feed:<its URL>``): with the
        index's one key, the entries of a sitemap that failed in a run (an HTTP error after the
        retries, a cut body) were older than what its siblings landed, so the next run took
        them as known and skipped them for good. A sitemap without a watermark of its own yet
        is judged by the index's (as saved before sitemaps kept theirs).

        A feed answering 304 to what it answered when read whole last lists what that read
        judged (:meth:`feed_not_modified`); one read whole keeps its answer for the next ask,
        and the pages its pass asked for or left waiting (:meth:`note_feed_read`), unless it
        came cut short (an index or a feed whose root element is not closed: a 304 would keep
        the entries after the cut unread until it changes).
        """
        url = part or feed
        if not_modified(response):
            yield from self.feed_not_modified(response, url, feed)
            return
        text = self.feed_text(response)
        if text is None:
            return
        links = text_sitemap(text)
        whole = True  # read to its end (a text sitemap cannot say otherwise)
        if links is not None:
            entries: list[tuple[str, dict[str, Any]]] = [(link, {}) for link in links]
        else:
            sel = self.read_feed(text, response.url)
            if sel is None:
                return
            root = sel.xpath("/*")
            tag = root.xpath("name()").get() if root else None
            if tag == "sitemapindex":
                locs = [loc.strip() for loc in sel.xpath("//sitemap/loc/text()").getall()]
                self.count_page(len(locs))
                if closed(text, tag):
                    self.note_feed_read(response, url, tuple(locs))
                for loc in locs:
                    yield self.feed_request(loc, feed, loc)
                return
            if tag not in {"rss", "feed", "urlset", "RDF"}:
                self.count_error("not_a_feed", response.url, f"root element {tag!r}")
                return

            # An RSS item without a link: nothing to fetch or to id it by, counted, never
            # guessed at.
            def no_link(title: str | None) -> None:
                self.count_error("no_link", response.url, title or "")

            entries = list(feed_entries(sel, tag, response.url, no_link))
            whole = closed(text, tag)
        self.count_page(len(entries))
        pending: list[str] = []  # the pages left for later: FeedAnswer.pending
        key = f"feed:{url}"
        judged = key if not part or self.state.watermark(key) else f"feed:{feed}"
        for link, hint in entries:
            when = hint.get("date")
            # The version of its page a fetch reads: the entry's last edit (a sitemap's
            # ``lastmod``, an Atom ``updated``) as written, else its date.
            version = hint.pop("modified", None) or when
            # A year or a month (W3C Datetime ``2003-12``) is judged by its end, the page dates it.
            period_end = coarse_period_end(when)
            if period_end is not None:
                when = hint["date"] = None
            created = self.parse_time_or_count(when, response.url) if when else None
            precision = time_precision(when)
            # An entry dated by its day alone (a sitemap's ``lastmod`` of ``2026-11-24``) may
            # be later that day than the watermark: judged by the day's end, else an entry
            # added to the feed after a crawl of that day was taken as known, for good; the
            # day's end west of China, else one of a site on UTC dated by its 24th and landed
            # at 02:00 on China's 25th (its page's time) made the next of its 24th known.
            latest = created + _DAY_END if created and precision == "day" else created
            latest = period_end + _WEST_OF_CHINA if period_end else latest
            doc_id = self.doc_id(url_id(link))
            if self.state.seen(doc_id, version):  # read as of this version, or for good
                continue
            # Read before as of another version, landed or not: its feed dates it anew (an
            # edit), so it is read again whatever the watermark (an Atom entry keeps its
            # ``published`` below it), asked conditionally (_conditional), and lands with its
            # id, which later stages update in place. Else, new: judged by the watermark,
            # unless its page answered 404 and waits for its next ask: a newer sibling landed
            # since moved the watermark past it, and it was never asked again.
            edited = self.state.read_before(doc_id)
            if edited:
                self._inc("edited")
            elif (
                latest is not None
                and not self.state.awaits_ask(doc_id)
                and self.known(judged, url_id(link), latest)
            ):
                continue
            hint.update(
                link=link,
                created=created.isoformat() if created else None,
                precision=precision,
                version=version,
            )
            fragment = urldefrag(link).fragment
            summary = own_words(hint.pop("description", None) or "")
            if fragment and created is not None and len(summary) >= MIN_TEXT:
                record = self.entry_record(hint, summary, created, key)
                if record is not None:
                    yield record
                continue
            if not self.state.missing_due(doc_id, self.crawl_time):
                # Answered 404 before, or robots.txt refused it; asked again when due, by the
                # feed's next whole read (a 304 until then leaves it waiting, uncounted).
                refused = self.state.refused_before(doc_id)
                self._inc("robots_waiting" if refused else "gone_waiting")
                pending.append(read_mark(doc_id, version))
                continue
            # Asked conditionally unless its text was matched under other brands than
            # brands.yaml's now: a 304 leaves no text to match again (a page kept by an older
            # state, matched under none kept, is asked conditionally, as before).
            kept = self.state.validators(doc_id)
            conditional = edited and kept.matched_under in ("", self.brands_under)
            pending.append(read_mark(doc_id, version))
            yield self.get(
                link,
                self.parse_article,
                {"key": key, "hint": hint},
                dont_filter=bool(fragment),
                headers=conditional_headers(kept) if conditional else None,
            )
        if whole:
            self.note_feed_read(response, url, pending=tuple(pending))

    def entry_record(
        self, hint: dict[str, Any], text: str, created: datetime, key: str
    ) -> dict[str, Any] | None:
        """An item that is one part of a shared page, from the feed's own description; None
        when not landed (off the brands, or what it says was landed before)."""
        title = hint.get("title")
        doc_id = self.doc_id(url_id(hint["link"]))
        how = self.read_again(doc_id, title, text, hint.get("version"))
        if not how:
            return None
        precision = hint.get("precision")
        created, precision, edit = self.as_landed_first(doc_id, created, precision, hint, how)
        record = self.build(
            state_key=key,
            match_fields=[("title", title), ("text", text)],
            native_id=url_id(hint["link"]),
            kind="article",
            url=hint["link"],
            title=title,
            author={"name": hint.get("author")},
            text_raw=text,
            created_at=created,
            time_precision=precision,
            extra={"from_feed": True, **edit},
            version=hint.get("version"),
            off_brands=how != "new",
        )
        self.note_read(doc_id, record, how)
        return record

    def as_landed_first(
        self,
        doc_id: str,
        created: datetime,
        precision: str | None,
        hint: dict[str, Any],
        how: str,
    ) -> tuple[datetime, str | None, dict[str, Any]]:
        """The time and precision a feed entry's page lands with, and its ``extra`` saying
        when it was edited (``edited_at``, ISO) if it landed before (``how``: :meth:`read_again`).

        An edit of a page landed before keeps the time it landed with first (kept in the
        crawl state): a sitemap without ``news:publication_date`` dates its pages by
        ``lastmod``, which an edit moves, and the post moved to the edit's time, counted again
        there by volume charts and spike detectors (a site editing 200 old pages made a surge).
        ``edited_at`` is the edit's time as its feed dates it (``lastmod``, an Atom
        ``updated``), else the crawl's. A page landed before the first time was kept keeps
        its feed's date. An edit lands though it names no brand any more (``brands`` empty,
        :meth:`build`'s ``off_brands``): else the index kept the old text under the brand (a
        corrected article kept counting as a complaint). One landed again for the brands it
        names (``how`` ``"brands"``) keeps its first time too, and has no ``edited_at``: its
        site changed nothing, so it is no edit (the index merges it into the stored copy).
        """
        kept = self.state.validators(doc_id)
        if not kept.landed:  # never landed: new, at its feed's (or page's) time
            return created, precision, {}
        if kept.created:
            created, precision = parse_iso(kept.created), kept.precision or None
        if how == "brands":
            return created, precision, {}
        try:
            edited = parse_time(str(hint.get("version")), now=self.crawl_time)
        except TimeParseError:
            edited = self.crawl_time
        return created, precision, {"edited_at": edited.isoformat()}

    def note_read(self, doc_id: str, record: dict[str, Any] | None, how: str) -> None:
        """Keep what a feed entry's page landed with (its text's fingerprint, its time, its
        brands) and the brands it was matched against, landed or not (``how``:
        :meth:`read_again`; one landed again for its brands is counted
        ``relanded/brands_changed``)."""
        if record is None:  # off the brands (or invalid): matched under these brands all the same
            kept = self.state.validators(doc_id)
            self.state.note_matched(doc_id, self.brands_under, kept.brands)
            return
        if how == "brands":
            self._inc("relanded/brands_changed")
        named = tuple(sorted(record["brands"]))
        self.state.note_landed(
            doc_id,
            fingerprint(record),
            record["created_at"],
            record.get("time_precision"),
            (self.brands_under, named),
        )

    def read_again(self, doc_id: str, title: str | None, text: str, version: Any) -> str:
        """How a feed entry's page read lands: ``"new"`` (nothing landed from it before),
        ``"edit"`` (its title or text is not what was landed), ``"brands"`` (they are, but the
        brands they name are not those it landed with: ``brands.yaml`` changed since), or
        ``""``: not landed again, read as of ``version`` and counted ``unchanged/same_text``
        (a feed restamping its entries on every run, on a server that answers no conditional
        request, would land every page on every run).

        Before, an unchanged text never landed again: a brand added to ``brands.yaml`` never
        counted the pages known before that name it, and a brand removed kept counting its
        own. A page kept by an older state (no brands matched under kept) is taken as landed
        with the brands it names now, and not landed again: no state upgrade lands every page
        a feed lists again. One whose brands are not known (kept so, answering 304) lands
        again once the brands change.
        """
        kept = self.state.validators(doc_id)
        if not kept.landed:
            return "new"
        if kept.landed != fingerprint({"title": title, "text_raw": text}):
            return "edit"
        if kept.matched_under != self.brands_under:
            fields = [("title", title), ("text", text)]
            named = tuple(sorted(brandmatch.match_brands(fields, self.tracked)[0]))
            if kept.matched_under and named != kept.brands:
                return "brands"
            self.state.note_matched(doc_id, self.brands_under, named)
        self.state.mark_read(doc_id, version)
        self._inc("unchanged/same_text")
        return ""

    @batched
    def parse_article(self, response: Response, key: str, hint: dict[str, Any]) -> Iterator[Any]:
        import trafilatura

        doc_id = self.doc_id(url_id(hint["link"]))
        entry = key != "urls"  # a feed's entry (``urls`` are the operator's own: a 404 is an error)
        if entry:
            self._inc("entry_pages")
            if not_modified(response):
                self.page_not_modified(response, doc_id, hint.get("version"))
                return
            if response.status in (404, 410):
                self.page_gone(response, doc_id)
                return
        if not self.check(response):
            retried = {int(code) for code in self.settings.getlist("RETRY_HTTP_CODES")}
            if hint.get("created") and response.status in retried:
                # A status the crawler retries, past the retries: lost for this run, as a
                # timeout is. A newer article of the feed moves its watermark past this one,
                # so a saved state would make the next run skip it for good.
                self.page_lost()
            return
        if entry:
            # A feed entry's page, landed or not (off the brands, without text), is read as of
            # the date its feed gives it (none: for good). Not landed, it was new to every run
            # until a later page landed moved the watermark past its date: a sitemap of pages
            # off the brands was fetched whole every five minutes. Dated otherwise by its feed
            # (an edit), it is new again; a page lost (above) is not read.
            self.state.mark_read(doc_id, hint.get("version"))
        self.state.note_found(doc_id)
        markup = self.text(response)
        truncated = "</html>" not in markup[-400:].lower()
        if truncated:  # still extracted: a cut-off page usually keeps most of its text
            self.count_error("truncated_html", response.url)
        if entry:  # a cut page's validators would have the next ask answered 304, for good
            self.state.note_answer(doc_id, *(("", "") if truncated else answered(response)))
        extracted = trafilatura.bare_extraction(
            markup, url=response.url, with_metadata=True, include_comments=False
        )
        text = getattr(extracted, "text", None) or ""
        if len(text.strip()) < MIN_TEXT:
            self.count_error("no_main_text", response.url)
            return
        timed = self.article_time(response, hint, getattr(extracted, "date", None))
        if timed is None:
            return
        created, precision = timed
        title = hint.get("title") or getattr(extracted, "title", None)
        author = (
            hint.get("author")
            or getattr(extracted, "author", None)
            or (Selector(text=markup).xpath("//meta[@name='author']/@content").get())
        )
        how = self.read_again(doc_id, title, text, hint.get("version")) if entry else "new"
        if not how:
            return
        edit: dict[str, Any] = {}
        if entry:
            created, precision, edit = self.as_landed_first(doc_id, created, precision, hint, how)
        record = self.build(
            state_key=key,
            match_fields=[("title", title), ("text", text)],
            native_id=url_id(hint.get("link") or response.url),
            kind="article",
            url=hint.get("link") or response.url,
            title=title,
            author={"name": author},
            text_raw=text,
            created_at=created,
            time_precision=precision,
            extra={"site": getattr(extracted, "sitename", None), "truncated": truncated, **edit},
            version=hint.get("version"),
            off_brands=how != "new",
        )
        if entry:
            self.note_read(doc_id, record, how)
        if record is not None:
            yield record

    def page_not_modified(self, response: Response, doc_id: str, version: Any) -> None:
        """A feed entry's page read again that answered ``304 Not Modified`` to the validators
        it answered last (_conditional): unchanged, so read as of ``version`` and not landed
        again; counted ``unchanged/not_modified``, neither an error nor gone. Validators a 304
        carries (RFC 9110 15.4.5) replace the ones kept. A page kept by an older state (no
        brands matched under kept) is taken as matched under this run's brands, the ones it
        landed with not known: it is asked whole, and lands again, once they change."""
        self._inc("unchanged/not_modified")
        self.state.mark_read(doc_id, version)
        self.state.note_found(doc_id)
        kept = self.state.validators(doc_id)
        if not kept.matched_under:
            self.state.note_matched(doc_id, self.brands_under, None)
        etag, last_modified = answered(response)
        if etag or last_modified:
            self.state.note_answer(doc_id, etag or kept.etag, last_modified or kept.last_modified)

    def page_gone(self, response: Response, doc_id: str) -> None:
        """A feed entry's page answering 404 Not Found or 410 Gone: the site's dead link.

        Counted under ``gone``, not as an error: a sitemap listing removed pages is the site's
        matter, and each one made every run ``degraded`` (a run none of whose new pages
        answered still is, :func:`koubei.crawlers.health.assess`). A 410 is read at once, a
        404 once it has stayed so for a day (:meth:`CrawlState.note_gone`); before, neither
        was ever read, so every run asked them again, for good.
        """
        status = response.status
        if self.state.note_gone(doc_id, self.crawl_time, permanent=status == 410):
            self._inc("gone_again")
        self._inc(f"gone/http_{status}")
        self.logger.info("page gone status=%s url=%s", status, response.url)

    def on_error(self, failure: Failure) -> None:
        """A request that failed for good (:meth:`BaseSpider.on_error`, which counts it). A
        feed entry's page robots.txt refused (Scrapy's ``RobotsTxtMiddleware`` raises
        ``IgnoreRequest``, counted ``robots_disallowed``) waits for its next ask as a 404 page
        does (:meth:`CrawlState.note_refused`); before, it was never read, so its feed was
        read whole on every run for as long as robots.txt refused it."""
        super().on_error(failure)
        request = getattr(failure, "request", None)
        kwargs = request.cb_kwargs if request is not None else {}
        if type(failure.value) is IgnoreRequest and kwargs.get("key", "urls") != "urls":
            hint = kwargs["hint"]
            doc_id = self.doc_id(url_id(hint["link"]))
            self.state.note_refused(doc_id, self.crawl_time, hint.get("version"))

    def article_time(
        self, response: Response, hint: dict[str, Any], day: str | None
    ) -> tuple[datetime, str | None] | None:
        """The article's time and its precision (``"day"`` for a date without a time).

        The feed's time wins (already checked by parse_time), unless it is a day alone (a
        sitemap's ``lastmod`` or ``news:publication_date`` of ``2026-11-24``) and the page's
        own ``article:published_time`` gives the time of day.
        """
        feed_time = hint.get("created")
        if feed_time and hint.get("precision") != "day":
            return parse_iso(feed_time), hint.get("precision")
        meta = (
            Selector(text=self.text(response))
            .xpath(
                "//meta[@property='article:published_time' or @name='pubdate' or "
                "@itemprop='datePublished']/@content"
            )
            .get()
        )
        if feed_time:
            if meta and not date_only(meta):
                try:
                    return parse_time(meta, now=self.crawl_time), None
                except TimeParseError:  # the feed's day stands
                    pass
            return parse_iso(feed_time), "day"
        value = meta or day
        if not value:
            self.count_error("no_time", response.url)
            return None
        created = self.parse_time_or_count(value, response.url)
        return (created, time_precision(value)) if created is not None else None
