"""The durable outbox: notifications waiting to be sent, sent, or given up on.

Rows are written in the same transaction as the incident change that causes them
(:mod:`koubei.analysis.alerts.incidents`), so nothing detected is lost by a crash. Delivery is
at-least-once with a stable idempotency key per row; receivers de-duplicate on that key, which
makes it exactly-once for them. Failures back off exponentially with jitter; rows that exhaust
``max_attempts`` stay in the table as ``failed`` so ``koubei alerts status`` shows them.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from koubei.analysis.alerts import db
from koubei.log import get_logger
from koubei.timeutil import now as _now

log = get_logger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
BASE_DELAY = 10.0  # seconds before the first retry
MAX_DELAY = 3600.0
#: a row being sent is leased for this long; if the sender dies mid-send another run retries it
LEASE_SECONDS = 120.0


class DeliveryError(Exception):
    """A send failed. ``retryable`` False means retrying cannot help (bad URL, rejected sign)."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Sender(Protocol):
    """What the outbox needs of a channel (``koubei.analysis.alerts.channels.Channel`` is one)."""

    name: str
    rate_limits: tuple[tuple[int, float], ...]

    def send(self, payload: dict[str, Any], idempotency_key: str) -> None: ...


@dataclass(frozen=True)
class Notification:
    """One outbox row: one event of one incident for one channel."""

    id: int
    channel: str
    kind: str
    incident_key: str
    idempotency_key: str
    payload: dict[str, Any]
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: float | None = None


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)  # idempotency keys
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # rate-limited, not counted as attempts
    skipped: list[str] = field(default_factory=list)  # no channel of that name configured

    def as_dict(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.__dict__.items()}


def enqueue(
    conn: sqlite3.Connection,
    *,
    channel: str,
    kind: str,
    incident_key: str,
    idempotency_key: str,
    payload: dict[str, Any],
    at: float,
) -> Notification | None:
    """Insert one row inside the caller's transaction; None if the key is already queued."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO outbox (idempotency_key, channel, incident_key, kind, payload, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            idempotency_key,
            channel,
            incident_key,
            kind,
            json.dumps(payload, ensure_ascii=False, default=str),
            at,
            at,
        ),
    )
    if cursor.rowcount == 0:
        return None
    return Notification(
        int(cursor.lastrowid or 0), channel, kind, incident_key, idempotency_key, payload
    )


def backoff_delay(
    attempts: int,
    *,
    base: float = BASE_DELAY,
    cap: float = MAX_DELAY,
    rng: random.Random | None = None,
) -> float:
    """Full-jitter exponential backoff: uniform in [base·2^(n-1)/2, base·2^(n-1)], capped."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


def _row(row: sqlite3.Row) -> Notification:
    return Notification(
        row["id"],
        row["channel"],
        row["kind"],
        row["incident_key"],
        row["idempotency_key"],
        json.loads(row["payload"]),
        row["status"],
        row["attempts"],
        row["last_error"],
        row["next_attempt_at"],
    )


def _rate_limited_until(conn: sqlite3.Connection, sender: Sender, at: float) -> float | None:
    """When the channel may send again, counting deliveries in the DB (so it holds across runs)."""
    until: float | None = None
    for limit, per in sender.rate_limits:
        rows = conn.execute(
            "SELECT delivered_at FROM outbox WHERE channel = ? AND delivered_at > ? "
            "ORDER BY delivered_at DESC LIMIT ?",
            (sender.name, at - per, limit),
        ).fetchall()
        if len(rows) >= limit:
            free_at = float(rows[-1]["delivered_at"]) + per
            until = free_at if until is None else max(until, free_at)
    return until


