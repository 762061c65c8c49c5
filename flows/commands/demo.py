"""``koubei demo``: run the end-to-end demo on loopback and print where to look."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the end-to-end demo on loopback")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (drawn only when stderr is a terminal)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from koubei.flows.demo import format_summary, run_demo
    from koubei.flows.options import progress_bars

    summary = run_demo(progress=progress_bars(args.no_progress))
    print(format_summary(summary))
    return 0
