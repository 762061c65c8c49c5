"""A downloader middleware that logs the secrets a request carries, for the crawl-log tests.

It stands for any spider, middleware or library in the crawl subprocess that puts a secret in a
log line or a traceback (a proxy rotator naming the proxy it chose, a login check quoting the
cookie it sent). Enabled through the job's settings; the subprocess imports it from ``tests``.
"""

from __future__ import annotations

import logging
import os

from scrapy.http import Request

logger = logging.getLogger(__name__)


class LogsSecretsMiddleware:
    """Logs the request's cookie, proxy and ``REDIS_URL``, then sends it without the proxy (no
    proxy runs in the tests), so the crawl reaches the fixture site."""

    def process_request(self, request: Request) -> None:
        cookie = request.headers.get(b"Cookie", b"").decode()
        proxy = request.meta.pop("proxy", None)
        logger.warning("proxy=%s cookie=%s redis=%s", proxy, cookie, os.environ.get("REDIS_URL"))
        try:
            raise PermissionError(f"login refused with cookie {cookie}")
        except PermissionError:
            logger.exception("login check failed for %s", request.url)
