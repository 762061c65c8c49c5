"""The one definition of the deployments, as `koubei serve` and `prefect deploy` see it.

Both paths run against the session's Prefect test server: `build_deployments` is applied and
read back; the committed prefect.yaml is the rendering of config/ and `prefect deploy --all`
registers it; a worker runs a deployment from a fresh clone through the pull step.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL

from koubei import paths
from koubei.flows import deployments as deps
from koubei.pipeline.index.templates import ensure_templates

pytestmark = pytest.mark.usefixtures("prefect_server")
REPO = Path(__file__).resolve().parents[2]
EXPECTED = {
    "koubei-crawl/crawl-shop-reviews": "*/30 * * * *",
    "koubei-crawl/crawl-weibo-search": "*/5 * * * *",
    "koubei-process/process": "*/5 * * * *",
    "koubei-daily-report/daily-report": "0 9 * * *",
}


async def _schedules(names: list[str]) -> dict[str, tuple[str, str, dict]]:
    out = {}
    async with get_client() as client:
        for name in names:
            deployment = await client.read_deployment_by_name(name)
            (schedule,) = deployment.schedules
            out[name] = (schedule.schedule.cron, schedule.schedule.timezone, deployment)
    return out


def test_committed_prefect_yaml_is_the_rendering_of_the_definition() -> None:
    committed = (REPO / "prefect.yaml").read_text(encoding="utf-8")
    assert committed == deps.render_prefect_yaml(paths.CONFIG_DIR), (
        "prefect.yaml is stale: run `koubei serve --prefect-yaml > prefect.yaml`"
    )
    data = yaml.safe_load(committed)
    # The pull step uses Prefect's own env placeholder and nothing Jinja-like.
    assert data["pull"][0]["prefect.deployments.steps.set_working_directory"] == {
        "directory": "{{ $KOUBEI_REPO }}"
    }
    for deployment in data["deployments"]:
        assert "prefix" not in deployment["parameters"]  # read from KOUBEI_INDEX_PREFIX per run


def test_served_deployments_carry_the_schedules_in_shanghai_time() -> None:
    for deployment in deps.build_deployments(paths.CONFIG_DIR):
        deployment.apply()
    found = asyncio.run(_schedules(list(EXPECTED)))
    assert {name: cron for name, (cron, _, _) in found.items()} == EXPECTED
    assert {tz for _, tz, _ in found.values()} == {"Asia/Shanghai"}
    crawl = found["koubei-crawl/crawl-shop-reviews"][2]
    assert crawl.parameters == {"sources": ["shop-reviews"]}


def test_bad_interval_is_a_config_error(tmp_path: Path) -> None:
    from koubei.config import ConfigError

    with pytest.raises(ConfigError, match=r"alerts.yaml: interval: 420s"):
        deps.interval_cron(420, file=tmp_path / "alerts.yaml")
    assert deps.interval_cron(300, file=tmp_path) == "*/5 * * * *"
    assert deps.interval_cron(7200, file=tmp_path) == "0 */2 * * *"
    # A whole day divides a day too: midnight in Shanghai (it was refused as not dividing one).
    assert deps.interval_cron(86400, file=tmp_path) == "0 0 * * *"


def _prefect(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_prefect_deploy_and_a_worker_run_from_a_fresh_clone(
    tmp_path: Path, es: Elasticsearch, es_url: str, index_prefix: str
) -> None:
    """`prefect deploy --all` from a fresh clone, then a process worker started elsewhere runs
    the daily-report deployment: the pull step moves into $KOUBEI_REPO, loads the flow, and
    the flow writes the morning brief from the index."""
    ensure_templates(es, index_prefix)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "KOUBEI_REPO": str(clone),
        "KOUBEI_HOME": str(tmp_path / "home"),
        "KOUBEI_ES_URL": es_url,
        "KOUBEI_INDEX_PREFIX": index_prefix,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }

    async def make_pool() -> None:
        async with get_client() as client:
            await client.create_work_pool(
                WorkPoolCreate(name=deps.WORK_POOL, type="process"), overwrite=True
            )

    asyncio.run(make_pool())
    _prefect(["--no-prompt", "deploy", "--all"], cwd=clone, env=env, timeout=300)
    found = asyncio.run(_schedules(list(EXPECTED)))
    assert {name: (cron, tz) for name, (cron, tz, _) in found.items()} == {
        name: (cron, "Asia/Shanghai") for name, cron in EXPECTED.items()
    }

    run = run_deployment("koubei-daily-report/daily-report", timeout=0)
    elsewhere = tmp_path / "worker-cwd"
    elsewhere.mkdir()
    _prefect(
        ["worker", "start", "--pool", deps.WORK_POOL, "--run-once"],
        cwd=elsewhere,
        env=env,
        timeout=300,
    )

    async def final_state() -> str:
        async with get_client() as client:
            flow_run = await client.read_flow_run(run.id)
            return flow_run.state.type.value if flow_run.state else "?"

    assert asyncio.run(final_state()) == "COMPLETED"
    [brief] = (tmp_path / "home" / "reports" / "daily").glob("*.html")
    assert "每日简报" in brief.read_text(encoding="utf-8")
