"""The process stage on a real Dask LocalCluster (prefect-dask) gives the local documents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from koubei import jsonl, paths
from koubei.flows.dask_process import process_on_dask
from koubei.model import make_id
from koubei.pipeline import ledger
from koubei.pipeline.aspects import load_aspects
from koubei.pipeline.process import process_pending_files

pytestmark = pytest.mark.usefixtures("prefect_server")
LEXICON = load_aspects()
PRODUCTS = ["酸奶", "纯牛奶", "奶粉", "奶茶"]
OPINIONS = ["太难喝了，退款", "味道不错，会回购", "包装破了，客服也不理人", "物流很快，孩子爱喝"]


def shifted_model(tag: str = "own", shift: float = 1.0) -> Any:
    """The shipped model with its calibration moved by ``shift`` (scores every text lower), as
    a version of its own: what a source's own model (``sentiment_model``) stands for here."""
    from dataclasses import replace

    from koubei.pipeline.sentiment import load_model

    shipped = load_model()
    a, b = shipped.platt
    return replace(shipped, version=f"{shipped.version}+test-{tag}", platt=(a, b - shift))


@contextmanager
def worker_process(address: str, cwd: Path | None = None, wait: bool = True) -> Iterator[Any]:
    """A ``dask worker`` subprocess (no nanny: killed, it stays dead) joined to ``address``
    (waited for unless ``wait`` is false), with this checkout importable; ended at the end of
    the block."""
    import os
    import subprocess
    import sys

    from distributed import Client

    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")])}
    options = ["--nthreads", "1", "--no-nanny", "--no-dashboard"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, *options],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if wait:
            with Client(address) as client:
                client.wait_for_workers(1, timeout=120)
        yield worker
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=60)


def landing(count: int) -> list[dict[str, Any]]:
    """Reviews with repeats (near-duplicate clusters span batches) and a record that is rejected."""
    records: list[dict[str, Any]] = [
        {
            "id": make_id("shop_json", n),
            "platform": "shop_json",
            "source": "shop",
            "kind": "review",
            "native_id": str(n),
            "text_raw": f"鲜牧{PRODUCTS[n % 4]}{OPINIONS[(n // 4) % 4]}！第{n % 13}次买",
            "created_at": f"2026-11-20T{8 + n % 10:02d}:{n % 60:02d}:00+08:00",
            "crawled_at": "2026-11-20T20:00:00+08:00",  # else "now", different per run
        }
        for n in range(count)
    ]
    records.append({"id": "bad", "platform": "shop_json"})
    return records


def run_in(home: Path, monkeypatch: pytest.MonkeyPatch, process: Any) -> list[dict[str, Any]]:
    monkeypatch.setenv("KOUBEI_HOME", str(home))
    landed = paths.state_dir("landing") / "shop" / "r1.jsonl"
    landed.parent.mkdir(parents=True, exist_ok=True)
    jsonl.write_atomic(landed, landing(240))
    reports = process()
    assert [r["processed"] if isinstance(r, dict) else r.processed for r in reports] == [240]
    return list(jsonl.read(ledger.processed_path(landed)))


