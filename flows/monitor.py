"""The flows: crawl → process → index → detect → alert → deliver.

``monitor`` is one whole cycle (``koubei run``); the scheduled deployments
(``flows/deployments.py``) split it into ``crawl_flow`` per source, on the source's schedule, and
``process_flow`` over everything pending, each under its lock (``flows/locks.py``), plus
``daily_report``. Every run publishes an artifact and alerts on failure (``flows/outcome.py``).

Thin by design: each task calls one stage, declares its retries, and passes paths or small
reports (state lives on disk under ``$KOUBEI_HOME``), so each stage can be re-run on its own
input and a crash resumes where it stopped. ``replay`` runs first so documents spooled while
Elasticsearch was down are delivered before anything new.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from koubei import config as cfg
from koubei import jsonl, paths, timeutil
from koubei.flows.locks import PIPELINE_LOCK, stage_lock_or_skip, stage_locks
from koubei.flows.outcome import RunSummary, final_state, on_completed, on_failed, publish
from koubei.log import get_logger
from koubei.pipeline import ledger
from koubei.pipeline.aspects import AspectLexicon, aspects_file, load_aspects

log = get_logger(__name__)


@task(retries=2, retry_delay_seconds=[5, 20])
def replay_spool(prefix: str) -> dict[str, Any]:
    from koubei.pipeline.index.client import client_from_env
    from koubei.pipeline.index.writer import replay_spool as replay

    report = replay(client_from_env(), prefix=prefix)
    return {**ledger.report_counts(report), **_files([report])}


@task
def crawl(
    config_dir: Path, source_names: list[str] | None, skip_busy: bool = False
) -> tuple[list[Any], list[str]]:
    """The crawl reports of the sources, and the names of those skipped (``skip_busy``: a
    source another run is still crawling is left to it, see :func:`stage_locks`)."""
    from koubei.crawlers.runner import crawl_sources

    brands = cfg.load_brands(config_dir)
    configured = cfg.load_sources(config_dir)
    cfg.check_tracked_brands(configured, brands, config_dir / "sources.yaml")
    sources = [s for s in configured.sources if s.enabled]
    if source_names:
        # A deployment's `sources` outlives an edit of sources.yaml (a renamed or disabled
        # source): its runs crawled nothing and ended Completed, every time. Now they fail,
        # naming it, and the failed run raises its operational incident.
        check_enabled(configured, source_names, config_dir)
        sources = [s for s in sources if s.name in source_names]
    # A source's crawl state (watermarks, seen ids) must not be advanced by two runs at once.
    with stage_locks([f"crawl-{s.name}" for s in sources], skip_busy=skip_busy) as busy:
        skipped = [s.name for s in sources if f"crawl-{s.name}" in busy]
        sources = [s for s in sources if s.name not in skipped]
        return (crawl_sources(sources, brands) if sources else []), skipped


@task
def process_pending(
    progress: bool,
    workers: int | None,
    models: dict[str, Path] | None = None,
    *,
    lexicon: AspectLexicon,
) -> list[dict[str, Any]]:
    """Process the pending landing files; ``models``: each source's own sentiment model;
    ``lexicon``: the aspect lexicon of the run's config directory."""
    from koubei.pipeline.process import process_pending_files

    for stray in ledger.stray_landing():
        _run_logger().warning(ledger.stray_warning(stray))
    pending = ledger.pending_landing()
    reports = process_pending_files(
        pending, lexicon=lexicon, workers=workers, progress=progress, models=models
    )
    return [asdict(r) for r in log_progress(reports, len(pending))]


def log_progress(reports: Iterable[Any], total: int) -> Iterator[Any]:
    """Each landing file's report, said in the run's log as it is done: a long process run of
    a deployment (no terminal, no progress bar) shows how far it is in the Prefect UI."""
    logger = _run_logger()
    for done, report in enumerate(reports, 1):
        outcome = report.error or f"{report.processed} processed, {report.rejected} rejected"
        logger.info(f"landing file {done}/{total} done: {report.source_file}: {outcome}")
        yield report


def _run_logger() -> Any:
    """The Prefect run's logger inside a run (what its UI shows), else koubei's: a task's body
    also runs as a plain function (``process_pending.fn``, as the ``direct`` variant of
    ``python -m bench process --dask`` calls it), where there is no run to log to."""
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return log


