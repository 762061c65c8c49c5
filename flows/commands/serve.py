"""``koubei serve``: serve the scheduled monitoring deployments (one per source)."""

from __future__ import annotations

import argparse
from pathlib import Path

from koubei import paths


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run scheduled monitoring deployments")
    parser.add_argument("--config-dir", type=Path, default=paths.CONFIG_DIR)
    parser.add_argument("--list", action="store_true", help="print the deployments and exit")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from prefect import serve

    from koubei.flows.deployments import build_deployments
    from koubei.pipeline.index.client import index_prefix

    deployments = build_deployments(args.config_dir, prefix=index_prefix())
    if args.list:
        for deployment in deployments:
            print(f"{deployment.name}\t{deployment.parameters['sources'][0]}")
        return 0
    serve(*deployments)
    return 0
