"""Fixtures for crawler tests: brands config, fast crawl settings, fixture sites, a real Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from koubei.config import BrandsConfig
from tests.crawlers.fixture_site import FixtureSite, Route

# No AutoThrottle delays and near-zero backoff: tests measure behaviour, not politeness timing.
FAST: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "KOUBEI_RETRY_BACKOFF_BASE": 0.01,
    "RETRY_TIMES": 2,
    "DOWNLOAD_TIMEOUT": 5,
    "LOG_LEVEL": "INFO",
}


@pytest.fixture
def brands() -> BrandsConfig:
    return BrandsConfig.model_validate(
        {
            "brands": [
                {
                    "name": "鲜牧",
                    "aliases": ["XianMu"],
                    "competitors": ["北岭"],
                    "exclude": ["鲜牧场"],
                },
                {"name": "北岭", "aliases": [], "exclude": ["北岭山"]},
            ]
        }
    )


@pytest.fixture
def fixture_site() -> Iterator[Any]:
    """``fixture_site(routes)`` starts a :class:`FixtureSite`; all are stopped after the test."""
    sites: list[FixtureSite] = []

    def start(routes: dict[str, Route], **kwargs: Any) -> FixtureSite:
        site = FixtureSite(routes, **kwargs)
        sites.append(site)
        return site

    yield start
    for site in sites:
        site.stop()


@contextmanager
def running_redis(
    workdir: Path, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real ``redis-server`` on a free 127.0.0.1 port (or ``port``), no persistence; its URL
    and process (a test may stop it early to see Redis go away, and start another on its port
    to see Redis restart empty)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (Debian package redis-server)")
    if port is None:
        with socket.socket() as probe:  # the kernel picks a free port; redis binds it next
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    args += ["no", "--daemonize", "no", "--dir", str(workdir)]
    log = open(workdir / f"redis-{port}.log", "ab")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    deadline = time.monotonic() + 15
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"redis-server exited with {proc.returncode}; see {workdir}/redis-{port}.log"
                )
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not answer PING on port {port} within 15 s")
                time.sleep(0.05)
        yield url, proc
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``redis-server`` on a free 127.0.0.1 port for the session; yields its URL."""
    with running_redis(tmp_path_factory.mktemp("redis")) as (url, _):
        yield url


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """The session Redis, emptied before the test so runs never see another test's keys."""
    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    yield redis_server