def local_and_dask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int, batch_size: int, **options: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The processed records of the local runner and of ``workers`` Dask workers, given the
    same ``options`` (``lexicon``, ``models``)."""
    local = run_in(
        tmp_path / "local",
        monkeypatch,
        lambda: list(process_pending_files(ledger.pending_landing(), workers=1, **options)),
    )
    on_dask = run_in(
        tmp_path / "dask",
        monkeypatch,
        lambda: process_on_dask(workers=workers, batch_size=batch_size, **options),
    )
    return local, on_dask


def test_dask_processing_gives_the_local_runners_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local, on_dask = local_and_dask(tmp_path, monkeypatch, 2, 50, lexicon=LEXICON)
    assert len(local) == 240
    diffs = {k for a, b in zip(on_dask, local, strict=True) for k in a if a[k] != b.get(k)}
    assert not diffs, [(k, on_dask[0][k], local[0][k]) for k in diffs]
    assert on_dask == local
    assert len({r["dup_cluster"] for r in local}) < 240  # the clusters were exercised


def test_a_running_schedulers_address_passes_the_check() -> None:
    # The check that stops a run on a malformed or closed address must let a real one through,
    # written as Dask prints it (tcp://127.0.0.1:PORT) or bare (127.0.0.1:PORT).
    from distributed import LocalCluster

    from koubei.flows.dask_process import check_scheduler

    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        check_scheduler(address)
        check_scheduler(address.removeprefix("tcp://"))


def test_dask_processing_shows_the_progress_the_local_runner_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `koubei run --dask` showed no progress at all on long work: the flow's `progress` was
    # dropped before the Dask subflow, which processed silently until the end.
    run_in(
        tmp_path,
        monkeypatch,
        lambda: process_on_dask(workers=1, batch_size=80, progress=True, lexicon=LEXICON),
    )
    err = capsys.readouterr().err
    assert "process: 100%" in err and "240/240" in err, err[-2000:]


def test_each_worker_loads_the_model_once_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The task kept the model in a module global it assigned itself, but cloudpickle sent the
    # task's function by value (its module name is the Prefect task, not the function), with a
    # fresh copy of its globals: every batch loaded the model again, the worker kept none.
    from distributed import Client, LocalCluster

    def kept() -> list[str]:
        from koubei.flows import dask_process

        return [model.version for model in dask_process._models.values()]

    with LocalCluster(
        n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        run_in(
            tmp_path,
            monkeypatch,
            lambda: process_on_dask(cluster.scheduler_address, batch_size=60, lexicon=LEXICON),
        )
        with Client(cluster) as client:
            models = client.run(kept)
    from koubei.pipeline.sentiment import load_model

    assert list(models.values()) == [[load_model().version]], models


def test_dask_workers_score_with_the_model_the_source_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sources.yaml's `sentiment_model`: the workers load the source's model file, by its path,
    # and give the documents the local runner gives with that model.

    own = shifted_model()
    model_file = own.save(tmp_path / "own.json.gz")
    models = {"shop": model_file}
    local, on_dask = local_and_dask(tmp_path, monkeypatch, 1, 80, lexicon=LEXICON, models=models)
    assert on_dask == local
    assert {r["sentiment"]["model_version"] for r in local} == {own.version}


def test_dask_workers_tag_with_the_lexicon_the_flow_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run's aspect lexicon (the config directory's aspects.yaml) goes to the workers with
    # each batch: they tag with it, not with the shipped file they could read themselves.
    from koubei.pipeline.aspects import AspectLexicon

    own = AspectLexicon.model_validate({"aspects": {"refund": {"keywords": ["退款"]}}})
    local, on_dask = local_and_dask(tmp_path, monkeypatch, 1, 80, lexicon=own)
    assert on_dask == local
    tagged = [[a["aspect"] for a in r["aspects"]] for r in on_dask]
    assert ["refund"] in tagged and all(names in ([], ["refund"]) for names in tagged)


def test_a_second_local_cluster_at_once_does_not_trip_on_the_dashboard_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dask's default dashboard is ":8787": a run while another held it (a manual `koubei run
    # --dask` during a scheduled one) warned, and under this suite's warnings-as-errors failed
    # to start its cluster. The run's cluster now takes a free loopback port.
    import socket

    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pass  # something else holds it already: the same condition
    try:
        run_in(tmp_path, monkeypatch, lambda: process_on_dask(workers=1, lexicon=LEXICON))
    finally:
        holder.close()


def test_a_model_refreshed_in_place_is_loaded_again_by_a_long_lived_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sources.yaml says to refresh a source's model by adapting again to the same file. On a
    # cluster that outlives a run (`--dask tcp://...`), each worker kept the model it had loaded
    # by that path: every later run failed each batch of the source ("worker scores with model
    # <old>, the flow with <new>") until the workers were restarted.

    from distributed import LocalCluster

    model_file = tmp_path / "own.json.gz"
    with LocalCluster(
        n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        versions = []
        for run, shift in enumerate((1.0, 2.0)):
            own = shifted_model(str(run), shift)
            own.save(model_file)
            processed = run_in(
                tmp_path / f"run{run}",
                monkeypatch,
                lambda: process_on_dask(
                    cluster.scheduler_address,
                    batch_size=80,
                    lexicon=LEXICON,
                    models={"shop": model_file},
                ),
            )
            versions.append({r["sentiment"]["model_version"] for r in processed})
    assert versions == [{shifted_model("0").version}, {shifted_model("1").version}]


def test_a_remote_worker_elsewhere_loads_a_model_named_relative_to_a_relative_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `koubei run --dask tcp://... --config-dir conf` with `sentiment_model: own.json.gz`: the
    # flow sent the workers 'conf/own.json.gz', relative to its own working directory, and a
    # worker started in another one failed every batch of the source (no such file), which
    # failed the whole run. load_sources said it made the path absolute; it did not.

    from distributed import LocalCluster

    from koubei.config import load_sources

    own = shifted_model()
    flow_cwd, worker_cwd = tmp_path / "flow", tmp_path / "worker"
    (flow_cwd / "conf").mkdir(parents=True)
    worker_cwd.mkdir()
    own.save(flow_cwd / "conf" / "own.json.gz")
    (flow_cwd / "conf" / "sources.yaml").write_text(
        "sources:\n  - {name: shop, platform: shop_json, sentiment_model: own.json.gz}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(flow_cwd)
    models = load_sources(Path("conf")).sentiment_models()
    with (
        LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster,
        worker_process(cluster.scheduler_address, cwd=worker_cwd),
    ):
        processed = run_in(
            tmp_path / "home",
            monkeypatch,
            lambda: process_on_dask(
                cluster.scheduler_address, batch_size=80, lexicon=LEXICON, models=models
            ),
        )
    assert {r["sentiment"]["model_version"] for r in processed} == {own.version}


def test_a_failing_batch_names_its_file_leaves_it_pending_and_the_rest_is_processed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker that cannot load a source's model (here: the file gone once the flow had loaded
    # it, as on a worker that does not see it) failed that file's batches after their retry.
    # That failed the whole run with the worker's exception alone: no file named, and every
    # landing file after it left unprocessed. Now the file is named with the records of the
    # batch, stays pending for the next run, and the other files are processed.
    import time
    from concurrent.futures import ThreadPoolExecutor

    from distributed import LocalCluster

    own = shifted_model()
    model_file = own.save(tmp_path / "own.json.gz")
    monkeypatch.setenv("KOUBEI_HOME", str(tmp_path / "home"))
    landed = {}
    for source in ("shop", "zoo"):
        landed[source] = paths.state_dir("landing") / source / "r1.jsonl"
        landed[source].parent.mkdir(parents=True)
        jsonl.write_atomic(landed[source], [{**r, "source": source} for r in landing(240)])

    def process() -> list[dict[str, Any]]:
        models = {"shop": model_file}
        return process_on_dask(address, batch_size=80, lexicon=LEXICON, models=models)

    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        with ThreadPoolExecutor(1) as pool:
            run = pool.submit(process)  # its batches wait for a worker
            deadline = time.monotonic() + 120
            while not cluster.scheduler.tasks and time.monotonic() < deadline:
                time.sleep(0.1)
            assert cluster.scheduler.tasks, "no batch was submitted"
            model_file.unlink()
            with worker_process(address, wait=False):
                first = run.result(timeout=300)
                assert ledger.pending_landing() == [landed["shop"]]
                own.save(model_file)  # the worker can load it again: the next run takes it up
                second = process()
    shop, zoo = first
    assert shop["processed"] == 0 and zoo["processed"] == 240 and zoo["error"] is None
    assert shop["error"].startswith(f"{landed['shop']}: records 1-80 of 240 (ids "), shop
    assert "failed on the Dask cluster" in shop["error"] and "own.json.gz" in shop["error"]
    # The re-run processes the file left pending, once, and nothing else again.
    assert [(r["source_file"], r["processed"]) for r in second] == [(str(landed["shop"]), 240)]
    assert ledger.pending_landing() == []
    versions = {
        r["sentiment"]["model_version"] for r in jsonl.read(ledger.processed_path(landed["shop"]))
    }
    assert versions == {own.version}


def test_a_cluster_left_without_workers_stops_the_run_instead_of_waiting_for_ever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The only worker of a running scheduler killed mid-run (no nanny to bring it back): the
    # batches waited for a worker for ever, the run holding the pipeline lock, so every later
    # process tick was skipped and no alert went out.
    import os
    import signal

    from distributed import LocalCluster

    landed = landed_in(tmp_path / "home", monkeypatch)
    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        with worker_process(address) as worker:
            os.kill(worker.pid, signal.SIGKILL)  # before its first batch: none can run
            worker.wait(timeout=60)
            error, _ = stopped_without_workers(address, no_workers_s=3)
    assert f"{address}: no worker for 3s" in str(error)
    assert ledger.pending_landing() == [landed]  # left for the next run


def test_the_no_worker_window_is_read_from_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It was a constant (2 minutes): a cluster whose workers take longer to start (autoscaled
    # on demand) could not be given longer, nor a test or an impatient operator shorter.
    from distributed import LocalCluster

    landed = landed_in(tmp_path / "home", monkeypatch)
    monkeypatch.setenv("KOUBEI_DASK_NO_WORKERS_S", "2.5")
    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address  # a scheduler no worker ever joins
        error, waited = stopped_without_workers(address)
    assert f"{address}: no worker for 2.5s" in str(error)
    assert 2.5 <= waited < 60, waited  # not the 120 s default (60: a loaded machine's bound)
    assert ledger.pending_landing() == [landed]


def landed_in(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A landing file of 240 records under ``home``, made ``KOUBEI_HOME``."""
    monkeypatch.setenv("KOUBEI_HOME", str(home))
    landed = paths.state_dir("landing") / "shop" / "r1.jsonl"
    landed.parent.mkdir(parents=True)
    jsonl.write_atomic(landed, landing(240))
    return landed


