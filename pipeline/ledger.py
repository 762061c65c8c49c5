"""Which files each stage has done, kept on disk beside the files themselves.

``landing/<source>/<run>.jsonl`` (crawler output) → ``processed/<source>/<run>.jsonl`` (this
stage's output, written atomically) → ``processed/<source>/<run>.jsonl.indexed`` (a marker holding
the index report). A stage picks up exactly the files the next marker is missing for, so a crash
between stages is resumed by the next run and a re-run does no work twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from koubei import paths

INDEXED_SUFFIX = ".indexed"


def landing_files(source: str | None = None) -> list[Path]:
    root = paths.state_dir("landing")
    pattern = f"{source}/*.jsonl" if source else "*/*.jsonl"
    return sorted(root.glob(pattern))


def processed_path(landing: Path) -> Path:
    return paths.state_dir("processed") / landing.parent.name / landing.name


def pending_landing(source: str | None = None) -> list[Path]:
    """Landing files not yet processed."""
    return [path for path in landing_files(source) if not processed_path(path).exists()]


def pending_index() -> list[Path]:
    """Processed files not yet acknowledged by Elasticsearch."""
    root = paths.state_dir("processed")
    return [
        path
        for path in sorted(root.glob("*/*.jsonl"))
        if not path.with_name(path.name + INDEXED_SUFFIX).exists()
    ]


def mark_indexed(processed: Path, report: dict[str, Any]) -> None:
    marker = processed.with_name(processed.name + INDEXED_SUFFIX)
    marker.write_text(json.dumps(report, ensure_ascii=False, default=str))
