"""What the tests of stopping processes read from /proc (Linux)."""

from __future__ import annotations

import contextlib
from pathlib import Path


def ended(pid: int) -> bool:
    """Exited (gone, or a zombie nobody reaps: a container's init may not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def children(pid: int, marker: bytes) -> list[int]:
    """The processes ``pid`` started whose command line holds ``marker``."""
    found = []
    for child in _child_pids(pid):
        try:
            if marker in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
        except FileNotFoundError:  # a child that ended meanwhile
            pass
    return found


def _child_pids(pid: int) -> list[str]:
    """Children of every thread of ``pid``. A thread (or the process) may end between listing
    and reading: its children file is then gone, and it has no children to give (CI once failed
    on exactly that race, a Prefect worker thread ending mid-scan)."""
    pids = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return []
    for task in tasks:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            pids += (task / "children").read_text().split()
    return pids


def prefect_servers(pid: int) -> list[int]:
    """The temporary Prefect API servers (uvicorn) the process ``pid`` started."""
    return children(pid, b"uvicorn")