def stopped_without_workers(address: str, **options: Any) -> tuple[BaseException, float]:
    """The error ``process_on_dask`` on ``address`` (a cluster without workers) stopped with,
    a :class:`DaskUnavailable`, and the seconds it took; a run still waiting after 60 s
    fails the test (in a daemon thread, so it does not hang it)."""
    import threading
    import time

    from koubei.flows.dask_process import DaskUnavailable

    outcome: list[BaseException] = []

    def run() -> None:
        try:
            process_on_dask(address, batch_size=80, lexicon=LEXICON, **options)
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the run still waits for a worker after 60 s"
    [error] = outcome
    assert isinstance(error, DaskUnavailable), error
    return error, time.monotonic() - started


def test_the_process_flow_refuses_a_no_worker_window_that_is_no_duration_before_any_work(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process deployment (`koubei serve`, prefect.yaml) with `dask` set reads the variable
    # as its cycle starts: refused there, before the lock, a cluster or any file is touched.
    from koubei.flows.monitor import process_flow

    landed = landed_in(paths.home(), monkeypatch)
    monkeypatch.setenv("KOUBEI_DASK_NO_WORKERS_S", "0")
    state = process_flow(config_dir=config_dir, dask="local", return_state=True)
    assert state.is_failed()
    assert "KOUBEI_DASK_NO_WORKERS_S='0': expected seconds" in str(state.message), state.message
    assert ledger.pending_landing() == [landed]  # and no processed file written


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, 120.0), ("600", 600.0), (" 0.5 ", 0.5), ("1e3", 1000.0), ("inf", None), ("", None)],
)
def test_the_no_worker_window_takes_seconds_above_0_and_nothing_else(
    value: str | None, seconds: float | None
) -> None:
    # inf waited for ever, as the run did before the window existed
    from koubei.flows.dask_process import DaskUnavailable, no_workers_window

    environ = {} if value is None else {"KOUBEI_DASK_NO_WORKERS_S": value}
    if seconds is not None:
        assert no_workers_window(environ) == seconds
        return
    with pytest.raises(DaskUnavailable, match=f"KOUBEI_DASK_NO_WORKERS_S={value!r}: expected"):
        no_workers_window(environ)


