"""The feed side of :mod:`koubei.crawlers.spiders.articles`: how a feed or sitemap is asked
(conditionally, with what it answered when read whole last), what such a read keeps, what a
``304`` to it means, and its text read as XML. The articles spider judges the entries
(``parse_feed``) and reads their pages; this base class only fetches feeds and keeps their
answers, so each side stays one concept of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from scrapy.http import Request, Response
from scrapy.selector import Selector
from scrapy.utils.gz import gunzip, gzip_magic_number

from koubei.crawlers.spiders._conditional import answered, conditional_headers
from koubei.crawlers.spiders._feed_xml import repair
from koubei.crawlers.spiders.base import BaseSpider
from koubei.crawlers.state import FeedAnswer


class FeedSpider(BaseSpider):
    """A spider reading feeds and sitemaps; its ``parse_feed`` judges what one lists."""

    parse_feed: Callable[..., Iterator[Any]]

    def configured_feeds(self) -> Sequence[str]:
        """The source's ``feeds``: the answers of any other are dropped at the state's save,
        a sitemap's kept while an index kept reaches it (:func:`_feed_answer.unreachable`)."""
        return self.source.feeds

    def feed_request(self, url: str, feed: str, part: str = "") -> Request:
        """The request for the feed or sitemap at ``url`` (``part``: one a sitemap index
        listed, :meth:`parse_feed`), with what it answered when read whole last
        (:class:`FeedAnswer`), unless what that read left is due (:meth:`CrawlState.due`: a
        page it asked for and not read since, one that answered 404 whose next ask is due) or
        ``brands.yaml`` changed since. Asked whole then, its pass does all it does on any
        whole read. Before, every feed and sitemap was fetched whole on every run, however
        often its schedule polls it."""
        kept = self.state.feed_answer(url)
        due = self.state.due(kept.pending, self.crawl_time)
        whole = due or kept.matched_under != self.brands_under
        return self.get(
            url,
            self.parse_feed,
            {"feed": feed, "part": part} if part else {"feed": feed},
            headers=None if whole else conditional_headers(kept),
        )

    def note_feed_read(
        self,
        response: Response,
        url: str,
        parts: tuple[str, ...] = (),
        pending: tuple[str, ...] = (),
    ) -> None:
        """Keep what a feed or sitemap read whole answered, to ask it with next time, with a
        sitemap index's ``parts`` and the ``pending`` pages its pass left for later."""
        etag, last_modified = answered(response)
        self.state.note_feed_answer(
            url, FeedAnswer(etag, last_modified, self.brands_under, pending, parts)
        )

    def feed_not_modified(self, response: Response, url: str, feed: str) -> Iterator[Any]:
        """A feed or sitemap that answered ``304 Not Modified`` to what it answered when read
        whole last: counted ``unchanged/feed_not_modified``, not an error, no page parsed.

        It lists what that read judged, so none of its entries is looked at again. What the
        feed's pass does besides, each decided so:

        - entries read then (landed or not, ``mark_read``) stay read in ``seen``; entries
          known by the watermark stay known: it only moves for records landed, none here;
        - a page that answered 404 (``missing``) is asked when ``missing_due`` by the pass
          alone: kept in ``pending``, it has the feed asked whole on the run its next ask is
          due (:meth:`feed_request`), so no recheck is skipped; on the runs between, 304s, it
          is not counted ``gone_waiting`` (no entry was looked at);
        - a page asked and not read (blocked, a wall, an empty body, a status not retried, a
          304 without a condition) has the next run read the feed whole and ask it again, as
          before; one robots.txt refused waits as a 404 page does (``note_refused``), so the
          feed is asked whole on the runs its next ask is due, not on every run;
        - an entry built from the feed's own text that named no brand is not read (it is
          matched again on every whole read): the feed is read whole once ``brands.yaml``
          changes (``matched_under``);
        - a sitemap index's sitemaps (``parts``) are asked again, each with its own answer.

        Validators a 304 carries (RFC 9110 15.4.5) replace the ones kept; the pages read
        since leave ``pending``.
        """
        self._inc("unchanged/feed_not_modified")
        kept = self.state.feed_answer(url)
        etag, last_modified = answered(response)
        self.state.note_feed_answer(
            url,
            replace(
                kept,
                etag=etag or kept.etag,
                last_modified=last_modified or kept.last_modified,
                pending=self.state.unread(kept.pending),
            ),
        )
        for loc in kept.parts:
            yield self.feed_request(loc, feed, loc)

    def feed_text(self, response: Response) -> str | None:
        """The feed's text, gunzipped, or None (counted) for a refused or unreadable answer."""
        if not self.check(response):
            return None
        if gzip_magic_number(response):
            # A ``sitemap.xml.gz`` served as the file it is (``application/x-gzip``, no
            # ``Content-Encoding``), as sitemap indexes list them: Scrapy's own SitemapSpider
            # gunzips such a body by its magic number, whatever the Content-Type.
            try:
                body = gunzip(response.body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            except (OSError, EOFError, ValueError) as exc:  # not gzip after all, or too big
                self.count_error("malformed_gzip", response.url, str(exc)[:120])
                return None
            response = response.replace(body=body)
        return self.text(response).lstrip("\ufeff")

    def read_feed(self, text: str, url: str) -> Selector | None:
        """The feed's XML, or None (counted) for an unreadable one."""
        text, repaired = repair(text)
        if repaired:  # control characters, bare ``&``, HTML entities (_feed_xml)
            self._inc("feed/xml_repaired", repaired)
        try:
            sel = Selector(text=text, type="xml")
            sel.remove_namespaces()
        except ValueError as exc:
            self.count_error("malformed_xml", url, str(exc)[:120])
            return None
        return sel
