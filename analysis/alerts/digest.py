"""The daily digest: a channel's held ``digest-item`` rows turned into one notification.

A route with ``digest: true`` (:mod:`koubei.analysis.alerts.routing`) pages nobody: its
incidents wait in the outbox as ``digest-item`` rows (status ``held``) until the channel's
``digest_at``; each delivery run first folds the due ones into one ``digest`` row per channel,
sent like any other notification.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from koubei.analysis.alerts import db
from koubei.analysis.alerts.outbox import DIGEST_ITEM, Notification, enqueue
from koubei.analysis.alerts.payload import SCHEMA, iso

__all__ = ["collect_digests"]


def collect_digests(db_path: Path, *, at: float) -> list[Notification]:
    """Turn each channel's due ``digest-item`` rows into one ``digest`` notification."""
    made: list[Notification] = []
    conn = db.connect(db_path)
    try:
        with db.transaction(conn):
            rows = conn.execute(
                "SELECT * FROM outbox WHERE status = 'held' AND kind = ? AND next_attempt_at <= ? "
                "ORDER BY id",
                (DIGEST_ITEM, at),
            ).fetchall()
            by_channel: dict[str, list[sqlite3.Row]] = {}
            for row in rows:
                by_channel.setdefault(row["channel"], []).append(row)
            for channel, items in by_channel.items():
                day = (iso(float(items[-1]["next_attempt_at"])) or "")[:10]
                entries = []
                for item in items:
                    p = json.loads(item["payload"])
                    entries.append(
                        {k: p.get(k) for k in ("brand", "group", "started_at", "observed",
                                               "expected", "kibana_url") if p.get(k) is not None}
                        | {"reason": (p.get("reasons") or [""])[0]}
                    )  # fmt: skip
                payload: dict[str, Any] = {
                    "schema": SCHEMA,
                    "dedup_key": f"digest-{channel}-{day}",
                    "brand": "、".join(dict.fromkeys(str(e.get("brand")) for e in entries)),
                    "group": "digest",
                    "status": "digest",
                    "event": "digest",
                    "severity": "info",
                    "title": f"【每日汇总】{day} 提示级口碑事件 {len(entries)} 起",
                    "digest": entries,
                }
                note = enqueue(
                    conn,
                    channel=channel,
                    kind="digest",
                    incident_key=payload["dedup_key"],
                    idempotency_key=f"kb-digest-{channel}-{day}-{items[-1]['id']}",
                    payload=payload,
                    at=at,
                )
                conn.executemany(
                    "UPDATE outbox SET status = 'digested' WHERE id = ?",
                    [(item["id"],) for item in items],
                )
                if note is not None:
                    made.append(note)
    finally:
        conn.close()
    return made
