"""How many processes koubei's parallel work starts by default: one per core it may run on.

Its own module, importing nothing of koubei, so that a command can ask before it decides what
to import (``koubei sentiment score`` reads a small file in one process, a big one in several).
"""

from __future__ import annotations

import os

__all__ = ["default_workers"]


def default_workers() -> int:
    """One process per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
