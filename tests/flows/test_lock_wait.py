"""A command run by hand that waits for the pipeline lock longer than it will: one line, exit 1."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from koubei.flows import locks
from koubei.flows.cli import main


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
