"""Delivery through the durable outbox to the real demo receiver on 127.0.0.1."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from koubei.analysis.alerts.channels import build_channels
from koubei.analysis.alerts.delivery import backoff_delay, deliver_pending
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.outbox import counts, notifications
from koubei.demo.receiver import start_receiver
from tests.analysis.alerts.conftest import SECRET, at, detection, webhook_config

REPO = Path(__file__).resolve().parents[3]


def fire(db_path: Path, minutes: float = 0, channels: tuple[str, ...] = ("oncall",)) -> None:
    IncidentStore(db_path).observe(
        "海底捞", [detection(minutes)], now=at(minutes + 1), channels=list(channels)
    )


def test_delivers_signed_payload_once(db_path, receiver, monkeypatch) -> None:
    channels = build_channels(webhook_config(monkeypatch, receiver.url))
    fire(db_path)
    report = deliver_pending(db_path, channels, now=at(1))
    assert len(report.delivered) == 1
    assert deliver_pending(db_path, channels, now=at(2)).delivered == []
    (payload,) = receiver.received()
    assert payload["brand"] == "海底捞" and payload["status"] == "firing"
    assert receiver.rejected == []
    assert counts(db_path) == {"delivered": 1}


def test_5xx_is_retried_with_backoff_then_delivered(db_path, tmp_path, monkeypatch) -> None:
    with start_receiver(SECRET, tmp_path / "r.jsonl", fail_first=2) as flaky:
        channels = build_channels(webhook_config(monkeypatch, flaky.url))
        fire(db_path)
        first = deliver_pending(db_path, channels, now=at(1), rng=random.Random(1))
        assert len(first.retrying) == 1
        (row,) = notifications(db_path)
        assert row.status == "pending" and row.attempts == 1 and "503" in (row.last_error or "")
        # Not due yet: nothing is attempted before next_attempt_at.
        assert deliver_pending(db_path, channels, now=at(1)).retrying == []
        second = deliver_pending(db_path, channels, now=at(1) + timedelta(seconds=11))
        assert len(second.retrying) == 1
        third = deliver_pending(db_path, channels, now=at(1) + timedelta(seconds=60))
        assert len(third.delivered) == 1
        assert flaky.requests == 3 and len(flaky.received()) == 1


def test_backoff_grows_exponentially_with_jitter_and_cap() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, base=10, cap=600, rng=rng) for n in range(1, 9)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(600, 10 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not a fixed ladder


def test_receiver_down_then_up_gets_it_exactly_once(db_path, tmp_path, monkeypatch) -> None:
    out = tmp_path / "r.jsonl"
    probe = start_receiver(SECRET, out)
    port, url = probe.port, probe.url
    probe.stop()  # down: connection refused
    channels = build_channels(webhook_config(monkeypatch, url))
    fire(db_path)
    assert len(deliver_pending(db_path, channels, now=at(1)).retrying) == 1
    with start_receiver(SECRET, out, port=port) as back:
        later = at(1) + timedelta(minutes=5)
        assert len(deliver_pending(db_path, channels, now=later).delivered) == 1
        assert deliver_pending(db_path, channels, now=later + timedelta(hours=1)).delivered == []
        assert len(back.received()) == 1


def test_slow_receiver_times_out_then_is_deduplicated(db_path, tmp_path, monkeypatch) -> None:
    # The receiver stores the alert but answers after our timeout: we retry with the same key,
    # and the receiver de-duplicates, so on-call sees it once.
    with start_receiver(SECRET, tmp_path / "r.jsonl", delay=1.0) as slow:
        channels = build_channels(webhook_config(monkeypatch, slow.url, timeout=0.3))
        fire(db_path)
        assert len(deliver_pending(db_path, channels, now=at(1)).retrying) == 1
        slow.delay = 0
        report = deliver_pending(db_path, channels, now=at(1) + timedelta(minutes=5))
        assert len(report.delivered) == 1
        assert len(slow.received()) == 1 and slow.duplicates == 1


def test_exhausted_attempts_stay_visible_as_failed(db_path, tmp_path, monkeypatch) -> None:
    with start_receiver(SECRET, tmp_path / "r.jsonl", fail_first=100) as broken:
        channels = build_channels(webhook_config(monkeypatch, broken.url))
        fire(db_path)
        moment = at(1)
        for _ in range(3):
            deliver_pending(db_path, channels, now=moment, max_attempts=3)
            moment += timedelta(hours=2)
        (row,) = notifications(db_path, status="failed")
        assert row.attempts == 3 and "503" in (row.last_error or "")
        assert deliver_pending(db_path, channels, now=moment, max_attempts=3).failed == []


def test_wrong_secret_is_not_retried(db_path, receiver, monkeypatch) -> None:
    config = webhook_config(monkeypatch, receiver.url)
    monkeypatch.setenv("T_HOOK_SECRET", "not-the-secret")
    fire(db_path)
    report = deliver_pending(db_path, build_channels(config), now=at(1))
    assert len(report.failed) == 1 and receiver.received() == []
    assert receiver.rejected == ["bad signature or stale timestamp"]


class FakeClock:
    """Real pacing logic on a simulated clock: ``sleep`` advances ``now``."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now, self.slept = start, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limit_waits_inside_the_run_without_spending_attempts(
    db_path, receiver, monkeypatch
) -> None:
    channels = build_channels(webhook_config(monkeypatch, receiver.url, rate_per_minute=2))
    store = IncidentStore(db_path)
    for brand in ("甲", "乙", "丙"):
        store.observe(brand, [detection(0, brand=brand)], now=at(1), channels=["oncall"])
    clock = FakeClock()
    report = deliver_pending(db_path, channels, now=at(1), clock=clock, sleep=clock.sleep)
    assert len(report.delivered) == 3 and report.deferred == []
    assert 60 <= sum(clock.slept) <= 62  # the third waited for the first to leave the minute
    assert {n.attempts for n in notifications(db_path)} == {1}
    assert [p["brand"] for p in receiver.received()] == ["甲", "乙", "丙"]


