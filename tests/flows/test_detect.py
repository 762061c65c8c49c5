"""A blocked source is not quiet: it raises an operational alert and blinds its brands.

Operational incidents (blocked or empty sources, failed runs) go through the same routes,
``min_severity`` and quiet hours as crises.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from koubei import config as cfg
from koubei import paths
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.outbox import notifications
from koubei.analysis.alerts.routing import Router
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
    channels = Router(cfg.load_alerts(config_dir))  # the shipped routes
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
    assert note.channel == "oncall-webhook"  # the operational route (its other channel is off)
    assert note.payload["reasons"] == [
        "数据源 demo-weibo（weibo）被平台拦截，爬虫记录：blocked responses: {'captcha': 3}；"
        "这段时间的声量未知，不是零"
    ]

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


def test_a_stuck_crawl_state_alerts_the_crawler_owners_but_blinds_no_brand(
    koubei_home: str, clock: datetime
) -> None:
    """A source that lost a page on every run for a day still delivers new posts: its brands
    are not blind, but its owners hear that something past that page is never reached."""
    config_dir = write_demo_config(paths.state_dir("demo"), "http://127.0.0.1:9")
    channels = Router(cfg.load_alerts(config_dir))
    db_path = Path(koubei_home) / "alerts.db"
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=2)
    write_health("demo-weibo", "degraded", clock.isoformat())
    record = json.loads(health_path("demo-weibo").read_text())
    record["state_kept_since"] = (clock - timedelta(hours=2)).isoformat()
    health_path("demo-weibo").write_text(json.dumps(record))
    assert check_sources(store, config_dir, clock, channels) == (0, set())  # a 2-hour hiccup

    record["state_kept_since"] = (clock - timedelta(days=1, minutes=5)).isoformat()
    health_path("demo-weibo").write_text(json.dumps(record))
    notified, blind = check_sources(store, config_dir, clock, channels)
    assert notified == 1 and blind == set()
    [note] = notifications(db_path)
    assert (note.channel, note.payload["severity"]) == ("oncall-webhook", "warning")
    assert "每轮都有页面抓取失败" in note.payload["reasons"][0]


ROUTED = """
channels:
  - {name: ops, type: webhook, min_severity: warning,
     options: {url_env: T_OPS_URL, secret_env: T_SECRET}}
  - {name: pr, type: webhook, min_severity: info,
     options: {url_env: T_PR_URL, secret_env: T_SECRET}}
routes:
  - match: {group: operational}
    channels: [ops]
  - channels: [pr]
