"""HTTP conditional requests for a feed entry's page read again, and for feeds (RFC 9110 13.1).

A page is read again when its feed dates it anew (an edit, :meth:`CrawlState.seen`). Some feeds
stamp every entry's ``lastmod`` with the time the sitemap was generated, so every entry is
"edited" on every run: its page is asked with the validators it answered last (``ETag`` as
``If-None-Match``, ``Last-Modified`` as ``If-Modified-Since``), and a server that keeps them
answers ``304 Not Modified`` with no body. A server that sends neither, or ignores the
condition and answers 200, is read as before; a page whose text is the one landed before
(:func:`fingerprint`) is not landed again.

Why not Scrapy's ``HttpCacheMiddleware`` (``RFC2616Policy``), which revalidates too: it keeps
every page's whole body in a cache folder of its own (unbounded in count, per machine), answers
a 304 with the cached body as a 200 (the page would be parsed and landed again), serves pages
it deems fresh (``Cache-Control: max-age``, or 10% of a page's age heuristically) without
asking (an edit the feed announced would be missed), and stores an answer whether or not the
run completes, while the crawl state is saved only after a complete run: a page the cache
holds and the state never read would be answered from the cache for good. What a 304 needs is
two header values, kept with the state's ``seen`` (:class:`CrawlState.validators`), saved,
bounded and merged across workers with it.

Feeds and sitemaps are asked so on every run, as feed readers do (feedparser's ``etag=`` and
``modified=``): with what each answered when a complete run last read it whole
(:class:`CrawlState.feed_answer`). A schedule polling many feeds every few minutes otherwise
fetches each whole every time, which costs the sites' bandwidth and gets a crawler
rate-limited; WordPress, static files behind nginx and CDNs answer 304.
"""

from __future__ import annotations

import hashlib
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy.http import Response

from koubei.crawlers.state import FeedAnswer, Validators

__all__ = ["answered", "conditional_headers", "fingerprint", "not_modified"]


def conditional_headers(validators: Validators | FeedAnswer) -> dict[str, str]:
    """The request headers asking for the page (or feed) only if it changed since
    ``validators``.

    Both when both are known: a server evaluates ``If-None-Match`` and ignores
    ``If-Modified-Since`` beside it (RFC 9110 13.2.2), and one that knows only dates uses the
    date. A weak ETag (``W/"…"``) is sent as it came: ``If-None-Match`` compares weakly.

    Examples
    --------
    >>> conditional_headers(Validators('W/"5e1-a"', "Tue, 24 Nov 2026 01:00:00 GMT"))
    {'If-None-Match': 'W/"5e1-a"', 'If-Modified-Since': 'Tue, 24 Nov 2026 01:00:00 GMT'}
    >>> conditional_headers(Validators(landed="0123abcd"))
    {}
    """
    headers = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def not_modified(response: Response) -> bool:
    """Whether ``response`` is a ``304 Not Modified`` to a request this module made conditional
    (a 304 to a request without a condition is a server's fault, left to the usual checks)."""
    request = response.request if _has_request(response) else None
    return (
        response.status == 304
        and request is not None
        and any(name in request.headers for name in (b"If-None-Match", b"If-Modified-Since"))
    )


def answered(response: Response) -> tuple[str, str]:
    """The ``ETag`` and ``Last-Modified`` of ``response`` to keep ("" for none or a date that
    is no HTTP date: a server ignores an ``If-Modified-Since`` it cannot read, so sending one
    only costs bytes).

    Examples
    --------
    >>> from scrapy.http import HtmlResponse
    >>> page = HtmlResponse("https://x.cn/a", headers={"ETag": '"abc"', "Last-Modified": "?"})
    >>> answered(page)
    ('"abc"', '')
    """
    etag = _header(response, b"ETag")
    last_modified = _header(response, b"Last-Modified")
    if last_modified:
        try:
            parsedate_to_datetime(last_modified)
        except (TypeError, ValueError, IndexError):
            last_modified = ""
    return etag, last_modified


def fingerprint(record: dict[str, Any]) -> str:
    """A short hash of what a landed record says (title and text): the same again means the
    page read again was not edited in what koubei keeps of it.

    Examples
    --------
    >>> fingerprint({"title": "标题", "text_raw": "正文"}) == fingerprint(
    ...     {"title": "标题", "text_raw": "正文", "created_at": "2026-11-25"})
    True
    """
    said = "\x00".join(str(record.get(name) or "") for name in ("title", "text_raw"))
    return hashlib.sha1(said.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _header(response: Response, name: bytes) -> str:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() if value else ""


def _has_request(response: Response) -> bool:
    try:
        return response.request is not None
    except AttributeError:  # a response built by hand (a doctest) has none
        return False
