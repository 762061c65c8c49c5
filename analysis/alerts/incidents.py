"""Incident lifecycle: detections → firing → updated → resolved, with the outbox in one commit.

Detections for a brand are grouped by their ``group`` (default ``"crisis"``, or
``details.group``; the crawler's blocked-source alert uses e.g. ``"operational"``); each
(brand, group) has at most one open incident. Detectors report an episode once, at its onset,
with ``details.episode_bins`` growing while it lasts, so an episode is *active* until its onset
+ (episode_bins - 1) intervals. A per-(brand, group) watermark remembers the latest onset and
activity already seen, so a re-run over the same detections changes nothing and enqueues
nothing, and a restart neither forgets an open incident nor fires it again.

Rules, evaluated by :meth:`IncidentStore.observe` at time ``now``:

- unseen detection(s), no open incident → open one, notify ``firing``; but an episode the
  last incident already took in, active again (same onset: a pause longer than
  ``resolve_after``, shorter than the paging policy's ``quiet``, which keeps it one page),
  reopens that incident: ``updated`` with ``resumed``, never a second ``firing`` page;
- incident open → ``updated`` if the severity went up, or if it is still active and the
  re-notify interval passed since the last notice;
- no activity for ``resolve_after`` intervals → resolved, ``resolved`` notice to every channel
  that was told it fired (unless ``hold_open``, e.g. while a source is blocked); bins still
  settling (``settled_until``) are not quiet: late data is not an all-clear;
- an incident held open (``hold_open``) is held for at most ``outage_cap_seconds``
  (``paging.outage_cap``, a day) past the time it would have resolved: a fresh detection that
  began later resolves it and opens a new incident with its own ``firing`` page. A crisis once
  a source blocked for days is back is news, as the paging policy of ``spikes detect`` pages it
  (:class:`~koubei.analysis.detectors.paging.PagingPolicy`); before, it joined the incident of
  days earlier, a repeat at most. An episode past the cap seen only late (a backfill) is no
  incident's: it pages nobody and does not extend the held one;
- a matching silence suppresses firing/updated notices; once it expires a still-open incident
  is notified.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from koubei.analysis.alerts import db, outbox, silences
from koubei.analysis.alerts.outbox import Notification
from koubei.analysis.alerts.payload import build_payload
from koubei.analysis.alerts.records import (
    Incident,
    detection_time,
    digest,
    idempotency_key,
    last_active,
    rank,
    unseen,
)
from koubei.config import AlertsConfig, parse_duration
from koubei.timeutil import now as _now

__all__ = ["DEFAULT_GROUP", "ChannelLike", "Incident", "IncidentStore", "detection_time"]

DEFAULT_GROUP = "crisis"
# Intervals without a firing bin before an incident resolves: 30 minutes at 5-minute bins, so
# a crisis that pauses briefly is one incident, not a page-resolve-page flap.
DEFAULT_RESOLVE_AFTER = 6


class ChannelLike(Protocol):
    """A ``ChannelConfig`` or a built ``Channel``: what routing by severity needs."""

    @property
    def name(self) -> str: ...

    @property
    def min_severity(self) -> str: ...


ChannelTarget = str | ChannelLike
#: a fixed list of targets, or a router (:class:`koubei.analysis.alerts.routing.Router`) that
#: picks them from the incident's labels once its severity is known
Targets = Sequence[ChannelTarget] | Callable[[dict[str, Any]], Sequence[ChannelTarget]]


class IncidentStore:
    """Incident state and its notifications, in the SQLite database the outbox shares.

    Parameters
    ----------
    db_path
        Usually :func:`koubei.analysis.alerts.db.default_db_path`
        (``$KOUBEI_HOME/alerts/alerts.db``).
    interval_seconds
        The detection interval (one bin of the count series).
    resolve_after
        Intervals without a new detection before an incident resolves.
    renotify_seconds
        Repeat a still-firing incident this often.
    kibana_base
        Kibana root for the payload's deep link when the evidence has none.
    """

    def __init__(
        self,
        db_path: Path,
        *,
        interval_seconds: int = 300,
        resolve_after: int = DEFAULT_RESOLVE_AFTER,
        renotify_seconds: int = 4 * 3600,
        kibana_base: str | None = None,
        outage_cap_seconds: int = 24 * 3600,
    ) -> None:
        self.db_path = db_path
        self.interval_seconds = interval_seconds
        self.resolve_after = resolve_after
        self.renotify_seconds = renotify_seconds
        self.outage_cap_seconds = outage_cap_seconds
        self.kibana_base = kibana_base
        db.connect(db_path).close()  # create the schema early so readers never see no tables

    @classmethod
    def from_config(
        cls, db_path: Path, config: AlertsConfig, *, resolve_after: int = DEFAULT_RESOLVE_AFTER
    ) -> IncidentStore:
        return cls(
            db_path,
            interval_seconds=config.interval_seconds,
            resolve_after=resolve_after,
            renotify_seconds=config.renotify_seconds,
            kibana_base=config.kibana_url,
            outage_cap_seconds=parse_duration(config.paging.outage_cap),
        )

    # --- reading -------------------------------------------------------------------------------

    def open_incidents(self, brand: str | None = None) -> list[Incident]:
        """Incidents that are firing now, oldest first."""
        conn = db.connect(self.db_path)
        try:
            sql = "SELECT * FROM incidents WHERE status = 'firing'"
            args: tuple[Any, ...] = ()
            if brand is not None:
                sql, args = sql + " AND brand = ?", (brand,)
            return [Incident.from_row(r) for r in conn.execute(sql + " ORDER BY id", args)]
        finally:
            conn.close()

    def recent_incidents(self, limit: int = 20) -> list[Incident]:
        conn = db.connect(self.db_path)
        try:
            rows = conn.execute("SELECT * FROM incidents ORDER BY id DESC LIMIT ?", (limit,))
            return [Incident.from_row(r) for r in rows]
        finally:
            conn.close()

    # --- the lifecycle -------------------------------------------------------------------------

    def observe(
        self,
        brand: str,
        detections: Sequence[Mapping[str, Any]],
        *,
        evidence: Mapping[str, Any] | None = None,
        now: datetime | None = None,
        channels: Targets = (),
        hold_open: bool = False,
        settled_until: datetime | None = None,
    ) -> list[Notification]:
        """Apply one evaluation's detections for ``brand``; returns the notifications enqueued.

        Call it every interval for every brand, with an empty list when nothing fired, so that
        incidents can resolve. ``channels`` are names (no severity filter) or objects with
        ``name`` and ``min_severity`` (``ChannelConfig`` or a built channel). Detections later
        than ``now`` are ignored (causality). ``hold_open`` keeps incidents from resolving
        (a blocked source must not read as "all clear"). ``settled_until`` is where the data
        stops being complete (posts of later bins may still be arriving, ``paging.settling``):
        quiet time after it does not count towards resolving.
        """
        at = (now or _now()).timestamp()
        quiet_at = min(at, settled_until.timestamp()) if settled_until is not None else at
        by_group: dict[str, list[dict[str, Any]]] = {}
        for detection in detections:
            if detection_time(detection) <= at:
                details = detection.get("details") or {}
                group = str(detection.get("group") or details.get("group") or DEFAULT_GROUP)
                by_group.setdefault(group, []).append(dict(detection))
        enqueued: list[Notification] = []
        conn = db.connect(self.db_path)
        try:
            with db.transaction(conn):
                open_groups = {
                    r["grp"]
                    for r in conn.execute(
                        "SELECT grp FROM incidents WHERE brand = ? AND status = 'firing'", (brand,)
                    )
                }
                for group in sorted(set(by_group) | open_groups):
                    enqueued += self._observe_group(
                        conn,
                        brand,
                        group,
                        by_group.get(group, []),
                        dict(evidence or {}),
                        at,
                        channels,
                        hold_open,
                        quiet_at,
                    )
        finally:
            conn.close()
        return enqueued

    def _observe_group(
        self,
        conn: sqlite3.Connection,
        brand: str,
        group: str,
        detections: list[dict[str, Any]],
        evidence: dict[str, Any],
        at: float,
        channels: Targets,
        hold_open: bool,
        quiet_at: float,
    ) -> list[Notification]:
        new = unseen(conn, brand, group, detections, at=at, interval_seconds=self.interval_seconds)
        row = conn.execute(
            "SELECT * FROM incidents WHERE brand = ? AND grp = ? AND status = 'firing'",
            (brand, group),
        ).fetchone()
        grace = self.interval_seconds * self.resolve_after
        if row is None:
            # Old detections seen for the first time (a backfill) must not page anyone now.
            fresh = [d for d in new if at - self._last_active(d, at) < grace]
            if not fresh:
                return []
            resumed = self._resumed(conn, brand, group, fresh)
            if resumed is not None:
                resolved_at = resumed.resolved_at
                resumed.status, resumed.resolved_at = "firing", None
                self._absorb(resumed, fresh, evidence, at)
                resumed.evidence["resumed_after"] = resolved_at  # said in this notice only
                told = resumed.notified_severity
                if told is not None and rank(resumed.severity) > rank(told):
                    resumed.evidence["previous_severity"] = told
                return self._finish(conn, resumed, at, channels, repeat="all")
            incident = self._open(conn, brand, group, fresh, evidence, at)
            return self._finish(conn, incident, at, channels, repeat="")
        incident = Incident.from_row(row)
        held_past = incident.last_detection_at + grace + self.outage_cap_seconds
        # Held open (a blocked source) past the cap: what fires now is a new incident; an old
        # episode seen for the first time (a backfill) pages nobody, as with no incident open.
        later = [
            d
            for d in new
            if detection_time(d) >= held_past and at - self._last_active(d, at) < grace
        ]
        if later:
            closed = self._resolve(conn, incident, at, channels)
            opened = self._open(conn, brand, group, later, evidence, at)
            return closed + self._finish(conn, opened, at, channels, repeat="")
        # Detections of this incident: new episodes, and its own onset seen again with a longer
        # episode (detectors report one detection per episode, at onset, growing
        # ``details.episode_bins`` while it lasts) or a higher severity.
        # Past the cap, an episode seen only now that is not fresh (a backfill) belongs to no
        # incident: absorbing it would move the held incident's last activity past the cap and
        # swallow the next fresh crisis.
        mine = [d for d in detections if incident.started_at <= detection_time(d) < held_past]
        advanced = escalated = False
        if mine:
            before = incident.last_detection_at
            self._absorb(incident, mine, evidence, at)
            advanced = incident.last_detection_at > before
            escalated = incident.notified_severity is not None and rank(incident.severity) > rank(
                incident.notified_severity
            )
            if escalated:
                incident.evidence["previous_severity"] = incident.notified_severity
        if not hold_open and quiet_at - incident.last_detection_at >= grace:
            return self._resolve(conn, incident, at, channels)
        # Escalation is news for everyone; a still-active incident is repeated per channel once
        # its route's repeat interval (default `renotify`) has passed since that channel heard.
        return self._finish(
            conn, incident, at, channels, repeat="all" if escalated else ("due" if advanced else "")
        )

    def _finish(
        self,
        conn: sqlite3.Connection,
        incident: Incident,
        at: float,
        channels: Targets,
        *,
        repeat: str,
    ) -> list[Notification]:
        notes = self._notify(conn, incident, at, channels, repeat)
        self._save(conn, incident)
        return notes

    @staticmethod
    def _resumed(
        conn: sqlite3.Connection, brand: str, group: str, fresh: list[dict[str, Any]]
    ) -> Incident | None:
        """The last (resolved) incident of ``brand`` and ``group`` if every fresh detection is an
        episode it took in, active again: one that began by its last activity.

        The live cycle passes the paging policy's pages, one per incident: a crisis that pauses
        for two hours is still the policy's page, with the same onset, firing again. It was a
        new incident with its own ``firing`` page (before session 30), so on-call staff were
        paged twice for what ``spikes detect`` and the bench count as one.
        """
        row = conn.execute(
            "SELECT * FROM incidents WHERE brand = ? AND grp = ? ORDER BY id DESC LIMIT 1",
            (brand, group),
        ).fetchone()
        if row is None or row["status"] != "resolved":
            return None
        last = Incident.from_row(row)

        def took_in(detection: Mapping[str, Any]) -> bool:
            if last.started_at <= detection_time(detection) <= last.last_detection_at:
                return True
            # the policy's escalation of that incident (its onset, ``details.escalates``)
            escalates = (detection.get("details") or {}).get("escalates")
            return bool(escalates) and detection_time({"timestamp": escalates}) == last.started_at

        return last if all(took_in(d) for d in fresh) else None

    def _last_active(self, detection: Mapping[str, Any], at: float) -> float:
        return min(at, last_active(detection, self.interval_seconds))

    def _open(
        self,
        conn: sqlite3.Connection,
        brand: str,
        group: str,
        detections: list[dict[str, Any]],
        evidence: dict[str, Any],
        at: float,
    ) -> Incident:
        started = detection_time(detections[0])
        # The n-th incident of this brand and group: unique even if a resumed episode reopens
        # with the same onset, and the same on any replay of the same history.
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM incidents WHERE brand = ? AND grp = ?", (brand, group)
        ).fetchone()
        dedup_key = digest(brand, group, round(started), count + 1)
        cursor = conn.execute(
            "INSERT INTO incidents (dedup_key, brand, grp, status, severity, started_at, "
            "last_detection_at) VALUES (?, ?, ?, 'firing', 'info', ?, ?)",
            (dedup_key, brand, group, started, started),
        )
        incident = Incident(
            int(cursor.lastrowid or 0), dedup_key, brand, group, "firing", "info", 0.0, started,
            started,
        )  # fmt: skip
        self._absorb(incident, detections, evidence, at)
        return incident

    def _absorb(
        self, incident: Incident, mine: list[dict[str, Any]], evidence: dict[str, Any], at: float
    ) -> None:
        """Take in detections: severity and score only go up within one incident."""
        for detection in mine:
            if rank(str(detection.get("severity"))) > rank(incident.severity):
                incident.severity = str(detection["severity"])
            incident.score = max(incident.score, float(detection.get("score") or 0.0))
            incident.last_detection_at = max(
                incident.last_detection_at, self._last_active(detection, at)
            )
        incident.detections = mine
        incident.evidence.pop("previous_severity", None)
        incident.evidence.pop("resumed_after", None)
        incident.evidence.update(evidence)

    def _targets(self, incident: Incident, channels: Targets) -> Sequence[ChannelTarget]:
        return channels(incident.labels()) if callable(channels) else channels

    def _eligible(self, incident: Incident, channels: Targets) -> list[str]:
        names = []
        for channel in self._targets(incident, channels):
            if isinstance(channel, str):
                names.append(channel)
            elif getattr(channel, "enabled", True) and rank(incident.severity) >= rank(
                channel.min_severity
            ):
                names.append(channel.name)
        return names

    def _notify(
        self,
        conn: sqlite3.Connection,
        incident: Incident,
        at: float,
        channels: Targets,
        repeat: str,
    ) -> list[Notification]:
        """``repeat``: "all" (escalated), "due" (active: channels whose interval passed), ""."""
        if silences.silenced_by(conn, incident.labels(), at):
            return []
        intervals = {
            t.name: getattr(t, "repeat_seconds", None) or self.renotify_seconds
            for t in self._targets(incident, channels)
            if not isinstance(t, str)
        }
        plan = []
        for name in self._eligible(incident, channels):
            if name not in incident.notified_channels:
                plan.append((name, "firing"))
            elif repeat == "all" or (
                repeat == "due"
                and at - self._last_told(conn, incident, name)
                >= intervals.get(name, self.renotify_seconds)
            ):
                plan.append((name, "updated"))
        if not plan:
            return []
        incident.event_seq += 1
        mentions = {
            t.name: list(getattr(t, "mentions", ()))
            for t in self._targets(incident, channels)
            if not isinstance(t, str)
        }
        hold = getattr(channels, "hold_until", None)
        not_before = hold(incident.severity, at) if hold else None
        digested = {
            t.name
            for t in self._targets(incident, channels)
            if not isinstance(t, str) and getattr(t, "digest", False)
        }
        notes = []
        for name, kind in plan:
            if name in digested:
                if kind == "firing":  # one line in the next digest; no repeats, no paging
                    digest_at = channels.digest_time(at)  # type: ignore[union-attr]
                    notes.append(
                        self._enqueue(conn, incident, name, "digest-item", at, None, digest_at)
                    )
                continue
            notes.append(
                self._enqueue(conn, incident, name, kind, at, mentions.get(name), not_before)
            )
        incident.notified_channels = sorted({*incident.notified_channels, *(n for n, _ in plan)})
        incident.last_notified_at = at
        incident.notified_severity = incident.severity
        return [n for n in notes if n is not None]

    @staticmethod
    def _only_digested(conn: sqlite3.Connection, incident: Incident, channel: str) -> bool:
        kinds = {
            r[0]
            for r in conn.execute(
                "SELECT kind FROM outbox WHERE incident_key = ? AND channel = ?",
                (incident.dedup_key, channel),
            )
        }
        return kinds == {"digest-item"}

    @staticmethod
    def _last_told(conn: sqlite3.Connection, incident: Incident, channel: str) -> float:
        row = conn.execute(
            "SELECT MAX(created_at) FROM outbox WHERE incident_key = ? AND channel = ?",
            (incident.dedup_key, channel),
        ).fetchone()
        return float(row[0] if row and row[0] is not None else incident.last_notified_at or 0)

    def _resolve(
        self,
        conn: sqlite3.Connection,
        incident: Incident,
        at: float,
        channels: Targets,
    ) -> list[Notification]:
        incident.status = "resolved"
        incident.resolved_at = at
        incident.evidence.pop("previous_severity", None)
        notes = []
        if incident.notified_channels:
            incident.event_seq += 1
            # Everyone told it fired hears it is over, silenced or not, configured now or not.
            hold = getattr(channels, "hold_until", None)
            not_before = hold(incident.severity, at) if hold else None
            for name in incident.notified_channels:
                if self._only_digested(conn, incident, name):
                    continue  # the digest reports it; its end pages nobody either
                notes.append(
                    self._enqueue(conn, incident, name, "resolved", at, not_before=not_before)
                )
        self._save(conn, incident)
        return [n for n in notes if n is not None]

    def _enqueue(
        self,
        conn: sqlite3.Connection,
        incident: Incident,
        channel: str,
        kind: str,
        at: float,
        mentions: list[str] | None = None,
        not_before: float | None = None,
    ) -> Notification | None:
        view = incident.as_dict(
            interval_seconds=self.interval_seconds, kibana_base=self.kibana_base, event=kind
        )
        payload = build_payload(view, incident.evidence)
        if mentions:
            payload["route_mentions"] = mentions
        return outbox.enqueue(
            conn,
            channel=channel,
            kind=kind,
            incident_key=incident.dedup_key,
            idempotency_key=idempotency_key(incident.dedup_key, incident.event_seq, channel),
            payload=payload,
            at=at,
            not_before=not_before,
        )

    @staticmethod
    def _save(conn: sqlite3.Connection, incident: Incident) -> None:
        conn.execute(
            "UPDATE incidents SET status = ?, severity = ?, score = ?, last_detection_at = ?, "
            "resolved_at = ?, last_notified_at = ?, notified_severity = ?, notified_channels = ?, "
            "event_seq = ?, detections = ?, evidence = ? WHERE id = ?",
            (
                incident.status,
                incident.severity,
                incident.score,
                incident.last_detection_at,
                incident.resolved_at,
                incident.last_notified_at,
                incident.notified_severity,
                json.dumps(incident.notified_channels),
                incident.event_seq,
                json.dumps(incident.detections, ensure_ascii=False, default=str),
                json.dumps(incident.evidence, ensure_ascii=False, default=str),
                incident.id,
            ),
        )
