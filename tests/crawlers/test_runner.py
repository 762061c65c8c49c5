"""``crawl_sources`` and ``koubei crawl`` against the live demo site (real subprocesses, HTTP)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import structlog

from koubei import jsonl
from koubei.analysis.spread.cascade import build_cascades
from koubei.analysis.spread.measures import cascade_summary
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from koubei.demo.site import render_config, start_demo_site
from koubei.demo.site_extra import build_extra
from koubei.flows.cli import main
from koubei.model import from_record
from koubei.timeutil import DEFAULT_TZ
from tests.crawlers.conftest import FAST

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=DEFAULT_TZ)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The CLI binds structlog to pytest's captured stderr; unbind it after the test."""
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("restore_logging")
def test_cli_crawls_the_demo_site_then_finds_nothing_new(
    koubei_home: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with start_demo_site(ANCHOR) as site:
        config_dir = str(render_config(site.url, out_dir=tmp_path / "cfg"))
        assert main(["crawl", "--list", "--config-dir", config_dir]) == 0
        listing = capsys.readouterr().out
        assert "demo-shop\tshop_json\tenabled" in listing and "weibo" in listing
        assert main(["crawl", "--all", "--config-dir", config_dir, "--run-id", "run1"]) == 0
        reports = {r["source"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
        shop, weibo = reports["demo-shop"], reports["demo-weibo"]
        assert main(["crawl", "demo-shop", "--config-dir", config_dir, "--run-id", "run2"]) == 0
        again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        scenario = site.scenario
        scenario_extra = build_extra(scenario.anchor)
    assert main(["crawl", "nope", "--config-dir", config_dir]) == 2

    assert {name: r["status"] for name, r in reports.items()} == {
        "demo-shop": "ok",
        "demo-weibo": "ok",
        "demo-tmall": "ok",
        "demo-video": "ok",
        "demo-news": "ok",
    }
    extra = scenario_extra.counts()
    assert reports["demo-tmall"]["entries"] == extra["rates"]
    assert reports["demo-video"]["items"] == extra["video_replies"] + 1  # + the video itself
    assert reports["demo-news"]["items"] == extra["articles"] - 1  # 鲜牧场 travel piece dropped
    assert shop["landing_file"] == str(Path(koubei_home) / "landing" / "demo-shop" / "run1.jsonl")
    reviews = list(jsonl.read(Path(shop["landing_file"])))
    assert len([r for r in reviews if not r["extra"].get("followup")]) == sum(
        len(v) for v in scenario.reviews.values()
    )
    for record in reviews[:50]:
        from_record(record)  # every landing record is a valid Document
    for report in reports.values():  # a crawl is an observation: each item has its crawl time
        stamps = {r["crawled_at"] for r in jsonl.read(Path(report["landing_file"]))}
        assert len(stamps) == 1 and None not in stamps, (report["source"], stamps)
    assert again["items"] == 0 and again["status"] == "ok"
    assert again["pages"] == 3  # page 0 of each product, all known: paging stops

    posts = {r["id"]: r for r in jsonl.read(Path(weibo["landing_file"]))}
    root = posts[f"weibo:{scenario.crisis_root_id}"]
    cascade = [r for r in posts.values() if r["root_id"] == root["id"] and r["kind"] == "repost"]
    assert len(cascade) == len(scenario.reposts[scenario.crisis_root_id])

    # Landing keeps the chains; the cascade build resolves every hop to a crawled repost.
    summary = cascade_summary(build_cascades(posts.values()), root["id"])
    assert summary["depth"] >= 4 and summary["placeholders"] == 0
    assert Counter(r["kind"] for r in posts.values())["comment"] >= 60
    assert weibo["dropped"]["excluded"] == sum("鲜牧场" in p["text"] for p in scenario.posts)
    assert all(r["brands"] for r in posts.values())
    health = json.loads((Path(koubei_home) / "health" / "demo-weibo.json").read_text())
    assert health["status"] == "ok" and health["items"] == weibo["items"]


def test_a_crashing_crawler_still_reports(koubei_home: str, brands: BrandsConfig) -> None:
    # Config validation refuses an unknown platform; build the entry around it so the crawler
    # subprocess is what fails.
    source = Source.model_construct(
        **{**Source(name="broken", platform="weibo").model_dump(), "platform": "no_such_spider"}
    )
    [report] = crawl_sources([source], brands, run_id="r", settings=FAST)
    assert report.status == "degraded" and report.landing_file is None
    assert report.stats["errors"] == {"crawler_failed": 1}
    assert "exited with" in report.stats["reason"]