def test_rate_limit_beyond_the_wait_budget_is_deferred(db_path, receiver, monkeypatch) -> None:
    channels = build_channels(webhook_config(monkeypatch, receiver.url, rate_per_minute=2))
    store = IncidentStore(db_path)
    for brand in ("甲", "乙", "丙"):
        store.observe(brand, [detection(0, brand=brand)], now=at(1), channels=["oncall"])
    clock = FakeClock()
    report = deliver_pending(
        db_path, channels, now=at(1), clock=clock, sleep=clock.sleep, max_wait=10
    )
    assert len(report.delivered) == 2 and len(report.deferred) == 1
    (waiting,) = notifications(db_path, status="pending")
    assert waiting.attempts == 0
    clock.now += 61
    later = deliver_pending(
        db_path, channels, now=at(3), clock=clock, sleep=clock.sleep, max_wait=10
    )
    assert len(later.delivered) == 1 and len(receiver.received()) == 3


def test_unknown_channel_rows_wait(db_path, receiver, monkeypatch) -> None:
    fire(db_path, channels=("elsewhere",))
    channels = build_channels(webhook_config(monkeypatch, receiver.url))
    report = deliver_pending(db_path, channels, now=at(2))
    assert len(report.skipped) == 1 and counts(db_path) == {"pending": 1}


ENQUEUE_AND_HANG = """
import sys, time
from pathlib import Path
from koubei.analysis.alerts.incidents import IncidentStore
from tests.analysis.alerts.conftest import at, detection
notes = IncidentStore(Path(sys.argv[1])).observe(
    "海底捞", [detection(0)], now=at(1), channels=["oncall"])
print(len(notes), flush=True)
time.sleep(60)  # killed here, before any delivery
"""


@pytest.mark.timeout(60)
def test_kill_between_enqueue_and_delivery_delivers_next_run(db_path, receiver, tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "KOUBEI_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-c", ENQUEUE_AND_HANG, str(db_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "1"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert receiver.received() == []
    # A fresh process delivers through the CLI, reading the channel from alerts.yaml.
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "alerts.yaml").write_text(
        "channels:\n  - name: oncall\n    type: webhook\n    min_severity: info\n"
        "    options: {url_env: T_HOOK_URL, secret_env: T_HOOK_SECRET}\n",
        encoding="utf-8",
    )
    env.update(T_HOOK_URL=receiver.url, T_HOOK_SECRET=SECRET, KOUBEI_CONFIG_DIR=str(config_dir))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "koubei.flows.cli",
            "alerts",
            "deliver",
            "--db",
            str(db_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["delivered"] == 1
    (payload,) = receiver.received()
    assert payload["brand"] == "海底捞"


def test_firing_updated_resolved_reach_the_receiver(db_path, receiver, monkeypatch) -> None:
    channels = build_channels(webhook_config(monkeypatch, receiver.url))
    store = IncidentStore(db_path)
    steps = [([detection(0)], 1), ([detection(5, "critical")], 6), ([], 40)]
    for detections, minute in steps:
        store.observe("海底捞", detections, now=at(minute), channels=channels)
        deliver_pending(db_path, channels, now=at(minute))
    received = receiver.received()
    assert [(p["event"], p["status"], p["severity"]) for p in received] == [
        ("firing", "firing", "warning"),
        ("updated", "firing", "critical"),
        ("resolved", "resolved", "critical"),
    ]
    assert len({p["dedup_key"] for p in received}) == 1
    assert received[-1]["resolved_at"] == at(40).isoformat()


def test_overlapping_runners_send_each_row_once(db_path, tmp_path, monkeypatch) -> None:
    import threading

    with start_receiver(SECRET, tmp_path / "r.jsonl", delay=0.5) as slow:
        channels = build_channels(webhook_config(monkeypatch, slow.url))
        fire(db_path)
        reports = []
        runners = [
            threading.Thread(
                target=lambda: reports.append(deliver_pending(db_path, channels, now=at(2)))
            )
            for _ in range(2)
        ]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        assert sum(len(r.delivered) for r in reports) == 1
        assert slow.requests == 1


def test_a_crashing_channel_does_not_wedge_the_queue(db_path, receiver, monkeypatch) -> None:
    from koubei.analysis.alerts.channels.base import Request
    from koubei.analysis.alerts.channels.webhook import WebhookChannel

    class BrokenRender(WebhookChannel):
        def build_request(self, payload: dict[str, Any], idempotency_key: str) -> Request:
            raise KeyError("title")

    (good,) = build_channels(webhook_config(monkeypatch, receiver.url))
    broken = BrokenRender(good.config)
    store = IncidentStore(db_path)
    store.observe("甲", [detection(0, brand="甲")], now=at(1), channels=["oncall"])
    report = deliver_pending(db_path, [broken], now=at(1), max_attempts=1)
    assert len(report.failed) == 1
    (row,) = notifications(db_path, status="failed")
    assert "KeyError" in (row.last_error or "")
