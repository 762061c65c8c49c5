"""A delivery process killed between the request and writing its outcome.

The robot took the message, koubei never learnt it: the next run must send it again (nothing
is lost) but marked （重发）, exactly as after a timeout (``outbox`` docstring, RELIABILITY.md):
chat platforms do not de-duplicate, so an unmarked second copy reads as a second incident.
The receiver is the doc-faithful DingTalk robot (signature checked as DingTalk documents); it
kills the delivering process with SIGKILL the moment it has taken the message.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from koubei.analysis.alerts.channels import build_channels
from koubei.analysis.alerts.delivery import REPEAT_MARK, deliver_pending
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.outbox import counts, notifications
from koubei.config import AlertsConfig, ChannelConfig
from tests.analysis.alerts.conftest import at, detection
from tests.analysis.alerts.platforms import PlatformServer, dingtalk_check

ROOT = Path(__file__).resolve().parents[3]

DELIVER = """
import sys
from pathlib import Path
from koubei.analysis.alerts.delivery import deliver_pending
from tests.analysis.alerts.conftest import at
from tests.analysis.alerts.test_crash import channels
deliver_pending(Path(sys.argv[1]), channels(), now=at(1))
"""


def channels() -> list[Any]:
    """The DingTalk channel, its URL and secret from the environment (as the CLI builds it)."""
    options = {"url_env": "T_CRASH_URL", "secret_env": "T_CRASH_SECRET", "timeout": 10.0}
    config = AlertsConfig(
        channels=[ChannelConfig(name="dd", type="dingtalk", min_severity="info", options=options)]
    )
    return build_channels(config)


@pytest.mark.timeout(120)
def killing_robot(
    servers: list[PlatformServer], monkeypatch: pytest.MonkeyPatch
) -> tuple[PlatformServer, dict[str, int]]:
    """A DingTalk robot that takes each message and then SIGKILLs the process whose pid is in
    the returned dict (once per pid put there): the sender dies before it reads the answer."""
    victim: dict[str, int] = {}
    robot = dingtalk_check("tok", "SECcrash")

    def check(query: Any, headers: Any, body: bytes) -> tuple[int, Any]:
        answer = robot(query, headers, body)
        if "pid" in victim:
            os.kill(victim.pop("pid"), signal.SIGKILL)
        return answer

    server = PlatformServer(check)
    servers.append(server)
    monkeypatch.setenv("T_CRASH_URL", f"{server.base}/robot/send?access_token=tok")
    monkeypatch.setenv("T_CRASH_SECRET", "SECcrash")
    return server, victim


def test_a_crash_after_the_send_repeats_it_marked_once(
    servers: list[PlatformServer], db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, victim = killing_robot(servers, monkeypatch)
    IncidentStore(db_path).observe("海底捞", [detection(0)], now=at(1), channels=channels())

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", DELIVER, str(db_path)], cwd=ROOT, env=env, stderr=subprocess.PIPE
    )
    victim["pid"] = proc.pid
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == -signal.SIGKILL, stderr.decode()
    assert len(server.accepted) == 1  # the robot has it; the ledger does not know
    (row,) = notifications(db_path)
    assert row.status == "pending"

    # The next run, once the dead run's lease is over: sent again, marked, and only once.
    report = deliver_pending(db_path, channels(), now=at(20))  # the lease: 2 + 10 min
    assert len(report.delivered) == 1 and len(report.repeated) == 1
    titles = [m["markdown"]["title"] for m in server.accepted]
    assert len(titles) == 2
    assert not titles[0].startswith(REPEAT_MARK) and titles[1].startswith(REPEAT_MARK)
    assert counts(db_path) == {"delivered": 1, "repeats_sent": 1}
    assert deliver_pending(db_path, channels(), now=at(60)).delivered == []
    assert len(server.accepted) == 2


def test_a_rate_limited_answer_leaves_no_unknown_send(
    servers: list[PlatformServer], db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The platform answered "too fast": nothing was taken, so the retry is not a repeat.
    answers = iter([(200, {"errcode": 410100, "errmsg": "send too fast"})])
    robot = dingtalk_check("tok", "SECcrash")
    server = PlatformServer(lambda q, h, b: next(answers, None) or robot(q, h, b))
    servers.append(server)
    monkeypatch.setenv("T_CRASH_URL", f"{server.base}/robot/send?access_token=tok")
    monkeypatch.setenv("T_CRASH_SECRET", "SECcrash")
    built = channels()
    IncidentStore(db_path).observe("海底捞", [detection(0)], now=at(1), channels=built)
    report = deliver_pending(db_path, built, now=at(1))
    assert len(report.delivered) == 1 and report.repeated == []
    (message,) = server.accepted
    assert not message["markdown"]["title"].startswith(REPEAT_MARK)


@pytest.mark.timeout(120)
def test_a_crash_during_the_marked_repeat_leaves_it_unconfirmed_not_a_third_copy(
    servers: list[PlatformServer], db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, victim = killing_robot(servers, monkeypatch)
    IncidentStore(db_path).observe("海底捞", [detection(0)], now=at(1), channels=channels())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for minutes in (1, 20):  # the send, then its marked repeat: both killed after the robot took it
        script = DELIVER.replace("now=at(1)", f"now=at({minutes})")
        proc = subprocess.Popen(
            [sys.executable, "-c", script, str(db_path)], cwd=ROOT, env=env, stderr=subprocess.PIPE
        )
        victim["pid"] = proc.pid
        _, stderr = proc.communicate(timeout=90)
        assert proc.returncode == -signal.SIGKILL, stderr.decode()
    assert len(server.accepted) == 2
    report = deliver_pending(db_path, channels(), now=at(40))
    assert report.delivered == [] and len(report.unconfirmed) == 1
    assert len(server.accepted) == 2  # never a third copy
    (row,) = notifications(db_path)
    assert row.status == "unconfirmed" and row.repeats == 1