@task(retries=3, retry_delay_seconds=[5, 15, 45])
def index_pending(prefix: str, progress: bool) -> dict[str, Any]:
    from koubei.pipeline.index.allocation import refresh_answering
    from koubei.pipeline.index.client import client_from_env
    from koubei.pipeline.index.spool import SpooledAuthError, index_file
    from koubei.pipeline.index.templates import ensure_ready

    es = client_from_env()
    # The templates through the writer (detection reads the indices even when nothing is
    # pending): a node gone since the cycle's health check spools each pending file at once, as
    # a write meeting it does. Installed here directly, its error escaped the task and Prefect
    # retried it for 65 s, spooling nothing.
    unreachable = ensure_ready(es, prefix)
    totals: dict[str, Any] = {}
    unreadable: list[str] = []
    reports = []
    for path in ledger.pending_index():
        # One bad file must not stop the files after it, in this cycle or any later one: a
        # file that cannot be opened stays pending and is named; a line that is not a record
        # is dead-lettered (the rest of its file is indexed).
        try:
            reports.append(index_file(es, path, prefix, progress=progress))
            report = ledger.report_counts(reports[-1])
        except jsonl.JsonlError as exc:
            log.error("processed file not indexed", error=str(exc))
            unreadable.append(str(path))
            continue
        except SpooledAuthError as exc:
            # Credentials refused mid-file: its documents are accounted for (spooled). Left
            # pending, each retry of this task and each cycle spooled the whole file again.
            ledger.mark_indexed(path, ledger.report_counts(exc.report))
            raise
        # Done: each document was acknowledged, dead-lettered (``failed``) or spooled, and the
        # spool file is written (atomically) before index_file returns; the replay delivers it.
        # A file with spooled documents used to stay pending: each cycle sent it again and
        # spooled a document the cluster keeps refusing (a closed month) once more, one more
        # copy per cycle beside the replay's own.
        ledger.mark_indexed(path, report)
        for key, value in report.items():
            totals[key] = totals.get(key, 0) + value
    # Spooled documents mean the node went away during the run (or refused some for its state).
    # A refresh would then fail, and the task raise for nothing (the files are done, their
    # documents spooled); the next cycle replays the spool. A red month is left out: its
    # refresh waited out the client's timeout and raised, and Prefect retried the task for it.
    if not totals.get("spooled") and unreachable is None:
        refresh_answering(es, f"{prefix}-posts*")
    if unreadable:
        totals["unreadable"] = unreadable
    return {**totals, **_files(reports)}


def _files(reports: Iterable[Any]) -> dict[str, list[str]]:
    """``{"dead_letters": [files], "spool_files": [files], "causes": [why]}`` of the reports:
    every file each wrote (a replay writes one per spool file it dead-letters from) and why the
    cluster would not take what they spooled (``IndexReport.causes``), each key only if any."""
    reports = list(reports)
    found = {key: [str(f) for r in reports for f in getattr(r, key)] for key in ledger.FILE_LISTS}
    return {key: files for key, files in found.items() if files}


@task
def detect_and_alert(
    config_dir: Path, prefix: str, as_of: datetime, progress: bool
) -> dict[str, Any]:
    from koubei.flows.detect import run_detection

    return run_detection(config_dir, prefix=prefix, as_of=as_of)


@task(retries=1, retry_delay_seconds=10)
def index_spread(prefix: str, brands: list[str], day: date) -> dict[str, Any]:
    """The day's key accounts and the week's cascades of each brand, into their indices."""
    from koubei.analysis.spread.daily import index_day
    from koubei.pipeline.index.client import client_from_env

    return asdict(index_day(client_from_env(), prefix, brands, day))


@task(retries=1, retry_delay_seconds=10)
def deliver(config_dir: Path, prefix: str) -> dict[str, int]:
    from koubei.analysis.alerts.channels import build_channels
    from koubei.analysis.alerts.delivery import deliver_pending
    from koubei.analysis.alerts.history import write_history
    from koubei.pipeline.index.client import client_from_env

    alerts = cfg.load_alerts(config_dir)
    channels = build_channels(alerts, config_file=config_dir / "alerts.yaml")
    db_path = paths.state_dir("alerts") / "alerts.db"
    counts = ledger.report_counts(deliver_pending(db_path, channels))
    try:  # history must never hold up alerts: an unwritten event is written next cycle
        counts["history_written"] = write_history(client_from_env(), prefix, db_path)
    except Exception as exc:
        get_run_logger().warning("alert history not written this cycle: %s", exc)
    return counts


