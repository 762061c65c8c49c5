"""The daily flow indexes each brand's key accounts and cascades, and a re-run duplicates none."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import paths
from koubei.analysis.spread.accounts import accounts_for_period
from koubei.analysis.spread.cascade import build_cascades
from koubei.analysis.spread.evidence import cascade_documents
from koubei.flows.demo import write_demo_config
from koubei.flows.monitor import daily_report
from koubei.pipeline.index.writer import index_records
from tests.analysis.spread.incident import incident

pytestmark = pytest.mark.usefixtures("prefect_server")

DAY = date(2026, 11, 25)  # the incident's day (Asia/Shanghai)


def _artifact(state: Any) -> list[dict[str, Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read() -> list[Any]:
        async with get_client() as client:
            flow_runs = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
            return await client.read_artifacts(flow_run_filter=flow_runs)

    (artifact,) = asyncio.run(read())
    assert artifact.key == "koubei-daily-report"
    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data


def _ids(es: Elasticsearch, index: str) -> set[str]:
    hits = es.search(index=index, size=1000, query={"match_all": {}})["hits"]["hits"]
    return {h["_id"] for h in hits}


def test_daily_report_indexes_accounts_and_cascades_once(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    config_dir = write_demo_config(paths.state_dir("demo"), "http://127.0.0.1:9")
    report = index_records(es, incident(), prefix=index_prefix, refresh=True)
    assert report.failed == 0 and report.spooled == 0
    accounts_index, cascades_index = f"{index_prefix}-accounts", f"{index_prefix}-cascades"
    want_accounts = {
        d["id"] for d in accounts_for_period(incident(), brand="鲜牧", day=DAY.isoformat())
    }
    want_cascades = {d["id"] for d in cascade_documents(build_cascades(incident()), brand="鲜牧")}
    assert want_accounts and "鲜牧:weibo:1" in want_cascades

    first = daily_report(config_dir=config_dir, prefix=index_prefix, day=DAY)
    assert first["errors"] == []
    assert first["spread_docs"] == {"accounts": len(want_accounts), "cascades": len(want_cascades)}
    assert _ids(es, accounts_index) == want_accounts
    assert _ids(es, cascades_index) == want_cascades
    root = es.get(index=cascades_index, id="鲜牧:weibo:1")["_source"]
    assert root["brand"] == "鲜牧" and root["depth"] >= 3
    top = es.search(
        index=accounts_index, query={"term": {"brand": "鲜牧"}}, sort=[{"rank": "asc"}], size=1
    )["hits"]["hits"]
    assert top[0]["_source"]["name"] == "消费者小李"

    # An account the day's ranking no longer holds (late posts changed it) is removed on the
    # re-run; the rest are overwritten in place, not added again.
    stale = {"id": f"{DAY}:鲜牧:all:u-gone", "day": DAY.isoformat(), "brand": "鲜牧", "rank": 99}
    es.index(index=accounts_index, id=stale["id"], document=stale, refresh=True)
    state = daily_report(config_dir=config_dir, prefix=index_prefix, day=DAY, return_state=True)
    second = state.result()
    assert second["spread_docs"] == first["spread_docs"]
    # The run's artifact in the Prefect UI says so too.
    figures = {row["figure"]: row["value"] for row in _artifact(state)}
    assert figures["indexed:accounts"] == len(want_accounts)
    assert figures["indexed:cascades"] == len(want_cascades)
    assert figures["kept:cascades"] == 0
    assert _ids(es, accounts_index) == want_accounts
    assert _ids(es, cascades_index) == want_cascades
    assert es.count(index=cascades_index)["count"] == len(want_cascades)

    # A copy of a cascade a run for a later day wrote (its last post after DAY) is kept, and
    # the artifact counts it, as `koubei report daily` prints it.
    newer = {**root, "last_at": "2026-11-26T10:00:00+08:00", "size": root["size"] + 1}
    es.index(index=cascades_index, id="鲜牧:weibo:1", document=newer, refresh=True)
    state = daily_report(config_dir=config_dir, prefix=index_prefix, day=DAY, return_state=True)
    assert state.result()["spread_kept"] == 1
    figures = {row["figure"]: row["value"] for row in _artifact(state)}
    assert figures["kept:cascades"] == 1
    assert figures["indexed:cascades"] == len(want_cascades) - 1
    assert es.get(index=cascades_index, id="鲜牧:weibo:1")["_source"] == newer
