"""argparse ``type=`` validators, so a bad option value is one line naming the option.

argparse reports a raised ``ArgumentTypeError`` as ``argument --since: <message>``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

__all__ = [
    "add_prefix",
    "at_least",
    "config_dir",
    "day",
    "duration",
    "end_time",
    "existing_file",
    "heap_size",
    "holdout_share",
    "iso_time",
    "kibana_url",
    "non_negative_int",
    "output_dir",
    "platform",
    "port",
    "positive_int",
    "prefix",
    "progress_bars",
    "readable_input",
    "row_id",
]


def prefix(value: str) -> str:
    """An index prefix Elasticsearch takes as the start of one index's name (``koubei``)."""
    from koubei.pipeline.index.client import ESConfigError, check_prefix

    try:
        return check_prefix(value, "prefix")
    except ESConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("prefix ")) from None


def add_prefix(parser: argparse.ArgumentParser, *, when: str = "") -> None:
    """The ``--prefix`` option of every command that reads or writes the indices, checked by
    :func:`prefix` (``when``: the case it applies in, such as ``" with --brand"``)."""
    parser.add_argument(
        "--prefix",
        type=prefix,
        help=f"index prefix{when} (default $KOUBEI_INDEX_PREFIX or koubei)",
    )


def existing_file(value: str) -> Path:
    """A path to a regular file (``-`` is left to the command as stdin), for a command that
    reads its files more than once (``index load`` checks every line before it sends any).

    A pipe (``<(zcat posts.jsonl.gz)``) would be empty the second time, so nothing was sent
    and nothing said; it is refused as what it is (it was called "no such file").
    """
    path = Path(value)
    if value != "-" and not path.is_file():
        raise argparse.ArgumentTypeError(f"{value}: {_not_a_file(path)}")
    return path


def readable_input(value: str) -> Path:
    """A path a command reads once, whole (``sentiment score``, ``adapt``): a file, or a pipe
    such as the shell's ``<(zcat reviews.txt.gz)`` (``/dev/fd/63``), or ``-`` for stdin.

    Only a regular file was taken before, and a pipe was refused as "no such file".
    """
    path = Path(value)
    if value != "-" and (path.is_dir() or not path.exists()):
        raise argparse.ArgumentTypeError(f"{value}: {_not_a_file(path)}")
    return path


def _not_a_file(path: Path) -> str:
    if path.is_dir():
        return "is a directory"
    if path.exists():
        return "not a regular file (a pipe or a device): it is read twice; save it to a file"
    return "no such file"


def heap_size(value: str) -> str:
    """A JVM heap size with its unit, as ``-Xmx`` takes it: ``512m``, ``1g``."""
    import re

    if not re.fullmatch(r"[1-9][0-9]*[kKmMgG]", value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a heap size like 512m or 1g (a whole number and k, m or g)"
        )
    return value


def output_dir(value: str) -> Path:
    """A folder to write into: it may not exist yet, but neither it nor a parent is a file."""
    path = Path(value)
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            where = "is a file" if part == path else f"is under {part}, a file"
            raise argparse.ArgumentTypeError(f"{value} {where}: give a directory")
    return path


def config_dir(value: str) -> Path:
    """A configuration directory; naming one of its files (``config/alerts.yaml``) is the
    common slip, answered with the directory to give instead of "alerts.yaml/alerts.yaml"."""
    path = Path(value)
    if path.is_file():
        raise argparse.ArgumentTypeError(
            f"{value} is a file: give the directory that holds it ({path.parent})"
        )
    return path


def duration(value: str) -> str:
    """A look-back like ``30m``, ``24h`` or ``7d`` (kept as text; ``parse_duration`` reads it).
    Every ``--since`` is one, so zero is refused: ``--since 0m`` searched no time and printed
    nothing, as if nothing had been said."""
    from koubei.config_alerts import positive_duration

    try:
        positive_duration(value, "would look back no time at all", "24h")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def iso_time(value: str) -> datetime:
    """An ISO 8601 time; naive times are Asia/Shanghai."""
    from koubei.crawlers.timeparse import TimeParseError, parse_iso

    try:
        return parse_iso(value)
    except TimeParseError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO time like 2026-11-25T10:00 or 2026-11-25T02:00:00Z"
        ) from None


def end_time(value: str) -> datetime:
    """The end of a time range (``--end``): an ISO time, or a day alone, which ends when that
    day does. ``--end 2026-11-25`` read as midnight at its start left the 25th out, when a
    reader of "up to the 25th" means it in."""
    moment = iso_time(value)
    try:
        date.fromisoformat(value.strip())
    except ValueError:
        return moment
    return moment + timedelta(days=1)


def day(value: str) -> date:
    """A calendar day written ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a day like 2026-11-25 (YYYY-MM-DD)"
        ) from None


def kibana_url(value: str) -> str:
    """An http(s) URL of a Kibana, checked as ``kibana_url`` in alerts.yaml is."""
    from koubei.config import check_kibana_url

    try:
        return check_kibana_url(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(value: str) -> int:
    """A whole number of at least 1 (processes, workers)."""
    return at_least(value, 1)


def non_negative_int(value: str) -> int:
    """A whole number of at least 0 (training passes: 0 is plain Bayes)."""
    return at_least(value, 0)


def at_least(value: str, low: int) -> int:
    """A whole number of at least ``low``."""
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if number < low:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least {low}")
    return number


def row_id(value: str) -> int:
    """The id of a row of the alerts database (an incident, a silence): 1 to 2**63 - 1, what
    SQLite's INTEGER holds (a longer one was an ``OverflowError`` traceback from sqlite3).
    ``#3`` is 3: ``koubei alerts status`` shows incidents so, and the README calls the id that."""
    try:
        number = int(value.removeprefix("#"))
    except ValueError:
        number = 0
    if not 1 <= number < 2**63:
        raise argparse.ArgumentTypeError(f"{value!r} is not an id (a whole number from 1)")
    return number


def port(value: str) -> int:
    """A TCP port to listen on, 1 to 65535 (was an ``OverflowError`` from ``bind``)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port from 1 to 65535")
    return number


def holdout_share(value: str) -> float:
    """A share of rows held out of training: at least 0 and less than 1."""
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0 <= share < 1:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{value!r} is not a share from 0 up to (not) 1, like 0.2")
    return share


def platform(value: str) -> str:
    """A platform name, as ``platform`` in sources.yaml (a spider under crawlers/spiders/)."""
    from koubei.config import platforms

    known = platforms()
    if value not in known:
        raise argparse.ArgumentTypeError(f"{value!r} is not a platform; known: {', '.join(known)}")
    return value


def progress_bars(no_progress: bool = False) -> bool:
    """Whether a command draws progress bars: unless ``--no-progress``, and only when stderr is
    a terminal. A bar is for a person watching; in a cron job's mail or a service's log its
    redraws were lines of ``\r`` clutter (``koubei process``, ``sentiment rescore``, ``run``
    and ``demo`` drew them there; ``report daily`` and ``spread`` already did not). Long work
    still says how far it is there in log lines (``landing file 3/12 done``)."""
    return not no_progress and sys.stderr.isatty()
