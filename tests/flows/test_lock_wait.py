"""A command run by hand that waits for the pipeline lock longer than it will: one line, exit 1."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from koubei.flows import locks
from koubei.flows.cli import main
from tests.processes import ended, prefect_servers


def test_a_lock_still_held_after_the_wait_ends_the_command_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KOUBEI_HOME", str(tmp_path))
    # The hour a command waits, cut to a fraction of a second (the default of the real lock).
    monkeypatch.setitem(locks.stage_lock.__wrapped__.__kwdefaults__, "wait_s", 0.5)
    held, release = threading.Event(), threading.Event()

    def other_run() -> None:  # a cycle at work on the same state, in this process
        with locks.stage_lock(locks.PIPELINE_LOCK):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=other_run)
    holder.start()
    try:
        assert held.wait(10)
        code = main(["process"])
    finally:
        release.set()
        holder.join()
    assert code == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1, errors
    assert errors[0].startswith("koubei: error: ")
    assert "pipeline.lock: still held by pid " in errors[0] and "after 0s" in errors[0]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_run_ended_by_a_signal_stops_the_prefect_server_it_started(
    tmp_path: Path, config_dir: Path, koubei_home: str, stop: signal.Signals
) -> None:
    """``koubei run`` without ``PREFECT_API_URL`` starts a temporary Prefect server; a SIGTERM
    (a plain ``kill``, ``timeout``, a service manager) ended the run at once and left that
    server running for ever. Now the run unwinds as on Ctrl-C (exit 143) and stops it. A
    SIGKILL (the OOM killer, ``kill -9``) runs no code of the run: a watcher process stops it."""
    import os
    import subprocess
    import sys
    import time

    env = {
        **os.environ,
        "KOUBEI_HOME": koubei_home,
        "KOUBEI_WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "koubei", "run", "--no-crawl", "--config-dir", str(config_dir)]
    servers: list[int] = []
    try:
        with locks.stage_lock(locks.PIPELINE_LOCK):  # the run waits for it inside its flow
            run = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            assert run.stdout is not None
            for line in run.stdout:
                if "waiting for the 'pipeline' lock" in line:
                    break
            servers = prefect_servers(run.pid)
            assert servers, "no temporary Prefect server started"
            run.send_signal(stop)
            # The old code's orphan server kept the pipe open: read until the run has ended.
            run.wait(timeout=120)
        assert run.returncode == (128 + stop if stop == signal.SIGTERM else -stop)
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed assertion
        while not all(ended(pid) for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in servers if not ended(pid)]
        assert not left, f"the run's Prefect server still running after the run ended: {left}"
    finally:
        if run.poll() is None:
            run.kill()
        for pid in servers:  # the old code's orphan: not left behind by the test
            if not ended(pid):
                os.kill(pid, signal.SIGTERM)
