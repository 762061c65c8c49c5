"""``koubei process``: clean, de-duplicate, score and tag pending landing files."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("process", help="process landing files not yet processed")
    parser.add_argument("--source", help="only this source's landing files")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes for big files (see BENCHMARKS.md)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline import ledger
    from pipeline.process import process_file
    from pipeline.sentiment import load_model

    pending = ledger.pending_landing(args.source)
    if not pending:
        print("nothing to process")
        return 0
    model = load_model()
    for path in pending:
        report = process_file(
            path,
            ledger.processed_path(path),
            model=model,
            progress=not args.no_progress,
            workers=args.workers,
        )
        print(json.dumps(asdict(report), ensure_ascii=False))
    return 0
