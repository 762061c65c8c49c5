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
