"""``koubei es start|stop|status``: the local single-node Elasticsearch for the demo."""

from __future__ import annotations

import argparse
import json

from koubei import paths

NODE_FILE = "es-node.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("es", help="start/stop the local Elasticsearch node")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--heap", default="512m")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from koubei import es_local

    node_file = paths.state_dir("es") / NODE_FILE
    node = es_local.LocalNode.load(node_file)
    if args.action == "start":
        if node and node.alive():
            print(node.url)
            return 0
        # A fixed data dir, so the demo's documents survive `koubei es stop` / `start`.
        node = es_local.start(heap=args.heap, workdir=es_local.base_dir() / "koubei-node")
        node.save(node_file)
        print(node.url)
    elif args.action == "stop":
        if node:
            es_local.stop(node, remove_data=False)
            node_file.unlink(missing_ok=True)
        print("stopped")
    else:
        print(json.dumps({"running": bool(node and node.alive()), "url": node and node.url}))
    return 0
