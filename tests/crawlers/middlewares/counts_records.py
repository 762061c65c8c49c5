"""A downloader middleware that counts the log records the crawl makes under its ``LOG_LEVEL``,
for the crawl-log tests: records no handler writes, each redacted for nothing.

From the first request (the crawl's handlers are in place by then) it wraps the record factory;
when the spider closes it logs the count at WARNING, a line the crawl log keeps.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.http import Request

logger = logging.getLogger(__name__)


class CountsRecordsMiddleware:
    def __init__(self, level: int) -> None:
        self.level = level
        self.made_under = 0
        self.counting = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> CountsRecordsMiddleware:
        level = logging.getLevelNamesMapping()[crawler.settings.get("LOG_LEVEL")]
        middleware = cls(level)
        crawler.signals.connect(middleware.closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if self.counting:
            return
        self.counting = True
        factory = logging.getLogRecordFactory()

        def counting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = factory(*args, **kwargs)
            self.made_under += record.levelno < self.level
            return record

        logging.setLogRecordFactory(counting_factory)

    def closed(self) -> None:
        logger.warning("records made under LOG_LEVEL: %d", self.made_under)
