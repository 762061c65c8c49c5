"""The Alertmanager channel against a real ``prometheus-alertmanager`` (API v2)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from koubei.analysis.alerts.channels import build_channels
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.outbox import deliver_pending
from koubei.config import AlertsConfig, ChannelConfig
from koubei.timeutil import now as wall_now
from tests.analysis.alerts.conftest import detection


def am_alerts(url: str, brand: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{url}/api/v2/alerts", params={"filter": f'brand="{brand}"'}, trust_env=False, timeout=5
    )
    response.raise_for_status()
    return list(response.json())


def minutes_since_t0(moment: Any) -> float:
    from tests.analysis.alerts.conftest import T0

    return (moment - T0).total_seconds() / 60


@pytest.mark.timeout(90)
def test_alert_shows_on_alertmanager_then_resolves(
    alertmanager: str, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_AM_URL", alertmanager)
    config = AlertsConfig(
        channels=[
            ChannelConfig(
                name="am",
                type="alertmanager",
                min_severity="info",
                options={"url_env": "T_AM_URL", "labels": {"team": "pr"}},
            )
        ]
    )
    channels = build_channels(config)
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=3)
    now = wall_now()
    start = now - timedelta(minutes=30)
    # Wall-clock detections: Alertmanager compares endsAt with its own clock.
    first = detection(minutes_since_t0(start), "warning", brand="测试甲")
    store.observe("测试甲", [first], now=start + timedelta(seconds=30), channels=channels)
    assert len(deliver_pending(db_path, channels).delivered) == 1
    (alert,) = am_alerts(alertmanager, "测试甲")
    assert alert["labels"]["severity"] == "warning" and alert["labels"]["team"] == "pr"
    assert alert["labels"]["alertname"] == "KoubeiBrandCrisis"
    assert "negative_volume" in alert["annotations"]["description"]

    # Escalation: the critical alert replaces the warning one (same incident label).
    later = start + timedelta(minutes=5)
    up = detection(minutes_since_t0(later), "critical", brand="测试甲")
    store.observe("测试甲", [up], now=later + timedelta(seconds=30), channels=channels)
    assert len(deliver_pending(db_path, channels).delivered) == 1
    (alert,) = am_alerts(alertmanager, "测试甲")
    assert alert["labels"]["severity"] == "critical"

    # Quiet for three intervals: resolved, and Alertmanager no longer lists it as active.
    notes = store.observe("测试甲", [], now=now, channels=channels)
    assert [n.kind for n in notes] == ["resolved"]
    assert len(deliver_pending(db_path, channels).delivered) == 1
    assert am_alerts(alertmanager, "测试甲") == []
