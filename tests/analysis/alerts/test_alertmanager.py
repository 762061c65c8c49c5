"""The Alertmanager channel against a real ``prometheus-alertmanager`` (API v2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from koubei.analysis.alerts.delivery import deliver_pending
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.outbox import notifications
from koubei.timeutil import DEFAULT_TZ
from koubei.timeutil import now as wall_now
from tests.analysis.alerts.conftest import alerts_status, am_channels, detection


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
    channels = am_channels(monkeypatch, alertmanager, labels={"team": "pr"})
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=3)
    now = wall_now()
    start = now - timedelta(minutes=30)
    # Wall-clock detections: Alertmanager compares endsAt with its own clock.
    share = {"negative_share": 0.8519, "interval": 300}  # of its one bin, as details_at gives
    first = detection(minutes_since_t0(start), "warning", brand="测试甲", details=share)
    store.observe("测试甲", [first], now=start + timedelta(seconds=30), channels=channels)
    assert len(deliver_pending(db_path, channels).delivered) == 1
    (alert,) = am_alerts(alertmanager, "测试甲")
    assert alert["labels"]["severity"] == "warning" and alert["labels"]["team"] == "pr"
    assert alert["labels"]["alertname"] == "KoubeiBrandCrisis"
    # the reason in the one Chinese wording the chat messages use, naming the hour it counts
    # (the hour ending with the detection's bin; "近 1 小时" read as the hour before the alert)
    end = (start + timedelta(minutes=5)).astimezone(DEFAULT_TZ)
    hour = f"{end - timedelta(hours=1):%H:%M}–{end:%H:%M}"
    assert alert["annotations"]["description"] == f"{hour} 负面提及 40 条，预期 3 条"
    # the share is one 5-minute bin's, and the annotations say which (an ISO 8601 interval)
    assert alert["annotations"]["negative_share"] == "0.8519"
    bin_start = datetime.fromisoformat(first["timestamp"]).astimezone(DEFAULT_TZ)
    assert alert["annotations"]["negative_share_window"] == (
        f"{bin_start.isoformat()}/{(bin_start + timedelta(minutes=5)).isoformat()}"
    )
    # and what `observed` counts, over which hour (session 39)
    assert alert["annotations"]["observed_counts"] == "negative mentions"
    assert alert["annotations"]["observed_window"] == (
        f"{(end - timedelta(hours=1)).isoformat()}/{end.isoformat()}"
    )

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


@pytest.mark.timeout(120)
def test_outage_then_recovery_leaves_the_incident_resolved(
    alertmanager: str, dead_url: str, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=3)
    now = wall_now()
    start = now - timedelta(minutes=30)
    # Fired and delivered while Alertmanager was up ...
    up = am_channels(monkeypatch, alertmanager)
    store.observe(
        "测试乙", [detection(minutes_since_t0(start), brand="测试乙")], now=start, channels=up
    )
    assert len(deliver_pending(db_path, up).delivered) == 1
    assert len(am_alerts(alertmanager, "测试乙")) == 1
    # ... escalated during the outage (the update waits out its backoff) ...
    down = am_channels(monkeypatch, dead_url)
    later = start + timedelta(minutes=5)
    crit = detection(minutes_since_t0(later), "critical", brand="测试乙")
    store.observe("测试乙", [crit], now=later, channels=down)
    assert len(deliver_pending(db_path, down, now=later).retrying) == 1
    # ... and resolved before it came back: the resolve supersedes the stale update.
    store.observe("测试乙", [], now=now, channels=down)
    up = am_channels(monkeypatch, alertmanager)
    report = deliver_pending(db_path, up, now=now + timedelta(hours=1))
    assert len(report.delivered) == 1 and len(report.superseded) == 0  # marked at enqueue
    assert am_alerts(alertmanager, "测试乙") == []
    kinds = {n.kind: n.status for n in notifications(db_path)}
    assert kinds == {"firing": "delivered", "updated": "superseded", "resolved": "delivered"}
    status = alerts_status(db_path)
    assert status["open_incidents"] == [] and status["pending"] == []
    assert status["outbox"] == {"delivered": 2, "superseded": 1}


@pytest.mark.timeout(120)
def test_firing_never_sent_is_replaced_by_its_resolve(
    alertmanager: str, dead_url: str, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=3)
    now = wall_now()
    start = now - timedelta(minutes=30)
    down = am_channels(monkeypatch, dead_url)
    store.observe(
        "测试丙", [detection(minutes_since_t0(start), brand="测试丙")], now=start, channels=down
    )
    assert len(deliver_pending(db_path, down, now=start).retrying) == 1
    store.observe("测试丙", [], now=now, channels=down)
    up = am_channels(monkeypatch, alertmanager)
    # Both rows are due; only the resolve goes out, so no stale `firing` re-opens it for 24 h.
    report = deliver_pending(db_path, up, now=now + timedelta(hours=1))
    assert len(report.delivered) == 1
    assert am_alerts(alertmanager, "测试丙") == []
    assert [n.kind for n in notifications(db_path, status="delivered")] == ["resolved"]


@pytest.mark.timeout(90)
def test_an_onset_ahead_of_the_wall_clock_still_escalates_and_resolves(
    alertmanager: str, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Detections carry data time (a site's clock, a replay) that can run ahead of ours. The
    # API refuses a whole request holding an alert whose endsAt is before its startsAt (HTTP
    # 400 "start time must be before end time", Alertmanager 0.25), and a 400 is not retried:
    # ending the old severity, or resolving, must never send a start after the end.
    channels = am_channels(monkeypatch, alertmanager)
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=3)
    ahead = wall_now() + timedelta(minutes=10)
    first = detection(minutes_since_t0(ahead), "warning", brand="测试丁")
    store.observe("测试丁", [first], now=ahead, channels=channels)
    assert len(deliver_pending(db_path, channels, now=ahead).delivered) == 1
    later = ahead + timedelta(minutes=5)
    up = detection(minutes_since_t0(later), "critical", brand="测试丁")
    store.observe("测试丁", [up], now=later, channels=channels)
    report = deliver_pending(db_path, channels, now=later)
    assert len(report.delivered) == 1 and report.failed == []
    (alert,) = am_alerts(alertmanager, "测试丁")
    assert alert["labels"]["severity"] == "critical"
    resolved = ahead + timedelta(minutes=30)
    assert [n.kind for n in store.observe("测试丁", [], now=resolved, channels=channels)] == [
        "resolved"
    ]
    report = deliver_pending(db_path, channels, now=resolved)
    assert len(report.delivered) == 1 and report.failed == []
    assert am_alerts(alertmanager, "测试丁") == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [("team-name", "letters, digits and _"), ("1team", "letters, digits and _"),
     ("severity", "set by koubei")],
)  # fmt: skip
def test_a_static_label_alertmanager_would_refuse_fails_at_start_up(
    monkeypatch: pytest.MonkeyPatch, name: str, problem: str
) -> None:
    # Alertmanager 0.25 answers 400 "invalid label set: invalid name \"team-name\"" to every
    # alert carrying it, and a 400 is not retried: every alert of the channel would be lost.
    from koubei.config import ConfigError

    with pytest.raises(ConfigError) as info:
        am_channels(monkeypatch, "http://127.0.0.1:9093", labels={name: "pr"})
    message = str(info.value)
    assert "channels[0].options.labels" in message and problem in message, message


@pytest.mark.timeout(90)
def test_a_resumed_incident_is_active_again_and_says_when_it_was_said_over(
    alertmanager: str, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store reopens a paused incident that fires again (the paging policy's same page):
    Alertmanager, told it was resolved, shows it active again, with `resumed_after`."""
    channels = am_channels(monkeypatch, alertmanager)
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=3)
    start = wall_now() - timedelta(minutes=30)
    first = detection(minutes_since_t0(start), "warning", brand="测试丁")
    store.observe("测试丁", [first], now=start + timedelta(seconds=30), channels=channels)
    assert len(deliver_pending(db_path, channels).delivered) == 1
    over = store.observe("测试丁", [first], now=start + timedelta(minutes=20), channels=channels)
    assert [n.kind for n in over] == ["resolved"]
    assert len(deliver_pending(db_path, channels).delivered) == 1
    assert am_alerts(alertmanager, "测试丁") == []
    again = {**first, "details": {"episode_bins": 6}}  # firing again at minute 25
    notes = store.observe("测试丁", [again], now=start + timedelta(minutes=26), channels=channels)
    assert [n.kind for n in notes] == ["updated"]
    assert len(deliver_pending(db_path, channels).delivered) == 1
    (alert,) = am_alerts(alertmanager, "测试丁")
    assert alert["annotations"]["resumed_after"] == over[0].payload["resolved_at"]
