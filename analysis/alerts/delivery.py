"""Sending the outbox's due rows through the channels: leases, pacing, retries, marked repeats.

The rows themselves (their record, :func:`~koubei.analysis.alerts.outbox.enqueue`, the reads)
are :mod:`koubei.analysis.alerts.outbox`; this is the delivery loop, kept apart from them
because it alone talks to the channels.

Delivery is at-least-once with a stable idempotency key per row; the webhook receiver and
Alertmanager de-duplicate on it, chat platforms do not, so a send whose outcome is unknown (the
request went out, the answer timed out, or the process died before writing the answer:
``sending_at`` is set before every request) is re-sent *marked* as a repeat (``（重发）`` in the
title) with a longer timeout, at most once: a marked repeat that times out too leaves the row
``unconfirmed``.

Order per incident and channel: a newer state supersedes an older unsent one, so a stale
``firing`` is never sent after ``resolved``. Pacing per channel is on real send times inside one
run (:mod:`koubei.analysis.alerts.pacing`): a burst waits for free slots instead of being
rejected or left for the next cycle. A rate-limit answer (DingTalk 410100/130101, "too fast" or its
302, WeCom 45009, Feishu 11232/9499 "too many request", HTTP 429) is retried with backoff and
never counts as a failed attempt; a row the run could not wait for stays due, so the next run
sends it before the rows behind it (the pacer's stamps say when). Other failures
back off exponentially with jitter; rows that exhaust ``max_attempts`` stay in the table as
``failed`` so ``koubei alerts status`` shows them.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from koubei.analysis.alerts import db
from koubei.analysis.alerts.outbox import Notification
from koubei.analysis.alerts.pacing import Clock, Pacer, Sleep, forget_old
from koubei.log import get_logger
from koubei.timeutil import now as _now

log = get_logger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
BASE_DELAY = 10.0  # seconds before the first retry
MAX_DELAY = 3600.0
#: a row being sent is leased for this long; if the sender dies mid-send another run retries it
LEASE_SECONDS = 120.0
#: how long one delivery run may wait for a channel's rate limit before leaving the rest due
#: for the next run (DingTalk throttles a robot for 10 minutes after a burst over its limit)
DEFAULT_MAX_WAIT = 600.0
#: a repeat after a timeout waits this many times longer for the answer (capped)
REPEAT_TIMEOUT_FACTOR = 4.0
MAX_TIMEOUT = 120.0
REPEAT_MARK = "（重发）"
#: rows that still carry news; anything newer than a row in one of these supersedes it
LIVE = ("pending", "delivered", "unconfirmed")


class DeliveryError(Exception):
    """A send failed.

    ``retryable`` False means retrying cannot help (bad URL, rejected sign); ``rate_limited``
    means the platform asked us to slow down (never a failed attempt); ``unknown_outcome`` means
    the request went out and no answer came (the message may have arrived).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        rate_limited: bool = False,
        unknown_outcome: bool = False,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.rate_limited = rate_limited
        self.unknown_outcome = unknown_outcome

    def named(self, who: str) -> DeliveryError:
        """The same error, its message starting with ``who`` (the channel that sent)."""
        return DeliveryError(
            f"{who}: {self}",
            retryable=self.retryable,
            retry_after=self.retry_after,
            rate_limited=self.rate_limited,
            unknown_outcome=self.unknown_outcome,
        )


class Sender(Protocol):
    """What the outbox needs of a channel (``koubei.analysis.alerts.channels.Channel`` is one)."""

    name: str
    rate_limits: tuple[tuple[int, float], ...]

    @property
    def timeout(self) -> float: ...

    def send(
        self, payload: dict[str, Any], idempotency_key: str, *, timeout: float | None = None
    ) -> None: ...


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)  # idempotency keys
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # left for the next run (waited enough)
    skipped: list[str] = field(default_factory=list)  # no channel of that name configured
    superseded: list[str] = field(default_factory=list)  # a newer state of the incident won
    repeated: list[str] = field(default_factory=list)  # sent again marked （重发）
    unconfirmed: list[str] = field(default_factory=list)  # a marked repeat timed out as well
    rate_limited: list[str] = field(default_factory=list)  # one entry per "too fast" answer
    waited_seconds: float = 0.0

    def as_dict(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.__dict__.items() if isinstance(v, list)}


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


