"""``koubei spikes backtest --brand NAME`` run at any second reads the bins the live cycle
read, on a real Elasticsearch node (the history of ``test_spikes_backtest_at_es.py``: a negative
post at 16:00 on day 4 reposted five times a minute from 16:05 to 16:20).

Found cross-checking the demo's surfaces (session 38): its alert said "近 1 小时负面提及 44
条（z=8.7）" at 18:30 and a cascade of 46 reposts with a verified account, while ``spikes
backtest --brand 鲜牧`` run a few minutes later said 52 (z=9.2) at "18:30" and a cascade of 22
reposts at "18:25": its bins started at the second it ran (now − 30 days), 2 min 45 s off the
cycle's, each holding other posts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import paths
from koubei.flows.cli import main
from tests.flows.commands.test_spikes_backtest_at_es import DAYS, START
from tests.flows.commands.test_spikes_backtest_cascade_es import FIRES, indexed

pytestmark = [pytest.mark.es, pytest.mark.slow]

__all__ = ["indexed"]  # the fixture, shared


def _pages(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[tuple[Any, ...]]:
    assert main([*args, "--json"]) == 0
    weeks = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [
        (a["timestamp"], a["detector"], a["observed"], a["expected"])
        for w in weeks
        for a in w["alerts"]
    ]


@pytest.mark.parametrize("off", [timedelta(minutes=2, seconds=15), timedelta(seconds=1)])
def test_a_backtest_ended_off_the_grid_pages_as_the_cycles_did(
    es: Elasticsearch,
    index_prefix: str,
    indexed: list[str],
    capsys: pytest.CaptureFixture[str],
    off: timedelta,
) -> None:
    on_grid = _pages(indexed, capsys)
    assert (FIRES.isoformat(), "cascade-growth") in [p[:2] for p in on_grid]
    end = indexed.index("--end") + 1
    shifted = [*indexed]
    shifted[end] = (START + timedelta(days=DAYS) - off).isoformat()
    # same pages, same times, same figures (its last bin, 23:55, is not ended and is left out)
    assert _pages(shifted, capsys) == on_grid

    # and the live cycle run a few seconds late pages the cascade at the same bin
    from koubei import config as cfg
    from koubei.analysis.detectors import configured_detectors
    from koubei.flows.detect import detect_brand

    alerts_config = cfg.load_alerts(paths.CONFIG_DIR)
    detectors = configured_detectors(alerts_config, paths.CONFIG_DIR / "alerts.yaml")
    as_of = FIRES + timedelta(minutes=5) + off
    _, live, _ = detect_brand(
        es, index_prefix, "鲜牧", detectors, as_of, alerts_config.interval_seconds
    )
    assert [d.timestamp for d in live if d.detector == "cascade-growth"] == [FIRES]
