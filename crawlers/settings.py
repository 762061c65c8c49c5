"""Scrapy settings for koubei's crawlers: polite by default.

Per-source values (robots, per-domain concurrency) are applied by ``koubei.crawlers.run_one`` from
``sources.yaml``. Set ``KOUBEI_SCHEDULER=redis`` (and ``REDIS_URL``) to share the request queue
and dupe filter between several crawler processes through scrapy-redis.
"""

from __future__ import annotations

import os

BOT_NAME = "koubei"

# No contact address of ours: a placeholder one would send a site's complaints nowhere. An
# operator puts theirs in a source's ``user_agent`` (sources.yaml), which replaces this.
USER_AGENT = "koubei-monitor/0.1 (+brand sentiment monitoring)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Callbacks yield one batch item per page, so a few item workers suffice; the default (100)
# spawns 100 asyncio tasks per response, which dominated CPU in `python -m bench crawl`.
CONCURRENT_ITEMS = 4
DOWNLOAD_TIMEOUT = 20
COOKIES_ENABLED = False  # a login cookie comes from cookie_env as a plain header
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no control port on a monitoring box

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
KOUBEI_RETRY_BACKOFF_BASE = 1.0
KOUBEI_RETRY_BACKOFF_MAX = 60.0
KOUBEI_RETRY_AFTER_MAX = 120.0

# Spiders see every status: a 403/412/432 is a block signal to count, not something to hide.
HTTPERROR_ALLOW_ALL = True

DOWNLOADER_MIDDLEWARES = {
    # Scrapy's, with the rules given to every request that waited for robots.txt (see there).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "koubei.crawlers.middlewares.robots.EveryWaiterRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "koubei.crawlers.middlewares.polite_retry.PoliteRetryMiddleware": 550,
    "koubei.crawlers.middlewares.access.SourceAccessMiddleware": 560,
}
ITEM_PIPELINES = {
    "koubei.crawlers.pipelines.dedup.DedupPipeline": 100,
    "koubei.crawlers.pipelines.landing.LandingPipeline": 900,
}

# Any case; the runner refuses a value that is no level before a crawl starts (crawl_log_level).
LOG_LEVEL = os.environ.get("KOUBEI_CRAWL_LOG_LEVEL", "").strip().upper() or "INFO"
FEED_EXPORT_ENCODING = "utf-8"

# Workers of one run share a run id and differ by KOUBEI_WORKER, which also names their landing
# file ``<run_id>.<worker>.jsonl`` (see crawlers/README.md).
KOUBEI_WORKER = os.environ.get("KOUBEI_WORKER", "")
if os.environ.get("KOUBEI_SCHEDULER") == "redis":
    SCHEDULER = "koubei.crawlers.distributed.RedisScheduler"
    DUPEFILTER_CLASS = "scrapy_redis.dupefilter.RFPDupeFilter"
    SCHEDULER_PERSIST = True  # a crashed worker's queue survives for its restart
    # The defaults live with the scheduler that reads them (one home, checked against the README).
    from koubei.crawlers.distributed import DEFAULT_IDLE_S, DEFAULT_LEASE_S, DEFAULT_REDIS_URL

    REDIS_URL = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    KOUBEI_REDIS_IDLE_S = float(os.environ.get("KOUBEI_REDIS_IDLE_S", DEFAULT_IDLE_S))
    KOUBEI_REDIS_LEASE_S = float(os.environ.get("KOUBEI_REDIS_LEASE_S", DEFAULT_LEASE_S))
