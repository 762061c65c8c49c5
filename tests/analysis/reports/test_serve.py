"""``koubei report serve``: what the served folder answers, and a port it cannot take."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def test_a_taken_port_is_one_line_naming_it(tmp_path: Path) -> None:
    """Before: an OSError traceback ending in "Address already in use"."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "koubei", "report", "serve", "--port", str(port)],
            env={**os.environ, "KOUBEI_REPORTS_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [
        f"koubei report serve: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another server there? choose one with --port/--host)"
    ]
