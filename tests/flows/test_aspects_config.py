"""The flows tag with the aspects.yaml of their config directory, not the shipped one.

The process flow (``koubei serve``'s process deployment, ``koubei run``) passes the run's
``config_dir``; its processing, local or on Dask, tagged with the shipped
``config/aspects.yaml`` whatever that directory held.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from koubei import jsonl
from koubei.flows.cli import main
from koubei.flows.monitor import process_flow
from koubei.flows.outcome import run_summary
from koubei.pipeline import ledger
from tests.flows.test_runs import AS_OF, TEXTS, closed_port, land

pytestmark = pytest.mark.usefixtures("prefect_server")

# TEXTS: 拉肚子 (no shipped aspect), 味道 (shipped `taste`), 客服 (shipped `customer_service`).
OWN_ASPECTS = "aspects:\n  food_safety:\n    keywords: [拉肚子, 变质]\n"


@pytest.mark.parametrize("dask", [None, "local"])
def test_the_process_flow_tags_with_its_config_dirs_aspects(
    dask: str | None, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOUBEI_ES_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    (config_dir / "aspects.yaml").write_text(OWN_ASPECTS, encoding="utf-8")
    landed = land()

    # Elasticsearch is down: the run processes, then stops (Failed, saying so)
    state = process_flow(
        config_dir=config_dir, as_of=AS_OF, dask=dask, process_workers=1, return_state=True
    )

    assert run_summary(state)["processed"] == len(TEXTS)
    records = list(jsonl.read(ledger.processed_path(landed)))
    assert [[a["aspect"] for a in r["aspects"]] for r in records] == [["food_safety"], [], []]


def test_koubei_run_stops_before_any_work_on_a_bad_aspects_yaml(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    bad = "aspects:\n  food_safety: {keyword: [拉肚子]}\n"
    (config_dir / "aspects.yaml").write_text(bad, encoding="utf-8")
    landed = land()

    assert main(["run", "--no-crawl", "--config-dir", str(config_dir)]) == 2

    err = capsys.readouterr().err
    where = f"koubei: config error: {config_dir / 'aspects.yaml'}: aspects.food_safety"
    assert f"{where}.keyword: unknown field" in err, err
    assert f"{where}.keywords: missing: required here" in err, err
    assert ledger.pending_landing() == [landed]
