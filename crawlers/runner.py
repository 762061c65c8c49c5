"""Run configured sources, one subprocess each, and report per source.

Prefect calls :func:`crawl_sources` on a schedule; Twisted's reactor cannot restart in one
process, so every source runs in ``python -m koubei.crawlers.run_one``. A subprocess that crashes or
times out still yields a report (status ``degraded``, or ``blocked`` if the last health says so)
and a health file, so a broken source is never silent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from koubei import paths
from koubei.config import BrandsConfig, Source
from koubei.crawlers.health import Health, Status, assess, stamp, write_health
from koubei.crawlers.pipelines.landing import landing_path
from koubei.errors import KoubeiError
from koubei.log import get_logger
from koubei.owned_folders import owned_temporary_directory, remove_orphaned

log = get_logger(__name__)
DEFAULT_TIMEOUT = 1800.0


@dataclass
class CrawlReport:
    """What one source's crawl produced; ``landing_file`` is None when nothing was landed."""

    source: str
    landing_file: Path | None
    items: int
    status: Status
    stats: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_health(cls, health: dict[str, Any]) -> CrawlReport:
        landing = health.get("landing_file")
        return cls(
            source=health["source"],
            landing_file=Path(landing) if landing else None,
            items=int(health.get("items", 0)),
            status=health["status"],
            stats={
                k: health.get(k)
                for k in (
                    "responses_by_status",
                    "errors",
                    "blocked",
                    "dropped",
                    "gone",
                    "gone_waiting",
                    "robots_waiting",
                    "feeds_dropped",
                    "edited",
                    "unchanged",
                    "relanded",
                    "off_brands",
                    "pages",
                    "entries",
                    "known",
                    "items_per_page",
                    "elapsed_s",
                    "cpu_s",
                    "reason",
                    "alert",
                    "run_id",
                )
            },
        )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def crawl_log_level(environ: Mapping[str, str]) -> str:
    """Scrapy's log level from ``KOUBEI_CRAWL_LOG_LEVEL`` (any case; default ``INFO``).

    Checked before any crawl starts: a level Python's logging does not know failed every
    crawl inside Scrapy ("crawler exited with 1", source degraded) with the reason only in
    the crawl's own log file.

    Raises
    ------
    KoubeiError
        Naming the variable, its value and the levels it takes.
    """
    value = environ.get("KOUBEI_CRAWL_LOG_LEVEL", "")
    level = value.strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise KoubeiError(
            f"KOUBEI_CRAWL_LOG_LEVEL={value!r}: not a log level; use one of "
            f"{', '.join(LOG_LEVELS)} (or unset it for INFO)"
        )
    return level


def crawl_sources(
    sources: list[Source],
    brands: BrandsConfig,
    *,
    run_id: str | None = None,
    settings: dict[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    parallel: int = 3,
) -> list[CrawlReport]:
    """Crawl each source once; returns one report per source, in the order given.

    Parameters
    ----------
    sources
        Entries of ``sources.yaml`` (disabled ones are crawled too: the caller filters).
    brands
        The brands config; each source tracks its ``brands`` or all.
    run_id
        Names the landing file ``$KOUBEI_HOME/landing/<source>/<run_id>.jsonl``; default a
        timestamp. Re-using a run id overwrites that run's file.
    settings
        Scrapy setting overrides (tests and benchmarks turn off AutoThrottle, shorten backoff).
    timeout
        Seconds before a source's subprocess is killed (its landing file is then not written).
    parallel
        Sources crawled at once, each in its own process (they mostly wait on the network;
        politeness limits are per source and domain, so this does not hammer any one site).

    Raises
    ------
    koubei.crawlers.distributed.RedisUnavailable
        ``KOUBEI_SCHEDULER=redis`` and Redis cannot be used (checked before any crawl starts).
    """
    from koubei.crawlers.distributed import check_shared_queue

    crawl_log_level(os.environ)
    check_shared_queue(settings or {})
    run_id = run_id or stamp()
    remove_orphaned(JOB_FOLDER_PREFIX)  # the job folders of a runner a SIGKILL ended
    if parallel <= 1 or len(sources) <= 1:
        return [_crawl_one(s, brands, run_id, settings or {}, timeout) for s in sources]
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="crawl") as pool:
        futures = [
            pool.submit(_crawl_one, s, brands, run_id, settings or {}, timeout) for s in sources
        ]
        try:
            return [f.result() for f in futures]
        except SystemExit:  # a SIGTERM of this process: its crawls stop as on theirs
            with _running_lock:
                running = list(_running)
            for proc in running:
                proc.terminate()
            raise


