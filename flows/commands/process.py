"""``koubei process``: clean, de-duplicate, score and tag pending landing files."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("process", help="process landing files not yet processed")
    parser.add_argument("--source", help="only this source's landing files")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes sharing big files (default: one per core; see BENCHMARKS.md)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline import ledger
    from pipeline.enrich import Enricher, default_workers, prewarm
    from pipeline.process import process_file
    from pipeline.sentiment import load_model

    if args.workers is not None and args.workers < 1:
        print(f"--workers must be at least 1, not {args.workers}", file=sys.stderr)
        return 2
    pending = ledger.pending_landing(args.source)
    if not pending:
        print("nothing to process")
        return 0
    workers = args.workers or default_workers()
    if workers > 1:
        prewarm(sum(path.stat().st_size for path in pending))  # overlaps reading the files
    model = load_model()
    # One enricher for all pending files, so helper processes start at most once.
    with Enricher(model, workers=workers) as enricher:
        for path in pending:
            report = process_file(
                path,
                ledger.processed_path(path),
                model=model,
                progress=not args.no_progress,
                enricher=enricher,
            )
            print(json.dumps(asdict(report), ensure_ascii=False))
    return 0
