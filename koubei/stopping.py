"""How koubei's processes stop: a SIGTERM unwinds as Ctrl-C does, and children end with the
process that started them, however it ended.

A child waiting on work its parent was to send (an enrichment helper on its task queue) or
working on its own (a source's crawl in ``koubei.crawlers.run_one``) never learnt that the
parent was gone: a ``koubei process`` or ``koubei crawl`` killed with SIGKILL (the OOM killer,
``kill -9``, a service manager's last resort) or a plain SIGTERM left its children running,
helpers waiting for ever, a crawl finishing beside the next run of the same source once the
kernel had released the killed run's lock. And a SIGTERM (a plain ``kill``, ``timeout``, a
service manager) ended a process at once, where Ctrl-C unwinds its ``with`` blocks: what they
made (a temporary Prefect server, a folder of a forked pass's ids) was left behind. A process
that is no Python of ours (Prefect's temporary server, run by uvicorn) is ended by a small
watcher process instead (:func:`ends_with_this_process`).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["ends_with_this_process", "exit_on_sigterm", "sigterm_unwinds", "when_gone"]


def exit_on_sigterm(signum: int, frame: object) -> None:
    """The handler :func:`sigterm_unwinds` sets."""
    raise SystemExit(128 + signum)  # the status a shell gives a process SIGTERM ended


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Within this block a SIGTERM to this process raises ``SystemExit`` (status 143), so that
    ``with`` blocks clean up what they made, as on Ctrl-C; the handler before is restored
    after. Outside the main thread, where no handler can be set, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if before is None else before)


def when_gone(owner: int, action: Callable[[], object]) -> None:
    """Call ``action`` in a thread of this process once the process ``owner`` has ended.

    A thread waits on a pidfd of ``owner`` (Linux), else asks once a second whether it is still
    there. An ``owner`` already gone calls ``action`` at once.
    """
    try:
        handle: int | None = os.pidfd_open(owner)
    except (AttributeError, OSError):  # gone already, or no pidfd here (not Linux, old kernel)
        handle = None

    def wait() -> None:
        if handle is not None:
            # readable once the owner has exited (poll, not select: select refuses a descriptor
            # from 1024 on, in a process holding many, and the thread died without acting)
            watch = select.poll()
            watch.register(handle, select.POLLIN)
            watch.poll()
        else:
            while _alive(owner):
                time.sleep(1)
        action()

    threading.Thread(target=wait, name="owner-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # there, run by another user
        return True
    return True


# Run by a process of its own: on a SIGKILL no code of the killed process runs, so only another
# process can end what it started (koubei/watcher.py, run as a script).
_WATCHER = Path(__file__).with_name("watcher.py")


def ends_with_this_process(pid: int, *, then_remove: str | os.PathLike[str] | None = None) -> None:
    """End the process ``pid`` (SIGTERM, then SIGKILL after 5 s, as Prefect stops its own
    server) once this process has ended, however it ended, even by SIGKILL.

    ``then_remove``: a folder the child works in (a test node's data), removed after that
    once no process is left in it (:func:`koubei.watcher.in_use`; a minute at most, else it
    is kept); a child that ends first, this process still running, leaves it to this
    process.

    A watcher process (:mod:`koubei.watcher`, in a session of its own, so that a kill of this
    process's whole group does not end it too) waits for either to end and exits with it, so
    nothing is left behind when both end as they should. Linux (pidfds); elsewhere nothing is
    watched.
    """
    try:
        owner, child = os.pidfd_open(os.getpid()), os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd here, or ``pid`` gone already
        return
    folder = [] if then_remove is None else [os.fspath(then_remove)]
    try:
        subprocess.Popen(
            [sys.executable, "-I", "-S", str(_WATCHER), str(owner), str(child), *folder],
            pass_fds=(owner, child),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Out of this process's group: a kill of the whole group (`kill -9 -PGID`, a job
            # runner's) ended the watcher with its owner, and a child in a session of its own
            # (a test node's JVMs) ran on for ever, its folder kept.
            start_new_session=True,
        )
    finally:
        os.close(owner)
        os.close(child)
