"""Where koubei keeps its state on disk. One place, so every stage agrees.

``KOUBEI_HOME`` (default ``./var`` under the current directory) holds landing files, spools,
watermarks, the alert outbox and dead letters. Every stage reads and writes only below it, so a
stage can be re-run on its own input and a crash loses nothing that was written.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(os.environ.get("KOUBEI_CONFIG_DIR", REPO_ROOT / "config"))


def home() -> Path:
    """Root of koubei's state; created on first use."""
    root = Path(os.environ.get("KOUBEI_HOME", Path.cwd() / "var"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def state_dir(name: str) -> Path:
    """A named subdirectory of the state root (``landing``, ``spool``, ``outbox`` ...)."""
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path
