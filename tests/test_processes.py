"""The /proc readers the stopping tests rely on must not fail on a race of the machine's own.
CI failed once on one: a thread of the process being scanned ended between listing its threads
and reading that thread's children."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import children

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

# threads that start and end as fast as they can, with a child process kept for the scan to find
CHURN = """
import subprocess, sys, threading
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # churn-child"])
print("ready", flush=True)
while True:
    threads = [threading.Thread(target=lambda: None) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
"""


def test_children_of_a_process_whose_threads_keep_ending() -> None:
    with subprocess.Popen([sys.executable, "-c", CHURN], stdout=subprocess.PIPE) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
            for _ in range(3000):
                assert len(children(proc.pid, b"churn-child")) == 1
        finally:
            proc.kill()


def test_children_of_a_process_that_has_ended() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert children(proc.pid, b"python") == []
