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


WORKS_IN_A_FOLDER = """
import subprocess, sys, time
from koubei.stopping import ends_with_this_process

folder = sys.argv[1]
quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
child = subprocess.Popen(["sleep", "600"], cwd=folder, **quiet)
# a process the child started, in its own group (as a node's server JVM), still in the folder
lingering = subprocess.Popen(["sleep", "600"], cwd=folder, start_new_session=True, **quiet)
print(child.pid, lingering.pid, flush=True)
ends_with_this_process(child.pid, then_remove=folder)
print("watched", flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_folder_goes_with_a_process_killed_by_sigkill_once_nothing_runs_in_it(
    tmp_path: Path,
) -> None:
    """A test node's data folder was removed by fixture teardown alone: a SIGKILLed run left
    it (``/var/tmp/koubei-es/node-*``, its JVMs ended by the watcher). The watcher removes it
    once the child has ended and no process works in it any more, never while one does."""
    folder = tmp_path / "node-data"
    (folder / "data").mkdir(parents=True)
    owner = subprocess.Popen([sys.executable, "-c", WORKS_IN_A_FOLDER, str(folder)],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert owner.stdout is not None
    child, lingering = (int(pid) for pid in owner.stdout.readline().split())
    try:
        assert owner.stdout.readline() == "watched\n"
        owner.kill()
        owner.wait(timeout=60)
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed assertion
        while not ended(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ended(child)
        time.sleep(2)
        assert (folder / "data").is_dir(), "removed while a process still works in it"
        os.kill(lingering, signal.SIGKILL)
        while folder.exists() and time.monotonic() < deadline + 60:
            time.sleep(0.1)
        assert not folder.exists()
    finally:
        for pid in (child, lingering):
            if not ended(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_folder_stays_when_the_child_ends_first(tmp_path: Path) -> None:
    """The owner still runs (its teardown removes the folder, or keeps it): nothing removed."""
    script = (
        "import subprocess, sys, time\n"
        "from koubei.stopping import ends_with_this_process\n"
        "child = subprocess.Popen(['sleep', '600'])\n"
        "ends_with_this_process(child.pid, then_remove=sys.argv[1])\n"
        "child.kill(); child.wait(); time.sleep(2)\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], timeout=60)
    assert run.returncode == 0
    time.sleep(1)
    assert tmp_path.is_dir()


A_NODE_IN_A_FOLDER = """
import subprocess, sys, time
from koubei.stopping import ends_with_this_process

folder = sys.argv[1]
quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
# in a session of its own, as es_local starts a node: a kill of this group does not reach it
node = subprocess.Popen(["sleep", "600"], cwd=folder, start_new_session=True, **quiet)
ends_with_this_process(node.pid, then_remove=folder)
print(node.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_kill_of_the_whole_process_group_still_ends_the_child_and_removes_its_folder(
    tmp_path: Path,
) -> None:
    """A test run SIGKILLed with its process group (``kill -9 -PGID``, a job runner ending a
    group): the watcher was in the group and died with the run, so the node it watched (in a
    session of its own) ran on for ever and its data folder stayed. The watcher has a session
    of its own now: it ends the child and removes the folder as after the run's kill alone."""
    folder = tmp_path / "node-data"
    (folder / "data").mkdir(parents=True)
    owner = subprocess.Popen([sys.executable, "-c", A_NODE_IN_A_FOLDER, str(folder)],
                             stdout=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    assert owner.stdout is not None
    child = int(owner.stdout.readline())
    try:
        os.killpg(owner.pid, signal.SIGKILL)
        owner.wait(timeout=60)
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed assertion
        while (not ended(child) or folder.exists()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ended(child), "the child of a process group SIGKILLed still runs"
        assert not folder.exists()
    finally:
        if not ended(child):
            os.kill(child, signal.SIGKILL)
