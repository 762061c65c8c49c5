"""The crawl subprocess's log (``logs/crawl/<source>/<run>.log``) is redacted as every koubei log
line is: a real crawl of a fixture site whose log lines would carry secrets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from koubei.config import BrandsConfig, Source
from koubei.crawlers import settings as crawl_settings
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply

REPOSITORY = Path(__file__).resolve().parents[2]
FEED_TOKEN = "feedT0ken-4f2a9c"
COOKIE = "SUB=_2A25cookieS3cret; _T_WM=42"
PROXY = "http://crawler:Pr0xyPassw0rd@127.0.0.1:3128"
REDIS_PASSWORD = "R3disPassw0rd"
PATH = "/comment/productPageComments.action"
PAGE = (
    '{"maxPage": 1, "comments": [{"id": 1, "content": "鲜牧好喝", '
    '"creationTime": "2026-11-24 10:00:00", "score": 5}]}'
)


def crawl_log(home: str, source: str) -> str:
    return (Path(home) / "logs" / "crawl" / source / "r.log").read_text(encoding="utf-8")


def test_a_token_in_a_feed_url_stays_out_of_the_crawl_log(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    # A private feed's URL carries its token; the feed failing, Scrapy's retry and the spider
    # log the URL at ERROR and WARNING. Before: the token stood in the crawl log as it was.
    site = fixture_site({"/private/rss.xml": lambda q: Reply("down", 500, "text/plain")})
    feed = f"{site.url}/private/rss.xml?token={FEED_TOKEN}"
    source = Source(name="private-news", platform="articles", feeds=[feed])

    [report] = crawl_sources([source], brands, run_id="r", settings=FAST)

    assert ("/private/rss.xml", {"token": FEED_TOKEN}) in site.requests  # the token was used
    assert report.stats["errors"] == {"http_500": 1}
    log = crawl_log(koubei_home, source.name)
    assert FEED_TOKEN not in log
    assert "/private/rss.xml?token=[REDACTED]" in log


def test_secrets_a_middleware_logs_in_the_crawl_are_redacted(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cookie_env and proxy_env values (variables named in sources.yaml, registered as
    # secrets when the subprocess validates its source) and REDIS_URL's password, in a log line
    # and in a logged traceback. Before: each stood in the crawl log as it was.
    monkeypatch.setenv("TEST_CRAWL_COOKIE", COOKIE)
    monkeypatch.setenv("TEST_CRAWL_PROXY", PROXY)
    monkeypatch.setenv("REDIS_URL", f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0")
    # (the subprocess imports the middleware from tests/, as the pytest process does)
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(REPOSITORY), path) if p))
    site = fixture_site({PATH: lambda q: Reply(PAGE)})
    source = Source(
        name="shop",
        platform="shop_json",
        base_url=site.url,
        product_ids=["1"],
        cookie_env="TEST_CRAWL_COOKIE",
        proxy_env="TEST_CRAWL_PROXY",
    )
    middlewares = {
        **crawl_settings.DOWNLOADER_MIDDLEWARES,
        "tests.crawlers.middlewares.logs_secrets.LogsSecretsMiddleware": 570,
    }

    [report] = crawl_sources(
        [source], brands, run_id="r", settings={**FAST, "DOWNLOADER_MIDDLEWARES": middlewares}
    )

    assert report.items == 1 and site.headers[-1]["Cookie"] == COOKIE  # the crawl ran with them
    log = crawl_log(koubei_home, source.name)
    assert "login check failed" in log and "Traceback" in log  # the middleware's lines are there
    for secret in (COOKIE, "_2A25cookieS3cret", "Pr0xyPassw0rd", REDIS_PASSWORD):
        assert secret not in log, secret
    assert "proxy=[REDACTED:TEST_CRAWL_PROXY]" in log
    assert "cookie=[REDACTED:TEST_CRAWL_COOKIE]" in log
    assert "redis=[REDACTED:REDIS_URL]" in log
    assert "PermissionError: login refused with cookie [REDACTED:TEST_CRAWL_COOKIE]" in log


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_the_crawl_makes_no_log_record_its_log_level_leaves_out(
    level: str,
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Scrapy logs each response and each item at DEBUG; at INFO no handler writes them, but each
    # was made and redacted (str() of a page's item, a walk of the environment per argument):
    # a fifth of a crawl's CPU (python -m bench crawl). Before: 2 records under INFO here.
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(REPOSITORY), path) if p))
    site = fixture_site({PATH: lambda q: Reply(PAGE)})
    source = Source(name="shop", platform="shop_json", base_url=site.url, product_ids=["1"])
    middlewares = {
        **crawl_settings.DOWNLOADER_MIDDLEWARES,
        "tests.crawlers.middlewares.counts_records.CountsRecordsMiddleware": 570,
    }

    [report] = crawl_sources(
        [source],
        brands,
        run_id="r",
        settings={**FAST, "LOG_LEVEL": level, "DOWNLOADER_MIDDLEWARES": middlewares},
    )

    assert report.items == 1
    log = crawl_log(koubei_home, source.name)
    assert "records made under LOG_LEVEL: 0" in log
    assert "Closing spider (finished)" in log  # INFO is written as before
    # DEBUG lines are written at DEBUG, as before
    assert ("Crawled (200)" in log) == (level == "DEBUG")
