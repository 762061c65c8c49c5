"""The durable outbox: the table of notifications waiting to be sent, sent, or given up on.

Rows are written in the same transaction as the incident change that causes them
(:mod:`koubei.analysis.alerts.incidents`), so nothing detected is lost by a crash; a newer state
of an incident supersedes the rows its channel has not been sent yet. This module is the rows:
their record (:class:`Notification`), :func:`enqueue`, and what ``koubei alerts`` reads and
mends (:func:`notifications`, :func:`counts`, :func:`retry_failed`). Sending them is
:mod:`koubei.analysis.alerts.delivery`, kept apart because the incident store, the digest and
the history write or read rows without sending any.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from koubei.analysis.alerts import db
from koubei.timeutil import now as _now

DIGEST_ITEM = "digest-item"


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
    unknown_sends: int = 0
    repeats: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Notification:
        # a row damaged on disk or by hand is one error naming it (was a traceback)
        where = f"outbox row {row['id']}"
        payload = db.stored_json(row, "payload", dict, where)
        db.stored_numbers(
            row, where, ("next_attempt_at",), ("attempts", "unknown_sends", "repeats")
        )
        if not all(isinstance(row[c], str) for c in ("channel", "kind", "status")) or not (
            row["last_error"] is None or isinstance(row["last_error"], str)
        ):
            raise db.DamagedRow(f"{where}: channel, kind, status or last_error is not text")
        return cls(
            row["id"],
            row["channel"],
            row["kind"],
            row["incident_key"],
            row["idempotency_key"],
            payload,
            row["status"],
            row["attempts"],
            row["last_error"],
            row["next_attempt_at"],
            row["unknown_sends"],
            row["repeats"],
        )


def enqueue(
    conn: sqlite3.Connection,
    *,
    channel: str,
    kind: str,
    incident_key: str,
    idempotency_key: str,
    payload: dict[str, Any],
    at: float,
    not_before: float | None = None,
) -> Notification | None:
    """Insert one row inside the caller's transaction; None if the key is already queued.

    ``not_before`` holds the row (quiet hours) until then.
    """
    cursor = conn.execute(
        "INSERT OR IGNORE INTO outbox (idempotency_key, channel, incident_key, kind, payload, "
        "next_attempt_at, created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            idempotency_key,
            channel,
            incident_key,
            kind,
            json.dumps(payload, ensure_ascii=False, default=str),
            max(at, not_before or at),
            at,
            "held" if kind == DIGEST_ITEM else "pending",  # waits for its channel's digest
        ),
    )
    if cursor.rowcount == 0:
        return None
    # The newer state of the incident replaces what this channel has not been sent yet.
    conn.execute(
        "UPDATE outbox SET status = 'superseded' WHERE incident_key = ? AND channel = ? "
        "AND status = 'pending' AND id < ? AND kind != 'test'",
        (incident_key, channel, cursor.lastrowid),
    )
    return Notification(
        int(cursor.lastrowid or 0), channel, kind, incident_key, idempotency_key, payload
    )


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
        return [Notification.from_row(r) for r in rows]
    finally:
        conn.close()


def counts(db_path: Path) -> dict[str, int]:
    """Rows per status, and how many marked repeats were sent (``repeats_sent``)."""
    conn = db.connect(db_path)
    try:
        rows = conn.execute("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status").fetchall()
        out = {r["status"]: r["n"] for r in rows}
        (repeats,) = conn.execute("SELECT COALESCE(SUM(repeats), 0) FROM outbox").fetchone()
        if repeats:
            out["repeats_sent"] = int(repeats)  # messages marked （重发）: may have arrived twice
        return out
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
