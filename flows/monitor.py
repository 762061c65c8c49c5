"""The monitoring flow: crawl → process → index → detect → alert → deliver.

Thin by design: each task calls one stage, declares its retries, and passes paths or small
reports (state lives on disk under ``$KOUBEI_HOME``), so each stage can be re-run on its own
input and a crash resumes where it stopped. ``replay`` runs first so documents spooled while
Elasticsearch was down are delivered before anything new.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from koubei import config as cfg
from koubei import jsonl, paths, timeutil
from koubei.pipeline import ledger


@dataclass
class RunSummary:
    crawled: dict[str, int] = field(default_factory=dict)
    source_status: dict[str, str] = field(default_factory=dict)
    processed: int = 0
    rejected: int = 0
    indexed: dict[str, int] = field(default_factory=dict)
    negative_share: dict[str, dict[str, float | int]] = field(default_factory=dict)
    detections: dict[str, int] = field(default_factory=dict)
    notifications: int = 0
    delivered: int = 0
    failed_deliveries: int = 0
    evidence_dirs: dict[str, str] = field(default_factory=dict)
    blind_brands: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@task(retries=2, retry_delay_seconds=[5, 20])
def replay_spool(prefix: str) -> dict[str, int]:
    from koubei.pipeline.index.client import client_from_env
    from koubei.pipeline.index.writer import replay_spool as replay

    return _counts(replay(client_from_env(), prefix=prefix))


@task
def crawl(config_dir: Path, source_names: list[str] | None) -> list[Any]:
    from koubei.crawlers.runner import crawl_sources

    brands = cfg.load_brands(config_dir)
    sources = [s for s in cfg.load_sources(config_dir).sources if s.enabled]
    if source_names:
        sources = [s for s in sources if s.name in source_names]
    return crawl_sources(sources, brands)


@task
def process_pending(progress: bool, workers: int | None) -> list[dict[str, Any]]:
    from koubei.pipeline.process import process_pending_files

    pending = ledger.pending_landing()
    return [asdict(r) for r in process_pending_files(pending, workers=workers, progress=progress)]


@task(retries=3, retry_delay_seconds=[5, 15, 45])
def index_pending(prefix: str, progress: bool) -> dict[str, int]:
    from koubei.pipeline.index.client import client_from_env
    from koubei.pipeline.index.templates import ensure_templates
    from koubei.pipeline.index.writer import index_records

    es = client_from_env()
    ensure_templates(es, prefix)
    totals: dict[str, int] = {}
    for path in ledger.pending_index():
        report = _counts(index_records(es, jsonl.read(path), prefix=prefix, progress=progress))
        # A file whose documents were spooled is not done: replay delivers them next run.
        if not report.get("spooled") and not report.get("failed_retryable"):
            ledger.mark_indexed(path, report)
        for key, value in report.items():
            totals[key] = totals.get(key, 0) + value
    es.indices.refresh(index=f"{prefix}-posts*")
    return totals


@task
def detect_and_alert(
    config_dir: Path, prefix: str, as_of: datetime, progress: bool
) -> dict[str, Any]:
    from koubei.flows.detect import run_detection

    return run_detection(config_dir, prefix=prefix, as_of=as_of)


@task(retries=1, retry_delay_seconds=10)
def deliver(config_dir: Path) -> dict[str, int]:
    from koubei.analysis.alerts.channels import build_channels
    from koubei.analysis.alerts.outbox import deliver_pending

    alerts = cfg.load_alerts(config_dir)
    channels = build_channels(alerts, config_file=config_dir / "alerts.yaml")
    report = deliver_pending(paths.state_dir("alerts") / "alerts.db", channels)
    return _counts(report)


def preflight(config_dir: Path) -> None:
    """Check what a cycle needs from config and environment before doing any work.

    Loads brands, sources and alerts and builds the enabled channels, which reads their secrets:
    an unset ``KOUBEI_WEBHOOK_URL`` is a ConfigError naming the variable now, not after a crawl
    and an index run.
    """
    from koubei.analysis.alerts.channels import build_channels

    cfg.load_brands(config_dir)
    cfg.load_sources(config_dir)
    build_channels(cfg.load_alerts(config_dir), config_file=config_dir / "alerts.yaml")


def _counts(report: Any) -> dict[str, int]:
    """Integer fields of a stage's report (a report may count with lists of ids)."""
    if hasattr(report, "as_dict"):
        data = report.as_dict()
    elif hasattr(report, "__dataclass_fields__"):
        data = asdict(report)
    else:
        data = dict(report)
    return {
        key: len(v) if isinstance(v, list) else v
        for key, v in data.items()
        if isinstance(v, int | list)
    }


@flow(name="koubei-monitor", log_prints=True)
def monitor(
    config_dir: Path = paths.CONFIG_DIR,
    sources: list[str] | None = None,
    prefix: str = "koubei",
    as_of: datetime | None = None,
    do_crawl: bool = True,
    progress: bool = True,
    process_workers: int | None = None,
) -> dict[str, Any]:
    """One monitoring cycle. ``as_of`` fixes "now" for detection (replays and the demo).

    ``process_workers`` processes share the processing of big landing files; the default is one
    per core (``python -m bench process`` in BENCHMARKS.md measures the gain).
    """
    logger = get_run_logger()
    preflight(config_dir)
    summary = RunSummary()
    replayed = replay_spool(prefix)
    if replayed.get("sent"):
        logger.info("replayed %s spooled documents", replayed["sent"])
    if do_crawl:
        for report in crawl(config_dir, sources):
            summary.crawled[report.source] = report.items
            summary.source_status[report.source] = report.status
    for report in process_pending(progress, process_workers):
        summary.processed += report["processed"]
        summary.rejected += report["rejected"]
    summary.indexed = index_pending(prefix, progress)
    outcome = detect_and_alert(config_dir, prefix, as_of or timeutil.now(), progress)
    summary.negative_share = outcome["negative_share"]
    summary.detections = outcome["detections"]
    summary.notifications = outcome["notifications"]
    summary.evidence_dirs = outcome["evidence_dirs"]
    summary.blind_brands = outcome["blind_brands"]
    delivery = deliver(config_dir)
    summary.delivered = delivery.get("delivered", 0)
    summary.failed_deliveries = delivery.get("failed", 0)
    return summary.to_dict()


def lookback(as_of: datetime, days: int) -> tuple[datetime, datetime]:
    return as_of - timedelta(days=days), as_of
