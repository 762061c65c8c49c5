"""Scheduled runs under the Prefect test server: serialised, retried, alerting, summarised."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl, paths
from koubei.demo.receiver import start_receiver
from koubei.flows.cli import main
from koubei.flows.monitor import monitor, process_flow
from koubei.flows.outcome import run_summary
from koubei.model import make_id

pytestmark = pytest.mark.usefixtures("prefect_server")
AS_OF = datetime.fromisoformat("2026-11-20T12:00:00+08:00")
TEXTS = ["鲜牧的酸奶喝了拉肚子，太差了", "鲜牧牛奶味道不错，会回购", "鲜牧客服态度很差，再也不买"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def land(records: int = len(TEXTS)) -> Path:
    path = paths.state_dir("landing") / "test-shop" / "run1.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    jsonl.write_atomic(
        path,
        (
            {
                "id": make_id("shop_json", n),
                "platform": "shop_json",
                "source": "test-shop",
                "kind": "review",
                "native_id": str(n),
                "text_raw": TEXTS[n % len(TEXTS)],
                "created_at": f"2026-11-20T1{n % 2}:0{n % 10}:00+08:00",
            }
            for n in range(records)
        ),
    )
    return path


def test_es_down_ends_fast_with_a_summary_and_one_line(
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KOUBEI_ES_URL", f"http://127.0.0.1:{closed_port()}")
    receiver = start_receiver("s3cret", tmp_path / "received.jsonl")
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", receiver.url)
    land()
    try:
        code = main(["run", "--no-crawl", "--config-dir", str(config_dir)])
    finally:
        receiver.stop()
    out, err = capsys.readouterr()
    assert code == 1
    summary = json.loads(out)
    assert summary["processed"] == len(TEXTS)  # processing happened; indexing waits
    assert "cannot reach Elasticsearch" in summary["errors"][0]
    assert err.strip().splitlines()[-1].startswith("run failed: cannot reach Elasticsearch")
    assert "Traceback" not in err
    # The failed run raised an operational alert through the configured webhook channel.
    alerts = receiver.received()
    assert [a.get("brand") for a in alerts] == ["run:koubei-monitor"], alerts


@pytest.mark.es
def test_a_run_that_dead_letters_exits_1_naming_the_dead_letter_file(
    config_dir: Path,
    tmp_path: Path,
    es_url: str,
    index_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `koubei run` exited 0 with documents dead-lettered (the count only in its summary),
    # where `koubei index load` exits 1 naming the dead-letter file: a script took a cycle
    # that left posts out for a whole one.
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    receiver = start_receiver("s3cret", tmp_path / "received.jsonl")
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", receiver.url)
    records = [
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
        for n in range(4)
    ]
    records[2]["id"] = "w" * 600  # Elasticsearch refuses an _id over 512 bytes: dead-lettered
    jsonl.write_atomic(paths.state_dir("processed") / "test-shop" / "run1.jsonl", records)
    try:
        code = main(["run", "--no-crawl", "--config-dir", str(config_dir),
                     "--prefix", index_prefix, "--as-of", AS_OF.isoformat()])  # fmt: skip
    finally:
        receiver.stop()
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert summary["errors"] == [] and summary["indexed"]["failed"] == 1, summary
    (letters,) = summary["dead_letters"]
    (line,) = [e for e in err.splitlines() if "dead-lettered" in e]
    assert line.startswith("koubei run: 1 of 4 document(s) dead-lettered") and letters in line
    assert [r["id"] for r in jsonl.read(Path(letters))] == ["w" * 600]
    assert code == 1


def test_overlapping_runs_by_hand_are_serialised(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `koubei run` (the monitor flow) waits for a run at work; a scheduled process run skips
    # (test_run_outcomes.py).
    import koubei.pipeline.process as process

    monkeypatch.setenv("KOUBEI_ES_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    spans: list[tuple[float, float]] = []
    real = process.process_pending_files

    def slow(*args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        time.sleep(1.5)  # hold the stage long enough for the other run to arrive
        try:
            return real(*args, **kwargs)
        finally:
            spans.append((start, time.monotonic()))

    monkeypatch.setattr(process, "process_pending_files", slow)
    land()
    states: list[Any] = []

    def run() -> None:
        states.append(
            monitor(config_dir=config_dir, as_of=AS_OF, do_crawl=False, return_state=True)
        )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(spans) == 2 and len(states) == 2
    (_, a_end), (b_start, _) = sorted(spans)
    assert b_start >= a_end, f"stages overlapped: {spans}"
    # The file was processed once: the second run found nothing pending.
    results = sorted(run_summary(s)["processed"] for s in states)
    assert results == [0, len(TEXTS)]


def test_a_run_waiting_for_another_says_so_in_its_own_log(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wait went to koubei's stderr logger only: in the Prefect UI a run waiting (up to an
    # hour) for an overlapping one showed no line at all, nor which run held the lock.
    from koubei.flows.locks import PIPELINE_LOCK, stage_lock

    monkeypatch.setenv("KOUBEI_ES_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    held, release = threading.Event(), threading.Event()

    def other_run() -> None:
        with stage_lock(PIPELINE_LOCK):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=other_run)
    holder.start()
    held.wait(10)
    threading.Timer(3.0, release.set).start()
    try:  # `koubei run`'s flow: by hand, it waits (a scheduled process run skips)
        state = monitor(config_dir=config_dir, as_of=AS_OF, do_crawl=False, return_state=True)
    finally:
        release.set()
        holder.join(10)
    lines = run_log(state)
    waiting = [line for line in lines if line.startswith("waiting for the 'pipeline' lock")]
    assert len(waiting) == 1, lines
    assert f"held by pid {os.getpid()}, since " in waiting[0]
    took = [line for line in lines if line.startswith("took the 'pipeline' lock after waiting")]
    assert len(took) == 1 and float(took[0].rsplit(" ", 1)[1].rstrip("s")) > 0.5, lines


def test_a_process_run_logs_each_landing_file_as_it_is_done(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deployment's process run has no progress bar (no terminal): its log said nothing
    # between the start and the summary, however long the files took.
    monkeypatch.setenv("KOUBEI_ES_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    landed = land()
    state = process_flow(config_dir=config_dir, as_of=AS_OF, return_state=True)
    lines = [line for line in run_log(state) if line.startswith("landing file ")]
    assert lines == [f"landing file 1/1 done: {landed}: {len(TEXTS)} processed, 0 rejected"]


def run_log(state: Any) -> list[str]:
    """The messages of a flow run's log as the Prefect server holds them (what its UI shows)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async def read() -> list[str]:
        async with get_client() as client:
            run_id = LogFilterFlowRunId(any_=[state.state_details.flow_run_id])
            return [log.message for log in await client.read_logs(LogFilter(flow_run_id=run_id))]

    for _ in range(40):  # the run's log reaches the server in batches, shortly after the run
        lines = asyncio.run(read())
        if any(
            line.startswith(("koubei-process:", "koubei-crawl:", "koubei-monitor:"))
            for line in lines
        ):
            break
        time.sleep(0.25)
    return lines


