"""Running the real ``koubei`` command line in a subprocess, as a user would, and checking that
a mistake ends with one line (shared by the CLI-mistake tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def koubei(home: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("KOUBEI_", "PREFECT_API_URL"))
    }
    environ.update({"KOUBEI_HOME": str(home), "KOUBEI_ES_URL": "http://127.0.0.1:9", **(env or {})})
    done = subprocess.run(
        [sys.executable, "-m", "koubei.flows.cli", *argv],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stderr.splitlines()


def one_line(code: int, err: list[str], *words: str) -> None:
    assert code != 0
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    for word in words:
        assert word in err[0], err[0]
