"""``python -m koubei.crawlers.run_one JOB.json``: run one source's spider in this process.

Twisted's reactor cannot restart within a process, so :func:`koubei.crawlers.runner.crawl_sources`
starts one of these per source. The job file holds the source, the brands, the run id and
Scrapy setting overrides; the health (with the landing file) is written to
``$KOUBEI_HOME/health/<source>.json`` (merged with the run's other workers) and, for this
process alone, to ``JOB.json.result``.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from koubei.config import BrandsConfig, Source
from koubei.crawlers.health import Health, assess, write_health
from koubei.log import configure_logging
from koubei.stopping import when_gone


def source_settings(source: Source) -> dict[str, Any]:
    """Scrapy settings that come from a ``sources.yaml`` entry."""
    return {
        "ROBOTSTXT_OBEY": source.obey_robots,
        "CONCURRENT_REQUESTS_PER_DOMAIN": source.concurrency_per_domain,
    }


def make_only_written_records(level: int | str) -> None:
    """Make no log record under ``level``, the crawl's ``LOG_LEVEL``: none would be written.

    Scrapy's handlers (the crawl log's and the one counting ``log_count/*``) drop records under
    ``LOG_LEVEL``, but Scrapy sets its ``scrapy`` logger to DEBUG and leaves the root at
    ``NOTSET``, so every record is made first: a DEBUG ``Crawled (200)`` per response and
    ``Scraped from`` per item. Made, each is redacted (koubei.log's record factory: ``str()`` of
    its arguments, a page's whole item among them, and a walk of the environment for secrets
    per argument): 1,000 records no one reads, 0.25 of a 5,000-review crawl's 1.25 CPU seconds
    (``python -m bench crawl``, session 39). Loggers are only raised, never lowered (Scrapy's
    ``twisted`` at ERROR stays). Called once Scrapy has installed its handlers
    (``spider_opened``): installing its root handler resets the root to ``NOTSET``.
    """
    from scrapy.utils.log import DEFAULT_LOGGING

    floor = level if isinstance(level, int) else logging.getLevelNamesMapping()[level]
    scrapys: dict[str, Any] = DEFAULT_LOGGING["loggers"]  # type: ignore[assignment]
    names: list[str | None] = [None, *scrapys]  # None: the root
    for logger in map(logging.getLogger, names):
        if logger.level < floor:
            logger.setLevel(floor)


def run(
    source: Source, brands: BrandsConfig, run_id: str, overrides: dict[str, Any] | None = None
) -> Health:
    """Crawl ``source`` once in this process (the reactor starts and stops here)."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from koubei.crawlers.spiders import get_spider

    spider_cls = get_spider(source.platform)
    # Not Scrapy's project machinery (scrapy.cfg, the spider loader): a spider needs its source
    # and brands from config, so `koubei crawl` is the one way to run it.
    settings = Settings()
    settings.setmodule("koubei.crawlers.settings", priority="project")
    settings.update({**source_settings(source), **(overrides or {})}, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    crawler.signals.connect(
        lambda: make_only_written_records(crawler.settings.get("LOG_LEVEL")),
        signal=signals.spider_opened,
        weak=False,  # a lambda held weakly is gone before the signal
    )
    process.crawl(crawler, source=source, brands=brands, run_id=run_id)
    # Everything imported and built so far lives until the process ends; frozen, it is no
    # longer re-scanned by the collections the crawl's short-lived objects trigger, and a
    # larger first generation makes those rare (every 700 allocations by default: 150
    # collections in a 5,000-record crawl, ~5 % of its CPU; `python -m bench crawl`).
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    cpu_started = time.process_time()
    started_at = datetime.now(UTC).isoformat()
    process.start()
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    health = assess(source.name, source.platform, run_id, stats)
    health.cpu_s = round(time.process_time() - cpu_started, 3)
    health.started_at = started_at
    # Several processes may share this run (Redis scheduler); the health file merges them.
    health.worker = str(settings.get("KOUBEI_WORKER") or "")
    write_health(health)
    return health


def main(argv: list[str]) -> int:
    # This process's log is the crawl log (logs/crawl/): its lines are redacted as every koubei
    # log line is (a cookie_env or proxy_env value, REDIS_URL's password, a URL's token), which
    # Scrapy's own handler, installed by CrawlerProcess, then writes.
    configure_logging(stdlib_handler=False)
    job_path = Path(argv[0])
    job = json.loads(job_path.read_text(encoding="utf-8"))
    if job.get("owner"):
        # The runner that started this crawl killed (SIGKILL, the OOM killer, a SIGTERM to it
        # alone): the crawl went on, then crawled beside the next run of the source, whose
        # lock the kernel had released with the killed run, both advancing its state. Now it
        # stops as on a SIGTERM of its own: what was fetched lands, the state is kept.
        when_gone(int(job["owner"]), lambda: os.kill(os.getpid(), signal.SIGTERM))
    source = Source.model_validate(job["source"])
    brands = BrandsConfig.model_validate(job["brands"])
    health = run(source, brands, job["run_id"], job.get("settings"))
    result = job_path.with_name(job_path.name + ".result")
    result.write_text(json.dumps(health.to_dict(), ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