quiet_hours: {start: "22:00", end: "08:00", hold_below: critical}
"""


def test_operational_incidents_follow_routes_min_severity_and_quiet_hours(
    koubei_home: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from koubei import timeutil
    from koubei.analysis.alerts.channels import build_channels
    from koubei.analysis.alerts.delivery import deliver_pending
    from koubei.demo.receiver import start_receiver
    from koubei.flows.outcome import observe_run

    config_dir = write_demo_config(paths.state_dir("demo"), "http://127.0.0.1:9")
    (config_dir / "alerts.yaml").write_text(ROUTED, encoding="utf-8")
    ops = start_receiver("s3", tmp_path / "ops.jsonl")
    pr = start_receiver("s3", tmp_path / "pr.jsonl")
    monkeypatch.setenv("T_SECRET", "s3")
    monkeypatch.setenv("T_OPS_URL", ops.url)
    monkeypatch.setenv("T_PR_URL", pr.url)
    try:
        alerts = cfg.load_alerts(config_dir)
        router, channels = Router(alerts), build_channels(alerts)
        store = IncidentStore.from_config(paths.state_dir("alerts") / "alerts.db", alerts)
        db_path = store.db_path
        night = datetime.fromisoformat("2026-11-20T23:00:00+08:00")

        # A source blocked at night: the ops route only, held by quiet hours until 08:00.
        write_health("demo-weibo", "blocked", night.isoformat())
        # A source that came back empty is `info`: below the ops channel's min_severity.
        write_health("demo-news", "empty", night.isoformat())
        notified, blind = check_sources(store, config_dir, night, router)
        assert notified == 1 and blind == {"鲜牧", "北岭", "云朵"}
        (note,) = notifications(db_path)
        assert (note.channel, note.payload["brand"]) == ("ops", "source:demo-weibo")
        assert deliver_pending(db_path, channels, now=night).delivered == []
        morning = night + timedelta(hours=9, minutes=1)
        assert len(deliver_pending(db_path, channels, now=morning).delivered) == 1
        assert [a["brand"] for a in ops.received()] == ["source:demo-weibo"]

        # A failed scheduled run by day: `warning`, the ops route, delivered at once; the next
        # good run resolves it there. The PR channel hears of none of it.
        monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-21T12:00:00+08:00")
        assert observe_run("koubei-monitor", config_dir, "cannot reach Elasticsearch") == 1
        monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-21T12:30:00+08:00")
        assert observe_run("koubei-monitor", config_dir, None) == 1
    finally:
        ops.stop()
        pr.stop()
    run = [a for a in ops.received() if a["brand"] == "run:koubei-monitor"]
    assert [(a["status"], a["severity"]) for a in run] == [
        ("firing", "warning"),
        ("resolved", "warning"),
    ]
    assert run[0]["reasons"] == [
        "定时运行 koubei-monitor 失败：cannot reach Elasticsearch；本轮未完成监测"
    ]
    assert pr.received() == []


@pytest.mark.parametrize(
    "damage",
    [
        {"finished_at": 5},
        {"finished_at": "yesterday"},
        {"finished_at": None},
        {"items": "abc"},
        {"items": [1]},
        {"state_kept_since": "garbage"},
    ],
    ids=lambda d: "-".join(f"{k}={v}" for k, v in d.items()),
)
def test_a_health_file_with_a_value_of_the_wrong_kind_is_ignored_and_the_others_checked(
    koubei_home: str, clock: datetime, damage: dict[str, object]
) -> None:
    """A hand-edited health file (valid JSON, a value of the wrong kind) raised in every
    cycle's source check (``ValueError: Invalid isoformat string``, ``could not convert
    string to float``), so no source was checked and no crisis detected; a bad
    ``state_kept_since`` was carried by each later crawl into the source's new file, for good."""
    from koubei.crawlers.health import assess
    from koubei.crawlers.health import write_health as crawled

    config_dir = write_demo_config(paths.state_dir("demo"), "http://127.0.0.1:9")
    channels = Router(cfg.load_alerts(config_dir))
    db_path = Path(koubei_home) / "alerts.db"
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=2)
    write_health("demo-weibo", "blocked", clock.isoformat())
    write_health("demo-news", "blocked", clock.isoformat())
    record = json.loads(health_path("demo-news").read_text())
    health_path("demo-news").write_text(json.dumps({**record, "state_kept_since": None, **damage}))
    notified, _ = check_sources(store, config_dir, clock, channels)
    assert notified == 1  # the other source is still checked
    assert [n.payload["brand"] for n in notifications(db_path)] == ["source:demo-weibo"]

    # the damaged source's next crawl (its state kept again) writes a whole file
    crawled(assess("demo-news", "news", "20261202T000000000000", {"koubei/state_kept": 1}))
    saved = json.loads(health_path("demo-news").read_text())
    assert saved["run_id"] == "20261202T000000000000" and saved["state_kept_since"] != "garbage"
    check_sources(store, config_dir, clock + timedelta(minutes=5), channels)

    # a worker's part of a run, damaged alike, is left out of the run's merge (it stopped it)
    run = "20261203T000000000000"
    part = health_path("demo-news").parent / "demo-news" / f"{run}.1.json"
    part.write_text(json.dumps({**saved, "run_id": run, "worker": "1", **damage}))
    crawled(assess("demo-news", "news", run, {"koubei/pages": 1, "koubei/entries": 2}))
    assert json.loads(health_path("demo-news").read_text())["workers"] == [""]


def test_a_health_file_nested_too_deep_is_ignored(koubei_home: str, clock: datetime) -> None:
    """JSON nested deeper than Python reads raised ``RecursionError`` past the check that
    ignores a damaged health file: every cycle's source check failed."""
    config_dir = write_demo_config(paths.state_dir("demo"), "http://127.0.0.1:9")
    store = IncidentStore(Path(koubei_home) / "alerts.db", interval_seconds=300, resolve_after=2)
    write_health("demo-weibo", "blocked", clock.isoformat())
    health_path("demo-news").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    channels = Router(cfg.load_alerts(config_dir))
    assert check_sources(store, config_dir, clock, channels)[0] == 1
