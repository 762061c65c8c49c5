"""The one SQLite database of the alerts half: incidents, silences and the outbox.

They share one file so that an incident's state change and the notifications it causes commit in
one transaction: a process killed in between loses neither, and delivers on the next run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from koubei import paths
from koubei.errors import KoubeiError

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    brand TEXT NOT NULL,
    grp TEXT NOT NULL,
    status TEXT NOT NULL,                 -- firing | resolved
    severity TEXT NOT NULL,
    score REAL NOT NULL DEFAULT 0,
    started_at REAL NOT NULL,             -- unix seconds of the first detection
    last_detection_at REAL NOT NULL,
    resolved_at REAL,
    last_notified_at REAL,
    notified_severity TEXT,
    notified_channels TEXT NOT NULL DEFAULT '[]',
    event_seq INTEGER NOT NULL DEFAULT 0,
    detections TEXT NOT NULL DEFAULT '[]',  -- the latest detections (JSON)
    evidence TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents(brand, grp, status);
CREATE TABLE IF NOT EXISTS watermarks (    -- what detections were already seen, per series
    brand TEXT NOT NULL,
    grp TEXT NOT NULL,
    onset_at REAL NOT NULL,               -- latest detection onset
    active_at REAL NOT NULL,              -- latest firing bin of any episode
    PRIMARY KEY (brand, grp)
);
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY,
    matchers TEXT NOT NULL,               -- JSON list of [name, op, value]
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    created_at REAL NOT NULL,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    incident_key TEXT NOT NULL,
    kind TEXT NOT NULL,                   -- firing | updated | resolved | test
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | failed | superseded
                                          -- | unconfirmed (a marked repeat timed out too)
    attempts INTEGER NOT NULL DEFAULT 0,
    unknown_sends INTEGER NOT NULL DEFAULT 0,  -- sends that timed out after the request went out
    repeats INTEGER NOT NULL DEFAULT 0,   -- sends marked （重发） because one may have arrived
    sending_at REAL,                      -- a request went out and its outcome is not written
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox(channel, delivered_at);
CREATE INDEX IF NOT EXISTS outbox_incident ON outbox(incident_key, channel, id);
CREATE TABLE IF NOT EXISTS sends (         -- wall-clock time of every request, per channel
    channel TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sends_window ON sends(channel, at);
"""


def default_db_path() -> Path:
    """``$KOUBEI_HOME/alerts/alerts.db``."""
    return paths.state_dir("alerts") / "alerts.db"


def existing_db_path() -> Path:
    """:func:`default_db_path` for a command that only reads what the cycles recorded (``koubei
    report incident``), or KoubeiError naming where it looked, creating nothing: :func:`connect`
    makes a new empty database there (and its folders), which such a command then read as
    "no incident 1", and the next one too, whatever KOUBEI_HOME was meant."""
    root = paths.home_path()
    path = root / "alerts" / "alerts.db"
    if not path.exists():  # a directory there is connect()'s to name: "not an alerts database"
        raise KoubeiError(
            f"no alerts database at {path}: no cycle has recorded an incident under KOUBEI_HOME "
            f"{root} (is it the KOUBEI_HOME the monitoring runs use?)"
        )
    return path


