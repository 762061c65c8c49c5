"""The persistent local node's data belongs to one koubei home (``koubei es start``, the demo)."""

from __future__ import annotations

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
