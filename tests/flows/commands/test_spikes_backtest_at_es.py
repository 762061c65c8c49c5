"""``koubei spikes backtest --brand NAME --at TIME`` against a real Elasticsearch node: the bin
explained is the brand's indexed history's, and ``cascade_growth`` is judged there on the
reposts of the brand's negative cascades, as the live cycle read them at that bin's end
(``flows.detect.negative_cascades``), each gate with its figures. Before, ``--at`` left the
cascade detector out, and ``--at --brand`` had no test against a node.

Repost records are shaped as the Weibo spider writes a repost (``parent_id``/``root_id``,
``relation: repost``: ``crawlers/spiders/weibo.py``, ``koubei/model.py``'s Document)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from koubei.flows.cli import main
from koubei.model import make_id
from koubei.timeutil import DEFAULT_TZ
from tests.flows.commands.test_spikes import run, write_series
from tests.pipeline.index.conftest import build_record

START = datetime(2026, 10, 5, tzinfo=DEFAULT_TZ)
DAYS = 4
ROOT_AT = START + timedelta(days=3, hours=16)  # the negative post a cascade grows from


def history() -> list[dict[str, Any]]:
    """Four days of 鲜牧's posts (about one per 10 minutes, a fifth negative), then a negative
    post at 16:00 on day 4 reposted five times a minute from 16:05 to 16:20, one repost by a
    2-million-follower account at 16:12."""
    rng = np.random.default_rng(43)
    records: list[dict[str, Any]] = []

    def post(at: datetime, negative: bool, **fields: Any) -> str:
        i = len(records)
        sentiment = {
            "score": 0.1 if negative else 0.9,
            "label": "negative" if negative else "positive",
            "model_version": "snownlp-0.12.3",
        }
        record = build_record(
            i,
            id=make_id("weibo", i),
            native_id=str(i),
            brands=["鲜牧"],
            created_at=at,
            crawled_at=at + timedelta(minutes=3),
            sentiment=sentiment,
            **fields,
        )
        records.append(record)
        return str(record["id"])

    for b in range(DAYS * 144):
        at = START + timedelta(minutes=10 * b)
        for k in range(int(rng.poisson(1))):
            post(at + timedelta(seconds=30 * k), bool(rng.random() < 0.2))
    root = post(ROOT_AT, True)
    for second in range(5 * 60, 20 * 60, 12):  # 16:05 .. 16:20, five a minute
        author = {"id": f"r{second}", "name": f"转发{second}", "followers": 300}
        if second == 12 * 60:
            author = {"id": "big", "name": "大V", "followers": 2_000_000, "verified": False}
        post(
            ROOT_AT + timedelta(seconds=second),
            False,
            parent_id=root,
            root_id=root,
            relation="repost",
            author=author,
            text_raw="转发微博",
        )
    return records


def _explain(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main([*args, "--json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    return json.loads(line)


def _cascade(record: dict[str, Any]) -> dict[str, Any]:
    (view,) = [v for v in record["detectors"] if v["type"] == "cascade_growth"]
    return view


def _gate(view: dict[str, Any], path: str, option: str) -> dict[str, Any]:
    (gate,) = [g for g in view["gates"] if g["path"] == path and g["option"] == option]
    return gate


@pytest.mark.es
@pytest.mark.slow
def test_at_explains_a_brands_indexed_bin_and_its_cascades(
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
    brand = ["spikes", "backtest", "--brand", "鲜牧", "--since", f"{DAYS}d", "--end", end]
    brand += ["--prefix", index_prefix]

    # 16:07: the bin 16:05 .. 16:10, its 25 reposts against none the hour before
    record = _explain([*brand, "--at", "2026-10-08 16:07"], capsys)
    assert record["series"] == f"鲜牧 ({index_prefix})"
    assert record["bin"]["start"] == "2026-10-08T16:05:00+08:00"
    assert record["bin"]["end"] == "2026-10-08T16:10:00+08:00"
    view = _cascade(record)
    assert view["name"] == "cascade-growth" and view["fired"] is True
    reposts = _gate(view, "accelerating", "min_reposts")
    assert (reposts["name"], reposts["value"], reposts["threshold"]) == (
        "reposts over 15 min",
        25,
        20,
    )
    assert reposts["passed"] is True
    assert _gate(view, "accelerating", "growth_ratio")["value"] == 26.0  # (25 + 1) / (0 + 1)
    assert _gate(view, "accelerating", "z_threshold")["passed"] is True
    reach = [g for g in view["gates"] if g["path"] == "high_reach"]
    assert [(g["name"], g["value"]) for g in reach] == [
        ("largest follower count", 300),
        ("largest follower count the bin before, below", 0),  # no repost before 16:05
    ]
    assert record["paging"]["cascade_fired"] == ["cascade-growth"]
    # the count detectors are judged on the same bin of the brand's counts
    counted = [v for v in record["detectors"] if v["type"] != "cascade_growth"]
    assert counted and all(v["gates"] for v in counted)

    # 16:02: the root alone, no repost yet: held by min_reposts on the paths that need it
    view = _cascade(_explain([*brand, "--at", "2026-10-08 16:02"], capsys))
    assert view["fired"] is False
    assert _gate(view, "accelerating", "min_reposts")["value"] == 0
    held = view["held_by"]["paths"]
    assert "min_reposts" in held["accelerating"] and "min_reposts" in held["deepening"]
    assert held["high_reach"] == ["high_reach_followers"]

    # 16:12: the 2-million-follower account joins (its first bin above high_reach_followers)
    view = _cascade(_explain([*brand, "--at", "2026-10-08 16:13"], capsys))
    big = [g for g in view["gates"] if g["path"] == "high_reach"]
    assert [(g["value"], g["passed"]) for g in big] == [(2_000_000, True), (300, True)]

    # the text: its verdict and gates, under the other detectors'
    assert main([*brand, "--at", "2026-10-08 16:07"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index("cascade-growth: fired at this bin")
    assert "  path accelerating (one path is enough):" in lines[at + 1 :]
    assert "    reposts over 15 min 25 vs 20 (min_reposts) pass" in lines[at + 1 :]
    assert lines[-1].startswith("  and cascade-growth fired: the live cycle adds its detection")


def test_at_on_a_csv_says_the_cascade_detector_is_not_judged(tmp_path: Path) -> None:
    """A CSV of counts has no reposts: the shipped cascade-growth is listed as not judged,
    and why, where it was left out without a word."""
    path = tmp_path / "brand.csv"
    write_series(path, [3] * (5 * 288), datetime(2026, 3, 2))
    result = run("spikes", "backtest", str(path), "--at", "2026-03-06 13:27")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index("cascade-growth: not judged")
    assert lines[at + 1] == (
        "  (it reads the reposts of a brand's indexed posts (--brand); a series of counts has none)"
    )
    result = run("spikes", "backtest", str(path), "--at", "2026-03-06 13:27", "--json")
    view = json.loads(result.stdout)["detectors"][-1]
    assert (view["name"], view["judged"], view["fired"], view["gates"]) == (
        "cascade-growth",
        False,
        False,
        [],
    )
