"""What a run that did not do everything says: its exit code, its stderr line, its final state.

Under the Prefect test server and, where documents are sent, the test Elasticsearch node.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl, paths
from koubei.flows.cli import main
from koubei.flows.monitor import process_flow
from koubei.model import make_id
from koubei.pipeline.index import spool
from tests.flows.test_runs import AS_OF, TEXTS, closed_port, land

pytestmark = pytest.mark.usefixtures("prefect_server")


def records(count: int, **overrides: Any) -> list[dict[str, Any]]:
    """Processed records of the test shop; ``r2={...}`` overrides fields of the third."""
    rows = [
        {
            "id": make_id("shop_json", n),
            "platform": "shop_json",
            "source": "test-shop",
            "kind": "review",
            "native_id": str(n),
            "text_raw": TEXTS[n % len(TEXTS)],
            "created_at": f"2026-11-20T10:0{n}:00+08:00",
            "crawled_at": "2026-11-20T11:00:00+08:00",
        }
        for n in range(count)
    ]
    for n, fields in overrides.items():
        rows[int(n.removeprefix("r"))].update(fields)
    return rows


def processed(count: int, **overrides: Any) -> None:
    """A processed file of the test shop, pending indexing, as the process stage leaves it."""
    path = paths.state_dir("processed") / "test-shop" / "run1.jsonl"
    jsonl.write_atomic(path, records(count, **overrides))


def server_state(state: Any) -> Any:
    """The flow run's final state as the Prefect server holds it (what its UI shows)."""
    from prefect.client.orchestration import get_client

    async def read() -> Any:
        async with get_client() as client:
            return (await client.read_flow_run(state.state_details.flow_run_id)).state

    return asyncio.run(read())


