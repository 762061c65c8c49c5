"""Child processes that end when the process that started them ends, however it ended.

A child waiting on work its parent was to send (an enrichment helper on its task queue) or
working on its own (a source's crawl in ``koubei.crawlers.run_one``) never learnt that the
parent was gone: a ``koubei process`` or ``koubei crawl`` killed with SIGKILL (the OOM killer,
``kill -9``, a service manager's last resort) or a plain SIGTERM left its children running,
helpers waiting for ever, a crawl finishing beside the next run of the same source once the
kernel had released the killed run's lock.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable

__all__ = ["when_gone"]


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
            select.select([handle], [], [])  # readable once the owner has exited
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