@dataclass
class _Run:
    """One delivery run's settings and clocks, shared by the per-channel workers."""

    db_path: Path
    at: float  # the run's "now" for due times (injectable)
    started: float  # wall clock at the start, to advance ``at`` by the time spent waiting
    deadline: float  # wall clock after which no channel waits any more
    max_attempts: int
    base_delay: float
    max_delay: float
    rng: random.Random | None
    clock: Clock
    sleep: Sleep
    report: DeliveryReport

    def now(self) -> float:
        return self.at + max(0.0, self.clock() - self.started)


def deliver_pending(
    db_path: Path,
    channels: Sequence[Sender],
    *,
    now: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    base_delay: float = BASE_DELAY,
    max_delay: float = MAX_DELAY,
    max_wait: float = DEFAULT_MAX_WAIT,
    rng: random.Random | None = None,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
) -> DeliveryReport:
    """Send every due pending notification through the channel of its name.

    Each channel is served by its own worker, in row order, paced to its rate limits on real
    send times; a channel waiting for its limit does not hold up the others.

    Parameters
    ----------
    db_path
        The alerts database (:func:`koubei.analysis.alerts.db.default_db_path`).
    channels
        Built channels; rows for channels not given stay pending (reported as ``skipped``).
    now
        The clock for due times and backoff (default: the wall clock). Pacing always uses the
        real clock (``clock``/``sleep``), since the platform counts real sends.
    max_attempts
        After this many failed sends a row becomes ``failed`` and stays visible. Rate-limit
        answers are not failures and do not count.
    max_wait
        Seconds one run may spend waiting on rate limits; what is still due then is left
        pending (``deferred``) for the next run.
    """
    report = DeliveryReport()
    started = clock()
    run = _Run(
        db_path,
        (now or _now()).timestamp(),
        started,
        started + max_wait,
        max_attempts,
        base_delay,
        max_delay,
        rng,
        clock,
        sleep,
        report,
    )
    by_name = {c.name: c for c in channels}
    # Imported here: the channels import this module (DeliveryError) and need not load the
    # digest and, through its payloads, the detectors.
    from koubei.analysis.alerts.digest import collect_digests

    collect_digests(db_path, at=run.at)
    conn = db.connect(db_path)
    try:
        forget_old(conn, older_than=started - 24 * 3600)
        due = conn.execute(
            "SELECT id, channel, idempotency_key FROM outbox "
            "WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id",
            (run.at,),
        ).fetchall()
    finally:
        conn.close()
    work: dict[str, list[int]] = {}
    for row in due:
        if row["channel"] in by_name:
            work.setdefault(row["channel"], []).append(row["id"])
        else:
            report.skipped.append(row["idempotency_key"])
    if work:
        with ThreadPoolExecutor(max_workers=len(work), thread_name_prefix="outbox") as pool:
            for future in [
                pool.submit(_serve_channel, run, by_name[name], ids) for name, ids in work.items()
            ]:
                future.result()
    if report.delivered or report.failed or report.retrying or report.deferred:
        log.info(
            "outbox delivery", waited_seconds=round(report.waited_seconds, 1), **report.as_dict()
        )
    return report


def _serve_channel(run: _Run, sender: Sender, row_ids: list[int]) -> None:
    """Send one channel's due rows in order; stop at the first one that must wait for later."""
    pacer = Pacer(sender.name, tuple(sender.rate_limits), run.clock, run.sleep)
    conn = db.connect(run.db_path)
    try:
        for row_id in row_ids:
            row = conn.execute("SELECT * FROM outbox WHERE id = ?", (row_id,)).fetchone()
            if row is None or row["status"] != "pending":
                continue
            note = Notification.from_row(row)
            if _superseded(conn, note):
                run.report.superseded.append(note.idempotency_key)
                continue
            # The lease covers the waiting this run may still do for the channel's rate limit,
            # so an overlapping run never takes a row this one is about to send.
            lease = LEASE_SECONDS + max(0.0, run.deadline - run.clock())
            if not _claim(conn, note.id, run.now(), lease=lease):
                continue  # another runner (an overlapping flow run) is sending it
            if row["sending_at"] is not None:
                interrupted = _interrupted(conn, run, note)
                if interrupted is None:
                    continue  # it was a marked repeat already: never a third copy
                note = interrupted
            if not _send_paced(conn, run, sender, pacer, note):
                break  # waited as long as a run may: the rest keep their order for next time
    finally:
        run.report.waited_seconds += pacer.waited
        conn.close()


