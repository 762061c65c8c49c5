"""The monitoring flow end to end on real components, run twice.

Fixture site (shop review API + microblog with a negative burst) → Scrapy → landing → process →
Elasticsearch → detection → alert → a real signed-webhook receiver. The second run must add no
document and send no second alert.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from koubei import jsonl, paths
from koubei.demo.receiver import start_receiver
from koubei.demo.site import start_demo_site
from koubei.flows.demo import demo_anchor, demo_site_port, write_demo_config
from koubei.flows.monitor import monitor

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_monitor_end_to_end_is_idempotent(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    clock: datetime,
) -> None:
    # The demo world is anchored at the clock: at a month's end its history and burst cross
    # monthly indices (UTC) and days (China).
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("KOUBEI_WEBHOOK_SECRET", "test-secret")
    state = paths.state_dir("demo")
    anchor = demo_anchor(state)
    assert clock - timedelta(minutes=5) < anchor <= clock
    received_file = Path(koubei_home) / "received.jsonl"
    site = start_demo_site(anchor=anchor, port=demo_site_port(state))
    receiver = start_receiver("test-secret", received_file)
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", receiver.url)
    try:
        config_dir = write_demo_config(state, site.url)
        # A second channel that only wants critical incidents, on the catch-all route: the flow
        # routes by severity (min_severity is honoured, not only by direct callers of the store).
        alerts_yaml = config_dir / "alerts.yaml"
        alerts_config = yaml.safe_load(alerts_yaml.read_text(encoding="utf-8"))
        alerts_config["channels"].append(
            {
                "name": "critical-only",
                "type": "webhook",
                "min_severity": "critical",
                "options": {"url_env": "KOUBEI_WEBHOOK_URL", "secret_env": "KOUBEI_WEBHOOK_SECRET"},
            }
        )
        alerts_config["routes"][-1]["channels"].append("critical-only")
        alerts_yaml.write_text(yaml.safe_dump(alerts_config, allow_unicode=True), encoding="utf-8")
        first = monitor(config_dir=config_dir, prefix=index_prefix, as_of=anchor, progress=False)
        landed = {
            record["id"]
            for path in paths.state_dir("landing").glob("*/*.jsonl")
            for record in jsonl.read(path)
        }
        count_after_first = es.count(index=f"{index_prefix}-posts")["count"]
        second = monitor(config_dir=config_dir, prefix=index_prefix, as_of=anchor, progress=False)
        es.indices.refresh(index=f"{index_prefix}-posts")
        count_after_second = es.count(index=f"{index_prefix}-posts")["count"]
    finally:
        site.stop()
        receiver.stop()

    # Everything crawled is indexed exactly once, and the re-run adds nothing.
    assert sum(first["crawled"].values()) > 0
    assert count_after_first == len(landed)
    assert count_after_second == count_after_first
    assert second["indexed"].get("created", 0) == 0

    # The burst about 鲜牧 is detected, and only 鲜牧's.
    assert first["detections"]["鲜牧"] > 0
    assert first["negative_share"]["鲜牧"]["last_hour"] > first["negative_share"]["鲜牧"]["history"]
    assert first["detections"].get("北岭", 0) == 0

    # One alert reached the receiver, signed and carrying the evidence; none on the re-run.
    alerts = receiver.received()
    # one per channel that wants it (critical-only only if the demo incident is critical)
    assert len(alerts) in (1, 2) and {a["brand"] for a in alerts} == {"鲜牧"}, alerts
    payload = alerts[0]
    assert payload["brand"] == "鲜牧"
    assert payload["top_posts"], "an alert carries its top posts"
    assert payload.get("kibana_url", "").startswith("http")
    # The alert says how fresh each of the brand's sources was: every demo source crawled.
    sources = {f["source"] for f in first["freshness"]["鲜牧"]}
    assert sources and {f["source"] for f in payload["freshness"]} == sources
    assert all(f["crawl_status"] and f["last_crawl_at"] for f in payload["freshness"])
    assert second["notifications"] == 0
    from koubei.analysis.alerts.db import default_db_path
    from koubei.analysis.alerts.outbox import notifications

    rows = notifications(default_db_path())
    assert {n.channel for n in rows} >= {"oncall-webhook"}
    for row in rows:  # each channel got only incidents at or above its min_severity
        floor = {"oncall-webhook": 0, "critical-only": 2}[row.channel]
        assert {"info": 0, "warning": 1, "critical": 2}[row.payload["severity"]] >= floor, row
        if row.payload["severity"] == "info":  # info pages nobody: it waits for the digest
            assert row.kind == "digest-item", row
    assert os.path.getsize(received_file) > 0