def preflight(
    config_dir: Path,
    sources: list[str] | None = None,
    *,
    crawling: bool = True,
    dask: str | None = None,
) -> None:
    """Check what a cycle needs from config and environment before doing any work.

    Loads brands, sources, alerts and the aspect lexicon (the config directory's
    ``aspects.yaml``, else the shipped one) and builds the enabled channels, which reads their
    secrets: an unset ``KOUBEI_WEBHOOK_URL`` is a ConfigError naming the variable now, not
    after a crawl and an index run. Each of ``sources`` (``koubei run --source``) must be an
    enabled source: a misspelt or disabled one would otherwise crawl nothing without a word.
    A run that crawls with ``KOUBEI_SCHEDULER=redis`` needs Redis to answer at ``REDIS_URL``,
    and a ``KOUBEI_CRAWL_LOG_LEVEL`` Scrapy can use; ``KOUBEI_ES_REPLICAS`` must be a whole
    number, and with ``dask`` (processing on a Dask cluster) ``KOUBEI_DASK_NO_WORKERS_S`` a
    number of seconds above 0.
    """
    from koubei.analysis.alerts.channels import build_channels

    configured = cfg.load_sources(config_dir)
    cfg.check_tracked_brands(configured, cfg.load_brands(config_dir), config_dir / "sources.yaml")
    check_enabled(configured, sources or [], config_dir)
    build_channels(cfg.load_alerts(config_dir), config_file=config_dir / "alerts.yaml")
    load_aspects(aspects_file(config_dir))
    from koubei.pipeline.index.templates import replica_count

    replica_count()  # KOUBEI_ES_REPLICAS, read when the templates are installed
    if dask:
        from koubei.flows.dask_process import no_workers_window

        no_workers_window()  # KOUBEI_DASK_NO_WORKERS_S, read when the processing starts
    if crawling:
        from koubei.crawlers.distributed import check_shared_queue
        from koubei.crawlers.runner import crawl_log_level

        crawl_log_level(os.environ)
        check_shared_queue({})


def check_enabled(configured: cfg.SourcesConfig, names: list[str], config_dir: Path) -> None:
    """Each of ``names`` is an enabled source of ``sources.yaml``, else a ConfigError naming it."""
    enabled = [s.name for s in configured.sources if s.enabled]
    for name in names:
        if name not in enabled:
            why = "is disabled (enabled: false)" if name in configured.names() else "is not there"
            raise cfg.ConfigError(
                f"{config_dir / 'sources.yaml'}: source {name!r} {why}; "
                f"enabled sources: {', '.join(enabled) or 'none'}"
            )


def es_unavailable() -> str | None:
    """One sentence if Elasticsearch cannot be reached now, else None.

    Asked once, fast (no transport retries, a short timeout), before the stages that need the
    cluster, so a run with the cluster down ends in seconds with a summary rather than in task
    retries; the processed files stay pending in the ledger and the next run indexes them.
    """
    from koubei.pipeline.index.client import ESConfigError, check_cluster, client_from_env

    try:
        es = client_from_env(request_timeout=5, max_retries=0)
        try:
            check_cluster(es)
        finally:
            es.close()
    except ESConfigError as exc:
        return f"{exc}; processed documents stay pending for the next run"
    return None


