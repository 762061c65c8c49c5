"""Drop records already emitted in this run (a post listed under several keywords lands once).

Items are page batches ``{"records": [...]}`` (see
``koubei.crawlers.spiders.base.batched``). Records
arrive already validated: the spider base builds each one through
:class:`koubei.model.Document`, so validating again here would only cost time. A record without
an ``id`` is still refused and counted.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from koubei.crawlers.health import STAT_PREFIX


class DedupPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.ids: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        return cls(crawler)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        stats = self.crawler.stats
        assert stats is not None
        kept = []
        for record in item.get("records", []):
            doc_id = record.get("id") if isinstance(record, dict) else None
            if not doc_id:
                stats.inc_value(f"{STAT_PREFIX}errors/invalid_item")
            elif doc_id in self.ids:
                stats.inc_value(f"{STAT_PREFIX}dropped/duplicate")
            else:
                self.ids.add(doc_id)
                kept.append(record)
        if not kept:
            raise DropItem("no new records in this batch")
        return {"records": kept}