def _superseded(conn: sqlite3.Connection, note: Notification) -> bool:
    """A newer row of the same incident for the same channel makes this one stale."""
    if note.kind == "test":
        return False
    newer = conn.execute(
        f"SELECT 1 FROM outbox WHERE incident_key = ? AND channel = ? AND id > ? "
        f"AND status IN {LIVE} LIMIT 1",
        (note.incident_key, note.channel, note.id),
    ).fetchone()
    if newer is None:
        return False
    with db.transaction(conn):
        conn.execute(
            "UPDATE outbox SET status = 'superseded' WHERE id = ? AND status = 'pending'",
            (note.id,),
        )
    return True


def _claim(
    conn: sqlite3.Connection, row_id: int, at: float, *, lease: float = LEASE_SECONDS
) -> bool:
    """Lease a due row so two concurrent runners do not both send it."""
    with db.transaction(conn):
        cursor = conn.execute(
            "UPDATE outbox SET next_attempt_at = ? "
            "WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?",
            (at + lease, row_id, at),
        )
    return cursor.rowcount == 1


def _interrupted(conn: sqlite3.Connection, run: _Run, note: Notification) -> Notification | None:
    """The last sender of this row died between its request and writing the outcome.

    The message may have arrived, exactly as after a timeout: count an unknown send, so this
    one goes out marked （重发）, never as a silent second copy. If the interrupted send was the
    marked repeat itself, the row is ``unconfirmed`` (None), as after a repeat that timed out.
    """
    error = "interrupted after the request went out (outcome unknown)"
    log.warning(error, channel=note.channel, key=note.idempotency_key)
    if note.unknown_sends:
        with db.transaction(conn):
            conn.execute(
                "UPDATE outbox SET status = 'unconfirmed', sending_at = NULL, "
                "unknown_sends = unknown_sends + 1, repeats = repeats + 1, attempts = ?, "
                "last_error = ?, next_attempt_at = ? WHERE id = ?",
                (note.attempts + 1, error, run.now(), note.id),
            )
        run.report.unconfirmed.append(note.idempotency_key)
        run.report.repeated.append(note.idempotency_key)
        return None
    with db.transaction(conn):
        conn.execute(
            "UPDATE outbox SET unknown_sends = unknown_sends + 1, sending_at = NULL, "
            "last_error = ? WHERE id = ?",
            (error, note.id),
        )
    return replace(note, unknown_sends=note.unknown_sends + 1)


def _sending(conn: sqlite3.Connection, note: Notification, at: float | None) -> None:
    """Mark the row's request as out (``at``) before it goes, or clear the mark (None)."""
    with db.transaction(conn):
        conn.execute("UPDATE outbox SET sending_at = ? WHERE id = ?", (at, note.id))


def _marked(note: Notification) -> dict[str, Any]:
    """The payload as sent: marked as a repeat when an earlier send may have arrived."""
    if not note.unknown_sends:
        return note.payload
    title = str(note.payload.get("title", ""))
    return {**note.payload, "repeat": True, "title": REPEAT_MARK + title.removeprefix(REPEAT_MARK)}


