"""The persistent local node's data belongs to one koubei home (``koubei es start``, the demo)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from koubei import es_local


def test_each_home_gets_its_own_node_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOUBEI_ES_DIR", str(tmp_path / "es"))
    dirs = {}
    for name in ("alice", "bob"):
        monkeypatch.setenv("KOUBEI_HOME", str(tmp_path / name))
        dirs[name] = es_local.node_workdir(es_local.node_file())
    # a second home neither sees the first one's documents nor waits on its node.lock
    assert dirs["alice"] != dirs["bob"]
    assert all(d.parent == tmp_path / "es" for d in dirs.values())
    # the same home finds its documents again after `koubei es stop` / `start`, however the
    # path to it is spelled
    monkeypatch.setenv("KOUBEI_HOME", str(tmp_path / "x" / ".." / "alice"))
    assert es_local.node_workdir(es_local.node_file()) == dirs["alice"]


def test_es_stop_never_signals_a_process_that_took_over_the_recorded_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart the node file's pid can belong to another program: ``koubei es stop``
    sent SIGTERM (and SIGKILL after 30 s) to that program's whole process group, and
    ``koubei es status`` called the node running."""
    import json
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    monkeypatch.setenv("KOUBEI_HOME", str(home))
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)  # not Elasticsearch
    try:
        node = es_local.LocalNode(url="http://127.0.0.1:9", pid=other.pid, home=str(tmp_path),
                                  data=str(tmp_path / "node"))  # fmt: skip
        node.save(es_local.node_file())
        env = {**os.environ, "KOUBEI_HOME": str(home)}
        koubei = [sys.executable, "-m", "koubei", "es"]
        status = subprocess.run([*koubei, "status"], env=env, capture_output=True, text=True)
        assert json.loads(status.stdout)["running"] is False
        stopped = subprocess.run([*koubei, "stop"], env=env, capture_output=True, text=True)
        assert stopped.returncode == 0, stopped.stderr
        assert other.poll() is None, "the unrelated process was killed"
        assert not es_local.node_file().exists()
    finally:
        other.kill()
        other.wait()


def test_es_stop_with_no_node_of_this_home_says_it_stopped_nothing(tmp_path: Path) -> None:
    """It printed "stopped" while the node the user meant (another KOUBEI_HOME's, or the
    cluster of KOUBEI_ES_URL) kept running."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "KOUBEI_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "koubei", "es", "stop"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    node_file = tmp_path / "home" / "es" / "es-node.json"
    assert done.stdout == f"no local node recorded in {node_file}: nothing stopped\n"


@pytest.mark.parametrize(
    "argv", [("search", "x"), ("es", "status"), ("es", "stop")], ids=["search", "status", "stop"]
)
def test_a_command_that_only_looks_for_the_local_node_makes_no_es_folder(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """Every command that asks for the local node (no KOUBEI_ES_URL) made ``$KOUBEI_HOME/es/``,
    and ``$KOUBEI_HOME`` with it, when it only looked; ``koubei es start`` alone makes it."""
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_")}
    env = {**environ, "KOUBEI_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "koubei", *argv], env=env, capture_output=True, text=True
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert str(home / "es" / "es-node.json") in done.stdout + done.stderr or argv[-1] == "status"
    assert not (home / "es").exists()


STARTS_A_TEST_NODE = """
import sys, time
from koubei import es_local
from tests.conftest import ends_with_tests

