"""Alert history lands in the real Elasticsearch ``<prefix>-alerts`` index, once per event."""

from __future__ import annotations

from pathlib import Path

from elasticsearch import Elasticsearch

from koubei.analysis.alerts.channels import build_channels
from koubei.analysis.alerts.delivery import deliver_pending
from koubei.analysis.alerts.history import write_history
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.config import AlertsConfig, ChannelConfig
from koubei.pipeline.index.templates import ensure_templates
from tests.analysis.alerts.conftest import SECRET, at, detection


def test_each_event_is_one_document_and_rewriting_adds_none(
    es: Elasticsearch, index_prefix: str, db_path: Path, receiver, monkeypatch
) -> None:
    ensure_templates(es, index_prefix)
    monkeypatch.setenv("T_URL", receiver.url)
    monkeypatch.setenv("T_SECRET", SECRET)
    options = {"url_env": "T_URL", "secret_env": "T_SECRET"}
    config = AlertsConfig(
        channels=[
            ChannelConfig(name=n, type="webhook", min_severity="info", options=options)
            for n in ("oncall", "pr")
        ]
    )
    channels = build_channels(config)
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=3)
    store.observe("海底捞", [detection(0, "critical")], now=at(1), channels=channels)
    # Written before delivery: the event is there, and rewritten once its deliveries settle.
    assert write_history(es, index_prefix, db_path) == 1
    deliver_pending(db_path, channels, now=at(1))
    store.observe("海底捞", [], now=at(40), channels=channels)
    deliver_pending(db_path, channels, now=at(40))
    assert write_history(es, index_prefix, db_path) == 2  # firing (settled) and resolved
    assert write_history(es, index_prefix, db_path) == 0
    es.indices.refresh(index=f"{index_prefix}-alerts")
    hits = es.search(index=f"{index_prefix}-alerts", sort=["@timestamp"], size=10)["hits"]["hits"]
    docs = [h["_source"] for h in hits]
    assert [d["status"] for d in docs] == ["firing", "resolved"]
    firing = docs[0]
    assert firing["brand"] == "海底捞" and firing["severity"] == "critical"
    assert sorted(firing["channels"]) == ["oncall", "pr"]
    assert firing["details"]["deliveries"] == {"oncall": "delivered", "pr": "delivered"}
    assert firing["value"] == 40 and firing["baseline"] == 3
    assert firing["detector"] == ["negative_volume"]
    # The Kibana panel aggregates on these fields.
    buckets = es.search(
        index=f"{index_prefix}-alerts",
        size=0,
        aggs={"by": {"terms": {"field": "severity"}}},
    )["aggregations"]["by"]["buckets"]
    assert buckets == [{"key": "critical", "doc_count": 2}]
