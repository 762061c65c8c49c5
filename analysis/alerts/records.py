"""The incident record (one row of ``incidents``), the watermark of seen detections, the keys.

An incident's ``dedup_key`` (brand, group, start, n-th incident) and each notification's
idempotency key (incident, event number, channel) are hashes, so they are ASCII-safe in HTTP
headers even for Chinese brand names, and stable across re-runs and restarts.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from koubei.analysis.alerts import db, silences
from koubei.analysis.alerts.payload import SEVERITY_RANK, iso
from koubei.timeutil import aware


def detection_time(detection: Mapping[str, Any]) -> float:
    """Unix seconds of a detection's ``timestamp`` (ISO string or datetime; naive = Shanghai)."""
    value = detection["timestamp"]
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return aware(moment).timestamp()


def last_active(detection: Mapping[str, Any], interval_seconds: int) -> float:
    """Unix seconds of the last bin a detection's episode was seen firing.

    ``details.last_at`` if given, else onset + (``details.episode_bins`` - 1) intervals (the
    detectors report an episode once, at its onset, with its length so far).
    """
    details = detection.get("details") or {}
    if details.get("last_at"):
        return detection_time({"timestamp": details["last_at"]})
    bins = int(details.get("episode_bins") or 1)
    return detection_time(detection) + max(0, bins - 1) * interval_seconds


def rank(severity: str | None) -> int:
    return SEVERITY_RANK.get(severity or "", -1)


def digest(*parts: object, size: int = 16) -> str:
    text = "|".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:size]


def idempotency_key(dedup_key: str, event_seq: int, channel: str) -> str:
    """Stable per (incident, event, channel): a retry or re-run sends the same key."""
    return f"kb-{digest(dedup_key, event_seq, channel, size=32)}"


@dataclass
class Incident:
    id: int
    dedup_key: str
    brand: str
    group: str
    status: str
    severity: str
    score: float
    started_at: float
    last_detection_at: float
    resolved_at: float | None = None
    last_notified_at: float | None = None
    notified_severity: str | None = None
    notified_channels: list[str] = field(default_factory=list)
    event_seq: int = 0
    detections: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Incident:
        # a row damaged on disk or by hand is one error naming it (was a traceback)
        where = f"incidents row {row['id']}"
        times = ("started_at", "last_detection_at", "resolved_at", "last_notified_at")
        db.stored_numbers(row, where, times, ("event_seq",))
        db.stored_text(row, where, ("dedup_key", "brand", "grp", "status", "severity"))
        channels = db.stored_json(row, "notified_channels", list, where)
        if not all(isinstance(name, str) for name in channels):
            raise db.DamagedRow(f"{where}: notified_channels is not a list of channel names")
        return cls(
            id=row["id"],
            dedup_key=row["dedup_key"],
            brand=row["brand"],
            group=row["grp"],
            status=row["status"],
            severity=row["severity"],
            score=row["score"],
            started_at=row["started_at"],
            last_detection_at=row["last_detection_at"],
            resolved_at=row["resolved_at"],
            last_notified_at=row["last_notified_at"],
            notified_severity=row["notified_severity"],
            notified_channels=channels,
            event_seq=row["event_seq"],
            detections=db.stored_json(row, "detections", list, where),
            evidence=db.stored_json(row, "evidence", dict, where),
        )

    def labels(self) -> silences.Labels:
        """What silences match on."""
        return {
            "brand": self.brand,
            "severity": self.severity,
            "group": self.group,
            "incident": self.dedup_key,
            "detector": sorted({str(d.get("detector", "")) for d in self.detections}),
            "series": sorted({str(d.get("series", "")) for d in self.detections}),
        }

    def as_dict(
        self,
        *,
        interval_seconds: int = 300,
        kibana_base: str | None = None,
        event: str | None = None,
    ) -> dict[str, Any]:
        """JSON-ready view with ISO times; what :func:`build_payload` and the CLI take."""
        return {
            "id": self.id,
            "dedup_key": self.dedup_key,
            "brand": self.brand,
            "group": self.group,
            "status": self.status,
            "event": event or self.status,
            "severity": self.severity,
            "score": self.score,
            "started_at": iso(self.started_at),
            "last_detection_at": iso(self.last_detection_at),
            "resolved_at": iso(self.resolved_at),
            "window_start": iso(self.started_at),
            "window_end": iso(self.resolved_at or self.last_detection_at + interval_seconds),
            "notified_channels": list(self.notified_channels),
            "detections": self.detections,
            "kibana_base": kibana_base,
        }


def unseen(
    conn: sqlite3.Connection,
    brand: str,
    group: str,
    detections: list[dict[str, Any]],
    *,
    at: float,
    interval_seconds: int,
) -> list[dict[str, Any]]:
    """Detections with a later onset, or an episode active later, than any seen before.

    Records them in the (brand, group) watermark inside the caller's transaction. The second
    case is an episode that went quiet long enough to resolve and then resumed within the
    detector's cooldown (same onset, longer episode): it fires again.
    """

    def active(detection: Mapping[str, Any]) -> float:
        return min(at, last_active(detection, interval_seconds))

    mark = conn.execute(
        "SELECT onset_at, active_at FROM watermarks WHERE brand = ? AND grp = ?", (brand, group)
    ).fetchone()
    onset_mark, active_mark = (mark[0], mark[1]) if mark else (float("-inf"), float("-inf"))
    new = [d for d in detections if detection_time(d) > onset_mark or active(d) > active_mark]
    if new:
        conn.execute(
            "INSERT INTO watermarks (brand, grp, onset_at, active_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (brand, grp) DO UPDATE SET "
            "onset_at = max(onset_at, excluded.onset_at), "
            "active_at = max(active_at, excluded.active_at)",
            (
                brand,
                group,
                max(detection_time(d) for d in new),
                max(active(d) for d in new),
            ),
        )
    return sorted(new, key=detection_time)
