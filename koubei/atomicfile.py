"""Replacing a file so that neither a reader nor a crash ever sees half of it.

One home for what every state file, landing file, model and report page needs: a temp file in
the same directory (so the rename is atomic), flushed to disk before the rename (so a power cut
cannot leave an empty file under the final name), removed if writing fails, and the permissions
a plain ``open()`` would give. ``tempfile.mkstemp`` creates its file 0600; before this module
report pages kept that mode, and a web server running as another user could not serve them.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write"]


def _current_umask() -> int:
    # os.umask can only be read by setting it; done once at import, before any worker threads.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_current_umask()


@contextmanager
def atomic_write(path: Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A handle whose contents replace ``path`` when the ``with`` block ends without error.

    Text handles write UTF-8. Parent directories are created (a file in the way of one is a
    NotADirectoryError naming it; ``path`` a directory, an IsADirectoryError naming it). On any
    exception the temp file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        # A file where the folder goes ($KOUBEI_REPORTS_DIR/daily a file): mkdir's "File
        # exists" was a traceback out of the CLI, which says a missing folder in one line.
        raise NotADirectoryError(
            errno.ENOTDIR, f"{os.strerror(errno.ENOTDIR)} (a file is in the way)", str(path.parent)
        ) from None
    if path.is_dir():  # else the error named the temp file, gone by the time it was read
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _MODE)
        handle: IO[Any] = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
