"""A temporary folder is removed by a later run only when the process that made it has certainly
ended (``koubei.owned_folders``); the SIGKILL of a real ``koubei sentiment score`` is in
``tests/pipeline/sentiment/test_parallel.py``."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from koubei.owned_folders import owned_temporary_directory, owner_mark, remove_orphaned

PREFIX = "koubei-test-"


def test_only_the_folders_of_ended_makers_are_removed(tmp_path: Path) -> None:
    mine = owner_mark(os.getpid())
    assert mine is not None
    pid, start, machine = mine.split("-", 2)
    ended = subprocess.Popen(["sleep", "60"])
    ended_mark = owner_mark(ended.pid)
    ended.kill()
    ended.wait()  # reaped: its pid is no process's
    assert ended_mark is not None
    other_boot = "-".join([pid, start, "0" * 12, machine.split("-")[1]])
    other_namespace = "-".join([pid, start, machine.split("-")[0], "1"])
    names = {
        f"{PREFIX}{mine}-live0001": True,  # this process, running
        f"{PREFIX}{pid}-{int(start) + 1}-{machine}-reused01": False,  # its pid, another start
        f"{PREFIX}{ended_mark}-ended001": False,
        f"{PREFIX}{other_boot}-boot0001": True,  # another machine's, or from before a restart
        f"{PREFIX}{other_namespace}-space001": True,  # a container's sharing the folder
        f"{PREFIX}abcd1234": True,  # named by a koubei before owner marks
        f"koubei-other-{ended_mark}-ended002": True,  # another prefix
    }
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "ids").write_bytes(b"\0" * 100)
    (tmp_path / f"{PREFIX}{ended_mark}-file0001").write_text("a file, not a folder")
    removed = remove_orphaned(PREFIX, tmp_path)
    kept = {name for name, stays in names.items() if stays} | {f"{PREFIX}{ended_mark}-file0001"}
    assert {path.name for path in tmp_path.iterdir()} == kept
    assert sorted(path.name for path in removed) == sorted(
        name for name, stays in names.items() if not stays
    )
    assert remove_orphaned(PREFIX, tmp_path / "missing") == []


def test_an_owned_folder_names_its_maker_and_goes_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read from TMPDIR again
    with owned_temporary_directory(PREFIX) as made:
        folder = Path(made)
        assert folder.parent == tmp_path
        assert folder.name.startswith(f"{PREFIX}{owner_mark(os.getpid())}-")
        (folder / "ids").write_bytes(b"\0")
        assert remove_orphaned(PREFIX) == [] and folder.is_dir()  # its maker runs: kept
    assert list(tmp_path.iterdir()) == []
