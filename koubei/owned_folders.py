"""Temporary folders that name the process that made them, so that the next run removes those
a killed process left.

A ``with`` block removes its temporary folder on an error, Ctrl-C or a SIGTERM
(``koubei.stopping.sigterm_unwinds``), but nothing runs on a SIGKILL (the OOM killer, ``kill
-9``): ``koubei sentiment score`` killed while adapting in several processes left its
``koubei-adapt-*`` folder of ids behind, about 10 MB each time, and ``koubei crawl`` killed so
its ``koubei-crawl-*`` job folder (``crawlers/runner.py``). A folder made here is named
``<prefix><pid>-<start>-<boot>-<pid namespace>-<random>``, the maker's pid and the time it
started (``/proc/<pid>/stat``, in clock ticks since boot), and :func:`remove_orphaned` removes
the folders of a prefix whose maker has certainly ended: a pid no process has, or one a later
process took (it started at another time), once no process works in it any more (a child the
maker left running there: :func:`koubei.watcher.in_use`). What it cannot tell about is kept: a
folder of another boot (a ``TMPDIR`` shared with another machine, or from before a restart), of
another pid namespace (a container sharing ``/tmp``), of another user, or named otherwise (by a
koubei before this module, or where there is no ``/proc`` to name it from). The test nodes'
data folders (``koubei.es_local``) are named so too, in the server's folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from koubei.watcher import in_use

__all__ = ["make_owned_folder", "owned_temporary_directory", "owner_mark", "remove_orphaned"]


def _start_time(pid: int) -> int | None:
    """When the process ``pid`` started, in clock ticks since boot; None when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError):  # (ESRCH: it ended while being read)
        return None
    # the command name, in parentheses, may hold spaces and ')': the fields follow the last one;
    # the start time is field 22, the state (the first after the name) field 3
    return int(stat.rpartition(b")")[2].split()[19])


@cache
def _machine_mark() -> str | None:
    """This boot and this pid namespace, as a folder name holds them; None without ``/proc``."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
    return f"{boot[:12]}-{namespace}"


def owner_mark(pid: int) -> str | None:
    """``<pid>-<start>-<boot>-<pid namespace>`` of the running process ``pid``, as a folder it
    makes is named after its prefix; None when it cannot be told (no ``/proc``, no such
    process)."""
    machine = _machine_mark()
    try:
        start = _start_time(pid)
    except OSError:
        return None
    if machine is None or start is None:
        return None
    return f"{pid}-{start}-{machine}"


def _owner_ended(mark: str) -> bool:
    """True when the process a folder's ``mark`` names has certainly ended."""
    parts = mark.split("-")
    if len(parts) != 4 or not all(part.isdigit() for part in (parts[0], parts[1], parts[3])):
        return False  # not named here
    pid, start = int(parts[0]), int(parts[1])
    if "-".join(parts[2:]) != _machine_mark():
        return False  # another boot or pid namespace: its pids mean nothing here
    try:
        now = _start_time(pid)
    except OSError:  # there, but unreadable (another user's, /proc mounted hidepid)
        return False
    return now != start  # none, or a later process given the pid


def remove_orphaned(
    prefix: str, folder: str | Path | None = None, *, uids: Collection[int] = ()
) -> list[Path]:
    """Remove the folders named ``<prefix><mark>-<random>`` of this user (or of one of
    ``uids``: a user this one gave its folders to) in ``folder`` (the temporary folder by
    default) whose maker (``mark``: :func:`owner_mark`) has certainly ended and in which no
    process works any more (:func:`koubei.watcher.in_use`), and return them. A folder whose
    files cannot all be removed (being written, say) is left for the next time."""
    where = Path(folder if folder is not None else tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(where))
    except OSError:
        return []
    users = {os.getuid(), *uids}
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        mark, dash, _random = entry.name[len(prefix) :].rpartition("-")
        try:
            ours = entry.is_dir(follow_symlinks=False) and entry.stat().st_uid in users
        except OSError:  # removed meanwhile (by another run's sweep)
            continue
        if dash and ours and _owner_ended(mark) and not in_use(entry.path):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def make_owned_folder(prefix: str, folder: str | Path | None = None) -> Path:
    """A new folder in ``folder`` (the temporary folder by default) named for this process
    (:func:`owner_mark`) after ``prefix``, for a folder that outlives a ``with`` block (a test
    node's data); removing it is the caller's, and :func:`remove_orphaned`'s once this process
    has ended. Where this process cannot be named, it is named ``<prefix><random>`` and never
    removed so."""
    mark = owner_mark(os.getpid())
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{mark}-" if mark else prefix, dir=folder))


@contextmanager
def owned_temporary_directory(prefix: str) -> Iterator[str]:
    """A new folder in the temporary folder, named for this process (:func:`owner_mark`) after
    ``prefix``, removed at the end of the block as ``tempfile.TemporaryDirectory`` removes its
    own; left by a SIGKILL, :func:`remove_orphaned` removes it on a later run. Where this
    process cannot be named, the folder is named ``<prefix><random>`` and never removed so."""
    path = str(make_owned_folder(prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