@pytest.mark.es
def test_a_run_whose_documents_were_spooled_exits_1_naming_the_spool_file(
    config_dir: Path,
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `koubei index load` exits 1 for a spooled document; `koubei run` exited 0 with documents
    # only in the spool (the count in its summary alone), so a script took a cycle that
    # indexed nothing of them for a whole one. The spool is the node refusing for now: here a
    # month the operator closed, as the node gone mid-run would (the health check passed).
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    from koubei.pipeline.index.writer import index_records

    october = "2026-10-15T12:00:00+08:00"
    index_records(es, records(1, r0={"created_at": october}), prefix=index_prefix)
    es.indices.close(index=f"{index_prefix}-posts-2026.10")
    processed(4, r2={"created_at": october})
    capsys.readouterr()  # the set-up's log lines
    try:
        code = main(["run", "--no-crawl", "--config-dir", str(config_dir),
                     "--prefix", index_prefix, "--as-of", AS_OF.isoformat()])  # fmt: skip
    finally:
        es.indices.open(index=f"{index_prefix}-posts-2026.10")
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["errors"] == [] and summary["indexed"]["spooled"] == 1, summary
    assert code == 1
    (line,) = [e for e in err.splitlines() if e.startswith("koubei run: ")]
    assert line.startswith("koubei run: 1 of 4 document(s) spooled, not indexed"), line
    (kept,) = spool.spool_files(index_prefix)
    assert summary["spool_files"] == [str(kept)]
    assert f"kept in {kept})" in line and "`koubei index replay`" in line
    assert "run failed" not in err


@pytest.mark.es
def test_a_cycle_that_dead_letters_ends_in_a_state_named_so(
    config_dir: Path,
    es_url: str,
    index_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The run's final state was a plain Completed: the Prefect UI showed a cycle that left
    # documents out like any other. Now its name says so and its message names the file; a
    # clean cycle after it is a plain Completed again.
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    processed(4, r1={"id": "w" * 600})  # an _id over 512 bytes: refused for good
    state = process_flow(config_dir=config_dir, prefix=index_prefix, as_of=AS_OF,
                         return_state=True)  # fmt: skip
    (letters,) = state.result()["dead_letters"]
    held = server_state(state)
    assert (held.type.value, held.name) == ("COMPLETED", "Dead-lettered")
    assert held.message.startswith("koubei-process: 1 of 4 document(s) dead-lettered")
    assert letters in held.message

    land()
    clean = process_flow(config_dir=config_dir, prefix=index_prefix, as_of=AS_OF,
                         return_state=True)  # fmt: skip
    assert server_state(clean).name == "Completed"


def process_while_another_run_holds_the_pipeline(config_dir: Path) -> Any:
    """The final state of a process run started while another run holds the pipeline lock
    (released after 8 s, so that a run that waits for it still ends)."""
    from koubei.flows.locks import PIPELINE_LOCK, stage_lock

    held, release = threading.Event(), threading.Event()

    def other_run() -> None:
        with stage_lock(PIPELINE_LOCK):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=other_run)
    holder.start()
    held.wait(10)
    threading.Timer(8.0, release.set).start()
    try:
        state = process_flow(config_dir=config_dir, as_of=AS_OF, return_state=True)
        still_held = not release.is_set()
    finally:
        release.set()
        holder.join(10)
    assert still_held, "the run waited for the other one instead of skipping"
    return state


def test_a_scheduled_process_run_skips_while_another_run_holds_the_pipeline(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It waited for the pipeline lock up to an hour: behind a long run (a backlog, a slow
    # node) one more run queued per tick, each failing after the hour with an on-call alert
    # for nothing wrong. Now it skips at once, as a crawl of a source still being crawled does,
    # the reason (who holds the lock) in its outcome.
    from koubei.pipeline import ledger

    monkeypatch.setenv("KOUBEI_ES_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    land()
    state = process_while_another_run_holds_the_pipeline(config_dir)
    held_state = server_state(state)
    assert (held_state.type.value, held_state.name) == ("COMPLETED", "Skipped")
    assert held_state.message.startswith("skipped 'pipeline': its lock is held by pid ")
    summary = state.result()
    assert summary["skipped"] == [held_state.message] and summary["processed"] == 0
    assert len(ledger.pending_landing()) == 1  # left for the next tick


def test_a_skipped_run_neither_opens_nor_resolves_its_run_incident(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run ending Skipped was counted as a quiet (good) run of its flow: behind a long run,
    # the ticks skipped resolved a failing flow's `run:<flow>` incident, telling on-call that
    # all was well when no run had done the work that failed.
    from koubei import config as cfg
    from koubei import timeutil
    from koubei.analysis.alerts.incidents import IncidentStore
    from koubei.flows.outcome import observe_run

    monkeypatch.setenv("KOUBEI_ES_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    store = IncidentStore.from_config(
        paths.state_dir("alerts") / "alerts.db", cfg.load_alerts(config_dir)
    )
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-21T12:00:00+08:00")
    observe_run("koubei-process", config_dir, "cannot reach Elasticsearch")
    (incident,) = store.open_incidents("run:koubei-process")
    # A day later, long past the quiet time that resolves an incident: a good run would.
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-22T12:00:00+08:00")
    land()
    state = process_while_another_run_holds_the_pipeline(config_dir)
    assert server_state(state).name == "Skipped"
    assert [i.id for i in store.open_incidents("run:koubei-process")] == [incident.id]
    # The same quiet time observed by a run that did its work resolves it (the hook's reading).
    observe_run("koubei-process", config_dir, None)
    assert store.open_incidents("run:koubei-process") == []


@pytest.mark.es
def test_a_replay_names_every_dead_letter_file(
    es_url: str, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each spool file replayed writes its own dead-letter files (one for lines that are not
    # records, one for documents refused): the replay named only the first of them, so the
    # run's notice pointed at one file and the other refused documents went unseen.
    from koubei.flows.monitor import replay_spool

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    rows = records(4, r0={"id": "a" * 600}, r2={"id": "b" * 600})
    first, _ = spool.write_spool(index_prefix, rows[:2])
    assert first is not None
    with open(first, "a", encoding="utf-8") as handle:
        handle.write('{"cut": "mid-\n')  # a line cut by a full disk
    spool.write_spool(index_prefix, rows[2:])
    replayed = replay_spool.fn(index_prefix)
    files = replayed["dead_letters"]
    assert len(files) == 3 and sorted(files) == sorted(
        str(p) for p in spool.dead_letter_dir().glob(f"index-{index_prefix}-*.jsonl")
    )
    assert replayed["failed"] == 3


def test_a_notice_names_the_first_few_files_and_counts_the_rest(koubei_home: str) -> None:
    # A replay of a long backlog can dead-letter from dozens of spool files: every file is
    # named up to three, then how many more and the folder they are in (one line still).
    files = [f"/srv/dl/index-koubei-{n}.jsonl" for n in range(5)]
    line = spool.dead_letter_notice("koubei run", 5, 9, [*files, files[0]])
    named = ", ".join(files[:3])
    assert f"(each with its reason in {named} and 2 more in {spool.dead_letter_dir()})" in line
    two = spool.dead_letter_notice("koubei run", 2, 9, files[:2])
    assert f"(each with its reason in {files[0]}, {files[1]})" in two


def test_a_failed_deployment_run_raises_its_reason_not_a_type_error(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deployment's run (`koubei serve`, a worker) goes through Prefect's engine entry, which
    # raises a Failed state's data and logs it under the run as "Engine execution exited with
    # unexpected exception". The data was the summary dict: every failed scheduled run's log
    # (the UI's) ended in "TypeError: Unexpected result for failed state: {...} -- dict cannot
    # be resolved into an exception", not in why the run failed.
    import logging

    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    from koubei.flows.outcome import RunFailed

    monkeypatch.setenv("KOUBEI_ES_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    land()

    async def create() -> Any:
        async with get_client() as client:
            parameters = {"config_dir": str(config_dir), "as_of": AS_OF.isoformat()}
            return await client.create_flow_run(process_flow, parameters=parameters)

    flow_run = asyncio.run(create())
    logged: list[logging.LogRecord] = []
    logger = logging.getLogger("test-engine-errors")
    handler = logging.Handler()
    handler.emit = logged.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        with pytest.raises(RunFailed, match="cannot reach Elasticsearch") as info:
            run_flow(process_flow, flow_run=flow_run, error_logger=logger)
    finally:
        logger.removeHandler(handler)
    assert info.value.summary["processed"] == len(TEXTS)  # the summary goes with it
    assert [r.exc_info[1] for r in logged if r.exc_info] == [info.value]