def deliver_pending(
    db_path: Path,
    channels: Sequence[Sender],
    *,
    now: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    base_delay: float = BASE_DELAY,
    max_delay: float = MAX_DELAY,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Send every due pending notification through the channel of its name.

    Parameters
    ----------
    db_path
        The alerts database (:func:`koubei.analysis.alerts.db.default_db_path`).
    channels
        Built channels; rows for channels not given stay pending (reported as ``skipped``).
    now
        The clock for due times and backoff (default: the wall clock).
    max_attempts
        After this many failed sends a row becomes ``failed`` and stays visible.
    """
    at = (now or _now()).timestamp()
    by_name = {c.name: c for c in channels}
    report = DeliveryReport()
    conn = db.connect(db_path)
    try:
        due = conn.execute(
            "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id",
            (at,),
        ).fetchall()
        for row in due:
            note = _row(row)
            sender = by_name.get(note.channel)
            if sender is None:
                report.skipped.append(note.idempotency_key)
                continue
            until = _rate_limited_until(conn, sender, at)
            if until is not None:
                with db.transaction(conn):
                    conn.execute(
                        "UPDATE outbox SET next_attempt_at = ? WHERE id = ?", (until, note.id)
                    )
                report.deferred.append(note.idempotency_key)
                continue
            if not _claim(conn, note.id, at):
                continue  # another runner (an overlapping flow run) is sending it
            _attempt(conn, sender, note, at, report, max_attempts, base_delay, max_delay, rng)
    finally:
        conn.close()
    if report.delivered or report.failed or report.retrying:
        log.info("outbox delivery", **report.as_dict())
    return report


def _claim(conn: sqlite3.Connection, row_id: int, at: float) -> bool:
    """Lease a due row so two concurrent runners do not both send it."""
    with db.transaction(conn):
        cursor = conn.execute(
            "UPDATE outbox SET next_attempt_at = ? "
            "WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?",
            (at + LEASE_SECONDS, row_id, at),
        )
    return cursor.rowcount == 1


def _attempt(
    conn: sqlite3.Connection,
    sender: Sender,
    note: Notification,
    at: float,
    report: DeliveryReport,
    max_attempts: int,
    base_delay: float,
    max_delay: float,
    rng: random.Random | None,
) -> None:
    attempts = note.attempts + 1
    try:
        try:
            sender.send(note.payload, note.idempotency_key)
        except DeliveryError:
            raise
        except Exception as exc:
            # A rendering bug must not wedge the queue: count it as a failed attempt.
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
    except DeliveryError as exc:
        error = str(exc)[:500]
        if exc.retryable and attempts < max_attempts:
            delay = backoff_delay(attempts, base=base_delay, cap=max_delay, rng=rng)
            if exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
            status, next_at = "pending", at + delay
            report.retrying.append(note.idempotency_key)
        else:
            status, next_at = "failed", at
            report.failed.append(note.idempotency_key)
        log.warning(
            "delivery failed",
            channel=note.channel,
            key=note.idempotency_key,
            attempts=attempts,
            status=status,
            error=error,
        )
        with db.transaction(conn):
            conn.execute(
                "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ? "
                "WHERE id = ?",
                (status, attempts, next_at, error, note.id),
            )
        return
    with db.transaction(conn):
        conn.execute(
            "UPDATE outbox SET status = 'delivered', attempts = ?, delivered_at = ?, "
            "last_error = NULL WHERE id = ?",
            (attempts, at, note.id),
        )
    report.delivered.append(note.idempotency_key)


def notifications(
    db_path: Path, *, status: str | None = None, limit: int = 100
) -> list[Notification]:
    """Outbox rows, newest first, optionally of one status (pending, delivered, failed)."""
    conn = db.connect(db_path)
    try:
        if status:
            rows = conn.execute(
                "SELECT * FROM outbox WHERE status = ? ORDER BY id DESC LIMIT ?", (status, limit)
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT * FROM outbox ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_row(r) for r in rows]
    finally:
        conn.close()


def counts(db_path: Path) -> dict[str, int]:
    """Rows per status."""
    conn = db.connect(db_path)
    try:
        rows = conn.execute("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status").fetchall()
        return {r["status"]: r["n"] for r in rows}
    finally:
        conn.close()


def retry_failed(db_path: Path, *, now: datetime | None = None) -> int:
    """Put failed rows back to pending with a fresh attempt budget; returns how many."""
    at = (now or _now()).timestamp()
    conn = db.connect(db_path)
    try:
        with db.transaction(conn):
            cursor = conn.execute(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
                "WHERE status = 'failed'",
                (at,),
            )
        return cursor.rowcount
    finally:
        conn.close()
