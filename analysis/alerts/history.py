"""Alert history in Elasticsearch: one document per incident event in ``<prefix>-alerts``.

The ``alerts`` template (``config/es/alerts.json``) and the Kibana panel "Alerts by detector
and severity" read these. Each event of an incident (firing, updated, resolved, digest) is one
document, whatever the number of channels it went to; its id is stable (incident, kind, time),
so writing again overwrites rather than duplicates. A watermark in the alerts database
remembers the last outbox row written; it only advances after Elasticsearch took the batch, so
an unreachable cluster delays history, never loses it, and never blocks delivery.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from koubei.analysis.alerts import db
from koubei.analysis.alerts.outbox import DIGEST_ITEM, Notification
from koubei.analysis.alerts.payload import iso
from koubei.log import get_logger

log = get_logger(__name__)

WATERMARK = """
CREATE TABLE IF NOT EXISTS history_watermark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_outbox_id INTEGER NOT NULL
);
"""


def history_documents(conn: sqlite3.Connection, after_id: int) -> list[dict[str, Any]]:
    """Documents for outbox rows with id > ``after_id`` (test and digest items left out)."""
    rows = conn.execute(
        "SELECT * FROM outbox WHERE id > ? AND kind NOT IN ('test', ?) ORDER BY id",
        (after_id, DIGEST_ITEM),
    ).fetchall()
    docs: dict[str, dict[str, Any]] = {}
    for raw in rows:
        note = Notification.from_row(raw)
        doc_id = f"{note.incident_key}-{note.kind}-{int(raw['created_at'])}"
        if doc_id in docs:  # the same event, another channel
            docs[doc_id]["channels"].append(note.channel)
            docs[doc_id]["details"]["deliveries"][note.channel] = note.status
            continue
        p = note.payload
        window = p.get("window") or {}
        docs[doc_id] = {
            "id": doc_id,
            "@timestamp": iso(float(raw["created_at"])),
            "fingerprint": note.incident_key,
            "detector": list(p.get("detectors") or []),
            "brand": p.get("brand"),
            "severity": p.get("severity"),
            "status": note.kind,
            "title": p.get("title"),
            "summary": "；".join(p.get("reasons") or []) or None,
            "window_start": window.get("start"),
            "window_end": window.get("end"),
            "fired_at": p.get("started_at"),
            "resolved_at": p.get("resolved_at"),
            "value": _number(p.get("observed")),
            "baseline": _number(p.get("expected")),
            "score": _number(p.get("score")),
            "discover_url": p.get("kibana_url"),
            "channels": [note.channel],
            "evidence_ids": [str(t["id"]) for t in p.get("top_posts") or [] if t.get("id")],
            "details": {"group": p.get("group"), "deliveries": {note.channel: note.status}},
        }
    return [{k: v for k, v in d.items() if v is not None} for d in docs.values()]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class HistoryNotWritten(Exception):
    """The cluster refused events of the alert history; the message names the index and why."""


def write_history(es: Any, prefix: str, db_path: Path) -> int:
    """Index the events not yet written; returns how many documents were written.

    Raises :class:`HistoryNotWritten` (naming the index, how many events and the first reason)
    or a transport error if the cluster refused: the watermark then stays, and the next call
    writes them. The bulk request carries the writers' ``timeout``
    (:data:`~koubei.pipeline.index.allocation.BULK_TIMEOUT`): an alerts index gone red answers
    within it that it has no active primary, where the node waited a minute and the client's
    30 s timeout ran out first, holding up the delivery task.
    """
    from elasticsearch import helpers

    from koubei.pipeline.index.allocation import BULK_TIMEOUT
    from koubei.pipeline.index.answers import describe_error, item_answer
    from koubei.pipeline.index.templates import kind_index

    conn = db.connect(db_path)
    try:
        conn.executescript(WATERMARK)
        row = conn.execute("SELECT last_outbox_id FROM history_watermark").fetchone()
        after = int(row[0]) if row else 0
        # Events with rows still in flight are written again next time, with their final
        # delivery status: the watermark stops just before the oldest unsettled row.
        (last,) = conn.execute(
            "SELECT COALESCE((SELECT MIN(id) - 1 FROM outbox WHERE status IN ('pending', "
            "'held')), (SELECT MAX(id) FROM outbox), 0)"
        ).fetchone()
        docs = history_documents(conn, after)
        if docs:
            index = kind_index(prefix, "alerts")

            def actions() -> Iterator[dict[str, Any]]:
                for doc in docs:
                    yield {"_op_type": "index", "_index": index, "_id": doc["id"], "_source": doc}

            refused = [
                item_answer(item)
                for ok, item in helpers.streaming_bulk(
                    es, actions(), raise_on_error=False, timeout=BULK_TIMEOUT
                )
                if not ok
            ]
            if refused:
                first = describe_error(refused[0].get("error"), refused[0].get("status"))
                raise HistoryNotWritten(
                    f"{index}: {len(refused)} of {len(docs)} alert events not written "
                    f"(written next cycle): {first}"
                )
        with db.transaction(conn):
            conn.execute(
                "INSERT INTO history_watermark (id, last_outbox_id) VALUES (1, ?) "
                "ON CONFLICT(id) DO UPDATE SET last_outbox_id = excluded.last_outbox_id",
                (int(last),),
            )
        if docs:
            log.info("alert history written", documents=len(docs), index=f"{prefix}-alerts")
        return len(docs)
    finally:
        conn.close()
