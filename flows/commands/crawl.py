"""``koubei crawl SOURCE ...`` / ``koubei crawl --all``: run configured sources once."""

from __future__ import annotations

import argparse
import json
import re

from koubei.flows import options


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = subparsers.add_parser("crawl", help="crawl configured sources into landing files")
    parser.add_argument("sources", nargs="*", metavar="SOURCE", help="source names")
    parser.add_argument("--all", action="store_true", help="every enabled source")
    parser.add_argument("--list", action="store_true", help="list sources and spiders")
    parser.add_argument(
        "--config-dir",
        type=options.config_dir,
        default=None,
        help="directory with sources.yaml, and brands.yaml if it has one "
        "(default $KOUBEI_CONFIG_DIR, else the shipped config/)",
    )
    parser.add_argument(
        "--run-id",
        type=run_id,
        default=None,
        help="landing file name (default: a timestamp); the same for every worker of a "
        "distributed crawl (crawlers/README.md)",
    )
    parser.set_defaults(func=run)


def run_id(value: str) -> str:
    """A plain file name: ``a/b`` would land in ``landing/<source>/a/``, where no stage looks."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a file name (letters, digits, '_', '.', '-'; not first '.')"
        )
    return value


def run(args: argparse.Namespace) -> int:
    from koubei import config, paths
    from koubei.crawlers.runner import crawl_sources
    from koubei.crawlers.spiders import spider_classes

    config_dir = args.config_dir
    sources = config.load_sources(config_dir)
    brands_dir = config_dir if config_dir and (config_dir / "brands.yaml").exists() else None
    brands = config.load_brands(brands_dir or paths.CONFIG_DIR)
    config.check_tracked_brands(sources, brands, (config_dir or paths.CONFIG_DIR) / "sources.yaml")
    spiders = spider_classes()
    if args.list:
        for source in sources.sources:
            print(f"{source.name}\t{source.platform}\t{'enabled' if source.enabled else 'off'}")
        print("spiders: " + ", ".join(sorted(spiders)))
        return 0
    from koubei.errors import KoubeiError

    if args.all:
        chosen = [s for s in sources.sources if s.enabled]
    elif args.sources:
        # a name on the command line that sources.yaml lacks is the argument's mistake, not the
        # config's: said as other argument mistakes are (`koubei: error:`), every one at once
        unknown = [name for name in args.sources if name not in sources.names()]
        if unknown:
            where = (config_dir or paths.CONFIG_DIR) / "sources.yaml"
            raise KoubeiError(
                f"unknown source{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))}; "
                f"{where} has: {', '.join(sources.names())}"
            )
        chosen = [sources.get(name) for name in args.sources]
    else:
        raise KoubeiError("crawl: name a SOURCE or use --all (see --list)")
    unknown = [s.platform for s in chosen if s.platform not in spiders]
    if unknown:
        raise config.ConfigError(
            f"sources.yaml: platform(s) {unknown} have no spider; known: {sorted(spiders)}"
        )
    if args.run_id:
        _check_unused(args.run_id, [s.name for s in chosen])
    reports = crawl_sources(chosen, brands, run_id=args.run_id)
    for report in reports:
        print(
            json.dumps(
                {
                    "source": report.source,
                    "status": report.status,
                    "items": report.items,
                    "landing_file": str(report.landing_file),
                    **report.stats,
                },
                ensure_ascii=False,
            )
        )
    return 0 if all(r.status in ("ok", "empty") for r in reports) else 1


def _check_unused(run: str, sources: list[str]) -> None:
    """A run id used before would replace its landing file, which the ledger may already count
    as processed: the new records would never be processed. (Distributed workers share a run id;
    each has its own file, named by ``KOUBEI_WORKER``.)"""
    import os

    from koubei.crawlers.pipelines.landing import landing_path
    from koubei.errors import KoubeiError
    from koubei.pipeline import ledger

    worker = os.environ.get("KOUBEI_WORKER", "")
    for source in sources:
        path = landing_path(source, run, worker)
        # the same run compressed (``.jsonl.gz``), or its processed twin (the landing file
        # archived since) would mark the new file done as well
        taken = (path, path.with_name(path.name + ".gz"), ledger.processed_path(path))
        for used in taken:
            if used.exists():
                raise KoubeiError(f"--run-id {run!r}: {used} exists already; choose another run id")