node = ends_with_tests(es_local.start(heap="256m"))
print(node.data, flush=True)
time.sleep(600)
"""


@pytest.mark.es
@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("killed", ["the run", "its process group"])
def test_a_killed_test_run_leaves_no_node_data_folder(killed: str) -> None:
    """A test process that starts a node (``tests/conftest.py``'s ``ends_with_tests``, as every
    fixture does) SIGKILLed: session 28's watcher ended the node's JVMs, but its data folder
    (``node-*`` under the server's folder) stayed, removed by fixture teardown alone. Now it
    goes too, once no process of the node is left; the JVMs end as before. Killed with its
    whole process group (``kill -9 -PGID``), the watcher died too: the node (a session of its
    own) ran on for ever, its folder kept; the watcher has a session of its own now."""
    import signal
    import subprocess
    import sys
    import time

    from tests.processes import ended

    root = Path(__file__).resolve().parents[2]
    owner = subprocess.Popen([sys.executable, "-c", STARTS_A_TEST_NODE], cwd=root,
                             stdout=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    assert owner.stdout is not None
    data = Path(owner.stdout.readline().strip())
    assert data.name.startswith("node-") and (data / "data").is_dir(), data
    node = es_local.LocalNode(url="", pid=0, home="", data=str(data))
    if killed == "the run":
        owner.send_signal(signal.SIGKILL)
    else:
        os.killpg(owner.pid, signal.SIGKILL)
    owner.wait(timeout=60)
    deadline = time.monotonic() + 120  # a bound for a loaded machine, not a speed assertion
    while data.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    running = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and not ended(int(p.name)) and _names(p, node)
    ]
    for pid in running:  # what this test started and the watcher left: ended here
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not data.exists() and running == [], (data, running)


def _names(proc: Path, node: es_local.LocalNode) -> bool:
    """The process ``proc`` (``/proc/<pid>``) is one of ``node``'s (its config on its command
    line, or its working directory in the node's folder)."""
    try:
        cwd = str((proc / "cwd").readlink())
        cmdline = (proc / "cmdline").read_bytes()
    except OSError:
        return False
    return cwd.startswith(node.data) or os.fsencode(f"{node.data}/config") in cmdline


MAKES_A_THROWAWAY_FOLDER = """
import sys, time
from koubei import es_local

folder = es_local._throwaway_folder(sys.argv[1])  # as start() and start_cluster() make theirs
(folder / "data").mkdir()
(folder / "data" / "held").write_bytes(b"")
es_local._chown_tree(folder, es_local._ensure_user())  # as root, given to the server's user
print(folder, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_later_start_removes_the_folders_of_killed_runs_and_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test run SIGKILLed with its watcher (the whole process group: a CI job's timeout,
    ``kill -9 -PGID``) left its node's data folder, and every such run one more
    (``/var/tmp/koubei-es/node-*``). The next start of a test node (or cluster) removes those
    whose maker has ended and in which no process works, and nothing else: not a concurrent
    run's (its maker runs), not one a process still holds a file of, not ``koubei es start``'s
    ``koubei-node-*``, not one named before owner marks."""
    import signal
    import subprocess
    import sys

    monkeypatch.setenv("KOUBEI_ES_DIR", str(tmp_path))
    makers: list[subprocess.Popen[str]] = []

    def made(prefix: str) -> Path:
        maker = subprocess.Popen([sys.executable, "-c", MAKES_A_THROWAWAY_FOLDER, prefix],
                                 stdout=subprocess.PIPE, text=True)  # fmt: skip
        makers.append(maker)
        assert maker.stdout is not None
        return Path(maker.stdout.readline().strip())

    killed, killed_cluster, held, concurrent = (
        made(p) for p in ("node-", "cluster-", "node-", "node-")
    )
    es_start = tmp_path / "koubei-node-0123456789ab"
    before_marks = tmp_path / "node-ab12cd_4"
    for kept in (es_start / "data", before_marks / "data"):
        kept.mkdir(parents=True)
    with open(held / "data" / "held", "rb") as file:  # a process holding a file there open
        holder = subprocess.Popen(["sleep", "600"], stdin=file)
    try:
        for maker in makers[:3]:
            maker.send_signal(signal.SIGKILL)
            maker.wait(timeout=60)
        assert sorted(es_local.remove_leftover_folders()) == sorted([killed, killed_cluster])
        assert not killed.exists() and not killed_cluster.exists()
        for kept in (held, concurrent, es_start, before_marks):
            assert (kept / "data").is_dir(), kept
        holder.kill()
        holder.wait(timeout=60)
        assert es_local.remove_leftover_folders() == [held]  # nothing works in it any more
        assert concurrent.is_dir()
    finally:
        for process in (holder, *makers):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=60)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b'{"url": "http://127.0.0.1:9200", "pid": 12', "Expecting ','"),  # a copy cut short
        (b"", "Expecting value"),
        (b"\0\0\0\0", "Expecting value"),
        (b'{"url": "\xff"}', "can't decode byte 0xff"),
        (b"[1, 2]", "not an object of url, pid"),
        (b'{"url": "http://127.0.0.1:9"}', "not an object of url, pid"),
        (b'{"url": "u", "pid": "abc", "home": "/h", "data": "/d"}', "'pid' 'abc' is not"),
        (b'{"url": "u", "pid": 99999999999999999999, "home": "/h", "data": "/d"}', "'pid' 9999"),
        (b'{"url": "u", "pid": 0, "home": "/h", "data": "/d"}', "'pid' 0 is not a process id"),
        (b'{"url": 5, "pid": 999999, "home": "/h", "data": "/d"}', "'url' 5 is not text"),
        (None, "Is a directory"),
        (b"[" * 100_000 + b"]" * 100_000, "maximum recursion depth exceeded"),
    ],
    ids=[
        "cut",
        "empty",
        "nul",
        "not-utf8",
        "list",
        "no-pid",
        "pid-text",
        "pid-huge",
        "pid-0",
        "url-number",
        "directory",
        "too-deep",
    ],
)
@pytest.mark.parametrize("argv", [("es", "status"), ("es", "stop"), ("search", "x")])
def test_a_damaged_node_record_is_one_line_naming_it(
    tmp_path: Path, content: bytes | None, why: str, argv: tuple[str, ...]
) -> None:
    """Every command looking for the local node raised a traceback (``JSONDecodeError``,
    ``TypeError``, ``OverflowError``) on a damaged ``es-node.json``; a pid of 0 read as alive
    made ``koubei es stop`` send SIGTERM to its own process group."""
    import subprocess
    import sys

    home = tmp_path / "home"
    recorded = home / "es" / "es-node.json"
    recorded.parent.mkdir(parents=True)
    if content is None:
        recorded.mkdir()
    else:
        recorded.write_bytes(content)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_")}
    done = subprocess.run(
        [sys.executable, "-m", "koubei", *argv],
        env={**environ, "KOUBEI_HOME": str(home)},
        capture_output=True,
        text=True,
        start_new_session=True,  # a pid of 0 must not reach this test's own process group
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"{recorded}: damaged record of the local Elasticsearch node (" in done.stderr
    assert why in done.stderr
    assert recorded.exists()  # left for the operator: it may name a node still running
