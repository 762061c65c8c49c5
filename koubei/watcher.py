"""Whether a process works in a folder, and the watcher process of
:func:`koubei.stopping.ends_with_this_process`, which runs this file as its script.

:func:`in_use` is the one test of "no process is left in this folder" both the watcher (before
it removes a test node's data folder) and the sweep of folders a killed run left
(:func:`koubei.owned_folders.remove_orphaned`) ask. The standard library only: the watcher runs
it as ``python -I -S watcher.py OWNER_FD CHILD_FD [FOLDER]``, without the environment's
packages, so it starts quickly and nothing a ``sitecustomize`` does runs in it.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import sys
import time

__all__ = ["in_use"]


def in_use(folder: str | os.PathLike[str]) -> bool:
    """True when a process other than this one works in ``folder``: its working directory is
    in it, it holds a file in it open, or its command line names a path in it (a node's server
    JVM, the child's child, names its config there). Also True where ``/proc`` cannot be read
    (not Linux): what cannot be told is taken as in use."""
    inside = os.fspath(folder).rstrip("/") + "/"
    raw = os.fsencode(inside)
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    except OSError:
        return True
    for pid in pids:
        try:
            if (os.readlink(f"/proc/{pid}/cwd") + "/").startswith(inside):
                return True
        except OSError:  # ended meanwhile, or another user's
            pass
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if raw in cmdline.read():
                    return True
        except OSError:
            pass
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                if (os.readlink(f"/proc/{pid}/fd/{fd}") + "/").startswith(inside):
                    return True
            except OSError:
                pass
    return False


def watch(owner: int, child: int, folder: str | None) -> None:
    """Wait on the pidfds ``owner`` and ``child`` (passed down by the owner) until either
    process ends. The owner first: end the child (SIGTERM, then SIGKILL after 5 s), then remove
    ``folder`` once no process is :func:`in_use` there, waiting for that at most a minute (else
    it is kept). A pid reused after either process ended is never the one signalled. Ctrl-C
    (sent to the whole terminal group) is ignored: after it the owner unwinds and stops the
    child itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ended = select.poll()
    ended.register(owner, select.POLLIN)
    ended.register(child, select.POLLIN)
    if child in {fd for fd, _ in ended.poll()}:
        return
    signal.pidfd_send_signal(child, signal.SIGTERM)
    end = select.poll()
    end.register(child, select.POLLIN)
    if not end.poll(5000):
        signal.pidfd_send_signal(child, signal.SIGKILL)
    if folder:
        deadline = time.monotonic() + 60
        while in_use(folder) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not in_use(folder):
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    watch(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
