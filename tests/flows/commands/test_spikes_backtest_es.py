"""``koubei spikes backtest --brand``: the configured detectors replayed over indexed history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from koubei.flows.cli import main
from koubei.model import make_id
from koubei.pipeline.index import queries
from koubei.timeutil import DEFAULT_TZ
from tests.pipeline.index.conftest import build_record

START = datetime(2026, 10, 5, tzinfo=DEFAULT_TZ)  # a Monday: ISO weeks 41 and 42
DAYS = 9
CRISIS = START + timedelta(days=8, hours=10)  # Tuesday of week 42, 10:00


def history() -> list[dict[str, Any]]:
    """Nine days of a brand's posts (about two per 5 minutes, a fifth negative), a two-hour
    crisis of negative posts on day 8, and a louder second brand that must not leak in."""
    rng = np.random.default_rng(41)
    records: list[dict[str, Any]] = []

    def post(brand: str, at: datetime, negative: bool) -> None:
        i = len(records)
        records.append(
            build_record(
                i,
                id=make_id("weibo", i),
                native_id=str(i),
                brands=[brand],
                created_at=at,
                crawled_at=at + timedelta(minutes=3),
                sentiment={
                    "score": 0.1 if negative else 0.9,
                    "label": "negative" if negative else "positive",
                    "model_version": "snownlp-0.12.3",
                },
            )
        )

    for b in range(DAYS * 288):
        at = START + timedelta(minutes=5 * b)
        for k in range(int(rng.poisson(2))):
            post("鲜牧", at + timedelta(seconds=10 * k), bool(rng.random() < 0.2))
        if b % 3 == 0:
            post("北岭", at, False)
    for b in range(24):  # the crisis: 15 negative posts every 5 minutes for two hours
        for k in range(15):
            post("鲜牧", CRISIS + timedelta(minutes=5 * b, seconds=15 * k), True)
    return records


@pytest.mark.es
@pytest.mark.slow
def test_backtest_replays_a_brands_indexed_history(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from koubei.pipeline.index.writer import index_records

    index_records(es, history(), prefix=index_prefix, refresh=True)
    capsys.readouterr()  # the writer's log lines
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    end = (START + timedelta(days=DAYS)).isoformat()
    args = ["spikes", "backtest", "--brand", "鲜牧", "--since", f"{DAYS}d", "--end", end]
    assert main([*args, "--prefix", index_prefix]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"鲜牧 ({index_prefix}): {DAYS * 288} bins of 5 min")
    # the crisis, once (paged as a warning, escalated when it grew critical); nine days of
    # noise page nobody
    assert lines[1].startswith("2 pages (") and ": 1 incident, 1 escalation)" in lines[1]
    assert "2026-W41: 0 page(s)" in lines
    week = lines.index("2026-W42: 2 page(s)")
    assert lines[week + 1].strip().startswith("Tue 2026-10-13 10:")
    assert lines[week + 2].strip().startswith("Tue 2026-10-13 1")
    assert "critical (escalates the 10:" in lines[week + 2]

    # A long history is read in pieces (the cluster's bucket limit); the pages are the same.
    monkeypatch.setenv("KOUBEI_INDEX_PREFIX", index_prefix)
    monkeypatch.setattr(queries, "MAX_BINS_PER_SEARCH", 500)
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == lines
    # Asked for more days than the brand has: its series starts at its first post, so the
    # days before are not "quiet" and its first posts are not a surge from zero.
    assert main(["spikes", "backtest", "--brand", "鲜牧", "--since", "14d", "--end", end]) == 0
    longer = capsys.readouterr().out.splitlines()
    assert longer[0].startswith(f"鲜牧 ({index_prefix}): {DAYS * 288} bins of 5 min")
    assert longer[1] == lines[1]
    # --end in UTC: the same days, weeks and times (bins took the zone of --end: UTC)
    utc_end = (START + timedelta(days=DAYS)).astimezone(UTC).isoformat()
    assert (
        main(["spikes", "backtest", "--brand", "鲜牧", "--since", f"{DAYS}d", "--end", utc_end])
        == 0
    )
    assert capsys.readouterr().out.splitlines() == lines
    # A brand with nothing indexed is said to be so, not replayed as nine quiet days.
    assert main(["spikes", "backtest", "--brand", "云朵", "--end", end]) == 1
    assert "no indexed posts of '云朵'" in capsys.readouterr().out
    # A brand brands.yaml does not have is a typo, named with the brands there (it was taken
    # for a brand without posts, exit 1).
    assert main(["spikes", "backtest", "--brand", "无名", "--end", end]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "--brand '无名' is not a brand in" in line and "brands.yaml" in line and "鲜牧" in line
    # A span before its history: named as the span asked for, not "over 30d" (read as the
    # last thirty days, where the brand has posts)
    early = (START - timedelta(days=20)).isoformat()
    assert main(["spikes", "backtest", "--brand", "鲜牧", "--end", early]) == 1
    assert capsys.readouterr().out == (
        f"no indexed posts of '鲜牧' in {index_prefix}-posts from 2026-08-16 00:00 to "
        "2026-09-15 00:00 (Asia/Shanghai)\n"
    )


@pytest.mark.es
def test_backtest_names_a_missing_index(
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    end = START.isoformat()
    code = main(["spikes", "backtest", "--brand", "鲜牧", "--end", end, "--prefix", index_prefix])
    assert code == 2
    assert f"no index {index_prefix}-posts" in capsys.readouterr().err