#: A crawl's job folder in the temporary folder (its job.json), named for the process that made
#: it (``koubei.owned_folders``): a SIGKILL of that process unwinds nothing, so the next crawl
#: removes the folders of runners that have certainly ended.
JOB_FOLDER_PREFIX = "koubei-crawl-"
#: The crawl subprocesses running, for a SIGTERM of this process to stop them.
_running: set[subprocess.Popen[bytes]] = set()
_running_lock = threading.Lock()
#: Seconds a crawl asked to stop has to land what it fetched before it is killed.
STOP_GRACE = 30.0


def _stopped(proc: subprocess.Popen[bytes], signal_it: bool) -> None:
    """Wait for a crawl to stop, as on a SIGTERM (sent unless ``signal_it`` is false); kill it
    after ``STOP_GRACE`` seconds."""
    if signal_it:
        proc.terminate()
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _crawl_one(
    source: Source, brands: BrandsConfig, run_id: str, settings: dict[str, Any], timeout: float
) -> CrawlReport:
    log_dir = paths.state_dir("logs") / "crawl" / source.name
    log_dir.mkdir(parents=True, exist_ok=True)
    worker = str(settings.get("KOUBEI_WORKER") or os.environ.get("KOUBEI_WORKER") or "")
    log_file = log_dir / (f"{run_id}.{worker}.log" if worker else f"{run_id}.log")
    with owned_temporary_directory(JOB_FOLDER_PREFIX) as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(
            json.dumps(
                {
                    "source": source.model_dump(mode="json"),
                    "brands": brands.model_dump(mode="json"),
                    "run_id": run_id,
                    "settings": settings,
                    # The crawl stops, as on a SIGTERM, once this process is gone (run_one).
                    "owner": os.getpid(),
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        env = {**os.environ, "KOUBEI_HOME": str(paths.home())}
        started_at = datetime.now(UTC).isoformat()
        error = ""
        with open(log_file, "w", encoding="utf-8") as log_handle:
            proc = subprocess.Popen(
                [sys.executable, "-m", "koubei.crawlers.run_one", str(job)],
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                env=env,
            )
            with _running_lock:
                _running.add(proc)
            # (not subprocess.run: on any exception in its wait, a Ctrl-C or a SIGTERM of this
            # process turned into SystemExit, it kills the crawl outright, and what it had
            # fetched was lost; here the crawl stops as on a SIGTERM, what it fetched lands)
            try:
                returncode = proc.wait(timeout=timeout)
                if returncode != 0:
                    error = f"crawler exited with {returncode}; see {log_file}"
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                error = f"crawler killed after {timeout:.0f}s; see {log_file}"
            except KeyboardInterrupt:
                # Ctrl-C reached the crawl too (a terminal signals the whole process group),
                # and it is stopping; a second signal would make Scrapy stop uncleanly
                _stopped(proc, signal_it=False)
                raise
            except BaseException:
                _stopped(proc, signal_it=True)
                raise
            finally:
                with _running_lock:
                    _running.discard(proc)
        result = job.with_name(job.name + ".result")
        if not error and result.exists():
            report = CrawlReport.from_health(json.loads(result.read_text(encoding="utf-8")))
        else:
            health = _failed_health(
                source, run_id, worker, error or "no result written", started_at
            )
            report = CrawlReport.from_health(health.to_dict())
    log.info(
        "crawl finished",
        source=source.name,
        status=report.status,
        items=report.items,
        landing=str(report.landing_file),
        log=str(log_file),
    )
    return report


def _failed_health(
    source: Source, run_id: str, worker: str, reason: str, started_at: str
) -> Health:
    health = assess(source.name, source.platform, run_id, {"koubei/errors/crawler_failed": 1})
    health.worker = worker
    health.started_at = started_at
    health.status = "degraded"
    health.reason = reason
    health.landing_file = None
    write_health(health)
    return health


__all__ = ["CrawlReport", "crawl_sources", "landing_path"]
