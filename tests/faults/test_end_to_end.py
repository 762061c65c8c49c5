"""The fault suite: whole monitoring cycles (``koubei run`` in a subprocess) on real components
while everything around them fails, then re-run until quiet.

Injected, on real servers on 127.0.0.1:

* the fixture site (the demo world: shop reviews and a microblog with a crisis about 鲜牧)
  answers some pages 429 (``Retry-After: 1``) twice, 500 once or five times (more than the
  crawler's retries), a JSON body cut in half, a transfer cut off before ``Content-Length``,
  GBK bytes declared ``charset=utf-8``, and a captcha page; then those pages recover;
* the run is SIGKILLed between stages (processed, nothing sent to Elasticsearch yet: its first
  request to the node is held by a proxy) and inside a bulk write (the node applied the bulk,
  the answer is held);
* Elasticsearch is stopped in the middle of a load (while the run's first bulk request is
  held) and started again on its data while the run goes on;
* both alert receivers, the signed webhook (``koubei.demo.receiver``) and a DingTalk robot
  written from DingTalk's documentation, refuse, fail and answer later than the timeout.

Afterwards: every item the site serves (a reference crawl of the same site without faults) is
indexed exactly once, nothing is dead-lettered, and every alert reached each channel once (a
DingTalk copy re-sent after a timeout is allowed only marked ``（重发）``; the webhook receiver
de-duplicates on ``Idempotency-Key``). Run alone: ``pytest -m faults``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import prefect.settings
import pytest
import yaml
from elasticsearch import Elasticsearch

from koubei import es_local, jsonl, paths
from koubei.analysis.alerts.delivery import REPEAT_MARK
from koubei.analysis.alerts.outbox import notifications
from koubei.config import load_brands, load_sources
from koubei.crawlers.runner import crawl_sources
from tests.conftest import ends_with_tests
from tests.faults.hostile_site import Fault, HostileSite
from tests.faults.receivers import ScheduledDingTalk, ScheduledWebhook
from tests.pipeline.index.faulty_proxy import NodeProxy

pytestmark = [
    pytest.mark.faults,
    pytest.mark.es,
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_server"),
    # The cycles run in the first test's setup: 9 min at load average 14 on 2 cores, so more
    # room than the suite's 900 s default (each cycle is also cut off at 300 s).
    pytest.mark.timeout(1800),
]

NOW = datetime.fromisoformat("2026-11-20T12:00:00+08:00")  # the demo world's "now"
CYCLE = timedelta(minutes=20)  # each cycle's clock is this much later (outbox backoffs elapse)
SOURCES = ("demo-shop", "demo-weibo")
PREFIX = "faults"
SECRET = "fault-suite-secret"
DING_TOKEN, DING_SECRET = "fault-robot", "SECfault"
MAX_CYCLES = 8
KOUBEI = str(Path(sys.executable).parent / "koubei")

SHOP = "/comment/productPageComments.action"
XIANMU, BEILING = "100012043978", "100023456789"
SEARCH = "/api/container/getIndex"


def site_faults(scenario: Any) -> list[Fault]:
    root = scenario.crisis_root_id
    return [
        Fault(SHOP, {"productId": XIANMU, "page": "1"}, ["429", "429"]),
        Fault(SHOP, {"productId": XIANMU, "page": "2"}, ["500"]),
        Fault(SHOP, {"productId": XIANMU, "page": "3"}, ["truncated_json"]),
        Fault(SHOP, {"productId": XIANMU, "page": "4"}, ["cut_transfer"]),
        Fault(SHOP, {"productId": BEILING, "page": "1"}, ["gbk_as_utf8"]),
        Fault(SHOP, {"productId": BEILING, "page": "2"}, ["captcha"]),
        Fault(SEARCH, {"containerid": "100103type=1&q=鲜牧", "page": "2"}, ["captcha"]),
        # More 500s than the crawler's retries (3): this page is lost for the first cycle.
        Fault("/api/statuses/repostTimeline", {"id": root, "page": "2"}, ["500"] * 5),
    ]


@dataclass
class World:
    home: Path
    config_dir: Path
    site: HostileSite
    proxy: NodeProxy
    node: es_local.LocalNode
    webhook: ScheduledWebhook
    dingtalk: ScheduledDingTalk
    expected_ids: set[str]
    cycles: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def env(self, cycle: int) -> dict[str, str]:
        return {
            **os.environ,
            "KOUBEI_HOME": str(self.home),
            "KOUBEI_ES_URL": self.proxy.url,
            "KOUBEI_NOW": (NOW + cycle * CYCLE).isoformat(),
            "KOUBEI_WEBHOOK_URL": self.webhook.url,
            "KOUBEI_WEBHOOK_SECRET": SECRET,
            "KOUBEI_DINGTALK_URL": f"{self.dingtalk.base}/robot/send?access_token={DING_TOKEN}",
            "KOUBEI_DINGTALK_SECRET": DING_SECRET,
            "PREFECT_API_URL": str(prefect.settings.PREFECT_API_URL.value()),
        }

    def run(self, *, kill_when: threading.Event | None = None) -> dict[str, Any]:
        """One ``koubei run``; SIGKILLed (its process group) as soon as ``kill_when`` is set."""
        cycle = len(self.cycles) + 1
        started = time.monotonic()
        logs = self.home.parent / f"cycle-{cycle}"
        argv = [KOUBEI, "run", "--config-dir", str(self.config_dir), "--prefix", PREFIX,
                "--as-of", NOW.isoformat()]  # fmt: skip
        with open(f"{logs}.out", "wb") as out, open(f"{logs}.err", "wb") as err:
            proc = subprocess.Popen(
                argv, env=self.env(cycle), stdout=out, stderr=err, start_new_session=True
            )
            killed = False
            deadline = time.monotonic() + 300
            while proc.poll() is None and time.monotonic() < deadline:
                if kill_when is not None and kill_when.wait(timeout=0.05):
                    os.killpg(proc.pid, signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.05 if kill_when is not None else 0.5)
            if proc.poll() is None and not killed:
                os.killpg(proc.pid, signal.SIGKILL)
                raise AssertionError(f"cycle {cycle} did not end in 300 s; see {logs}.err")
            code = proc.wait(timeout=60)
        self.proxy.release.set()  # a held request may go on now; its client is gone or waiting
        out_text = Path(f"{logs}.out").read_text(encoding="utf-8")
        summary = json.loads(out_text) if out_text.strip() else {}
        record = {"cycle": cycle, "killed": killed, "code": code, "summary": summary,
                  "seconds": round(time.monotonic() - started, 1)}  # fmt: skip
        self.cycles.append(record)
        return record


def land_ids(home: Path) -> set[str]:
    return {
        record["id"] for path in (home / "landing").glob("*/*.jsonl") for record in jsonl.read(path)
    }


def write_config(folder: Path, site_url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(paths.CONFIG_DIR / "brands.yaml", folder / "brands.yaml")
    template = (paths.package_dir("demo") / "config" / "sources.yaml").read_text(encoding="utf-8")
    sources = yaml.safe_load(template.replace("{site_url}", site_url))
    sources["sources"] = [s for s in sources["sources"] if s["name"] in SOURCES]
    (folder / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True), "utf-8")
    alerts = yaml.safe_load((paths.CONFIG_DIR / "alerts.yaml").read_text(encoding="utf-8"))
    for channel in alerts["channels"]:
        if channel["name"] in ("oncall-webhook", "pr-dingtalk"):
            channel["enabled"] = True
            channel["options"]["timeout"] = 1  # the receivers' slow answers take 2.5 s
    # Every incident (crisis or operational, any severity) to both channels, no digest.
    alerts["routes"] = [{"channels": ["oncall-webhook", "pr-dingtalk"]}]
    (folder / "alerts.yaml").write_text(yaml.safe_dump(alerts, allow_unicode=True), "utf-8")
    return folder


def reference_ids(tmp: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """What the same site lands without any fault: the suite's expected set of items."""
    home = tmp / "reference-home"
    with monkeypatch.context() as patch:
        patch.setenv("KOUBEI_HOME", str(home))
        patch.setenv("KOUBEI_NOW", NOW.isoformat())
        brands = load_brands(config_dir)
        reports = crawl_sources(load_sources(config_dir).sources, brands)
    assert [r.status for r in reports] == ["ok", "ok"], reports
    return land_ids(home)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("faults")
    node = ends_with_tests(es_local.start())
    proxy = NodeProxy(node.url)
    site = HostileSite(NOW)
    webhook = ScheduledWebhook(SECRET, tmp / "webhook.jsonl", ["refuse", "slow"])
    dingtalk = ScheduledDingTalk(DING_TOKEN, DING_SECRET, ["refuse", "fail", "slow"])
    try:
        config_dir = write_config(tmp / "config", site.url)
        with pytest.MonkeyPatch.context() as patch:
            expected = reference_ids(tmp, config_dir, patch)
        yield World(tmp / "home", config_dir, site, proxy, node, webhook, dingtalk, expected)
    finally:
        proxy.stop()
        site.stop()
        webhook.stop()
        dingtalk.stop()
        es_local.stop(node)


