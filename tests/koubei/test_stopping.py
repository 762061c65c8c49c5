"""How koubei's processes stop (koubei/stopping.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import ended

OWNER_GONE = """
import os, resource, subprocess, sys, threading
from koubei.stopping import when_gone

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard != resource.RLIM_INFINITY and hard < 1200:
    print("skip")
    sys.exit(0)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # a process holding many
owner = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
gone = threading.Event()
when_gone(owner.pid, gone.set)
owner.kill()
owner.wait()
print(gone.wait(60))  # a bound for a loaded machine, not a speed assertion
"""


def test_when_gone_acts_in_a_process_holding_over_a_thousand_descriptors() -> None:
    """The owner's pidfd was waited on with select, which refuses a descriptor from 1024 on:
    the watching thread died with a ValueError and the action never ran."""
    run = subprocess.run(
        [sys.executable, "-c", OWNER_GONE], capture_output=True, text=True, timeout=120
    )
    if run.stdout.strip() == "skip":
        return
    assert run.stdout.strip() == "True" and not run.stderr, run.stderr


STARTS_A_CHILD = """
import subprocess, sys, time
from pathlib import Path
from koubei.stopping import ends_with_this_process
from tests.processes import ended

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
ends_with_this_process(child.pid)
print(child.pid, flush=True)
if sys.argv[1] == "child ends first":
    child.kill()
    child.wait()
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed assertion
    while time.monotonic() < deadline:
        left = [int(p) for t in Path("/proc/self/task").iterdir()
                for p in (t / "children").read_text().split()]
        left = [p for p in left if not ended(p)]
        if not left:
            break
        time.sleep(0.1)
    print(left, flush=True)
else:
    time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_child_ends_with_a_process_killed_by_sigkill() -> None:
    """What a SIGKILLed command had started (Prefect's temporary server) ran on for ever: no
    code of the killed process runs, so a watcher process ends it."""
    owner = subprocess.Popen(
        [sys.executable, "-c", STARTS_A_CHILD, "owner killed"], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    child = int(owner.stdout.readline())
    try:
        owner.kill()
        owner.wait(timeout=60)
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed assertion
        while not ended(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ended(child), "the child of a SIGKILLed process still runs"
    finally:
        if not ended(child):
            os.kill(child, signal.SIGKILL)


def test_the_watcher_ends_when_the_child_ends_first() -> None:
    """Nothing is left behind when the child ends as it should, before its owner."""
    run = subprocess.run(
        [sys.executable, "-c", STARTS_A_CHILD, "child ends first"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[1] == "[]"
