"""A blocked source is not quiet: it raises an operational alert and blinds its brands."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from koubei import config as cfg
from koubei import paths
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.outbox import notifications
from koubei.crawlers.health import health_path
from koubei.flows.demo import write_demo_config
from koubei.flows.detect import check_sources


def write_health(source: str, status: str, finished_at: str) -> None:
    health = {
        "source": source,
        "platform": "weibo",
        "status": status,
        "alert": status != "ok",
        "items": 0 if status != "ok" else 12,
        "reason": "blocked responses: {'captcha': 3}" if status == "blocked" else "",
        "finished_at": finished_at,
    }
    health_path(source).write_text(json.dumps(health))


def test_blocked_source_alerts_once_holds_brands_and_resolves(
    koubei_home: str, clock: datetime
) -> None:
    config_dir = write_demo_config(paths.state_dir("demo"), "http://127.0.0.1:9")
    channels = cfg.load_alerts(config_dir).channels
    db_path = Path(koubei_home) / "alerts.db"
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=2)
    now = clock

    write_health("demo-weibo", "blocked", now.isoformat())
    notified, blind = check_sources(store, config_dir, now, channels)
    assert notified == 1
    assert blind == {"鲜牧", "北岭", "云朵"}  # the demo's weibo source tracks every brand
    [note] = notifications(db_path)
    assert note.payload["brand"] == "source:demo-weibo"
    assert note.payload["severity"] == "warning"

    # Still blocked on the next run: the incident is open, nobody is paged again.
    later = now + timedelta(minutes=5)
    write_health("demo-weibo", "blocked", later.isoformat())
    assert check_sources(store, config_dir, later, channels) == (0, blind)

    # Recovered: after the grace period the incident resolves with a notice, brands see again.
    recovered = later + timedelta(minutes=15)
    write_health("demo-weibo", "ok", recovered.isoformat())
    notified, blind = check_sources(store, config_dir, recovered, channels)
    assert blind == set()
    assert notified == 1
    assert notifications(db_path)[0].kind == "resolved"
