"""``koubei serve``: serve the scheduled deployments (flows/deployments.py) on this machine."""

from __future__ import annotations

import argparse

from koubei import paths
from koubei.flows import options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the scheduled deployments on this machine")
    parser.add_argument(
        "--config-dir",
        type=options.config_dir,
        default=paths.CONFIG_DIR,
        help="directory with sources.yaml (crawl schedules) and alerts.yaml (interval) "
        "(default $KOUBEI_CONFIG_DIR, else the shipped config/)",
    )
    parser.add_argument(
        "--list", action="store_true", help="print each deployment's schedule and exit"
    )
    parser.add_argument(
        "--prefect-yaml",
        action="store_true",
        help="print prefect.yaml for `prefect deploy` (the same deployments) and exit",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from koubei.flows import deployments as deps

    if args.prefect_yaml:
        print(deps.render_prefect_yaml(args.config_dir), end="")
        return 0
    if args.list:
        specs = deps.deployment_specs(args.config_dir)
        width = max(len(s.name) for s in specs)
        for spec in specs:
            params = " ".join(f"{k}={v}" for k, v in spec.parameters.items())
            print(
                f"{spec.name:<{width}}  {spec.cron:<14} {deps.TIMEZONE}  {spec.entrypoint}"
                + (f"  {params}" if params else "")
            )
        return 0
    from prefect import serve

    from koubei.flows.monitor import preflight

    # What every run of the deployments will need, checked once now: `koubei run` stopped on an
    # unset KOUBEI_WEBHOOK_URL, a bad aspects.yaml or Redis not answering for a shared crawl, but
    # `koubei serve` started on them and every scheduled run then failed with a traceback in its
    # log (the process run after processing and indexing), every tick, until someone looked.
    specs = deps.deployment_specs(args.config_dir)
    preflight(args.config_dir, crawling=any(spec.flow == "crawl_flow" for spec in specs))
    from koubei.flows.commands.alerts import warn_if_unheard

    warn_if_unheard(args.config_dir)
    from koubei.flows.prefect_server import temporary_server_ends_with_this_process

    temporary_server_ends_with_this_process()  # a SIGKILL of serve leaves no server running
    serve(*deps.build_deployments(args.config_dir, specs))
    return 0
