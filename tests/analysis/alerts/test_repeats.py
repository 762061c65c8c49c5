"""At-least-once, honestly: a send whose answer timed out is re-sent once, marked （重发）.

Chat platforms do not de-duplicate on ``Idempotency-Key``, so a receiver slower than our
timeout sees the alert twice; the second copy says it is a repeat, ``koubei alerts status``
counts it, and there is never a third.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from koubei.analysis.alerts.channels import build_channels
from koubei.analysis.alerts.delivery import REPEAT_MARK, deliver_pending
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.outbox import counts, notifications
from koubei.config import AlertsConfig, ChannelConfig
from tests.analysis.alerts.conftest import alerts_status, at, detection
from tests.analysis.alerts.platforms import PlatformServer, dingtalk_check


@pytest.fixture
def slow_dingtalk() -> Iterator[PlatformServer]:
    server = PlatformServer(dingtalk_check("tok", "SECx"), delay=0.6)
    yield server
    server.stop()


def dingtalk(monkeypatch: pytest.MonkeyPatch, base: str, timeout: float) -> list[Any]:
    monkeypatch.setenv("T_URL", f"{base}/robot/send?access_token=tok")
    monkeypatch.setenv("T_SECRET", "SECx")
    options = {"url_env": "T_URL", "secret_env": "T_SECRET", "timeout": timeout}
    config = AlertsConfig(
        channels=[ChannelConfig(name="dd", type="dingtalk", min_severity="info", options=options)]
    )
    return build_channels(config)


def test_slow_receiver_gets_at_most_one_marked_repeat(
    slow_dingtalk: PlatformServer, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channels = dingtalk(monkeypatch, slow_dingtalk.base, timeout=0.2)
    IncidentStore(db_path).observe("海底捞", [detection(0)], now=at(1), channels=channels)
    first = deliver_pending(db_path, channels, now=at(1))
    assert len(first.retrying) == 1  # timed out; the robot took it all the same
    assert len(slow_dingtalk.accepted) == 1
    second = deliver_pending(db_path, channels, now=at(10))
    # The repeat waits longer (4 x 0.2 s > 0.6 s) and is accepted: two copies, one marked.
    assert len(second.delivered) == 1 and len(second.repeated) == 1
    titles = [m["markdown"]["title"] for m in slow_dingtalk.accepted]
    assert len(titles) == 2
    assert not titles[0].startswith(REPEAT_MARK) and titles[1].startswith(REPEAT_MARK)
    assert REPEAT_MARK in slow_dingtalk.accepted[1]["markdown"]["text"]
    assert counts(db_path) == {"delivered": 1, "repeats_sent": 1}
    assert deliver_pending(db_path, channels, now=at(60)).delivered == []


def test_a_repeat_that_times_out_too_is_not_sent_a_third_time(
    slow_dingtalk: PlatformServer, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_dingtalk.delay = 1.0
    channels = dingtalk(monkeypatch, slow_dingtalk.base, timeout=0.1)  # repeat waits 0.4 s
    IncidentStore(db_path).observe("海底捞", [detection(0)], now=at(1), channels=channels)
    deliver_pending(db_path, channels, now=at(1))
    report = deliver_pending(db_path, channels, now=at(10))
    assert len(report.unconfirmed) == 1
    assert deliver_pending(db_path, channels, now=at(600)).delivered == []
    (row,) = notifications(db_path)
    assert row.status == "unconfirmed" and row.repeats == 1
    import time

    time.sleep(1.2)  # let the receiver finish the slow answers
    assert len(slow_dingtalk.accepted) == 2  # the original and one marked repeat, never three
    shown = alerts_status(db_path)
    assert shown["outbox"] == {"unconfirmed": 1, "repeats_sent": 1}
    assert [r["brand"] for r in shown["unconfirmed"]] == ["海底捞"]


def test_a_refused_connection_is_not_a_repeat(
    dead_url: str, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channels = dingtalk(monkeypatch, dead_url, timeout=0.5)
    IncidentStore(db_path).observe("海底捞", [detection(0)], now=at(1), channels=channels)
    deliver_pending(db_path, channels, now=at(1))
    (row,) = notifications(db_path)
    assert row.unknown_sends == 0  # nothing went out, so the next send is not marked
    assert at(1) + timedelta(seconds=1) < at(2)


class TricklingReceiver:
    """A receiver (or a proxy before it) that answers 200 and then sends its body a byte at a
    time, every ``every`` seconds, for ``lasts`` seconds: each read is quick, the answer slow."""

    def __init__(self, every: float = 0.1, lasts: float = 30.0) -> None:
        import socket
        import threading

        self.requests = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.every, self.lasts = every, lasts
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import threading

        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: Any) -> None:
        import time

        with conn:
            conn.recv(1 << 16)
            self.requests += 1
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            try:
                for _ in range(int(self.lasts / self.every)):
                    time.sleep(self.every)
                    conn.sendall(b"1\r\n \r\n")
                conn.sendall(b'd\r\n{"errcode":0}\r\n0\r\n\r\n')
            except OSError:
                pass  # the sender gave up: the message was taken all the same

    def stop(self) -> None:
        self._sock.close()


def test_an_answer_that_trickles_in_is_a_timeout_not_a_hung_run(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: httpx's timeout bounds each read, so a byte every 0.1 s held the send (and the
    # delivery run, and the cycle's pipeline lock) for the 30 s the receiver trickled, however
    # short the channel's timeout; one that never stopped held it for ever. Now the answer
    # must be complete within the timeout, and the send counts as one whose outcome is unknown.
    receiver = TricklingReceiver()
    try:
        channels = dingtalk(monkeypatch, receiver.base, timeout=1.0)
        IncidentStore(db_path).observe("海底捞", [detection(0)], now=at(1), channels=channels)
        report = deliver_pending(db_path, channels, now=at(1))
        assert len(report.retrying) == 1 and report.delivered == []
        (row,) = notifications(db_path)
        assert row.status == "pending" and row.unknown_sends == 1  # re-sent marked （重发）
        assert "dingtalk channel 'dd': ReadTimeout" in str(row.last_error)
        assert receiver.requests == 1
    finally:
        receiver.stop()
