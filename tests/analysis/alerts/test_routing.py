"""Routes (brand, group, severity → channels and mentions), min_severity and quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from koubei.analysis.alerts.delivery import deliver_pending
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.outbox import notifications
from koubei.analysis.alerts.routing import Router, route
from koubei.config import AlertsConfig, ConfigError, load_file
from koubei.timeutil import DEFAULT_TZ
from tests.analysis.alerts.conftest import SECRET, detection

CONFIG: dict[str, Any] = {
    "channels": [
        {"name": "oncall", "type": "webhook", "min_severity": "warning", "options": {}},
        {"name": "pr", "type": "webhook", "min_severity": "info", "options": {}},
        {"name": "ops", "type": "webhook", "min_severity": "info", "options": {}},
        {"name": "off", "type": "webhook", "enabled": False, "options": {}},
    ],
    "routes": [
        {"match": {"brand": "鲜牧", "severity": "critical"}, "channels": ["pr", "off"],
         "mentions": ["13800000000"], "continue": True},
        {"match": {"group": ["operational"]}, "channels": ["ops"]},
        {"channels": ["oncall"]},
    ],
    "quiet_hours": {"start": "22:00", "end": "08:00"},
}  # fmt: skip


def config() -> AlertsConfig:
    return AlertsConfig.model_validate(CONFIG)


def names(labels: dict[str, Any]) -> list[str]:
    return [t.name for t in route(config(), labels)]


def test_first_matching_route_wins_unless_it_continues() -> None:
    assert names({"brand": "鲜牧", "group": "crisis", "severity": "critical"}) == ["pr", "oncall"]
    assert names({"brand": "鲜牧", "group": "crisis", "severity": "warning"}) == ["oncall"]
    assert names({"brand": "source:weibo", "group": "operational", "severity": "warning"}) == [
        "ops"
    ]
    (pr, _) = route(config(), {"brand": "鲜牧", "group": "crisis", "severity": "critical"})
    assert pr.mentions == ("13800000000",)


def test_a_route_naming_an_unknown_channel_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("routes:\n  - channels: [nobody]\n", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"alerts.yaml: .*routes\[0\].channels: nobody not in channels"
    ):
        load_file(path, AlertsConfig)


def at_shanghai(hour: int, minute: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=DEFAULT_TZ)


def observe(db_path: Path, brand: str, severity: str, now: datetime, **extra: Any) -> list[Any]:
    stamp = (now - timedelta(minutes=1)).isoformat()
    found = {**detection(0, severity, brand=brand, **extra), "timestamp": stamp}
    return IncidentStore(db_path).observe(brand, [found], now=now, channels=Router(config()))


def test_min_severity_and_routes_through_the_store(db_path: Path) -> None:
    notes = observe(db_path, "北岭", "info", at_shanghai(10))
    assert notes == []  # info: the catch-all route's channel wants warning and above
    notes = observe(db_path, "鲜牧", "critical", at_shanghai(10))
    assert sorted(n.channel for n in notes) == ["oncall", "pr"]
    pr = next(n for n in notes if n.channel == "pr")
    assert pr.payload["route_mentions"] == ["13800000000"]


def test_route_mentions_reach_the_message(db_path: Path, monkeypatch, receiver) -> None:
    from koubei.analysis.alerts.channels import build_channels

    monkeypatch.setenv("T_URL", receiver.url)
    monkeypatch.setenv("T_SECRET", SECRET)
    raw = {**CONFIG, "channels": [
        {**c, "options": {"url_env": "T_URL", "secret_env": "T_SECRET"}} for c in CONFIG["channels"]
    ]}  # fmt: skip
    channels = build_channels(AlertsConfig.model_validate(raw))
    observe(db_path, "鲜牧", "critical", at_shanghai(10))
    deliver_pending(db_path, channels, now=at_shanghai(10))
    received = {("pr" if p.get("route_mentions") else "oncall"): p for p in receiver.received()}
    assert set(received) == {"pr", "oncall"}
    # the webhook's `mentions` are what the chat platforms would @: the route's people too
    assert received["pr"]["mentions"] == ["13800000000"]
    assert received["oncall"]["mentions"] == []


def test_quiet_hours_hold_warnings_until_morning_not_criticals(db_path: Path) -> None:
    night = at_shanghai(23, 30)
    (warning,) = observe(db_path, "北岭", "warning", night)
    critical = observe(db_path, "鲜牧", "critical", night)
    rows = {n.incident_key: n for n in notifications(db_path)}
    held = rows[warning.incident_key]
    assert held.next_attempt_at == at_shanghai(8, 0, day=26).timestamp()
    assert all(rows[n.incident_key].next_attempt_at == night.timestamp() for n in critical)
    # Before 08:00 only the criticals are due; from 08:00 the warning too.
    due_at_night = [
        n
        for n in notifications(db_path)
        if (n.next_attempt_at or 0) <= at_shanghai(7, 59, 26).timestamp()
    ]
    assert {n.kind for n in due_at_night} == {"firing"} and len(due_at_night) == len(critical)


def test_per_route_repeat_interval(db_path: Path) -> None:
    raw = {
        **CONFIG,
        "quiet_hours": None,
        "routes": [
            {"match": {"brand": "鲜牧"}, "channels": ["pr"], "repeat_interval": "30m",
             "continue": True},
            {"channels": ["oncall"]},  # the global renotify (4h)
        ],
    }  # fmt: skip
    router = Router(AlertsConfig.model_validate(raw))
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=12)

    def seen(minutes: int) -> list[str]:
        now = at_shanghai(10) + timedelta(minutes=minutes)
        found = {
            **detection(0, brand="鲜牧"),
            "timestamp": (now - timedelta(minutes=1)).isoformat(),
        }
        return sorted(
            f"{n.channel}:{n.kind}"
            for n in store.observe("鲜牧", [found], now=now, channels=router)
        )

    assert seen(0) == ["oncall:firing", "pr:firing"]
    assert seen(10) == []  # still active, nobody's interval has passed
    assert seen(35) == ["pr:updated"]  # PR asked for every 30 minutes
    assert seen(50) == []
    assert seen(70) == ["pr:updated"]


def test_info_incidents_gather_into_one_daily_digest(db_path: Path, monkeypatch, receiver) -> None:
    from koubei.analysis.alerts.channels import build_channels

    monkeypatch.setenv("T_URL", receiver.url)
    monkeypatch.setenv("T_SECRET", SECRET)
    raw = {
        "digest_at": "09:00",
        "channels": [
            {"name": "pr", "type": "webhook", "min_severity": "info",
             "options": {"url_env": "T_URL", "secret_env": "T_SECRET"}},
        ],
        "routes": [
            {"match": {"severity": "info"}, "channels": ["pr"], "digest": True},
            {"channels": ["pr"]},
        ],
    }  # fmt: skip
    router = Router(AlertsConfig.model_validate(raw))
    channels = build_channels(AlertsConfig.model_validate(raw))
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=2)
    for brand, hour in (("北岭", 10), ("云朵", 15)):
        now = at_shanghai(hour)
        found = {
            **detection(0, "info", brand=brand),
            "timestamp": (now - timedelta(minutes=1)).isoformat(),
        }
        store.observe(brand, [found], now=now, channels=router)
        assert deliver_pending(db_path, channels, now=now).delivered == []  # pages nobody
    # Both resolve in the afternoon: still nobody is paged.
    for brand in ("北岭", "云朵"):
        assert store.observe(brand, [], now=at_shanghai(18), channels=router) == []
    assert deliver_pending(db_path, channels, now=at_shanghai(8, 59, day=26)).delivered == []
    report = deliver_pending(db_path, channels, now=at_shanghai(9, 0, day=26))
    assert len(report.delivered) == 1
    (digest,) = receiver.received()
    assert digest["event"] == "digest" and digest["title"].startswith("【每日汇总】2026-11-26")
    assert [item["brand"] for item in digest["digest"]] == ["北岭", "云朵"]
    # A warning still pages at once.
    now = at_shanghai(10, day=26)
    found = {
        **detection(0, "warning", brand="鲜牧"),
        "timestamp": (now - timedelta(minutes=1)).isoformat(),
    }
    store.observe("鲜牧", [found], now=now, channels=router)
    assert len(deliver_pending(db_path, channels, now=now).delivered) == 1


def test_digest_renders_one_line_per_incident() -> None:
    from koubei.analysis.alerts.channels.text import render_markdown

    text = render_markdown(
        {
            "title": "【每日汇总】2026-11-26 提示级口碑事件 2 起",
            "event": "digest",
            "digest": [
                {"brand": "北岭", "started_at": "2026-11-25T10:00:00+08:00", "reason": "r1"},
                {"brand": "云朵", "started_at": "2026-11-25T15:00:00+08:00", "reason": "r2"},
            ],
        },
        4096,
    )
    assert "1. **北岭** · 11-25 10:00 · r1" in text.splitlines()
    assert "2. **云朵** · 11-25 15:00 · r2" in text.splitlines()
