"""Stage locks: runs that would race on the same state wait for each other.

A scheduled crawl of a source and the process → index → detect → deliver cycle each work on
shared files under ``$KOUBEI_HOME`` (landing files, the ledger, the alert outbox). Two
deployments firing at once, or a manual ``koubei run`` beside ``koubei serve``, must not both
do so. An advisory ``flock`` on ``$KOUBEI_HOME/locks/<name>.lock`` serialises them on one
machine and on any file system that honours ``flock`` (a shared ``KOUBEI_HOME`` on NFSv4 or a
local disk). The kernel releases it when the process dies, so a killed run never leaves a stale
lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from koubei import paths
from koubei.errors import KoubeiError
from koubei.log import get_logger

log = get_logger(__name__)
DEFAULT_WAIT_S = 3600.0
POLL_S = 0.2
# The lock of everything that reads or writes the ledger, the dedup state, the spool and the
# alert outbox: the flows' process → index → detect → deliver cycle, and the commands that do
# part of it by hand (``koubei process``, ``koubei index load|replay|reindex``, ``koubei
# sentiment rescore``, which rewrites processed files and re-indexes them). Two at once
# would process the same landing files twice (racing on the dedup state), replay the same spool
# file twice, interleave their writes of the same posts, or write into a month a reindex has
# write-blocked for its copy (spooling that month's documents).
PIPELINE_LOCK = "pipeline"


class StageBusy(KoubeiError, RuntimeError):
    """Another run held the stage's lock for longer than this run would wait.

    A :class:`~koubei.errors.KoubeiError`: a command run by hand that gives up waiting ends
    with one line naming the lock file and the run holding it, exit 1 (the run did not happen,
    nothing is wrong with what was asked), not a traceback.
    """

    exit_code = 1

    def __init__(self, message: str, holder: str = "another process") -> None:
        super().__init__(message)
        self.holder = holder


@contextmanager
def stage_lock(name: str, *, wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
    """Hold the lock ``name`` for the block; wait up to ``wait_s`` seconds for it.

    The holder writes who it is into the lock file (process id, flow run, since when), so a
    run that has to wait says in its own log (the Prefect run's, when it is one) which run it
    waits for, and how long it waited once it has the lock.

    Raises
    ------
    StageBusy
        The lock was still held after ``wait_s`` seconds (the message names the holder).
    """
    path = paths.state_dir("locks") / f"{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        start = time.monotonic()
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if wait_s <= 0:  # not waiting at all: nothing to say, the caller says it
                    holder = _holder(path)
                    raise StageBusy(f"{path}: held by {holder}", holder) from None
                if not waited:
                    _say(
                        f"waiting for the {name!r} lock held by {_holder(path)} "
                        f"(up to {wait_s:.0f}s): another run is at work on the same state"
                    )
                    waited = True
                if time.monotonic() - start >= wait_s:
                    holder = _holder(path)
                    raise StageBusy(
                        f"{path}: still held by {holder} after {wait_s:.0f}s", holder
                    ) from None
                time.sleep(POLL_S)
        if waited:
            _say(f"took the {name!r} lock after waiting {time.monotonic() - start:.1f}s")
        os.ftruncate(fd, 0)
        os.pwrite(fd, _whoami().encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _whoami() -> str:
    """This process and, inside a Prefect run, the flow run: what a waiting run is told."""
    who = f"pid {os.getpid()}"
    try:
        from prefect.context import FlowRunContext

        context = FlowRunContext.get()
    except ImportError:  # pragma: no cover - prefect is a dependency
        context = None
    if context is not None and context.flow_run is not None and context.flow is not None:
        who += f", flow run {context.flow_run.name!r} ({context.flow.name})"
    return f"{who}, since {datetime.now(UTC).isoformat(timespec='seconds')}"


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text or "another process"


def _say(message: str) -> None:
    """Into the Prefect run's log inside a run (what its UI shows), else koubei's log."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        get_run_logger().info(message)
    except MissingContextError:
        log.info(message)


@contextmanager
def stage_lock_or_skip(
    name: str, *, wait_s: float = DEFAULT_WAIT_S, skip_busy: bool = False
) -> Iterator[str | None]:
    """:func:`stage_lock`, or with ``skip_busy`` none at all if another run holds it.

    Yields None holding the lock, or (``skip_busy``, the lock held elsewhere) the reason this
    run leaves the stage alone, naming the run that holds it, said in the run's log too: what a
    scheduled run puts in its outcome rather than queue behind a run still at work.
    """
    with ExitStack() as stack:
        reason = None
        try:
            stack.enter_context(stage_lock(name, wait_s=0 if skip_busy else wait_s))
        except StageBusy as exc:
            if not skip_busy:
                raise
            reason = (
                f"skipped {name!r}: its lock is held by {exc.holder}; that run is still at "
                "work on it, so this one leaves it alone"
            )
            _say(reason)
        yield reason


@contextmanager
def stage_locks(
    names: list[str], *, wait_s: float = DEFAULT_WAIT_S, skip_busy: bool = False
) -> Iterator[list[str]]:
    """Hold several locks, taken in sorted order so two runs never wait on each other.

    ``skip_busy``: take only the locks no other run holds, without waiting, and yield the names
    of the others (each said in the run's log with the run that holds it). A scheduled crawl of
    a source whose previous crawl is still at work skips it: waiting, it queued behind it (one
    more run waiting per schedule tick, each crawling the site again at once when its turn came,
    and failing after an hour's wait with an alert for nothing wrong).
    """
    busy: list[str] = []
    with ExitStack() as stack:
        for name in sorted(set(names)):
            lock = stage_lock_or_skip(name, wait_s=wait_s, skip_busy=skip_busy)
            if stack.enter_context(lock) is not None:
                busy.append(name)
        yield busy
