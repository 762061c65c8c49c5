"""Files replaced whole: a failed write leaves the old file, and the mode follows the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from koubei.atomicfile import atomic_write

WRITE_PAGE = """
import os, sys
os.umask(int(sys.argv[2], 8))
from pathlib import Path
from koubei import jsonl
from koubei.atomicfile import atomic_write
with atomic_write(Path(sys.argv[1]) / "page.html") as handle:
    handle.write("<p>鲜牧</p>")
jsonl.write_atomic(Path(sys.argv[1]) / "run.jsonl", [{"id": 1}])
"""


@pytest.mark.parametrize(("umask", "mode"), [("022", 0o644), ("027", 0o640), ("077", 0o600)])
def test_a_replaced_file_gets_the_mode_a_plain_open_would_give(
    tmp_path: Path, umask: str, mode: int
) -> None:
    # mkstemp makes 0600: report pages written that way could not be served by a web server
    # running as another user. A fresh interpreter, because the umask is read at import.
    subprocess.run([sys.executable, "-c", WRITE_PAGE, str(tmp_path), umask], check=True)
    for name in ("page.html", "run.jsonl"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert (tmp_path / "page.html").read_text(encoding="utf-8") == "<p>鲜牧</p>"


def test_a_write_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("killed mid-write")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["state.json"]


def test_binary_contents_and_missing_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "model.json.gz"
    with atomic_write(target, binary=True) as handle:
        handle.write(b"\x1f\x8b")
    assert target.read_bytes() == b"\x1f\x8b"


def test_a_file_in_the_way_of_the_folder_or_a_folder_at_the_path_is_named(tmp_path: Path) -> None:
    # $KOUBEI_REPORTS_DIR/daily a file: mkdir's FileExistsError, a traceback out of koubei
    # report daily (the CLI says NotADirectoryError and IsADirectoryError in one line).
    (tmp_path / "daily").write_text("not a folder", encoding="utf-8")
    with pytest.raises(NotADirectoryError) as blocked, atomic_write(tmp_path / "daily" / "a.html"):
        pass
    assert blocked.value.filename == str(tmp_path / "daily")
    assert "a file is in the way" in str(blocked.value.strerror)
    # The page's name taken by a folder: the error named a temp file that was already gone.
    (tmp_path / "page.html").mkdir()
    with pytest.raises(IsADirectoryError) as taken, atomic_write(tmp_path / "page.html"):
        pass
    assert taken.value.filename == str(tmp_path / "page.html")
    assert sorted(os.listdir(tmp_path)) == ["daily", "page.html"]
