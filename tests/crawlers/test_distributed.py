"""``KOUBEI_SCHEDULER=redis``: worker processes of one source share a real Redis queue.

Every crawl here is a real ``python -m koubei.crawlers.run_one`` subprocess fetching JD-shape review
pages over HTTP from a fixture site that logs each request; Redis is the session's real server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from koubei import jsonl, paths
from koubei.config import BrandsConfig, Source
from koubei.crawlers.distributed import run_key
from koubei.crawlers.health import read_health
from koubei.crawlers.runner import CrawlReport, crawl_sources
from koubei.crawlers.state import page_of
from tests.crawlers.conftest import FAST, running_redis
from tests.crawlers.fixture_site import FixtureSite, Reply

PATH = "/comment/productPageComments.action"
PRODUCTS = [str(5001 + i) for i in range(6)]
PAGES = 4
PER_PAGE = 5
# Two requests in flight per worker: the first worker cannot swallow the whole queue.
SLOW: dict[str, Any] = {**FAST, "CONCURRENT_REQUESTS": 2, "DOWNLOAD_TIMEOUT": 30}
DEFAULT_SCHEDULER = "scrapy.core.scheduler.Scheduler"
DEFAULT_DUPES = "scrapy.dupefilters.RFPDupeFilter"


class ShopSite:
    """Routes for a JD-shape shop: ``PRODUCTS`` x ``PAGES`` pages of ``PER_PAGE`` reviews.

    ``workers``: page replies wait until that many crawler processes have fetched robots.txt
    (each process fetches it once, before its first page), so every worker gets to take work.
    ``hold_after``: page replies after that many wait for :attr:`release` (a crawl "midway").
    """

    def __init__(self, workers: int = 1, hold_after: int | None = None) -> None:
        self.workers = workers
        self.hold_after = hold_after
        self.robots = 0
        self.served = 0
        self.held = 0
        self.all_up = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def routes(self) -> dict[str, Any]:
        return {"/robots.txt": self.robots_txt, PATH: self.page}

    def robots_txt(self, query: dict[str, str]) -> Reply:
        with self.lock:
            self.robots += 1
            if self.robots >= self.workers:
                self.all_up.set()
        return Reply("User-agent: *\nAllow: /\n", 200, "text/plain")

    def page(self, query: dict[str, str]) -> Reply:
        assert self.all_up.wait(20), "not every worker came up"
        with self.lock:
            hold = self.hold_after is not None and self.served >= self.hold_after
            self.held += hold
            self.served += not hold
        if hold:
            self.release.wait(20)
        time.sleep(0.02)  # a little latency so the work interleaves
        product, page = query["productId"], int(query["page"])
        comments = [
            {
                "id": review_id(product, page, i),
                "content": f"鲜牧牛奶 第{page}页 第{i}条",
                "creationTime": f"2026-11-{20 - page:02d} {12 - i:02d}:00:00",
                "referenceId": product,
                "referenceName": "鲜牧 纯牛奶",
                "score": 4,
                "nickname": "u***1",
            }
            for i in range(PER_PAGE)
        ]
        return Reply(json.dumps({"maxPage": PAGES, "comments": comments}, ensure_ascii=False))


def review_id(product: str, page: int, i: int) -> int:
    return int(product) * 1000 + page * 10 + i


ALL_IDS = sorted(
    f"shop_json:{review_id(p, page, i)}"
    for p in PRODUCTS
    for page in range(PAGES)
    for i in range(PER_PAGE)
)


def page_hits(site: FixtureSite) -> Counter[tuple[str, str]]:
    return Counter((q["productId"], q["page"]) for q in site.hits(PATH))


def landed_ids(*files: Path | None) -> list[str]:
    ids = []
    for path in files:
        assert path is not None and path.exists()
        ids += [r["id"] for r in jsonl.read(path)]
    return ids


def size(client: redis.Redis, key: str) -> int:
    """Members of a sorted set (redis-py's sync return type is not narrowed for mypy)."""
    return cast(int, client.zcard(key))


def shop(site: FixtureSite, name: str) -> Source:
    return Source(name=name, platform="shop_json", base_url=site.url, product_ids=PRODUCTS)


@pytest.fixture
def redis_mode(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> redis.Redis:
    """Switch crawls started from now on to the Redis scheduler; a client for checks."""
    monkeypatch.setenv("KOUBEI_SCHEDULER", "redis")
    monkeypatch.setenv("REDIS_URL", redis_url)
    return redis.Redis.from_url(redis_url)


def test_two_workers_split_one_source_and_fetch_each_page_once(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOUBEI_SCHEDULER", "redis")
    monkeypatch.setenv("REDIS_URL", redis_url)
    shared = ShopSite(workers=2)
    site = fixture_site(shared.routes())
    source = shop(site, "shop")
    single_site = fixture_site(ShopSite().routes())

    def worker(name: str) -> CrawlReport:
        if name == "single":  # the baseline: one process, Scrapy's own scheduler
            settings = {**SLOW, "SCHEDULER": DEFAULT_SCHEDULER, "DUPEFILTER_CLASS": DEFAULT_DUPES}
            baseline = shop(single_site, "single")
            [report] = crawl_sources([baseline], brands, run_id="r1", settings=settings)
        else:
            settings = {**SLOW, "KOUBEI_WORKER": name, "KOUBEI_REDIS_IDLE_S": 1}
            [report] = crawl_sources([source], brands, run_id="r1", settings=settings)
        return report

    with ThreadPoolExecutor(3) as pool:
        single, a, b = pool.map(worker, ["single", "a", "b"])
    assert sorted(landed_ids(single.landing_file)) == ALL_IDS

    home = Path(koubei_home) / "landing" / "shop"
    assert (a.landing_file, b.landing_file) == (home / "r1.a.jsonl", home / "r1.b.jsonl")
    ids = landed_ids(a.landing_file, b.landing_file)
    assert len(ids) == len(set(ids))  # no item in both files
    assert sorted(ids) == sorted(landed_ids(single.landing_file))
    # Each page was fetched exactly once across the two processes, and both did some.
    hits = page_hits(site)
    assert set(hits) == {(p, str(n)) for p in PRODUCTS for n in range(PAGES)}
    assert set(hits.values()) == {1}
    assert a.stats["pages"] + b.stats["pages"] == len(PRODUCTS) * PAGES
    assert a.stats["pages"] > 0 and b.stats["pages"] > 0
    assert a.items > 0 and b.items > 0 and a.status == b.status == "ok"
    # The source's health is the two processes' merged, not whichever finished last.
    health = read_health("shop")
    assert health is not None and health["workers"] == ["a", "b"]
    assert (health["pages"], health["items"]) == (len(PRODUCTS) * PAGES, a.items + b.items)
    assert sorted(health["landing_files"]) == sorted(map(str, (a.landing_file, b.landing_file)))
    # Both saved the source's incremental state; neither overwrote the other's part.
    state = json.loads((Path(koubei_home) / "crawl-state" / "shop.json").read_text())
    assert set(state["watermarks"]) == {f"product:{p}" for p in PRODUCTS}
    assert sorted(page_of(mark) for mark in state["seen"]) == ALL_IDS  # as of their brands
    # Both closed "finished": nothing is left in flight for a restart to reclaim.
    client = redis.Redis.from_url(redis_url)
    assert not client.keys(f"{run_key('shop', 'r1')}:processing:*")
    assert size(client, f"{run_key('shop', 'r1')}:requests") == 0


def start_worker(
    source: Source, brands: BrandsConfig, run_id: str, settings: dict[str, Any], job_dir: Path
) -> subprocess.Popen[bytes]:
    """``python -m koubei.crawlers.run_one`` as :func:`crawl_sources` starts it; we kill it."""
    job = job_dir / "job.json"
    job.write_text(
        json.dumps(
            {
                "source": source.model_dump(mode="json"),
                "brands": brands.model_dump(mode="json"),
                "run_id": run_id,
                "settings": settings,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    log = open(job_dir / "worker.log", "wb")  # noqa: SIM115 - the child holds it; closed below
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "koubei.crawlers.run_one", str(job)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "KOUBEI_HOME": str(paths.home())},
        )
    finally:
        log.close()


def test_a_killed_worker_is_resumed_from_redis_and_lands_every_item_once(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    redis_mode: redis.Redis,
    tmp_path: Path,
) -> None:
    shared = ShopSite(hold_after=8)
    site = fixture_site(shared.routes())
    source = shop(site, "shop")
    settings = {**SLOW, "KOUBEI_WORKER": "a", "KOUBEI_REDIS_IDLE_S": 0}
    key = run_key("shop", "r1")

    proc = start_worker(source, brands, "r1", settings, tmp_path)
    deadline = time.monotonic() + 30
    while shared.held < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert shared.held == 2, (tmp_path / "worker.log").read_text()
    proc.send_signal(signal.SIGKILL)  # mid-crawl: 8 pages answered, 2 in flight
    assert proc.wait(10) == -signal.SIGKILL
    fetched_by_dead = set(page_hits(site))
    taken, queued = size(redis_mode, f"{key}:processing:a"), size(redis_mode, f"{key}:requests")
    assert taken == 10 and queued > 0  # the taken requests and the rest persist in Redis
    landing = Path(koubei_home) / "landing" / "shop"
    assert not (landing / "r1.a.jsonl").exists()  # the killed process landed nothing
    shared.release.set()

    [resumed] = crawl_sources([source], brands, run_id="r1", settings=settings)

    ids = landed_ids(resumed.landing_file)
    assert resumed.landing_file == landing / "r1.a.jsonl"
    assert sorted(ids) == ALL_IDS  # every item, each once
    assert resumed.status == "ok" and resumed.items == len(ALL_IDS)
    assert not list(landing.glob("*.part"))
    # Only what the dead process had taken was fetched again; the queued rest exactly once.
    hits = page_hits(site)
    assert set(hits) == {(p, str(n)) for p in PRODUCTS for n in range(PAGES)}
    assert {page for page, n in hits.items() if n > 1} == fetched_by_dead
    log = (Path(koubei_home) / "logs" / "crawl" / "shop" / "r1.a.log").read_text()
    assert f"queued={queued + taken} reclaimed={taken}" in log
    assert size(redis_mode, f"{key}:processing:a") == 0


def test_a_later_run_is_not_filtered_by_an_earlier_runs_fingerprints(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, redis_mode: redis.Redis
) -> None:
    site = fixture_site(ShopSite().routes())
    source = shop(site, "shop")
    settings = {**SLOW, "KOUBEI_REDIS_IDLE_S": 0}
    [first] = crawl_sources([source], brands, run_id="r1", settings=settings)
    assert first.items == len(ALL_IDS) and first.landing_file is not None
    assert first.landing_file.name == "r1.jsonl"  # no KOUBEI_WORKER: the usual name
    site.requests.clear()

    [second] = crawl_sources([source], brands, run_id="r2", settings=settings)

    # The same start URLs are fetched again (scrapy-redis would key its persisted dupe filter
    # by spider name and filter them all); every review is known, so paging stops at page 0.
    assert sorted(page_hits(site)) == [(p, "0") for p in PRODUCTS]
    assert second.items == 0 and second.stats["known"] == len(PRODUCTS) * PER_PAGE
    assert cast(int, redis_mode.ttl(f"{run_key('shop', 'r1')}:dupefilter")) > 0  # old runs expire


def test_a_killed_worker_that_never_returns_has_its_requests_taken_over(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    redis_mode: redis.Redis,
    tmp_path: Path,
) -> None:
    # Two workers on one source; "a" is killed mid-crawl and never restarted. Its taken
    # requests stayed in processing:a for good and "b" closed without them: their items were
    # lost (the dead process's .part never landed). Now "b" takes them once a's lease expires.
    shared = ShopSite(workers=2, hold_after=6)
    site = fixture_site(shared.routes())
    source = shop(site, "shop")
    key = run_key("shop", "r1")
    lease = {"KOUBEI_REDIS_IDLE_S": 0, "KOUBEI_REDIS_LEASE_S": 1.5}
    dead = start_worker(source, brands, "r1", {**SLOW, **lease, "KOUBEI_WORKER": "a"}, tmp_path)
    with ThreadPoolExecutor(1) as pool:
        survivor = pool.submit(
            crawl_sources,
            [source],
            brands,
            run_id="r1",
            settings={**SLOW, **lease, "KOUBEI_WORKER": "b"},
        )
        deadline = time.monotonic() + 30
        while size(redis_mode, f"{key}:processing:a") < 2 or shared.held < 4:
            assert time.monotonic() < deadline and dead.poll() is None, "a took no work"
            time.sleep(0.02)
        dead.send_signal(signal.SIGKILL)  # a holds answered and in-flight requests
        assert dead.wait(10) == -signal.SIGKILL
        taken = size(redis_mode, f"{key}:processing:a")
        shared.release.set()
        [report] = survivor.result(timeout=120)

    landing = Path(koubei_home) / "landing" / "shop"
    assert not (landing / "r1.a.jsonl").exists()
    assert report.landing_file == landing / "r1.b.jsonl"
    assert sorted(landed_ids(report.landing_file)) == ALL_IDS  # every item, each once
    assert report.status == "ok"
    assert set(page_hits(site)) == {(p, str(n)) for p in PRODUCTS for n in range(PAGES)}
    log = (Path(koubei_home) / "logs" / "crawl" / "shop" / "r1.b.log").read_text()
    assert f"put back {taken} request(s) of a worker whose lease expired" in log
    assert not redis_mode.keys(f"{key}:processing:*")


@contextmanager
def _shared_crawl_with_redis_stopped(
    fixture_site: Any, brands: BrandsConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ShopSite, Future[list[CrawlReport]], str]]:
    """A shared crawl (run ``r1`` of source ``shop``) held after its sixth page, then its Redis
    stopped: yields the site (``release`` lets the crawl go on), the crawl and Redis' URL."""
    shared = ShopSite(hold_after=6)
    source = shop(fixture_site(shared.routes()), "shop")
    with running_redis(tmp_path) as (url, server), ThreadPoolExecutor(1) as pool:
        monkeypatch.setenv("KOUBEI_SCHEDULER", "redis")
        monkeypatch.setenv("REDIS_URL", url)
        settings = {**SLOW, "KOUBEI_REDIS_IDLE_S": 0}
        crawl = pool.submit(
            crawl_sources, [source], brands, run_id="r1", settings=settings, timeout=60
        )
        deadline = time.monotonic() + 30
        while shared.held < 2:
            assert time.monotonic() < deadline and not crawl.done(), "the crawl never got going"
            time.sleep(0.02)
        server.terminate()
        assert server.wait(10) == 0
        yield shared, crawl, url


def test_redis_going_away_mid_crawl_ends_the_crawl_at_once_and_lands_what_it_fetched(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The scheduler's ConnectionError surfaced inside Scrapy's engine loop, which logged it and
    # kept polling: the crawl hung until the runner killed it (30 minutes by default; 60 s
    # here) and nothing it had fetched landed.
    stopped = _shared_crawl_with_redis_stopped(fixture_site, brands, tmp_path, monkeypatch)
    with stopped as (shared, crawl, _):
        started = time.monotonic()
        shared.release.set()
        [report] = crawl.result(timeout=90)
    assert time.monotonic() - started < 20
    assert report.status == "degraded" and report.stats["errors"] == {"redis_unavailable": 1}
    # The six pages answered before Redis went (and those in flight) landed.
    assert report.landing_file is not None and len(landed_ids(report.landing_file)) >= 6 * PER_PAGE
    log = (Path(koubei_home) / "logs" / "crawl" / "shop" / "r1.log").read_text()
    assert "Redis stopped answering" in log
    # The crawl state is kept, as for a lost page: the next run pages up to what was not fetched.
    assert not (Path(koubei_home) / "crawl-state" / "shop.json").exists()


def test_redis_restarting_empty_mid_crawl_is_not_taken_for_the_end_of_the_queue(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis restarted without persistence (a container restart, the default ``--save ""``
    of a cache) comes back at once and empty: redis-py reconnects, the worker's queue reads
    empty, and the crawl used to finish ``ok`` with most pages never fetched, saving a crawl
    state that made the next run skip them for good."""
    stopped = _shared_crawl_with_redis_stopped(fixture_site, brands, tmp_path, monkeypatch)
    with stopped as (shared, crawl, url):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with running_redis(tmp_path, port=port):
            shared.release.set()
            [report] = crawl.result(timeout=90)
    assert report.status == "degraded" and report.stats["errors"] == {"redis_data_lost": 1}
    assert report.landing_file is not None and len(landed_ids(report.landing_file)) >= 6 * PER_PAGE
    log = (Path(koubei_home) / "logs" / "crawl" / "shop" / "r1.log").read_text()
    assert "Redis lost this run's keys" in log
    assert not (Path(koubei_home) / "crawl-state" / "shop.json").exists()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        # urllib ends the host at '/', '?' or '#': the password's rest became the "database"
        # (shown whole, password and all) or the "port" (the parser's message quoted it).
        ("redis://:pa/ss-word1@127.0.0.1:9/0", "percent-encode them (%2F, %3F, %23)"),
        ("redis://u:pa#ss-word1@127.0.0.1:9/0", "percent-encode them"),
        ("redis://u:pa?ss-word1@127.0.0.1:9/0", "percent-encode them"),
        # An '@' in the password: what followed it was shown ('redis://***@ss-word1@...').
        ("redis://:pa@ss-word1@127.0.0.1:9/0", "Redis does not answer"),
    ],
)
def test_an_unusable_redis_url_is_named_without_any_of_its_password(url: str, words: str) -> None:
    from koubei.crawlers.distributed import RedisUnavailable, check_shared_queue

    with pytest.raises(RedisUnavailable) as info:
        check_shared_queue({}, {"KOUBEI_SCHEDULER": "redis", "REDIS_URL": url})
    message = str(info.value)
    assert message.startswith("REDIS_URL='redis://***@127.0.0.1:9/0': ") and words in message
    assert "ss-word1" not in message


def test_a_password_holding_an_at_sign_is_refused_by_redis_without_being_shown(
    tmp_path: Path,
) -> None:
    from koubei.crawlers.distributed import RedisUnavailable, check_shared_queue

    with running_redis(tmp_path) as (url, _):
        client = redis.Redis.from_url(url)
        client.config_set("requirepass", "right@pass-word")
        client.close()
        good = url.replace("redis://", "redis://:right@pass-word@")
        check_shared_queue({}, {"KOUBEI_SCHEDULER": "redis", "REDIS_URL": good})
        wrong = url.replace("redis://", "redis://:wrong@pass-word2@")
        with pytest.raises(RedisUnavailable) as info:
            check_shared_queue({}, {"KOUBEI_SCHEDULER": "redis", "REDIS_URL": wrong})
    message = str(info.value)
    assert message.startswith(f"REDIS_URL='{url.replace('redis://', 'redis://***@')}'")
    assert "Redis answered but refused its credentials" in message and "pass-word2" not in message


def test_credentials_redis_refuses_are_named_as_such_not_as_redis_down(tmp_path: Path) -> None:
    # A wrong password, or none where Redis requires one, read "Redis does not answer (...);
    # start redis-server": the operator went to start a server that was running. An ACL user
    # named `user` was also scrubbed out of Redis's own words ("invalid ***name-password pair").
    from koubei.crawlers.distributed import RedisUnavailable, check_shared_queue

    with running_redis(tmp_path) as (url, _):
        client = redis.Redis.from_url(url)
        client.config_set("requirepass", "right-pass-word")
        client.close()
        cases = {
            url: "(Authentication required.)",
            url.replace("redis://", "redis://:wrong-pass-word@"): "(invalid username-password",
            url.replace("redis://", "redis://user:wrong-pass-word@"): "(invalid username-password "
            "pair or user is disabled.)",
        }
        for given, words in cases.items():
            with pytest.raises(RedisUnavailable) as info:
                check_shared_queue({}, {"KOUBEI_SCHEDULER": "redis", "REDIS_URL": given})
            message = str(info.value)
            assert "Redis answered but refused its credentials " + words in message, message
            assert "start redis-server" not in message and "wrong-pass-word" not in message


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        ("requests", "redis_damaged"),  # the run's queue a string: WRONGTYPE
        ("token", "redis_damaged"),  # the run's token bytes that are no text
        ("entry", "redis_bad_request"),  # an entry of the queue that is no request
    ],
)
def test_a_damaged_key_of_the_run_is_named_not_a_traceback(
    fixture_site: Any,
    brands: BrandsConfig,
    koubei_home: str,
    redis_mode: redis.Redis,
    damage: str,
    error: str,
) -> None:
    """Keys of the run of another kind (a hand edit, another program's key by that name),
    or garbage in its queue: the scheduler raised out of Scrapy's start-up (a traceback,
    ``RuntimeError: Scraper slot not assigned``, the health's only error `closed_shutdown`,
    no key named) or out of each pop (a traceback per entry, the crawl ``ok``)."""
    prefix = run_key("shop", "r1")
    if damage == "requests":
        redis_mode.set(f"{prefix}:requests", "x")
    elif damage == "token":
        redis_mode.set(f"{prefix}:run", b"\xff\xfe")
    else:
        redis_mode.zadd(f"{prefix}:requests", {b"\xff\x00garbage": 0})
    site = fixture_site(ShopSite().routes())
    settings = {**SLOW, "KOUBEI_REDIS_IDLE_S": 0}
    [report] = crawl_sources([shop(site, "shop")], brands, run_id="r1", settings=settings)
    assert report.status == "degraded" and report.stats["errors"] == {error: 1}
    log = (Path(koubei_home) / "logs" / "crawl" / "shop" / "r1.log").read_text()
    assert "Traceback" not in log
    if damage == "entry":  # dropped, named; every page fetched, the crawl state kept
        assert f"an entry of {prefix}:requests is no request (9 bytes" in log
        assert sorted(landed_ids(report.landing_file)) == ALL_IDS
    else:
        assert f"a key of this run ({prefix}:*) holds a value of another kind" in log
    assert not (Path(koubei_home) / "crawl-state" / "shop.json").exists()
