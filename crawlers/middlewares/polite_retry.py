"""Retries with exponential backoff that honour ``Retry-After``.

Scrapy's stock retry re-queues at once; a platform answering 429/503 wants us to wait. This
replaces ``RetryMiddleware``: the wait is ``Retry-After`` (seconds or an HTTP date) when the
response has one, else ``KOUBEI_RETRY_BACKOFF_BASE * 2**attempt`` capped at
``KOUBEI_RETRY_BACKOFF_MAX``. A ``Retry-After`` beyond ``KOUBEI_RETRY_AFTER_MAX`` is not waited
for: the response goes to the spider, which counts it. The wait sleeps only this request; other
requests keep flowing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.utils.response import response_status_message

from koubei.crawlers.health import STAT_PREFIX


def retry_after_seconds(value: bytes | str | None, at: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value (delta-seconds or HTTP-date)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (at or datetime.now(UTC))).total_seconds())


class PoliteRetryMiddleware(RetryMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        settings = crawler.settings
        self.backoff_base = settings.getfloat("KOUBEI_RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("KOUBEI_RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("KOUBEI_RETRY_AFTER_MAX", 120.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PoliteRetryMiddleware:
        return cls(crawler)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        attempt = request.meta.get("retry_times", 0)
        if attempt >= request.meta.get("max_retry_times", self.max_retry_times):
            return response  # give up: the spider sees and counts the status
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        stats = self.crawler.stats
        assert stats is not None
        if wait is not None:
            if wait > self.retry_after_max:
                stats.inc_value(f"{STAT_PREFIX}errors/retry_after_too_long")
                return response
            stats.inc_value(f"{STAT_PREFIX}retry_after_honoured")
        else:
            wait = min(self.backoff_max, self.backoff_base * 2**attempt)
        if wait > 0:
            await asyncio.sleep(wait)
        retry = self._retry(request, response_status_message(response.status))
        return retry or response

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry"):
            attempt = request.meta.get("retry_times", 0)
            wait = min(self.backoff_max, self.backoff_base * 2**attempt)
            if wait > 0:
                await asyncio.sleep(wait)
            return self._retry(request, exception)
        return None