def pipeline_cycle(
    summary: RunSummary,
    config_dir: Path,
    prefix: str,
    as_of: datetime | None,
    progress: bool,
    process_workers: int | None,
    dask: str | None = None,
    skip_busy: bool = False,
) -> None:
    """Process → index → detect → deliver, under the pipeline lock; fills ``summary``.

    ``dask``: process on a Dask cluster, ``"local"`` for a LocalCluster of ``process_workers``
    (default 2) processes, else a scheduler address (``koubei.flows.dask_process``).
    ``skip_busy``: if another run holds the lock, do nothing and say why in ``summary.skipped``
    (a scheduled run); else wait for it (a run by hand, ``koubei run``).
    """
    logger = get_run_logger()
    # Sources that name their own sentiment model (sources.yaml `sentiment_model`) and the
    # aspect lexicon: read here, so a missing model file or a bad aspects.yaml stops the cycle
    # before any work, naming the file and field.
    models = cfg.load_sources(config_dir).sentiment_models()
    lexicon = load_aspects(aspects_file(config_dir))
    no_workers_s = None
    if dask:  # and the Dask run's no-worker window (KOUBEI_DASK_NO_WORKERS_S)
        from koubei.flows.dask_process import no_workers_window

        no_workers_s = no_workers_window()
    with stage_lock_or_skip(PIPELINE_LOCK, skip_busy=skip_busy) as skipped:
        if skipped:
            summary.skipped.append(skipped)
            return
        if dask:
            from koubei.flows.dask_process import process_on_dask

            address = None if dask == "local" else dask
            reports = process_on_dask(
                address,
                workers=process_workers or 2,
                progress=progress,
                models=models,
                lexicon=lexicon,
                no_workers_s=no_workers_s,
            )
        else:
            reports = process_pending(progress, process_workers, models, lexicon=lexicon)
        for report in reports:
            summary.processed += report["processed"]
            summary.rejected += report["rejected"]
            if report.get("error"):  # an unreadable landing file: the run fails, and says why
                summary.errors.append(f"landing file not processed: {report['error']}")
        down = es_unavailable()
        if down:
            summary.errors.append(down)
        else:
            replayed = replay_spool(prefix)
            summary.dead_letters += replayed.pop("dead_letters", [])
            summary.spool_files += replayed.pop("spool_files", [])  # what it spooled again
            summary.spool_causes += replayed.pop("causes", [])
            summary.replayed = replayed
            if summary.replayed.get("sent"):
                logger.info("replayed %s spooled documents", summary.replayed["sent"])
            indexed = index_pending(prefix, progress)
            for path in indexed.pop("unreadable", []):  # the run fails, and says which file
                summary.errors.append(f"processed file not indexed: cannot read {path}")
            summary.dead_letters += indexed.pop("dead_letters", [])  # `koubei run` names them
            summary.spool_files += indexed.pop("spool_files", [])
            summary.spool_causes += indexed.pop("causes", [])
            summary.indexed = indexed
            outcome = detect_and_alert(config_dir, prefix, as_of or timeutil.now(), progress)
            summary.negative_share = outcome["negative_share"]
            summary.detections = outcome["detections"]
            summary.notifications = outcome["notifications"]
            summary.evidence_dirs = outcome["evidence_dirs"]
            summary.reports = outcome["reports"]
            summary.blind_brands = outcome["blind_brands"]
            summary.freshness = outcome["freshness"]
        delivery = deliver(config_dir, prefix)
        summary.delivered = delivery.get("delivered", 0)
        summary.failed_deliveries = delivery.get("failed", 0)


def finish(flow_name: str, summary: RunSummary) -> Any:
    """Publish the run's artifact and log its figures; the run's final state (to return).

    Failed with its errors, or Completed, named for what the run left undone (``Skipped``,
    ``Dead-lettered``, ``Spooled``, see :func:`koubei.flows.outcome.final_state`). Returning a
    Failed state rather than raising keeps the log to one line (no traceback for an expected
    outage) while the ``on_failure`` hook still raises the on-call alert. A deployment's run
    (``koubei serve``, a worker) ends under Prefect's engine entry, which raises the state's
    :class:`~koubei.flows.outcome.RunFailed` and logs it: its last line is the errors.
    """
    publish(flow_name, summary)
    get_run_logger().info(summary.line(flow_name))
    return final_state(flow_name, summary)


HOOKS: dict[str, Any] = {
    "on_failure": [on_failed],
    "on_crashed": [on_failed],
    "on_completion": [on_completed],
}


@flow(name="koubei-monitor", log_prints=True, **HOOKS)
def monitor(
    config_dir: Path = paths.CONFIG_DIR,
    sources: list[str] | None = None,
    prefix: str | None = None,
    as_of: datetime | None = None,
    do_crawl: bool = True,
    progress: bool = True,
    process_workers: int | None = None,
    dask: str | None = None,
) -> dict[str, Any]:
    """One whole monitoring cycle (``koubei run``): crawl, then the pipeline cycle.

    ``prefix`` defaults to ``KOUBEI_INDEX_PREFIX`` (else ``koubei``) read when the run starts;
    ``as_of`` fixes "now" for detection (replays and the demo). ``process_workers`` processes
    share the processing of big landing files (default one per core; BENCHMARKS.md).
    """
    from koubei.pipeline.index.client import index_prefix

    preflight(config_dir, sources, crawling=do_crawl, dask=dask)
    summary = RunSummary()
    if do_crawl:
        for report in crawl(config_dir, sources)[0]:
            summary.crawled[report.source] = report.items
            summary.source_status[report.source] = report.status
    pipeline_cycle(
        summary, config_dir, prefix or index_prefix(), as_of, progress, process_workers, dask
    )
    return finish("koubei-monitor", summary)


