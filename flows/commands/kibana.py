"""``koubei kibana import|check|link``: saved objects and Discover deep links."""

from __future__ import annotations

import argparse
import os

from koubei.flows import options
from koubei.flows.options import duration, end_time, iso_time


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = subparsers.add_parser("kibana", help="import saved objects, check them, deep links")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="POST config/kibana/*.ndjson to Kibana")
    imp.add_argument(
        "--url", type=options.kibana_url, help="Kibana URL (default kibana_url in alerts.yaml)"
    )
    actions.add_parser("check", help="check saved-object fields against the live mapping")
    link = actions.add_parser("link", help="print a Discover link for a brand/label/time range")
    link.add_argument(
        "--url", type=options.kibana_url, help="Kibana URL (default kibana_url in alerts.yaml)"
    )
    link.add_argument("--brand", help="a brand name from brands.yaml")
    link.add_argument(
        "--platform", type=options.platform, help="a platform (spider) name, e.g. weibo"
    )
    link.add_argument("--label", choices=["positive", "neutral", "negative", "no_opinion"])
    link.add_argument(
        "--since", type=duration, help="look back this long (default 24h unless --start)"
    )
    link.add_argument("--start", type=iso_time, help="ISO time (default timezone Asia/Shanghai)")
    link.add_argument("--end", type=end_time, help="ISO time or a day, included (default now)")
    for sub in actions.choices.values():
        options.add_prefix(sub)
    parser.set_defaults(func=run)


def _kibana_url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url)
    from koubei.config import load_alerts

    return load_alerts().kibana_url


def run(args: argparse.Namespace) -> int:
    from koubei.flows.commands.index import guarded

    return guarded(lambda: _run(args))


def _configured_brands() -> list[str]:
    """Every brand of brands.yaml and every competitor named there, in file order."""
    from koubei import config

    names: list[str] = []
    for brand in config.load_brands().brands:
        for name in (brand.name, *brand.competitors):
            if name not in names:
                names.append(name)
    return names


def _run(args: argparse.Namespace) -> int:
    import httpx

    from koubei.errors import KoubeiError
    from koubei.pipeline.index import kibana
    from koubei.pipeline.index.client import index_prefix

    prefix = args.prefix or index_prefix()
    if args.action == "import":
        auth = None
        if os.environ.get("KOUBEI_KIBANA_USERNAME"):
            auth = (
                os.environ["KOUBEI_KIBANA_USERNAME"],
                os.environ.get("KOUBEI_KIBANA_PASSWORD", ""),
            )
        try:
            result = kibana.import_objects(
                _kibana_url(args),
                prefix=prefix,
                api_key=os.environ.get("KOUBEI_KIBANA_API_KEY"),
                basic_auth=auth,
                brands=_configured_brands(),
            )
        except httpx.HTTPError as exc:
            # A wrong URL or a Kibana that is down: one line naming the URL, not a traceback
            # (the CLI prints a KoubeiError as every other error, redacted, exit 2).
            raise KoubeiError(f"cannot import into Kibana at {_kibana_url(args)}: {exc}") from None
        except (RuntimeError, OSError) as exc:
            raise KoubeiError(str(exc)) from None
        print(f"imported {result.get('successCount', 0)} saved object(s)")
        return 0
    if args.action == "link":
        from koubei.flows.commands.search import time_range
        from koubei.pipeline.index.queries import discover_url, kql
        from koubei.timeutil import now

        if not args.start and not args.since:
            args.since = "24h"
        start, end = time_range(args)
        end = end or now()
        query = kql(brand=args.brand, label=args.label, platform=args.platform)
        print(discover_url(_kibana_url(args), query=query, start=start or end, end=end))
        return 0
    return _check(prefix)


def _check(prefix: str) -> int:
    from koubei.pipeline.index import kibana
    from koubei.pipeline.index.client import check_cluster, client_from_env
    from koubei.pipeline.index.templates import ensure_templates

    es = client_from_env()
    check_cluster(es)
    ensure_templates(es, prefix)
    objects = kibana.load_objects(prefix=prefix)
    views = {}
    # Every data view the files hold (posts, alerts, accounts, cascades): one left out here was
    # reported as "no mapping known" instead of checked.
    for view, target in kibana.data_view_targets(objects).items():
        # A title no index matches leaves the view with no fields: each one it uses is reported.
        mappings = es.indices.get_mapping(index=target, ignore_unavailable=True)
        flat: dict[str, str] = {}
        for mapping in mappings.values():
            flat.update(kibana.flatten_mapping(mapping["mappings"].get("properties", {})))
        views[view] = flat
    problems = kibana.check_objects(objects, views)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0
