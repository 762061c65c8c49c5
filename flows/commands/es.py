"""``koubei es start|stop|status``: the local single-node Elasticsearch for the demo."""

from __future__ import annotations

import argparse
import json

from koubei.flows import options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("es", help="start/stop the local Elasticsearch node")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument(
        "--heap",
        type=options.heap_size,
        default="512m",
        help="JVM heap of a node it starts (default 512m)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from koubei import es_local

    node_file = es_local.node_file()
    node = es_local.LocalNode.load(node_file)
    if args.action == "start":
        from koubei import paths

        paths.state_dir("es")  # only here: KOUBEI_HOME that cannot hold it, before the node starts
        # A fixed data dir, so the demo's documents survive `koubei es stop` / `start`.
        print(es_local.ensure_node(node_file, heap=args.heap).url)
    elif args.action == "stop":
        if node:
            es_local.stop(node, remove_data=False)
            node_file.unlink(missing_ok=True)
            print("stopped")
        else:  # it said "stopped" here too: another KOUBEI_HOME's node, or a cluster, kept running
            print(f"no local node recorded in {node_file}: nothing stopped")
    else:
        print(json.dumps({"running": bool(node and node.alive()), "url": node and node.url}))
    return 0
