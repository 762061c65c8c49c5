"""`info` incidents page nobody: the flow gathers them into one digest message a day.

The real detection (Elasticsearch → spread-aware trigger → incidents → routes) and the real
delivery task, against the doc-faithful DingTalk robot of ``tests/analysis/alerts/platforms``.
Two small negative cascades, each joined by one verified account with few followers, fire the
``cascade_growth`` trigger at a crisis score below ``warning``: both wait as digest items and go
out together the next morning at ``digest_at``, in one message.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import paths, timeutil
from koubei.analysis.alerts.outbox import notifications
from koubei.flows.detect import run_detection
from koubei.flows.monitor import deliver
from koubei.model import Author, Document, Sentiment, to_record
from koubei.pipeline.index.writer import index_records
from tests.analysis.alerts.platforms import PlatformServer, dingtalk_check

DAY = datetime.fromisoformat("2026-11-20T14:00:00+08:00")
ALERTS = """
interval: 5m
detectors:
  - name: cascade-growth
    type: cascade_growth
channels:
  - name: pr-dingtalk
    type: dingtalk
    min_severity: info
    options: {url_env: T_DD_URL, secret_env: T_DD_SECRET}
routes:
  - match: {severity: info}
    channels: [pr-dingtalk]
    digest: true
  - channels: [pr-dingtalk]
digest_at: "09:00"
"""


def cascade(brand: str, root_at: datetime, number: int) -> list[dict[str, Any]]:
    """A negative post reposted every 10 minutes for 90 minutes; a verified account joins."""

    def doc(n: int, minutes: int, text: str, **author: Any) -> dict[str, Any]:
        native = f"{number}{n:03d}"
        return to_record(
            Document(
                id=f"weibo:{native}",
                platform="weibo",
                source="demo-weibo",
                kind="post" if n == 0 else "repost",
                native_id=native,
                url=f"https://m.weibo.cn/detail/{native}",
                brands=[brand],
                author=Author(id=f"u{number}-{n}", name=author.pop("name", f"网友{n}"), **author),
                parent_id=None if n == 0 else f"weibo:{number}000",
                root_id=None if n == 0 else f"weibo:{number}000",
                relation=None if n == 0 else "repost",
                text_raw=text,
                created_at=root_at + timedelta(minutes=minutes),
                sentiment=Sentiment(score=0.05, label="negative", model_version="test"),
            )
        )

    records = [doc(0, 0, f"{brand}的新品用了两天就坏了，客服也不回", followers=300)]
    for n in range(1, 10):
        # a small verified account 20 minutes before the cycle: the trigger, but no reach
        if n == 8:
            small = {"name": "本地生活号", "followers": 5000, "verified": True}
            records.append(doc(n, 10 * n, "同遇到，已投诉", **small))
        else:
            records.append(doc(n, 10 * n, f"{brand}质量真差，避雷", followers=100 + n))
    return records


@pytest.fixture
def robot() -> Iterator[PlatformServer]:
    server = PlatformServer(dingtalk_check("tok", "SECdigest"))
    yield server
    server.stop()


def at(moment: datetime, monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setenv(timeutil.CLOCK_ENV, moment.isoformat())
    return moment


def test_info_incidents_wait_for_one_digest_a_day(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    tmp_path: Path,
    robot: PlatformServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    for name in ("brands.yaml", "sources.yaml"):
        shutil.copy(paths.CONFIG_DIR / name, config_dir / name)
    (config_dir / "alerts.yaml").write_text(ALERTS, encoding="utf-8")
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("T_DD_URL", f"{robot.base}/robot/send?access_token=tok")
    monkeypatch.setenv("T_DD_SECRET", "SECdigest")
    at(DAY + timedelta(hours=3), monkeypatch)
    records = cascade("北岭", DAY - timedelta(minutes=100), 7) + cascade(
        "云朵", DAY + timedelta(minutes=20), 8
    )
    assert index_records(es, records, prefix=index_prefix).created == len(records)
    es.indices.refresh(index=f"{index_prefix}-posts*")

    # Two monitoring cycles on the day: each cascade fires once, as an `info` incident.
    first = run_detection(config_dir, prefix=index_prefix, as_of=at(DAY, monkeypatch))
    assert first["detections"]["北岭"] == 1 and first["detections"]["云朵"] == 0
    deliver.fn(config_dir, index_prefix)
    later = DAY + timedelta(hours=2)
    second = run_detection(config_dir, prefix=index_prefix, as_of=at(later, monkeypatch))
    assert second["detections"]["云朵"] == 1
    deliver.fn(config_dir, index_prefix)
    rows = notifications(paths.state_dir("alerts") / "alerts.db")
    assert sorted((r.payload["brand"], r.kind, r.status) for r in rows) == [
        ("云朵", "digest-item", "held"),
        ("北岭", "digest-item", "held"),
    ]
    assert {r.payload["severity"] for r in rows} == {"info"}
    assert robot.accepted == []  # nobody paged, not even when 北岭's incident ended

    # The next morning before 09:00: still nothing; at 09:00 one message with both incidents.
    at(DAY + timedelta(hours=18, minutes=59), monkeypatch)
    deliver.fn(config_dir, index_prefix)
    assert robot.accepted == []
    at(DAY + timedelta(hours=19), monkeypatch)
    deliver.fn(config_dir, index_prefix)
    (message,) = robot.accepted
    text = message["markdown"]["text"]
    assert message["markdown"]["title"].startswith("【每日汇总】2026-11-21 提示级口碑事件 2 起")
    assert "共 2 起提示级事件（未单独通知）" in text
    assert text.index("北岭") < text.index("云朵")  # in the order they happened
    assert text.count("负面转发链认证账号加入") == 2  # each incident's reason, in Chinese

    # Later cycles that day add nothing: one digest a day.
    at(DAY + timedelta(hours=19, minutes=5), monkeypatch)
    deliver.fn(config_dir, index_prefix)
    assert len(robot.accepted) == 1