def es_down_and_up(world: World) -> None:
    """Stop the node once the run's bulk request is held, let the request go on to the stopped
    node, then start the node again on its data while the run goes on."""
    if not world.proxy.held.wait(timeout=300):
        return
    world.notes["es_stopped_at"] = world.proxy.requests[-1]
    es_local.pause(world.node)
    world.proxy.release.set()
    ends_with_tests(es_local.resume(world.node))  # a new pid: watched again


def quiet(record: dict[str, Any], db: Path) -> bool:
    summary = record["summary"]
    indexed = summary.get("indexed", {})
    pending = [n for n in notifications(db) if n.status == "pending"]
    return (
        record["code"] == 0
        and not any(summary.get("crawled", {}).values())
        and not indexed.get("created")
        and not indexed.get("spooled")
        and not summary.get("notifications")
        and not summary.get("delivered")
        and not summary.get("failed_deliveries")
        and not pending
    )


@pytest.fixture(scope="module")
def outcome(world: World) -> World:
    world.site.faults = site_faults(world.site.app.scenario)
    db = world.home / "alerts" / "alerts.db"
    es = Elasticsearch(world.node.url, request_timeout=60)

    # 1. Killed between stages: everything processed, the first request to Elasticsearch held.
    world.proxy.hold("", after_upstream=False)
    first = world.run(kill_when=world.proxy.held)
    processed = sorted((world.home / "processed").glob("*/*.jsonl"))
    world.notes["between_stages"] = {
        "held": world.proxy.requests[-1],
        "processed_files": len(processed),
        "indexed_markers": len(list((world.home / "processed").glob("*/*.indexed"))),
        "landed": len(land_ids(world.home)),
    }

    # 2. Killed inside a bulk write: the node applied the bulk, its answer is held.
    world.proxy.hold("/_bulk", after_upstream=True)
    second = world.run(kill_when=world.proxy.held)
    es.indices.refresh(index=f"{PREFIX}-posts*")
    world.notes["in_bulk"] = {
        "held": world.proxy.requests[-1],
        "applied_before_kill": es.count(index=f"{PREFIX}-posts*")["count"],
    }

    # 3. Elasticsearch stopped in the middle of the load, then started again.
    world.proxy.hold("/_bulk", after_upstream=False)
    outage = threading.Thread(target=es_down_and_up, args=(world,))
    outage.start()
    world.run()
    outage.join(timeout=300)
    assert world.node.alive(), "the node did not come back"

    # 4. Then cycles until nothing is left to do (bounded).
    while len(world.cycles) < MAX_CYCLES:
        if quiet(world.run(), db):
            break
    world.notes["first_two"] = (first, second)
    es.close()
    # The figures RELIABILITY.md quotes (shown with `pytest -s`).
    print(json.dumps({"notes": world.notes, "cycles": [
        {k: c[k] for k in ("cycle", "killed", "code", "seconds")}
        | {k: c["summary"].get(k) for k in ("crawled", "indexed", "notifications", "delivered")}
        for c in world.cycles
    ], "expected": len(world.expected_ids)}, ensure_ascii=False, default=str))  # fmt: skip
    return world