def test_a_crawl_deployment_of_a_source_gone_from_the_config_fails_naming_it(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deployment's `sources` outlives an edit of sources.yaml: a renamed source's scheduled
    # crawl crawled nothing and ended Completed, every time.
    from koubei.flows.monitor import crawl_flow

    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    state = crawl_flow(config_dir=config_dir, sources=["shop-reviewz"], return_state=True)
    assert state.is_failed()
    assert "source 'shop-reviewz' is not there; enabled sources: shop-reviews, weibo-search" in (
        str(state.result(raise_on_failure=False))
    )


def test_a_scheduled_crawl_of_a_source_still_being_crawled_skips_it_saying_why(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A schedule shorter than the crawl (`*/5` for a 20-minute crawl): the next run waited for
    # the source's lock (up to an hour), one more run queued per tick, each crawling the site
    # again the moment its turn came, and failing with an alert after the hour.
    from koubei.flows.locks import stage_lock
    from koubei.flows.monitor import crawl_flow

    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    (config_dir / "sources.yaml").write_text(
        "sources:\n  - {name: shop, platform: shop_json, product_ids: ['1'], "
        f"base_url: 'http://127.0.0.1:{closed_port()}', schedule: '* * * * *'}}\n",
        encoding="utf-8",
    )
    held, release = threading.Event(), threading.Event()

    def earlier_run() -> None:
        with stage_lock("crawl-shop"):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=earlier_run)
    holder.start()
    held.wait(10)
    threading.Timer(8.0, release.set).start()  # so that a run that waits still ends
    try:
        state = crawl_flow(config_dir=config_dir, sources=["shop"], return_state=True)
        still_held = not release.is_set()
    finally:
        release.set()
        holder.join(10)
    assert still_held, "the run waited for the earlier one instead of skipping"
    assert state.is_completed() and state.name == "Skipped", state
    assert state.message == "source 'shop' left to the run still crawling it"
    summary = state.result()
    assert summary["source_status"] == {"shop": "skipped"} and summary["crawled"] == {}
    assert not (paths.state_dir("landing") / "shop").exists()
    lines = run_log(state)
    skipped = [line for line in lines if line.startswith("skipped 'crawl-shop'")]
    assert len(skipped) == 1, lines
    assert f"held by pid {os.getpid()}, since " in skipped[0]


def test_a_crawl_that_left_one_source_to_an_earlier_run_is_judged_by_the_others(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Named Skipped like a run that crawled nothing, a run that crawled every source but one
    # slow one (skipped at every tick) neither opened nor resolved run:koubei-crawl, for good.
    from koubei.flows.locks import stage_lock
    from koubei.flows.monitor import crawl_flow

    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    site = f"http://127.0.0.1:{closed_port()}"
    (config_dir / "sources.yaml").write_text(
        "sources:\n"
        f"  - {{name: slow, platform: shop_json, product_ids: ['1'], base_url: '{site}'}}\n"
        f"  - {{name: quick, platform: shop_json, product_ids: ['2'], base_url: '{site}'}}\n",
        encoding="utf-8",
    )
    with stage_lock("crawl-slow"):
        state = crawl_flow(config_dir=config_dir, sources=["slow", "quick"], return_state=True)
    assert state.is_completed() and state.name == "Completed", state
    assert state.message == "source 'slow' left to the run still crawling it"
    summary = state.result()
    assert summary["source_status"]["slow"] == "skipped"
    assert summary["source_status"]["quick"] != "skipped"
    assert summary["skipped"] == [] and summary["left"] == [state.message]


def test_index_retries_after_a_transient_failure(
    config_dir: Path,
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import koubei.pipeline.index.writer as writer

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    calls: list[int] = []
    real = writer.index_records

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("injected: connection reset by peer")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "index_records", flaky)
    land()
    state = process_flow(config_dir=config_dir, prefix=index_prefix, as_of=AS_OF, return_state=True)
    summary = state.result()
    assert state.is_completed(), state.message
    assert len(calls) == 2  # the task ran again after the injected failure
    es.indices.refresh(index=f"{index_prefix}-posts*")
    assert es.count(index=f"{index_prefix}-posts*")["count"] == len(TEXTS)
    assert summary["indexed"]["created"] == len(TEXTS)
    # The run left its figures as an artifact.
    figures = {row["figure"]: row["value"] for row in run_artifact(state)}
    assert figures["processed"] == figures["indexed"] == len(TEXTS)
    assert figures["dead_lettered"] == 0 and "alerts_sent" in figures


def run_artifact(state: Any) -> list[dict[str, Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read() -> list[Any]:
        async with get_client() as client:
            flow_runs = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
            return await client.read_artifacts(flow_run_filter=flow_runs)

    (artifact,) = asyncio.run(read())
    assert artifact.key == "koubei-process"
    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data


def dask_flow_runs() -> int:
    """How many runs of the Dask processing subflow the Prefect server has seen."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    async def read() -> int:
        async with get_client() as client:
            names = FlowFilter(name=FlowFilterName(any_=["koubei-process-dask"]))
            return len(await client.read_flow_runs(flow_filter=names))

    return asyncio.run(read())


@pytest.mark.parametrize("entry", ["koubei run --dask", "process_flow(dask=...)"])
def test_the_dask_option_processes_on_dask(
    entry: str,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `koubei run --dask` and the process deployment's `dask` parameter once reached the flow
    # and were dropped there: processing ran locally whatever was asked.
    monkeypatch.setenv("KOUBEI_ES_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    land()
    before = dask_flow_runs()
    if entry.startswith("koubei"):
        args = ["run", "--no-crawl", "--dask", "--workers", "1", "--config-dir", str(config_dir)]
        assert main(args) == 1  # Elasticsearch is down: processed, then stopped
        processed = json.loads(capsys.readouterr().out)["processed"]
    else:
        state = process_flow(
            config_dir=config_dir, as_of=AS_OF, dask="local", process_workers=1, return_state=True
        )
        processed = run_summary(state)["processed"]
    assert processed == len(TEXTS)
    assert dask_flow_runs() == before + 1


def test_a_cycle_after_an_outage_replays_the_spool_once_and_its_figures_add_up(
    config_dir: Path,
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: the documents a cycle replayed from the spool (Elasticsearch back after an
    outage) were in no figure of the run (artifact and summary counted only the pending files'
    documents), so an operator could not tell the spool went out, nor check that everything
    sent was indexed, dead-lettered or spooled. Now ``sent`` counts both, ``replayed`` the
    spool's part, and ``indexed + dead_lettered + spooled == sent``; the run logs that line."""
    from koubei.pipeline.index import spool
    from koubei.pipeline.index.writer import index_records

    # An earlier load met the node gone (nothing listening): all of it was spooled.
    gone = Elasticsearch(f"http://127.0.0.1:{closed_port()}", max_retries=0, request_timeout=2)
    earlier = [
        {
            "id": make_id("shop_json", 100 + n),
            "platform": "shop_json",
            "source": "test-shop",
            "kind": "review",
            "native_id": str(100 + n),
            "text_raw": "鲜牧的奶粉罐子瘪了",
            "created_at": "2026-11-19T10:00:00+08:00",
        }
        for n in range(7)
    ]
    assert index_records(gone, earlier, prefix=index_prefix).spooled == 7
    gone.close()

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"http://127.0.0.1:{closed_port()}/")
    land()
    state = process_flow(config_dir=config_dir, prefix=index_prefix, as_of=AS_OF, return_state=True)
    assert state.is_completed(), state.message

    es.indices.refresh(index=f"{index_prefix}-posts*")
    assert es.count(index=f"{index_prefix}-posts*")["count"] == 7 + len(TEXTS)
    assert spool.spool_files(index_prefix) == []
    figures = {row["figure"]: row["value"] for row in run_artifact(state)}
    assert figures["replayed"] == 7
    assert figures["sent"] == 7 + len(TEXTS)
    assert figures["indexed"] + figures["dead_lettered"] + figures["spooled"] == figures["sent"]
    assert figures["indexed"] == 7 + len(TEXTS)
    line = "sent 10 to Elasticsearch (7 replayed from the spool): indexed 10, dead-lettered 0"
    assert any(line in record.getMessage() for record in caplog.records)


def test_the_process_stage_runs_as_a_plain_function_outside_any_run(
    koubei_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``process_pending.fn`` is the stage without Prefect (``python -m bench process --dask``
    times it so, against the flow). Its progress lines asked for the run's logger, which
    outside a run raised ``MissingContextError``: the benchmark had stopped at its first
    variant. Outside a run they go to koubei's log."""
    from koubei.flows.monitor import process_pending
    from koubei.pipeline.aspects import load_aspects

    land(5)
    (report,) = process_pending.fn(False, 1, lexicon=load_aspects())
    assert (report["processed"], report["rejected"], report["error"]) == (5, 0, None)
    said = capsys.readouterr()  # (stdout before koubei configures logging, stderr after)
    assert "landing file 1/1 done" in said.out + said.err
