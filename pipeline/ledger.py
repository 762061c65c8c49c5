"""Which files each stage has done, kept on disk beside the files themselves.

``landing/<source>/<run>.jsonl`` (crawler output; or ``<run>.jsonl.gz``) →
``processed/<source>/<run>.jsonl`` (this stage's output, written atomically) →
``processed/<source>/<run>.jsonl.indexed`` (a marker holding the index report). A stage picks up
exactly the files the next marker is missing for, so a crash between stages is resumed by the
next run and a re-run does no work twice.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from koubei import paths
from koubei.log import get_logger

log = get_logger(__name__)

INDEXED_SUFFIX = ".indexed"


#: Landing files: JSON Lines, or JSON Lines gzip-compressed (an operator compressing old runs,
#: or a crawler exporting with Scrapy's ``GzipPlugin`` feed post-processing). Anything else in
#: ``landing/`` (a killed crawl's ``.part``) is not read.
LANDING_PATTERNS = ("*.jsonl", "*.jsonl.gz")


def landing_files(source: str | None = None) -> list[Path]:
    """The landing files of ``source`` (default all), one per run.

    A run found both plain and compressed is the plain file: ``gzip run.jsonl`` writes
    ``run.jsonl.gz`` beside it and removes the plain file only once the stream is whole, so until
    then the ``.gz`` is a cut copy (both have one output, and the cut one would replace it).
    """
    root = paths.state_dir("landing")
    folder = source or "*"
    found = {path for pattern in LANDING_PATTERNS for path in root.glob(f"{folder}/{pattern}")}
    return sorted(
        path
        for path in found
        if not (path.name.endswith(".gz") and path.with_name(processed_name(path)) in found)
    )


def stray_landing() -> list[Path]:
    """Landing files outside any source's folder (``landing/run.jsonl``): never processed, as
    the source a record came from is its folder's name. Said so by the stage that skips them."""
    root = paths.state_dir("landing")
    return sorted(path for pattern in LANDING_PATTERNS for path in root.glob(pattern))


def stray_warning(path: Path) -> str:
    """One line naming a stray landing file and where it belongs."""
    return (
        f"{path} is not in a source's folder, so it is not processed: move it to "
        f"{path.parent}/<source>/{path.name} (the source is the folder's name)"
    )


def processed_name(landing: Path) -> str:
    """The landing file's name as plain JSON Lines (``run.jsonl.gz`` → ``run.jsonl``)."""
    return landing.name.removesuffix(".gz")


def processed_path(landing: Path) -> Path:
    return paths.state_dir("processed") / landing.parent.name / processed_name(landing)


def pending_landing(source: str | None = None) -> list[Path]:
    """Landing files not yet processed."""
    return [path for path in landing_files(source) if not processed_path(path).exists()]


def processed_files(source: str | None = None) -> list[Path]:
    """The processed files of ``source`` (default all), in name order (their runs' order)."""
    root = paths.state_dir("processed")
    return sorted(root.glob(f"{glob.escape(source) if source else '*'}/*.jsonl"))


def known_processed(path: Path, known: dict[Path, Path] | None = None) -> Path | None:
    """``path`` as the ledger names it if it is one of :func:`processed_files` (given by any
    name: relative, through a link), else None (a user's own JSONL, a landing file).

    ``known`` is :func:`processed_targets`, built once by a caller asking about many files: a
    load of every processed file otherwise resolved each against each (files × processed)."""
    try:
        target = path.resolve()
    except OSError:
        return None
    return (processed_targets() if known is None else known).get(target)


def processed_targets() -> dict[Path, Path]:
    """Each processed file's resolved path → the file as the ledger names it."""
    known: dict[Path, Path] = {}
    for path in processed_files():
        with contextlib.suppress(OSError):
            known.setdefault(path.resolve(), path)
    return known


def _marker(processed: Path) -> Path:
    """The file saying the index stage has done ``processed``."""
    return processed.with_name(processed.name + INDEXED_SUFFIX)


def _set_aside(marker: Path) -> None:
    """Move a marker that is no file (a directory by its name: a copy or a hand edit gone
    wrong) aside, naming it. Only a file is a marker: a directory counted as one, so its
    processed file was never sent, silently, and marking or unmarking it raised
    (IsADirectoryError) at every later cycle or rescore."""
    if marker.is_dir() and not marker.is_symlink():
        aside = marker.with_name(f"{marker.name}.not-a-marker-{os.getpid()}-{time.time_ns()}")
        marker.rename(aside)
        log.warning(
            "index marker is a directory, moved aside; its file will be indexed again",
            marker=str(marker),
            moved_to=str(aside),
        )


def unmark_indexed(processed: Path) -> None:
    """Make ``processed`` pending for the index stage again (its contents are about to change)."""
    marker = _marker(processed)
    _set_aside(marker)
    marker.unlink(missing_ok=True)


def is_indexed(processed: Path) -> bool:
    """Whether the index stage has done ``processed`` (its marker, a file, is there)."""
    return _marker(processed).is_file()


def pending_index() -> list[Path]:
    """Processed files not yet acknowledged by Elasticsearch."""
    return [path for path in processed_files() if not is_indexed(path)]


#: The lists of files in an index report: named by the run (``RunSummary``), not counted.
FILE_LISTS = ("dead_letters", "spool_files", "causes")


def report_counts(report: Any) -> dict[str, int]:
    """Integer fields of a stage's report (a report may count with lists of ids): what a
    marker records, for the cycle's index stage and a load by hand alike."""
    if hasattr(report, "as_dict"):
        data = report.as_dict()
    elif hasattr(report, "__dataclass_fields__"):
        data = asdict(report)
    else:
        data = dict(report)
    return {
        key: len(v) if isinstance(v, list) else v
        for key, v in data.items()
        if isinstance(v, int | list) and key not in FILE_LISTS
    }


def mark_indexed(processed: Path, report: dict[str, Any]) -> None:
    _set_aside(_marker(processed))
    _marker(processed).write_text(json.dumps(report, ensure_ascii=False, default=str))