def connect(db_path: Path) -> sqlite3.Connection:
    """Open (and create) the database in autocommit mode; use :func:`transaction` to write."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    if db_path.is_dir():
        raise _not_a_database(db_path, "a directory")
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        _check_ours(conn)
        # WAL lets `koubei alerts status` read while a flow writes; FULL sync because an alert
        # that was acknowledged as enqueued must survive a power cut.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        _add_missing_columns(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise  # another process holds it past the timeout: not the user's file mistake
        raise _not_a_database(db_path, str(exc)) from None
    return conn


#: the tables koubei keeps in an alerts database (any one says the file is koubei's)
TABLES = frozenset({"incidents", "watermarks", "silences", "outbox", "sends", "history_watermark"})


def _check_ours(conn: sqlite3.Connection) -> None:
    """Refuse a database of another program: a ``--db`` naming one got koubei's tables (and
    WAL mode) written into it, silently."""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    tables = sorted(r[0] for r in rows if not r[0].startswith("sqlite_"))
    if tables and not TABLES.intersection(tables):
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise sqlite3.DatabaseError(f"it holds another program's tables: {shown}")


def _not_a_database(db_path: Path, why: str) -> KoubeiError:
    """A ``--db`` naming a folder or another kind of file (was a sqlite3 traceback)."""
    return KoubeiError(
        f"{db_path}: not an alerts database ({why}); give --db the SQLite file koubei keeps "
        "(default $KOUBEI_HOME/alerts/alerts.db)"
    )


class DamagedRow(KoubeiError):
    """A row koubei did not write so: a JSON column that is no JSON (or not the kind of value
    it holds), a time or count that is no number. Pages of a file damaged on disk, or edited
    by hand; it was a traceback (``JSONDecodeError``, ``AttributeError: 'list' object has no
    attribute 'get'``, ``OverflowError``) out of ``koubei alerts status``/``deliver``."""


def damage_error(path: Path, exc: BaseException) -> KoubeiError | None:
    """The one line a command shows for ``exc``, met reading or writing the alerts database at
    ``path``, when it says the file is damaged (pages a disk or a copy cut short, text whose
    bytes are no UTF-8, a :class:`DamagedRow`); None when it is the machine's (locked past the
    timeout, a full disk, I/O), for the caller to raise as it is."""
    if isinstance(exc, sqlite3.OperationalError):
        if not any(word in str(exc) for word in ("decode", "no such column")):
            return None
    elif not isinstance(exc, sqlite3.DatabaseError | DamagedRow):
        return None
    return KoubeiError(
        f"{path}: the alerts database is damaged ({str(exc)[:200]}); "
        f"`sqlite3 {path} .recover` may save its rows, else move it aside (a cycle "
        "starts a new one)"
    )


#: the unix seconds a stored time may hold: what ``datetime.fromtimestamp`` reads (years 1-9999)
_SECONDS = (-62_135_596_800, 253_402_300_799)


def _value(row: sqlite3.Row, column: str, where: str) -> Any:
    try:
        return row[column]
    except IndexError:  # a table re-made by hand without it
        raise DamagedRow(f"{where}: no column {column}") from None


def stored_text(row: sqlite3.Row, where: str, columns: tuple[str, ...]) -> None:
    """Check that ``columns`` hold text, else :class:`DamagedRow` (a BLOB reads as bytes)."""
    for column in columns:
        if not isinstance(_value(row, column, where), str):
            raise DamagedRow(f"{where}: {column} is not text")


def stored_json(row: sqlite3.Row, column: str, kind: type, where: str) -> Any:
    """``row[column]`` read as the JSON ``kind`` (dict, list) koubei stores there, else
    :class:`DamagedRow` naming ``where`` (``outbox row 3``) and the column."""
    try:
        value = json.loads(_value(row, column, where))
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise DamagedRow(f"{where}: {column} is not JSON ({type(exc).__name__})") from None
    if not isinstance(value, kind):
        raise DamagedRow(f"{where}: {column} is JSON but not a {kind.__name__}")
    return value


def stored_numbers(
    row: sqlite3.Row, where: str, times: tuple[str, ...], counts: tuple[str, ...]
) -> None:
    """Check that ``times`` hold unix seconds (or NULL) and ``counts`` integers, else
    :class:`DamagedRow`: SQLite keeps any value in any column."""
    for column in times:
        value = _value(row, column, where)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and not (number and _SECONDS[0] <= value <= _SECONDS[1]):
            raise DamagedRow(f"{where}: {column} {str(value)[:40]!r} is not a time")
    for column in counts:
        if not isinstance(_value(row, column, where), int):
            raise DamagedRow(f"{where}: {column} {str(row[column])[:40]!r} is not a count")


#: columns added after the first release; an older database gets them on open
ADDED_COLUMNS = {
    "outbox": {
        "unknown_sends": "INTEGER NOT NULL DEFAULT 0",
        "repeats": "INTEGER NOT NULL DEFAULT 0",
        "sending_at": "REAL",
    }
}


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, columns in ADDED_COLUMNS.items():
        present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, spec in columns.items():
            if name not in present:
                try:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {spec}")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: take the write lock up front so two writers serialise."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
