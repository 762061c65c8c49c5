"""``koubei run``: one monitoring cycle (crawl → process → index → detect → alert)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from koubei import paths
from koubei.flows import options
from koubei.flows.options import iso_time


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run one monitoring cycle as a Prefect flow")
    parser.add_argument(
        "--config-dir",
        type=options.config_dir,
        default=paths.CONFIG_DIR,
        help="directory with brands.yaml, sources.yaml, alerts.yaml "
        "(default $KOUBEI_CONFIG_DIR, else the shipped config/)",
    )
    parser.add_argument(
        "--source",
        action="append",
        help="crawl only this source (repeatable; default every enabled one); processing "
        "still takes every pending landing file",
    )
    parser.add_argument("--no-crawl", action="store_true", help="process landing files only")
    parser.add_argument("--as-of", type=iso_time, help="detection time (ISO)")
    options.add_prefix(parser)
    parser.add_argument(
        "--dask",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="process on Dask: a LocalCluster, or the scheduler at ADDRESS (tcp://host:8786)",
    )
    parser.add_argument(
        "--workers",
        type=options.positive_int,
        help="processing processes (default one per core); with --dask and no ADDRESS, the "
        "LocalCluster's workers (default 2)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from koubei.flows.monitor import monitor, preflight
    from koubei.flows.outcome import run_summary
    from koubei.pipeline.index.client import index_prefix

    # a missing variable, bad config or unknown --source: one line, before any work
    preflight(args.config_dir, args.source, crawling=not args.no_crawl, dask=args.dask)
    from koubei.flows.commands.alerts import warn_if_unheard

    warn_if_unheard(args.config_dir)
    if args.dask and args.dask != "local":
        from koubei.flows.dask_process import check_scheduler

        check_scheduler(args.dask)
    from koubei.stopping import sigterm_unwinds

    # A SIGTERM (a plain `kill`, `timeout`, a service manager) ends the run as Ctrl-C does, so
    # that what Prefect started for it stops too: the process died at once and left the
    # temporary Prefect server it had started (no PREFECT_API_URL) running for ever.
    with sigterm_unwinds():
        from koubei.flows.prefect_server import temporary_server_ends_with_this_process

        temporary_server_ends_with_this_process()  # and a SIGKILL leaves no server running
        state = monitor(
            config_dir=args.config_dir,
            sources=args.source,
            prefix=args.prefix or index_prefix(),
            as_of=args.as_of,
            do_crawl=not args.no_crawl,
            process_workers=args.workers,
            dask=args.dask,
            progress=options.progress_bars(),
            return_state=True,
        )
    result = run_summary(state)
    notices: list[str] = []
    if isinstance(result, dict):
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        notices = _notices(result)
    # As `koubei index load` does: a cycle that sent documents to Elasticsearch and did not
    # index them all is no clean run, whether they were dead-lettered (refused for good) or
    # spooled (the node gone mid-run: nothing lost, but not indexed). It exited 0 for either
    # (the figures only in the summary), so a script took a partial cycle for a whole one.
    for line in notices:
        print(line, file=sys.stderr)
    if state.is_completed():
        return 1 if notices else 0
    # One line, no traceback: the summary above says what did get done.
    reason = state.message or (f"{type(result).__name__}: {result}" if result else state.name)
    print(f"run failed: {reason}", file=sys.stderr)
    return 1


def _notices(result: dict[str, Any]) -> list[str]:
    """The dead-letter and spool lines of a run's summary (``koubei index load``'s wording)."""
    from koubei.flows.outcome import RunSummary

    fields = {k: v for k, v in result.items() if k in RunSummary.__dataclass_fields__}
    return RunSummary(**fields).notices("koubei run")
