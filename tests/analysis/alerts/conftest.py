"""Fixtures for the alerts tests: a fresh alerts DB, the demo webhook receiver, config builders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from koubei.config import AlertsConfig, ChannelConfig
from koubei.demo.receiver import Receiver, start_receiver
from koubei.timeutil import DEFAULT_TZ
from tests.analysis.alerts.platforms import PlatformServer

SECRET = "s3cret-for-tests"
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=DEFAULT_TZ)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "alerts" / "alerts.db"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    rec = start_receiver(SECRET, tmp_path / "received.jsonl")
    yield rec
    rec.stop()


def detection(
    minutes: float,
    severity: str = "warning",
    *,
    brand: str = "海底捞",
    detector: str = "negative_volume",
    score: float = 5.0,
    observed: float = 40,
    expected: float = 3,
    **extra: Any,
) -> dict[str, Any]:
    """A detection dict as ``koubei.analysis.detectors`` emits it, ``minutes`` after :data:`T0`."""
    at = T0 + timedelta(minutes=minutes)
    # the hour its figures count, ending with its 5-minute bin (the mention-surge's window)
    counted = {
        "count_start": (at - timedelta(minutes=55)).isoformat(),
        "count_end": (at + timedelta(minutes=5)).isoformat(),
    }
    return {
        "timestamp": at.isoformat(),
        "severity": severity,
        "score": score,
        "observed": observed,
        "expected": expected,
        "detector": detector,
        "series": brand,
        # as Detection.to_dict() gives it: a code and its figures (analysis/detectors/reasons.py)
        "reason": {
            "code": "volume_rise",
            "params": {
                "observed": observed,
                "expected": expected,
                "window": 3600,
                "interval": 300,
                **counted,
            },
        },
        **extra,
        # and in its details, beside what the caller gives there (as Detector.details_at does)
        "details": {**counted, **extra.get("details", {})},
    }


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def webhook_config(
    monkeypatch: pytest.MonkeyPatch, url: str, *, name: str = "oncall", **options: Any
) -> AlertsConfig:
    """An AlertsConfig with one generic webhook channel whose URL and secret are in the env."""
    monkeypatch.setenv("T_HOOK_URL", url)
    monkeypatch.setenv("T_HOOK_SECRET", SECRET)
    channel = ChannelConfig(
        name=name,
        type="webhook",
        min_severity="info",
        options={"url_env": "T_HOOK_URL", "secret_env": "T_HOOK_SECRET", **options},
    )
    return AlertsConfig(channels=[channel])


@pytest.fixture
def dead_url() -> str:
    """A 127.0.0.1 URL nobody listens on: a receiver that is down."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def am_channels(monkeypatch: pytest.MonkeyPatch, url: str, **options: Any) -> list[Any]:
    """The built channel list of one ``alertmanager`` channel named ``am`` posting to ``url``."""
    from koubei.analysis.alerts.channels import build_channels

    monkeypatch.setenv("T_AM_URL", url)
    channel = ChannelConfig(
        name="am",
        type="alertmanager",
        min_severity="info",
        options={"url_env": "T_AM_URL", **options},
    )
    return build_channels(AlertsConfig(channels=[channel]))


def alerts_status(db_path: Path) -> dict[str, Any]:
    """What ``koubei alerts status --json`` shows, run as on-call staff run it."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "koubei.flows.cli",
            "alerts",
            "status",
            "--db",
            str(db_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stdout))


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real ``prometheus-alertmanager`` on a free 127.0.0.1 port; yields its base URL."""
    import shutil
    import socket
    import subprocess
    import time

    import httpx

    binary = shutil.which("prometheus-alertmanager")
    assert binary, "prometheus-alertmanager (Debian package) is required"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n",
        encoding="utf-8",
    )
    log = open(tmp_path / "alertmanager.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "alertmanager.log").read_text()
            try:
                if httpx.get(f"{url}/-/ready", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "alertmanager did not become ready in 30 s"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def servers() -> Iterator[list[PlatformServer]]:
    """Doc-faithful platform receivers a test starts; all stopped after it."""
    started: list[PlatformServer] = []
    yield started
    for server in started:
        server.stop()
