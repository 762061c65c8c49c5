"""How koubei's processes stop (koubei/stopping.py)."""

from __future__ import annotations

import subprocess
import sys

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