@flow(name="koubei-crawl", **HOOKS)
def crawl_flow(
    config_dir: Path = paths.CONFIG_DIR, sources: list[str] | None = None
) -> dict[str, Any]:
    """Crawl the given sources (all enabled ones by default) into landing files, nothing more.

    A source still being crawled by an earlier run (a schedule shorter than its crawl) is
    skipped, its status ``skipped`` and the run's log naming the run at work on it. A run that
    skipped every source it had ends in the state named ``Skipped``; one that crawled the
    others ends Completed, its message naming the sources it left."""
    summary = RunSummary()
    reports, skipped = crawl(config_dir, sources, skip_busy=True)
    for report in reports:
        summary.crawled[report.source] = report.items
        summary.source_status[report.source] = report.status
    for name in skipped:
        summary.source_status[name] = "skipped"
    left = [f"source {name!r} left to the run still crawling it" for name in skipped]
    # A run that crawled nothing saw nothing of the flow's health: named Skipped, it neither
    # opens nor resolves run:koubei-crawl. One that crawled the other sources is judged by them;
    # named Skipped too, one slow source skipped every tick kept the incident open for good.
    (summary.left if reports else summary.skipped).extend(left)
    return finish("koubei-crawl", summary)


@flow(name="koubei-process", **HOOKS)
def process_flow(
    config_dir: Path = paths.CONFIG_DIR,
    prefix: str | None = None,
    as_of: datetime | None = None,
    progress: bool = False,
    process_workers: int | None = None,
    dask: str | None = None,
) -> dict[str, Any]:
    """Process every pending landing file, index, detect and deliver alerts (all brands).

    ``dask`` processes on a Dask cluster: ``"local"`` or a scheduler address.

    Another run at work on the pipeline (the previous tick's still running, a ``koubei run``,
    ``koubei process`` or ``koubei index load`` by hand): this run does nothing and ends
    Completed named ``Skipped``, the reason (who holds the lock) its message and in its log.
    Waiting, runs piled up one per tick behind a long one, each failing after an hour's wait
    with an alert for nothing wrong; the next tick takes up whatever is pending."""
    from koubei.pipeline.index.client import index_prefix

    summary = RunSummary()
    pipeline_cycle(
        summary,
        config_dir,
        prefix or index_prefix(),
        as_of,
        progress,
        process_workers,
        dask,
        skip_busy=True,
    )
    return finish("koubei-process", summary)


@flow(name="koubei-daily-report", **HOOKS)
def daily_report(
    config_dir: Path = paths.CONFIG_DIR, prefix: str | None = None, day: date | None = None
) -> dict[str, Any]:
    """The morning brief (09:00 Asia/Shanghai): yesterday's brief of every configured brand
    against its competitors, written under the reports folder (``koubei report daily``); then
    each brand's key accounts of that day and cascades of the week before it, indexed into
    ``<prefix>-accounts`` and ``<prefix>-cascades`` for Kibana."""
    from koubei.analysis.reports.gather import write_daily_brief
    from koubei.pipeline.index.client import client_from_env, index_prefix

    now = timeutil.now()
    day = day or (now.astimezone(timeutil.DEFAULT_TZ) - timedelta(days=1)).date()
    prefix = prefix or index_prefix()
    alerts = cfg.load_alerts(config_dir)
    brands = cfg.load_brands(config_dir)
    path = write_daily_brief(
        client_from_env(),
        prefix,
        paths.state_dir("alerts") / "alerts.db",
        day,
        brands=brands,
        kibana_url=alerts.kibana_url,
        reports_url=alerts.reports_url,
        now=now,
    )
    logger = get_run_logger()
    logger.info(f"daily brief for {day}: {path}")
    summary = RunSummary()
    summary.reports = {"daily": [str(path)]}
    spread = index_spread(prefix, [b.name for b in brands.brands], day)
    summary.spread_docs = spread["written"]
    summary.spread_kept = spread["kept"]
    # A refused document fails the run (and alerts), naming it: the next run writes it again.
    summary.errors += [f"spread document not indexed: {e}" for e in spread["errors"]]
    logger.info(
        f"spread documents for {day}: {spread['written']['accounts']} accounts, "
        f"{spread['written']['cascades']} cascades; cascade field set on {spread['posts']} posts, "
        f"cleared on {spread['cleared']}; kept {spread['kept']} newer cascade documents"
    )
    return finish("koubei-daily-report", summary)


def lookback(as_of: datetime, days: int) -> tuple[datetime, datetime]:
    return as_of - timedelta(days=days), as_of
