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


def config_folder(name: str) -> Path:
    """The config directory's folder ``name`` (``es``, ``kibana``), or the shipped one when it
    has none: a ``$KOUBEI_CONFIG_DIR`` of the YAML files a user edits (as ``demo/config``) uses
    the shipped templates and saved objects, as it uses the shipped ``aspects.yaml`` (was:
    ``koubei index setup``, ``status``, ``kibana`` and every cycle's index stage stopped at
    ``<dir>/es/analyzers.json: No such file or directory``, while ``--config-dir`` with the same
    directory read the shipped ones)."""
    own = CONFIG_DIR / name
    return own if own.exists() or own.is_symlink() else package_dir("conf") / name


def home() -> Path:
    """Root of koubei's state; created on first use."""
    root = home_path()
    _make_dir(root, root)
    return root


def home_path() -> Path:
    """Where :func:`home` is, without creating it (for a command that only reads state)."""
    return Path(os.environ.get("KOUBEI_HOME", Path.cwd() / "var"))


def _make_dir(path: Path, root: Path, variable: str = "KOUBEI_HOME") -> None:
    """Create ``path`` (below ``root``, which ``variable`` names), or one line saying why not."""
    from koubei.errors import KoubeiError

    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # KOUBEI_HOME=/dev/null, or a file in the way
        raise KoubeiError(
            f"{path}: cannot be a directory (a file is in the way); {variable} is {root}"
        ) from None
    except OSError as exc:  # no permission, a read-only file system, a parent that cannot be
        raise KoubeiError(
            f"{path}: cannot create it ({exc.strerror or exc}); {variable} is {root}: "
            f"set {variable} to a writable directory"
        ) from None


def make_dir(path: Path, variable: str) -> Path:
    """Create a folder an environment variable names (``KOUBEI_REPORTS_DIR`` ...); the error
    names the variable."""
    _make_dir(path, path, variable)
    return path


def path_part(name: str) -> str:
    """``name`` (a brand, a post id) as one folder name that stays where it is put.

    Letters (Chinese too), digits and ``-_.`` are kept, anything else becomes ``_``; a name of
    dots alone is all ``_``. A brand named ``AC/DC`` made two folders, and ``../x`` wrote
    outside ``$KOUBEI_HOME``.

    >>> path_part("AC/DC"), path_part("../x"), path_part(".."), path_part("鲜牧 weibo:1")
    ('AC_DC', '.._x', '__', '鲜牧_weibo_1')
    """
    part = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return "_" * len(part) if set(part) <= {"."} else part


def state_dir(name: str) -> Path:
    """A named subdirectory of the state root (``landing``, ``spool``, ``outbox`` ...)."""
    root = home()
    path = root / name
    _make_dir(path, root)
    return path


REVIEWS_ENV = "KOUBEI_REVIEWS_CSV"
_CHECKOUT = Path(__file__).resolve().parents[1]
# Where the full labelled corpus sits beside a checkout (the tests use tests/data/ instead). An
# installed package has no checkout: beside site-packages is no place anyone keeps data.
SHARED_REVIEWS: Path | None = (
    _CHECKOUT.parent / "shared" / "data" / "reviews_9cats.csv"
    if (_CHECKOUT / "pyproject.toml").is_file()
    else None
)


class MissingDataError(FileNotFoundError):
    """A data file that training or a benchmark needs is not there."""


def reviews_csv() -> Path:
    """The full labelled review corpus (``cat,label,review``) for training and benchmarks.

    ``KOUBEI_REVIEWS_CSV`` names it; unset, ``../shared/data/reviews_9cats.csv`` beside the
    checkout is used when it exists (in a checkout only). Raises :class:`MissingDataError` with a
    one-line message naming the variable and the path looked at.
    """
    named = os.environ.get(REVIEWS_ENV)
    path = Path(named) if named else SHARED_REVIEWS
    if path is None:
        raise MissingDataError(
            f"labelled review corpus not given (set {REVIEWS_ENV}=/path/to/reviews.csv)"
        )
    if not path.is_file():
        how = f"{REVIEWS_ENV} names it" if named else f"set {REVIEWS_ENV}=/path/to/reviews.csv"
        raise MissingDataError(f"labelled review corpus not found at {path} ({how})")
    return path
