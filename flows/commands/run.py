"""``koubei run``: one monitoring cycle (crawl → process → index → detect → alert)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from koubei import paths
from koubei.flows.options import iso_time


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run one monitoring cycle as a Prefect flow")
    parser.add_argument("--config-dir", type=Path, default=paths.CONFIG_DIR)
    parser.add_argument("--source", action="append", help="only this source (repeatable)")
    parser.add_argument("--no-crawl", action="store_true", help="process landing files only")
    parser.add_argument("--as-of", type=iso_time, help="detection time (ISO)")
    parser.add_argument("--prefix", default=None, help="index prefix (KOUBEI_INDEX_PREFIX)")
    parser.add_argument("--dask", action="store_true", help="run tasks on a local Dask cluster")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from koubei.flows.monitor import monitor, preflight
    from koubei.pipeline.index.client import index_prefix

    preflight(args.config_dir)  # a missing variable or bad config: one line, before any work
    flow = monitor
    if args.dask:
        from prefect_dask import DaskTaskRunner

        flow = monitor.with_options(task_runner=DaskTaskRunner())  # type: ignore[arg-type]
    summary = flow(
        config_dir=args.config_dir,
        sources=args.source,
        prefix=args.prefix or index_prefix(),
        as_of=args.as_of,
        do_crawl=not args.no_crawl,
    )
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return 0
