"""``koubei spikes backtest --brand NAME``'s weekly replay lists ``cascade_growth``'s pages as
the live cycle fired them, against a real Elasticsearch node: the fixture of
``test_spikes_backtest_at_es.py`` (a negative post at 16:00 on day 4 reposted five times a minute
from 16:05 to 16:20, shaped as the Weibo spider writes reposts). Before, the weekly replay left
the cascade detector out without a word: no page, while ``--at`` 16:07 said it fired.

Cross-checked three ways: the weekly replay's page, ``--at`` at its bin, and the live
``flows.detect.detect_brand`` at that bin's end."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import paths
from koubei.flows.cli import main
from tests.flows.commands.test_spikes_backtest_at_es import DAYS, START, history

pytestmark = [pytest.mark.es, pytest.mark.slow]

END = (START + timedelta(days=DAYS)).isoformat()
FIRES = datetime.fromisoformat("2026-10-08T16:05:00+08:00")  # the bin of the first 25 reposts


@pytest.fixture
def indexed(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> list[str]:
    """The history indexed; the backtest's arguments over it."""
    from koubei.pipeline.index.writer import index_records

    index_records(es, history(), prefix=index_prefix, refresh=True)
    capsys.readouterr()  # the writer's log lines
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    return ["spikes", "backtest", "--brand", "鲜牧", "--since", f"{DAYS}d", "--end", END,
            "--prefix", index_prefix]  # fmt: skip


def _weeks(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main([*args, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_the_weekly_replay_lists_the_cascade_page_where_the_live_cycle_fires_it(
    es: Elasticsearch, index_prefix: str, indexed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    weeks = _weeks(indexed, capsys)
    alerts = [a for w in weeks for a in w["alerts"]]
    cascades = [a for a in alerts if a["cascade"]]
    # one page, at the 16:05 bin, seen by the cycle ending 16:10; none before it (the 2-million
    # account at 16:12 is the same episode, inside the detector's cooldown)
    assert [(a["timestamp"], a["detector"]) for a in cascades] == [
        (FIRES.isoformat(), "cascade-growth")
    ]
    assert cascades[0]["details"]["seen_at"] == "2026-10-08T16:10:00+08:00"
    assert "accelerating" in cascades[0]["details"]["triggers"]
    assert sum(w["cascade_pages"] for w in weeks) == 1
    assert all(w["pages"] == len(w["alerts"]) for w in weeks)  # counted beside the others
    counted = [a for a in alerts if not a["cascade"]]
    assert all(a["detector"] != "cascade-growth" for a in counted)

    # --at that bin says it fires there
    assert main([*indexed, "--at", "2026-10-08 16:07", "--json"]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert explained["paging"]["cascade_fired"] == ["cascade-growth"]

    # and the live cycle at that bin's end adds the same detection; at 16:05 it has none
    from koubei import config as cfg
    from koubei.analysis.detectors import configured_detectors
    from koubei.flows.detect import active_pages, detect_brand

    alerts_config = cfg.load_alerts(paths.CONFIG_DIR)
    detectors = configured_detectors(alerts_config, paths.CONFIG_DIR / "alerts.yaml")
    interval = alerts_config.interval_seconds
    for as_of, expected in ((FIRES, []), (FIRES + timedelta(minutes=5), [FIRES])):
        _, live, _ = detect_brand(es, index_prefix, "鲜牧", detectors, as_of, interval)
        assert [d.timestamp for d in live if d.detector == "cascade-growth"] == expected
    # cycle by cycle from 15:00 to 18:00, the new onsets the live cycle's active cascade
    # detections bring the incident store: the replay's page, read from one query of the span
    paged, seen = [], FIRES - timedelta(days=1)
    for step in range(37):
        as_of = FIRES - timedelta(hours=1, minutes=5) + step * timedelta(minutes=5)
        _, live, _ = detect_brand(es, index_prefix, "鲜牧", detectors, as_of, interval)
        spread = [d for d in active_pages(live, as_of, interval) if d.detector == "cascade-growth"]
        paged += [(d.timestamp, as_of) for d in spread if d.timestamp > seen]
        seen = max([seen, *(d.timestamp for d in spread)])
    assert paged == [(FIRES, FIRES + timedelta(minutes=5))]

    # the text marks it and counts it apart
    assert main(indexed) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("; beside the paging policy, on negative cascades: cascade-growth")
    assert lines[1].startswith("1 page (7.5 per 30 days: 1 cascade); critical: ")
    # the count detectors' minimums held them: said of them, not of the page listed
    assert lines[2].startswith("note: 0 pages of the count detectors: mention-surge's min_count")
    (line,) = [x for x in lines if "cascade:" in x]
    assert line.startswith("  Thu 2026-10-08 16:05  ")
    assert "(seen" not in line  # seen at the bin's end


def test_a_config_without_the_cascade_detector_prints_what_it_printed(
    indexed: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (paths.CONFIG_DIR / "alerts.yaml").read_text(encoding="utf-8")
    head, tail = text.split("  - name: cascade-growth", 1)
    tail = tail[tail.index("channels:") :]
    config = tmp_path / "config"
    shutil.copytree(paths.CONFIG_DIR, config)
    (config / "alerts.yaml").write_text(head + tail, encoding="utf-8")
    weeks = _weeks([*indexed, "--config", str(config)], capsys)
    assert weeks and all(set(w) == {"week", "pages", "alerts", "notes"} for w in weeks)
    assert all("cascade" not in a for w in weeks for a in w["alerts"])
    assert main([*indexed, "--config", str(config)]) == 0
    assert "cascade" not in capsys.readouterr().out


def test_a_span_over_the_cap_is_said_and_replayed_up_to_the_last_post_read(
    es: Elasticsearch, index_prefix: str, indexed: list[str]
) -> None:
    from koubei import config as cfg
    from koubei.analysis.detectors import configured_detectors
    from koubei.flows.commands._spikes_cascade import replay_brand

    alerts_config = cfg.load_alerts(paths.CONFIG_DIR)
    detectors = configured_detectors(alerts_config, paths.CONFIG_DIR / "alerts.yaml")
    step = timedelta(minutes=5)
    ends = [START + step * (i + 1) for i in range(DAYS * 288)]
    whole = replay_brand(es, index_prefix, "鲜牧", detectors, ends, 300)
    assert [p.timestamp for p in whole.pages] == [FIRES] and not whole.notes
    # a cap below the span's posts: said, and the cycles after the last post read left out
    capped = replay_brand(es, index_prefix, "鲜牧", detectors, ends, 300, max_posts=100)
    (note,) = capped.notes
    assert note["kind"] == "cascade_capped"
    assert "hold more than 100: cascade-growth replayed up to 2026-10-05 " in note["text"]
    assert capped.pages == []
