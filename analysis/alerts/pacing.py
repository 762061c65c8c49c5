"""Per-channel pacing on real send times: wait for a free slot instead of being rejected.

Chat platforms count messages per robot over a sliding window (DingTalk and WeCom: 20 a
minute; Feishu: 100 a minute and 5 a second; Slack incoming webhooks: about one a second) and
answer beyond it with a rate-limit code. The outbox therefore *reserves* a slot before every
request: the reservation is a row in the ``sends`` table stamped with the wall clock at the
moment of sending (never the delivery run's start), taken inside ``BEGIN IMMEDIATE`` so two
overlapping delivery runs share one budget. When the window is full the caller sleeps until its
oldest send leaves the window, and then sends: one run delivers a burst at the platform's pace
rather than leaving the rest for the next monitoring cycle.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from koubei.analysis.alerts import db

Clock = Callable[[], float]
Sleep = Callable[[float], None]

#: waited on top of a window's end, for clock granularity and the platform's own rounding
MARGIN_FRACTION = 0.02


@dataclass
class Pacer:
    """The sending budget of one channel.

    Parameters
    ----------
    channel
        The channel name (the key in ``sends``).
    limits
        ``(messages, per_seconds)`` pairs; all must hold.
    clock, sleep
        Real time by default; injectable so a test can count the waits.
    """

    channel: str
    limits: Sequence[tuple[int, float]]
    clock: Clock = time.time
    sleep: Sleep = time.sleep
    waited: float = field(default=0.0)

    @property
    def interval(self) -> float:
        """The average spacing the limits allow (the base of rate-limit backoff)."""
        return max((per / limit for limit, per in self.limits), default=1.0)

    @property
    def longest(self) -> float:
        return max((per for _, per in self.limits), default=1.0)

    def free_at(self, conn: sqlite3.Connection, now: float) -> float | None:
        """When the next send may go out (None: now)."""
        until: float | None = None
        for limit, per in self.limits:
            rows = conn.execute(
                "SELECT at FROM sends WHERE channel = ? AND at > ? ORDER BY at DESC LIMIT ?",
                (self.channel, now - per, limit),
            ).fetchall()
            if len(rows) >= limit:
                free = float(rows[-1]["at"]) + per * (1 + MARGIN_FRACTION)
                until = free if until is None else max(until, free)
        return until

    def reserve(self, conn: sqlite3.Connection, *, deadline: float | None = None) -> int | None:
        """Wait for a free slot and take it (its id); None if it would come after ``deadline``.

        Call :meth:`sent` with the id once the answer is in.
        """
        while True:
            with db.transaction(conn):
                now = self.clock()
                until = self.free_at(conn, now)
                if until is None or until <= now:
                    cursor = conn.execute(
                        "INSERT INTO sends (channel, at) VALUES (?, ?)", (self.channel, now)
                    )
                    return int(cursor.lastrowid or 0)
            if deadline is not None and until > deadline:
                return None
            self.pause(until - now)

    def sent(self, conn: sqlite3.Connection, slot: int) -> None:
        """Stamp the slot with the time the answer came back.

        The platform counted the message somewhere between our request and its answer; the
        answer's time is the latest it can be, so windows measured from it never overlap the
        platform's (a first request that waited for a connection arrives well after its start).
        """
        with db.transaction(conn):
            conn.execute("UPDATE sends SET at = ? WHERE rowid = ?", (self.clock(), slot))

    def hold(self, conn: sqlite3.Connection, until: float) -> None:
        """The platform said "too fast": count the window as full until ``until``.

        Fills the window with stamps so that this run and any overlapping one wait.
        """
        with db.transaction(conn):
            for limit, per in self.limits:
                conn.executemany(
                    "INSERT INTO sends (channel, at) VALUES (?, ?)",
                    [(self.channel, until - per)] * limit,
                )

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self.sleep(seconds)


def forget_old(conn: sqlite3.Connection, *, older_than: float) -> None:
    """Drop send stamps no window can still count (the longest window is minutes)."""
    with db.transaction(conn):
        conn.execute("DELETE FROM sends WHERE at < ?", (older_than,))
