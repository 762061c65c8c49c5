"""Where koubei keeps its state on disk. One place, so every stage agrees.

``KOUBEI_HOME`` (default ``./var`` under the current directory) holds landing files, spools,
watermarks, the alert outbox and dead letters. Every stage reads and writes only below it, so a
stage can be re-run on its own input and a crash loses nothing that was written.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def package_dir(name: str) -> Path:
    """A folder shipped inside the ``koubei`` package (``conf``, ``demo`` ...) as a path.

    Read through :mod:`importlib.resources`, so it is found in a checkout (where
    ``koubei/conf`` links to the repository's ``config/``) and in an installed wheel alike.
    koubei is always installed unzipped (a wheel), so the resource is a real directory.
    """
    return Path(str(resources.files("koubei").joinpath(name)))


# The configuration the package ships: in a checkout it is the repository's config/, which
# users edit; an installed package points KOUBEI_CONFIG_DIR (or --config-dir) at its own copy.
CONFIG_DIR = Path(os.environ.get("KOUBEI_CONFIG_DIR") or package_dir("conf"))


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
