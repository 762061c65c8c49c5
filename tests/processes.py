"""What the tests of stopping processes read from /proc (Linux)."""

from __future__ import annotations

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
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if marker in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except FileNotFoundError:  # a child that ended meanwhile
                pass
    return found


def prefect_servers(pid: int) -> list[int]:
    """The temporary Prefect API servers (uvicorn) the process ``pid`` started."""
    return children(pid, b"uvicorn")