def test_every_item_served_is_indexed_exactly_once(outcome: World) -> None:
    assert outcome.cycles[0]["killed"] and outcome.cycles[1]["killed"]
    between = outcome.notes["between_stages"]
    assert between["held"] == ("GET", "/_cluster/health"), between  # process done, index not
    assert between["processed_files"] == len(SOURCES) and between["indexed_markers"] == 0
    in_bulk = outcome.notes["in_bulk"]
    assert in_bulk["held"][1].endswith("/_bulk") and in_bulk["applied_before_kill"] > 0
    assert outcome.notes.get("es_stopped_at", ("", ""))[1].endswith("/_bulk")
    last = outcome.cycles[-1]
    assert quiet(last, outcome.home / "alerts" / "alerts.db"), last  # quiet within MAX_CYCLES

    es = Elasticsearch(outcome.node.url, request_timeout=60)
    es.indices.refresh(index=f"{PREFIX}-posts*")
    hits = es.search(index=f"{PREFIX}-posts", size=10_000, query={"match_all": {}}, source=["id"])[
        "hits"
    ]["hits"]
    count = es.count(index=f"{PREFIX}-posts")["count"]
    es.close()
    ids = [hit["_source"]["id"] for hit in hits]
    assert len(outcome.expected_ids) == 2405  # the demo world's shop reviews and microblog
    assert outcome.notes["between_stages"]["landed"] < 2405  # the faults did cost items at first
    assert count == len(ids) == len(set(ids))  # duplicated: 0
    assert set(ids) == outcome.expected_ids  # lost: 0, and nothing that was not served
    assert all(hit["_id"] == hit["_source"]["id"] for hit in hits)
    assert not list((outcome.home / "dead-letter").glob("**/*.jsonl"))  # nothing dead-lettered
    assert sum(c["summary"].get("rejected", 0) for c in outcome.cycles) == 0


