"""The small base every platform spider shares.

It owns what is the same everywhere: request building with an errback, response checks that
turn HTTP errors, empty bodies, captcha pages, login walls and platform error codes into counted
reasons (never exceptions), tolerant JSON/JSONP decoding (GBK/GB18030 included), brand matching
with exclusions, incremental bookkeeping, and building the :class:`koubei.model.Document`
record. A spider subclass only knows its platform's URLs and field names. What a body is (a
wall, its real charset, the JSON in it) is read by the pure functions of
:mod:`koubei.crawlers.spiders._body`; the methods here count what they find.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import scrapy
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse
from twisted.python.failure import Failure

from koubei.cjk_charset import gb_or_big5
from koubei.config import Brand, BrandsConfig, Source
from koubei.crawlers import brandmatch
from koubei.crawlers.health import STAT_PREFIX
from koubei.crawlers.spiders._body import (
    JSONP,
    chinese_label_lies,
    html_wall,
    mostly_utf8,
    utf8_behind_label,
)
from koubei.crawlers.state import CrawlState
from koubei.crawlers.timeparse import TimeParseError, date_only, parse_time
from koubei.model import Document, make_id, to_record
from koubei.timeutil import DEFAULT_TZ, now

# Status codes platforms use to refuse a crawler (412: Weibo/Bilibili risk control, 432: Taobao).
BLOCK_STATUSES = {
    401: "http_401",
    403: "http_403",
    412: "http_412",
    418: "http_418",
    432: "http_432",
}


def time_precision(value: Any) -> str | None:
    """``"day"`` when the platform's time text gives a day but no time of day, else None.

    Examples
    --------
    >>> time_precision("11-20"), time_precision("3天前"), time_precision("11-20 08:00")
    ('day', 'day', None)
    """
    return "day" if date_only(value) else None


def batched(callback: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """Yield a callback's records as one ``{"records": [...]}`` item per page.

    Scrapy spends more per item (a task, signals, a log record) than koubei's own pipelines do;
    one item per page instead of per record keeps the full pipeline near bare-spider speed
    (``python -m bench crawl``). Requests pass through unchanged.
    """

    def batches(self: Any, response: Response, **kwargs: Any) -> Iterator[Any]:
        records = []
        for output in callback(self, response, **kwargs):
            if isinstance(output, dict):
                records.append(output)
            else:
                yield output
        if records:
            yield {"records": records}

    # A plain function returning the generator, not a generator function: Scrapy checks every
    # generator callback for a ``return value`` by reading and parsing its source, and its
    # cache of that answer is keyed by bound methods that die with their request, so the
    # check ran again on one page in ten (``python -m bench crawl``).
    @functools.wraps(callback)
    def wrapper(self: Any, response: Response, **kwargs: Any) -> Iterator[Any]:
        return batches(self, response, **kwargs)

    return wrapper


class BaseSpider(scrapy.Spider):
    """Shared behaviour; subclasses set ``name`` (the platform) and implement ``start``."""

    name = "base"

    def __init__(
        self,
        source: Source,
        brands: BrandsConfig,
        run_id: str = "manual",
        state: CrawlState | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.brands_config = brands
        self.tracked: list[Brand] = brandmatch.tracked_brands(brands, source.brands)
        self.run_id = run_id
        self.state = state or CrawlState(source.name)
        self.crawl_time = now()
        # Listing pages this run could not read (HTTP error or network failure after the
        # retries, a captcha, a login wall, a cut or malformed body): see page_lost().
        self.pages_lost = 0
        # (state key, doc id) of every entry this run has read: see known().
        self.read_this_run: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.report_state, signal=scrapy.signals.spider_opened)
        crawler.signals.connect(spider.on_callback_error, signal=scrapy.signals.spider_error)
        return spider

    def on_callback_error(self, failure: Failure, response: Response) -> None:
        """A callback raised on an answer it did not expect: count it and keep the state.

        Scrapy logs the traceback and goes on, so the page's records (one batch, yielded at its
        end) were lost without a count: the health read ``ok``. Worse, the records built before
        the error were already noted in the crawl state, whose save made the next run skip them.
        """
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(failure.value).__name__).lower()
        self.count_error(f"parse_failed_{name}", response.url, str(failure.value)[:200])
        self.page_lost()

    def report_state(self) -> None:
        """A state file that could not be read was moved aside: this run re-reads, and says so."""
        if self.state.unreadable:
            self.count_error("state_unreadable", str(self.state.path), self.state.unreadable)

    def closed(self, reason: str) -> None:
        """Save the crawl state, after the landing file was written, if the crawl is complete.

        Scrapy calls this once the pipelines have closed. A crawl that did not finish
        (``shutdown`` on SIGTERM or Ctrl-C, a ``closespider_*`` limit, Redis gone) dropped its
        queued pages without a word; like a crawl that lost a page, it keeps the previous
        state, so the next run reads past what landed here and reaches the pages not read.
        """
        stats = self.crawler.stats
        assert stats is not None
        if reason != "finished" and not self.pages_lost:
            self.count_error(f"closed_{reason}", self.source.name, "queued pages not read")
        if (
            reason != "finished"
            or self.pages_lost
            or not stats.get_value(f"{STAT_PREFIX}landing_file")
        ):
            stats.set_value(f"{STAT_PREFIX}state_kept", 1)
            return
        dropped = self.state.save(self.crawl_time, self.configured_feeds())
        if dropped:  # feeds that left the configuration, sitemaps their index no longer lists
            self._inc("feeds_dropped", len(dropped))
            self.logger.info("feed answers dropped (not configured): %s", " ".join(dropped))

    def configured_feeds(self) -> Sequence[str] | None:
        """The feeds the source configures, whose answers the crawl state keeps
        (:meth:`CrawlState.save`); None for a spider reading none (all are kept)."""
        return None

    # --- stats ------------------------------------------------------------------------------

    def _inc(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"{STAT_PREFIX}{key}", count)

    def count_error(self, reason: str, url: str, detail: str = "") -> None:
        """Count a bad input by reason and log it with the URL; the crawl goes on."""
        self._inc(f"errors/{reason}")
        self.logger.warning("bad input reason=%s url=%s %s", reason, url, detail)

    def count_blocked(self, reason: str, url: str) -> None:
        self._inc(f"blocked/{reason}")
        self.logger.error("blocked reason=%s url=%s", reason, url)

    def page_lost(self) -> None:
        """A listing page or request of this run was lost; the crawl state will not advance.

        Counted where a page of a paged listing (every JSON API is read through
        :meth:`load_json`) or any request fails for good in this run. A listing's "nothing new
        on this page, stop" and the watermark would make the next run skip what the lost page
        held. An article page refused by :meth:`check` for good (404, a wall) is not counted;
        one a feed dated that answered a status the crawler retries (5xx, 429), past the
        retries, is (``ArticlesSpider.parse_article``): a newer article of the same feed moves
        the feed's watermark past it.
        """
        self.pages_lost += 1
        self._inc("pages_lost")

    def refused(self, later_page: bool) -> None:
        """The platform refused a listing page in its answer, not by HTTP status: an error
        code, risk control, a login wall, an answer of another shape (counted by the caller).

        A later page of a target is a lost page (:meth:`page_lost`): this run recorded the
        target's first pages, and a saved state would make the next run stop there, never
        reading what the refused page held. A refused first page holds nothing this run
        recorded for its target, so the state need not stay behind for it.
        """
        if later_page:
            self.page_lost()

    def count_page(self, entries: int) -> None:
        """A listing page parsed; ``entries`` is how many records it listed (new or known)."""
        self._inc("pages")
        self._inc("entries", entries)

    # --- requests ---------------------------------------------------------------------------

    def get(
        self,
        url: str,
        callback: Callable[..., Any],
        cb_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Request:
        return Request(
            url, callback=callback, errback=self.on_error, cb_kwargs=cb_kwargs or {}, **kwargs
        )

    def on_error(self, failure: Failure) -> None:
        """Network failures after retries: timeouts, refused connections, DNS."""
        name = type(failure.value).__name__
        reason = {
            "TimeoutError": "timeout",
            "TCPTimedOutError": "timeout",
            "ResponseNeverReceived": "connection_lost",
            "ConnectionRefusedError": "connection_refused",
            "DNSLookupError": "dns",
            "IgnoreRequest": "robots_disallowed",  # the only IgnoreRequest koubei raises
        }.get(name, re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower())
        request = getattr(failure, "request", None)
        self.count_error(reason, request.url if request else "?", str(failure.value)[:200])
        if reason != "robots_disallowed":  # a page we may not fetch is not lost, it is skipped
            self.page_lost()

    # --- response checks --------------------------------------------------------------------

    def check(self, response: Response) -> bool:
        """False (and counted) for HTTP errors, a 304 to no condition, empty bodies, captcha
        pages and login walls."""
        if response.status in BLOCK_STATUSES:
            self.count_blocked(BLOCK_STATUSES[response.status], response.url)
            return False
        if response.status >= 400:
            self.count_error(f"http_{response.status}", response.url)
            return False
        if response.status == 304:
            # Not Modified to a request that set no condition (a broken server, or a proxy or
            # CDN answering from a cache of its own): no body, and nothing kept stands for it.
            # A spider asking conditionally takes its own 304s first (articles). Was counted
            # ``empty_body``, which it is not: the server's fault, counted as such.
            self.count_error("unconditional_304", response.url)
            return False
        if not response.body.strip():
            self.count_error("empty_body", response.url)
            return False
        if "passport" in response.url or "login" in response.url.split("?")[0]:
            self.count_blocked("login_wall", response.url)
            return False
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if "html" in content_type and "json" not in content_type:
            wall = html_wall(self.text(response)[:4000])
            if wall:
                self.count_blocked(wall, response.url)
                return False
        return True

    def text(self, response: Response) -> str:
        """The body as text: the declared charset if the body decodes in it, else UTF-8, GB18030
        or Big5.

        Chinese sites often declare GBK/GB2312/Big5 only in a ``<meta>`` tag or not at all;
        GB18030 is a superset of GBK and GB2312; of it and Big5-HKSCS, the one whose reading has
        more common characters is taken (:func:`~koubei.cjk_charset.gb_or_big5`).
        """
        if isinstance(response, TextResponse):
            declared = "charset" in (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            in_body = isinstance(response, HtmlResponse | XmlResponse) and bool(
                response._declared_encoding()
            )
            if declared or in_body:
                try:
                    # Strictly: Scrapy decodes with "replace", so GBK bytes served as
                    # "charset=utf-8" (common on Chinese sites) would become U+FFFD soup that
                    # parses, matches no brand and is dropped silently.
                    response.body.decode(response.encoding)
                    if utf8_behind_label(response.body, response.encoding):
                        self._inc("encoding/declared_wrong")
                        return response.body.decode("utf-8")
                    # GBK and Big5 decode each other's bytes, so a wrong one of the two
                    # labels decodes too, into mojibake.
                    other = chinese_label_lies(response.body, response.encoding)
                    if other is None:
                        return response.text
                    self._inc("encoding/declared_wrong")
                    return response.body.decode(other)
                except (UnicodeDecodeError, LookupError):
                    if mostly_utf8(response.body, response.encoding):
                        # A few bad bytes in UTF-8 (a character cut by a byte-counting
                        # truncation): GB18030 decodes much of UTF-8 without an error, into
                        # mojibake of every character (feedparser decodes UTF-8 with
                        # replacement here, kurtmckee/feedparser#421).
                        self._inc("encoding/utf8_invalid_bytes")
                        return response.body.decode("utf-8", errors="replace")
                    self._inc("encoding/declared_wrong")
        body = response.body
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        # GB18030 alone read Big5 (Taiwan and Hong Kong pages) without an error, as mojibake.
        guessed = gb_or_big5(body)
        if guessed is not None:
            self._inc(f"encoding/{'gb18030' if guessed == 'gb18030' else 'big5'}_guessed")
            return body.decode(guessed)
        self.count_error("undecodable", response.url)
        return body.decode("utf-8", errors="replace")

    def load_json(self, response: Response) -> Any | None:
        """Decode a JSON or JSONP body; malformed bodies are counted and give None."""
        if not self.check(response):
            self.page_lost()
            return None
        text = self.text(response).lstrip("\ufeff").strip()
        kind = "malformed_json"
        if text and text[0] not in "{[":
            match = JSONP.match(text)
            if not match:
                wall = html_wall(text[:4000]) if text.startswith("<") else None
                if wall:
                    # A wall (the punish page, Weibo's visitor page), whatever Content-Type
                    # it came with.
                    self.count_blocked(wall, response.url)
                elif text.startswith("<"):
                    self.count_error("html_instead_of_json", response.url)
                else:
                    self.count_error("malformed_jsonp", response.url)
                self.page_lost()
                return None
            text, kind = match.group("body"), "malformed_jsonp"
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:  # e.g. a body cut short by a broken upstream
            joined = self.joined_answer(text, response) if exc.msg == "Extra data" else None
            if joined is not None:
                return joined
            self.count_error(kind, response.url, f"{exc.msg} at {exc.pos}")
        except RecursionError:  # a hostile or broken server nesting thousands deep
            self.count_error("json_too_deep", response.url)
        except ValueError as exc:  # an integer too long to convert
            self.count_error(kind, response.url, str(exc)[:200])
        self.page_lost()
        return None

    def joined_answer(self, text: str, response: Response) -> Any | None:
        """The answer to read from a body of JSON values one after another
        (:func:`._body.json_sequence`), or None: the body is malformed, as for any platform that is
        not known to send one (Bilibili is, :mod:`koubei.crawlers.spiders.video_comments`)."""
        return None

    # --- records ----------------------------------------------------------------------------

    def parse_time_or_count(self, value: Any, url: str) -> datetime | None:
        try:
            return parse_time(value, now=self.crawl_time)
        except TimeParseError as exc:
            # Counted by kind (bad_time, time_future, time_too_old, time_offset); the item is
            # not built, so an impossible time is never indexed.
            reason = "bad_time" if exc.kind == "unknown" else f"time_{exc.kind}"
            self.count_error(reason, url, repr(value)[:80])
            return None

    @functools.cached_property
    def brands_under(self) -> str:
        """The digest of the brands this run matches against (:func:`brandmatch.digest`)."""
        return brandmatch.digest(self.tracked)

    @property
    def read_as_of(self) -> str | None:
        """What an item this spider lands is read as of (:meth:`CrawlState.mark_read`): the
        brands it was matched against, so that after a ``brands.yaml`` change an item landed
        before and met again (a competitor's new search finds posts landed for the brand they
        compare it with) is not known: it lands again with the brands it names now
        (:meth:`build`), and a search that meets only such items pages on. Before, those were
        "known": the new brand never counted them, and a first page of them stopped its paging,
        so its history was cut there for good. A ``seen`` entry kept without a version (marked
        before read-as-of existed) stays known, so an upgrade lands nothing again. Met again
        under the same brands, an item is known as before, so each change costs one landing of
        what it meets again."""
        return self.brands_under

    def known(self, key: str, native_id: Any, created_at: datetime) -> bool:
        """True (and counted) if a previous run already has this item, or this run read it
        already under the same ``key``.

        The second case is a listing repeating itself: past its end a search answers the same
        entries under each next page number, and a cursor may move without new content. Those
        entries are not new, so such a page stops the paging as an all-known page does; before,
        each repeat counted as new and the listing paged on to ``max_pages``. Other keys are
        not affected: one keyword's results never stop another's paging.
        """
        doc_id = make_id(self.name, native_id)
        if self.state.is_known(key, doc_id, created_at, self.read_as_of):
            self._inc("known")
            return True
        if (key, doc_id) in self.read_this_run:
            self._inc("repeated")
            return True
        self.read_this_run.add((key, doc_id))
        return False

    def build(
        self,
        *,
        state_key: str,
        match_fields: Sequence[tuple[str, str | None]],
        version: str | None = None,
        off_brands: bool = False,
        **fields: Any,
    ) -> dict[str, Any] | None:
        """A landing record with brands filled, or None if off-topic or invalid (counted).

        ``fields`` are :class:`Document` fields; ``id``, ``platform`` and ``source`` are set here.
        ``version``: the item is landed as of that version (:meth:`CrawlState.mark_read`).
        ``off_brands``: landed even when it names no brand, with ``brands`` empty (counted
        ``off_brands``): an edit of an item landed before, which must stop counting for its
        brand (every query and detector selects a brand's posts by ``brands``).
        """
        matched, matches, excluded = brandmatch.match_brands(match_fields, self.tracked)
        native = str(fields.pop("native_id"))
        doc_id = make_id(self.name, native)
        if version is None and self.read_as_of is not None:
            version = self.read_as_of
            if self.state.read_before(doc_id) and not self.state.seen(doc_id, version):
                # Landed before under other brands (:attr:`read_as_of`): landed again even
                # naming none now, so a brand removed stops counting it, as an edit does.
                self._inc("relanded/brands_yaml_changed")
                off_brands = True
        if not matched and off_brands:
            self._inc("off_brands")
            matches = []
        elif not matched:
            self._inc("dropped/excluded" if excluded else "dropped/no_brand")
            return None
        if isinstance(fields.get("created_at"), datetime):  # one offset in landing files
            fields["created_at"] = fields["created_at"].astimezone(DEFAULT_TZ)
        try:
            doc = Document(
                id=doc_id,
                platform=self.name,
                source=self.source.name,
                native_id=native,
                brands=matched,
                brand_matches=matches,
                crawled_at=self.crawl_time,
                **fields,
            )
        except ValueError as exc:
            self.count_error("invalid_item", fields.get("url") or "?", str(exc)[:200])
            return None
        self.state.record(state_key, doc.id, doc.created_at, version)
        return to_record(doc)

    def owner_field(self) -> tuple[str, str | None]:
        """For shop sources of one brand: its products' reviews are about it even unnamed.

        A review of a listed product rarely repeats the brand; when the source tracks exactly
        one brand, the match falls back to field ``product_owner``.
        """
        names = self.source.brands or []
        return ("product_owner", names[0] if len(names) == 1 else None)

    def doc_id(self, native_id: Any) -> str:
        return make_id(self.name, native_id)