def _send_paced(
    conn: sqlite3.Connection, run: _Run, sender: Sender, pacer: Pacer, note: Notification
) -> bool:
    """Send one row, waiting out rate limits; False if the run's waiting budget ran out."""
    payload = _marked(note)
    timeout: float | None = None
    if note.unknown_sends:
        base = float(getattr(sender, "timeout", 10.0))
        timeout = min(MAX_TIMEOUT, base * REPEAT_TIMEOUT_FACTOR**note.unknown_sends)
    rate_hits = 0
    while True:
        slot = pacer.reserve(conn, deadline=run.deadline) if pacer.limits else 0
        if slot is None:
            _leave(conn, note, run.at, None)
            run.report.deferred.append(note.idempotency_key)
            return False
        # Written before the request: a crash before the outcome is written leaves it set.
        _sending(conn, note, run.clock())
        try:
            try:
                if timeout is None:
                    sender.send(payload, note.idempotency_key)
                else:
                    sender.send(payload, note.idempotency_key, timeout=timeout)
            except DeliveryError:
                raise
            except Exception as exc:
                # A rendering bug must not wedge the queue: count it as a failed attempt.
                raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        except DeliveryError as exc:
            if slot:
                pacer.sent(conn, slot)
            if not exc.rate_limited:
                _failed(conn, run, note, exc)
                return True
            _sending(conn, note, None)  # the platform answered: it did not take the message
            # "Too fast" (DingTalk 410100, WeCom 45009, Feishu 11232, HTTP 429): the message
            # was not taken. Back off from the pacing interval (Retry-After if given, up to ten
            # windows: DingTalk throttles a robot for 10 minutes), never count it an attempt.
            rate_hits += 1
            run.report.rate_limited.append(note.idempotency_key)
            delay = backoff_delay(
                rate_hits, base=pacer.interval, cap=pacer.longest * 10, rng=run.rng
            )
            delay = max(delay, exc.retry_after or 0.0)
            pacer.hold(conn, run.clock() + delay)
            if run.clock() + delay > run.deadline:
                _leave(conn, note, run.at, str(exc)[:500])
                run.report.deferred.append(note.idempotency_key)
                return False
            log.info("rate limited, waiting", channel=note.channel, seconds=round(delay, 2))
            pacer.pause(delay)
            continue
        if slot:
            pacer.sent(conn, slot)
        _delivered(conn, run, note)
        return True


def _leave(conn: sqlite3.Connection, note: Notification, next_at: float, error: str | None) -> None:
    """Give the row back for a later run without spending an attempt.

    ``next_at`` is this run's own "now": the row stays due, so the next run takes it first
    and the channel's order holds. When it may go is the pacer's business (the ``sends``
    stamps, :meth:`Pacer.hold` after "too fast"), which every run waits on; a due time pushed
    past the next run's "now" let the rows behind it go first.
    """
    with db.transaction(conn):
        conn.execute(
            "UPDATE outbox SET next_attempt_at = ?, last_error = COALESCE(?, last_error) "
            "WHERE id = ?",
            (next_at, error, note.id),
        )


def _delivered(conn: sqlite3.Connection, run: _Run, note: Notification) -> None:
    repeat = 1 if note.unknown_sends else 0
    with db.transaction(conn):
        conn.execute(
            "UPDATE outbox SET status = 'delivered', attempts = ?, delivered_at = ?, "
            "repeats = repeats + ?, last_error = NULL, sending_at = NULL WHERE id = ?",
            (note.attempts + 1, run.now(), repeat, note.id),
        )
    run.report.delivered.append(note.idempotency_key)
    if repeat:
        run.report.repeated.append(note.idempotency_key)


def _failed(conn: sqlite3.Connection, run: _Run, note: Notification, exc: DeliveryError) -> None:
    attempts = note.attempts + 1
    error = str(exc)[:500]
    at = run.now()
    unknown = note.unknown_sends + (1 if exc.unknown_outcome else 0)
    repeats = note.repeats + (1 if note.unknown_sends and exc.unknown_outcome else 0)
    if exc.unknown_outcome and note.unknown_sends:
        # A marked repeat timed out as well: the receiver probably has it twice already.
        # Stop here (visible in `koubei alerts status`) rather than send a third copy.
        status, next_at = "unconfirmed", at
        run.report.unconfirmed.append(note.idempotency_key)
        run.report.repeated.append(note.idempotency_key)
    elif exc.retryable and attempts < run.max_attempts:
        delay = backoff_delay(attempts, base=run.base_delay, cap=run.max_delay, rng=run.rng)
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        status, next_at = "pending", at + delay
        run.report.retrying.append(note.idempotency_key)
    else:
        status, next_at = "failed", at
        run.report.failed.append(note.idempotency_key)
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
            "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
            "unknown_sends = ?, repeats = ?, sending_at = NULL WHERE id = ?",
            (status, attempts, next_at, error, unknown, repeats, note.id),
        )
