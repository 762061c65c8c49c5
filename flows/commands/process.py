"""``koubei process``: clean, de-duplicate, score and tag pending landing files."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from koubei.flows import options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("process", help="process landing files not yet processed")
    parser.add_argument("--source", help="only this source's landing files")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (drawn only when stderr is a terminal)",
    )
    parser.add_argument(
        "--config-dir",
        type=options.config_dir,
        default=None,
        help="directory with sources.yaml, whose sources may name their own sentiment_model, "
        "and aspects.yaml, the aspect lexicon (the shipped one if it has none) "
        "(default $KOUBEI_CONFIG_DIR, else the shipped config/)",
    )
    parser.add_argument(
        "--workers",
        type=options.positive_int,
        default=None,
        help="processes sharing big files (default: one per core; see BENCHMARKS.md)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from koubei.flows.locks import PIPELINE_LOCK, stage_lock
    from koubei.pipeline import ledger

    if args.source and not ledger.landing_files(args.source):
        # a typo in --source is not "nothing to do": say which sources have landed files
        landed = sorted({path.parent.name for path in ledger.landing_files()})
        from koubei.errors import KoubeiError

        raise KoubeiError(
            f"no landing files for source {args.source!r}; "
            f"sources with landing files: {', '.join(landed) or 'none yet'}"
        )
    # The flows' cycle (``koubei run``, ``koubei serve``) or another ``koubei process`` may be
    # at work on the same files: wait for it, then take what it left pending. Without the lock
    # both processed every pending file, racing on the dedup state.
    with stage_lock(PIPELINE_LOCK):
        return _process(args)


def _process(args: argparse.Namespace) -> int:
    from koubei import config
    from koubei.pipeline import ledger
    from koubei.pipeline.aspects import aspects_file, load_aspects
    from koubei.pipeline.process import process_pending_files

    for stray in ledger.stray_landing():
        print(f"koubei: warning: {ledger.stray_warning(stray)}", file=sys.stderr)
    pending = ledger.pending_landing(args.source)
    if not pending:
        print("nothing to process")
        return 0
    progress = options.progress_bars(args.no_progress)
    files = unreadable = processed = rejected = 0
    batch_failures: list[str] = []
    models = config.load_sources(args.config_dir).sentiment_models()
    lexicon = load_aspects(aspects_file(args.config_dir))
    reports = process_pending_files(
        pending, lexicon=lexicon, workers=args.workers, progress=progress, models=models
    )
    for report in reports:
        print(json.dumps(asdict(report), ensure_ascii=False), flush=True)
        files += 1
        processed += report.processed
        rejected += report.rejected
        if report.error:
            # A failed batch is no unreadable file: its file was read, and the operator looks
            # for why the batch failed (a record that crashes it, a model that cannot load).
            why = "its batch failed" if report.batch_failed else "unreadable"
            print(
                f"koubei: error: landing file left pending, {why}: {report.error}", file=sys.stderr
            )
            if report.batch_failed:
                batch_failures.append(report.error)
            else:
                unreadable += 1
    # One line an operator can check: every line read is either processed or set aside.
    failed = len(batch_failures)
    why = f": {batch_failures[0]}" if failed else ""
    if failed > 1:
        why += f" (and {failed - 1} more, each named above)"
    print(
        f"koubei process: {files} file(s), {processed + rejected} line(s) read: "
        f"{processed} processed, {rejected} rejected (in rejected/); "
        f"{unreadable} file(s) unreadable, {failed} file(s) whose batch failed (left pending)"
        f"{why}",
        file=sys.stderr,
    )
    return 1 if unreadable or failed else 0
