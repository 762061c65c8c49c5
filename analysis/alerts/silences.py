"""Silences: label matchers with an expiry that suppress notifications (Alertmanager style).

An incident's labels are ``brand``, ``severity``, ``group``, ``incident`` (its dedup key),
``detector`` and ``series`` (the detectors that fired). A silence matches when every one of its
matchers does; ``detector`` and ``series`` match if any of the incident's values does. A matcher
on another label, or on a severity that is none, is refused: it matched no incident (or, with
``!=``, every one), so a typo silenced nothing, or everything, and said nothing. An incident
under a silence keeps its state; it is notified once the silence expires if it is still firing.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

from koubei.analysis.alerts import db
from koubei.config_alerts import Severity
from koubei.timeutil import DEFAULT_TZ
from koubei.timeutil import now as _now

OPERATORS = ("=~", "!~", "!=", "=")
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")

Labels = dict[str, str | list[str]]
#: The labels an incident has (``IncidentRecord.labels``), the names a matcher may use.
LABELS = ("brand", "severity", "group", "incident", "detector", "series")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``brand=X``, ``severity!=info``, ``detector=~neg.*``, ``incident!~spike:.*``."""
        match = _MATCHER.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a matcher like name=value, name!=value, name=~re")
        name, op, value = match.groups()
        if op in ("=", "!=") and value[:1] in ("~", "=", "!"):
            # `brand!=~x` read as brand != "~x": a silence of every incident, for a negated
            # regex (`!~`) mistyped; `==` and `=!` likewise matched almost nothing or all
            raise ValueError(
                f"{text!r}: {op}{value[:1]} is not an operator: use =, !=, =~ or !~ "
                "(name=value, name!=value, name=~regex, name!~regex)"
            )
        if name not in LABELS:
            raise ValueError(f"{text!r}: no incident has a label {name!r} ({', '.join(LABELS)})")
        severities = get_args(Severity)
        if name == "severity" and op in ("=", "!=") and value not in severities:
            raise ValueError(f"{text!r}: severity {value!r} is not one of {', '.join(severities)}")
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                why = f"{value!r} is not a regular expression ({exc})"
                raise ValueError(f"{text!r}: {why}") from None
        return cls(name, op, value)

    def matches(self, labels: Labels) -> bool:
        raw = labels.get(self.name, "")
        values = raw if isinstance(raw, list) else [raw]
        if self.op == "=":
            return self.value in values
        if self.op == "!=":
            return self.value not in values
        hit = any(re.fullmatch(self.value, v) for v in values)
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


@dataclass(frozen=True)
class Silence:
    id: int
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    comment: str = ""

    def active(self, at: float) -> bool:
        return self.starts_at <= at < self.ends_at

    def matches(self, labels: Labels) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "matchers": [str(m) for m in self.matchers],
            "starts_at": datetime.fromtimestamp(self.starts_at, DEFAULT_TZ).isoformat(),
            "ends_at": datetime.fromtimestamp(self.ends_at, DEFAULT_TZ).isoformat(),
            "comment": self.comment,
        }


def add_silence(
    db_path: Path,
    matchers: list[Matcher],
    *,
    duration_seconds: int,
    now: datetime | None = None,
    comment: str = "",
) -> Silence:
    """Store a silence that starts ``now`` and lasts ``duration_seconds``."""
    if not matchers:
        raise ValueError("a silence needs at least one matcher (e.g. brand=X)")
    if duration_seconds <= 0:
        raise ValueError("a silence needs a positive duration")
    start = (now or _now()).timestamp()
    conn = db.connect(db_path)
    try:
        with db.transaction(conn):
            cursor = conn.execute(
                "INSERT INTO silences (matchers, starts_at, ends_at, created_at, comment) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    json.dumps([[m.name, m.op, m.value] for m in matchers], ensure_ascii=False),
                    start,
                    start + duration_seconds,
                    start,
                    comment,
                ),
            )
        return Silence(
            int(cursor.lastrowid or 0), tuple(matchers), start, start + duration_seconds, comment
        )
    finally:
        conn.close()


def expire_silence(db_path: Path, silence_id: int, *, now: datetime | None = None) -> bool:
    """End a silence now; returns whether it existed and was still running."""
    at = (now or _now()).timestamp()
    conn = db.connect(db_path)
    try:
        with db.transaction(conn):
            cursor = conn.execute(
                "UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?",
                (at, silence_id, at),
            )
        return cursor.rowcount > 0
    finally:
        conn.close()


def _row_to_silence(row: sqlite3.Row) -> Silence:
    where = f"silences row {row['id']}"  # damaged on disk or by hand: one error naming it
    db.stored_numbers(row, where, ("starts_at", "ends_at"), ())
    stored = db.stored_json(row, "matchers", list, where)
    if not all(isinstance(m, list) and len(m) == 3 and all(isinstance(x, str) for x in m)
               for m in stored):  # fmt: skip
        raise db.DamagedRow(f"{where}: matchers is not a list of [name, op, value]")
    matchers = tuple(Matcher(n, o, v) for n, o, v in stored)
    return Silence(row["id"], matchers, row["starts_at"], row["ends_at"], row["comment"])


def active_silences(conn: sqlite3.Connection, at: float) -> list[Silence]:
    rows = conn.execute(
        "SELECT * FROM silences WHERE starts_at <= ? AND ends_at > ? ORDER BY id", (at, at)
    ).fetchall()
    return [_row_to_silence(r) for r in rows]


def list_silences(db_path: Path, *, now: datetime | None = None) -> list[Silence]:
    """Silences that are running now."""
    conn = db.connect(db_path)
    try:
        return active_silences(conn, (now or _now()).timestamp())
    finally:
        conn.close()


def silenced_by(conn: sqlite3.Connection, labels: Labels, at: float) -> Silence | None:
    """The first running silence that matches ``labels``, or None."""
    for silence in active_silences(conn, at):
        if silence.matches(labels):
            return silence
    return None