def test_every_site_fault_was_served_and_the_pages_recovered(outcome: World) -> None:
    for fault in outcome.site.faults:
        assert fault.served == fault.answers, fault  # every scheduled fault was answered
    health = json.loads((outcome.home / "health" / "demo-shop.json").read_text("utf-8"))
    assert health["status"] == "ok"


def test_every_alert_reached_each_channel_once(outcome: World) -> None:
    rows = notifications(outcome.home / "alerts" / "alerts.db")
    assert {r.status for r in rows} == {"delivered"}, [(r.channel, r.status) for r in rows]
    by_channel = Counter(r.channel for r in rows)
    assert by_channel["oncall-webhook"] == by_channel["pr-dingtalk"] > 0
    assert any(r.payload["brand"] == "鲜牧" and r.payload["status"] == "firing" for r in rows)
    # The webhook receiver took each notification once (it de-duplicates a re-send).
    webhook = Counter((p["dedup_key"], p["event"]) for p in outcome.webhook.received())
    expected = Counter(
        (r.payload["dedup_key"], r.payload["event"]) for r in rows if r.channel == "oncall-webhook"
    )
    assert webhook == expected
    assert outcome.webhook.served[:2] == ["refuse", "slow"]
    assert outcome.webhook.duplicates >= 1  # the re-send after the timeout, not stored twice
    # DingTalk does not de-duplicate: one plain copy each, plus one marked copy after a timeout.
    titles = [m["markdown"]["title"] for m in outcome.dingtalk.accepted]
    plain = Counter(t for t in titles if not t.startswith(REPEAT_MARK))
    marked = Counter(t.removeprefix(REPEAT_MARK) for t in titles if t.startswith(REPEAT_MARK))
    ding_rows = [r for r in rows if r.channel == "pr-dingtalk"]
    assert sum(plain.values()) == len(ding_rows) and all(n == 1 for n in plain.values())
    assert sum(r.repeats for r in ding_rows) == sum(marked.values()) <= 1
    assert set(marked) <= set(plain)
    assert outcome.dingtalk.served[:3] == ["refuse", "fail", "slow"]
