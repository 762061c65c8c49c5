"""Per-source user agent, login cookie and proxy, read from the environment at crawl time.

The YAML names environment variables (``cookie_env``, ``proxy_env``), never the values.
"""

from __future__ import annotations

import os
from typing import Any

from scrapy.crawler import Crawler
from scrapy.http import Request


class SourceAccessMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceAccessMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        spider: Any = self.crawler.spider
        source = getattr(spider, "source", None)
        if source is None:
            return
        if source.user_agent:
            request.headers[b"User-Agent"] = source.user_agent.encode()
        if source.cookie_env and os.environ.get(source.cookie_env):
            request.headers.setdefault(b"Cookie", os.environ[source.cookie_env].encode())
        if source.proxy_env and os.environ.get(source.proxy_env):
            request.meta.setdefault("proxy", os.environ[source.proxy_env])
