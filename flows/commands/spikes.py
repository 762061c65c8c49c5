"""``koubei spikes detect FILE.csv``: run the spike detectors over a ``timestamp,value`` series.

Contract (other tools call it; keep it stable): the CSV has ``timestamp,value`` rows at a fixed
interval (a header row is optional); one JSON object per alert is printed to stdout, in time
order, with at least ``timestamp`` (the input's timestamp of the bin at which the alert fires)
and ``severity`` (info|warning|critical). One alert per episode, at its onset. The default
detector configuration is used unless ``--config DIR`` names a directory with an
``alerts.yaml`` that lists detectors.

``koubei spikes evaluate`` scores the detectors against the window-ratio rule on generated
labelled series (see ``python -m bench spikes`` for the full comparison).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("spikes", help="spike detection over count series")
    actions = parser.add_subparsers(dest="spikes_action", required=True, metavar="ACTION")
    detect = actions.add_parser("detect", help="print one JSON alert per episode of FILE.csv")
    detect.add_argument("file", type=Path, help="CSV with timestamp,value at a fixed interval")
    detect.add_argument(
        "--config", type=Path, default=None, help="directory with alerts.yaml (default: built-in)"
    )
    detect.add_argument("--key", default="", help="series key to put in the alerts")
    detect.set_defaults(func=run_detect)
    evaluate = actions.add_parser("evaluate", help="recall / false alerts on generated series")
    evaluate.add_argument("--series", type=int, default=20)
    evaluate.add_argument("--days", type=int, default=30)
    evaluate.add_argument("--seed", type=int, default=7)
    evaluate.set_defaults(func=run_evaluate)


def run_detect(args: argparse.Namespace) -> int:
    from koubei.analysis.detectors import build_detectors, default_detectors, detect_all, read_csv
    from koubei.config import load_alerts

    detectors = default_detectors()
    if args.config is not None:
        configured = build_detectors(load_alerts(args.config))
        detectors = configured or detectors
    try:
        data = read_csv(args.file, key=args.key or args.file.stem)
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    index = {ts: i for i, ts in enumerate(data.series.start)}
    for detection in detect_all(detectors, data.series):
        record = detection.to_dict()
        record["timestamp_iso"] = record["timestamp"]
        label = data.labels[index[detection.timestamp]]
        record["timestamp"] = label or record["timestamp"]
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from koubei.analysis.detectors import REGISTRY, default_detectors
    from koubei.analysis.detectors.evaluate import evaluate
    from koubei.analysis.detectors.synthetic import generate_many

    data = generate_many(args.series, seed=args.seed, days=args.days)
    results = {
        "default": evaluate(default_detectors(), data).summary(),
        "default_volume_only": evaluate(default_detectors(), data, volume_only=True).summary(),
        "window_ratio": evaluate(REGISTRY["window_ratio"](), data).summary(),
    }
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0