def test_a_worker_under_other_scoring_rules_than_the_flows_is_refused_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A remote worker (`--dask tcp://...`) left on another koubei release (other lexicons,
    # glosses or no-opinion rules) scored the batches it took under its own rules, and each of
    # their posts recorded that release's rules_version: nothing refused it, as a worker with
    # another model is refused. The flow sends its rules version with each batch now.
    from koubei.flows.dask_process import enrich_batch
    from koubei.pipeline.sentiment import load_model, rules

    own, other = rules.rules_version(), "rules-0123456789"
    model = load_model()
    records = [r for r in landing(3) if r["id"] != "bad"]
    with pytest.raises(ValueError, match="worker scores under rules") as refused:
        enrich_batch.fn(records, model.version, LEXICON, None, other)
    assert str(refused.value).startswith(f"worker scores under rules {own}, the flow under {other}")
    enriched, _ = enrich_batch.fn(records, model.version, LEXICON, None, own)
    assert {r["sentiment"]["rules_version"] for r in enriched} == {own}

    # On a real cluster, the flow standing for the other release (its rules version another;
    # the LocalCluster's worker processes import this checkout's rules): the file's batches
    # fail after their retry, the file is named with both versions and stays pending.
    monkeypatch.setattr(rules, "rules_version", lambda: other)
    monkeypatch.setenv("KOUBEI_HOME", str(tmp_path))
    landed = paths.state_dir("landing") / "shop" / "r1.jsonl"
    landed.parent.mkdir(parents=True)
    jsonl.write_atomic(landed, landing(120))
    [report] = process_on_dask(workers=1, batch_size=80, lexicon=LEXICON)
    assert report["processed"] == 0, report
    assert f"worker scores under rules {own}, the flow under {other}" in report["error"]
    assert ledger.pending_landing() == [landed]
