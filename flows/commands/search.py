"""``koubei search``: posts from the terminal — text, brand, platform, label, time range, and
the posts their site edited after koubei stored them (``--edited``)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from koubei.errors import KoubeiError
from koubei.flows import options
from koubei.flows.options import duration, end_time, iso_time


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = subparsers.add_parser("search", help="search indexed posts (top-N with highlights)")
    parser.add_argument("text", nargs="?", help="words or phrase to find (CJK matched as phrase)")
    parser.add_argument("--brand", help="a brand name from brands.yaml")
    parser.add_argument(
        "--platform", type=options.platform, help="a platform (spider) name, e.g. weibo, shop_json"
    )
    parser.add_argument("--label", choices=["positive", "neutral", "negative", "no_opinion"])
    parser.add_argument(
        "--edited",
        action="store_true",
        help="only posts their site edited after they were stored; --since/--start/--end then "
        "select the posts edited in that window (whenever first posted), latest edit first",
    )
    parser.add_argument("--since", type=duration, help="look back this long, e.g. 30m, 24h, 7d")
    parser.add_argument("--start", type=iso_time, help="ISO time (default timezone Asia/Shanghai)")
    parser.add_argument("--end", type=end_time, help="ISO time or a day, included (default now)")
    parser.add_argument(
        "-n", "--size", type=options.positive_int, default=10, help="posts to show (default 10)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON record per line (an edited post's edit time as edited_at)",
    )
    options.add_prefix(parser)
    parser.set_defaults(func=run)


def _time(value: str | datetime | None, parse: Callable[[str], datetime]) -> datetime | None:
    """An option's time: parsed by argparse already, or text (from callers other than the CLI)."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return parse(value) if value else None
    except argparse.ArgumentTypeError as exc:
        raise KoubeiError(str(exc)) from None


def time_range(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    from koubei.config import parse_duration
    from koubei.timeutil import now

    end = _time(args.end, end_time)
    start = _time(args.start, iso_time)
    if args.since and start is not None:
        # --since used to be dropped without a word when --start was given too.
        raise KoubeiError(f"--since {args.since} and --start {args.start}: give one of them")
    if args.since:
        start = (end or now()) - timedelta(seconds=parse_duration(args.since))
    if start is not None and end is not None and start >= end:
        # An empty range used to answer "0 post(s)", as if nothing had been said.
        raise KoubeiError(
            f"--start {start.isoformat()} is not before --end {end.isoformat()}: no post can match"
        )
    return start, end


def _refused(exc: Exception, size: int) -> str:
    """One line for a search Elasticsearch refused (the usual cause: ``-n`` over its window)."""
    text = str(exc)
    window = re.search(r"less than or equal to: \[(\d+)\]", text)
    if window:
        return (
            f"-n {size}: Elasticsearch returns at most {window.group(1)} posts per search "
            f"(index.max_result_window); ask for fewer or narrow the search"
        )
    return f"Elasticsearch refused the search: {text[:300]}"


def _check_brand(brand: str) -> None:
    """No post carries ``brand``: if brands.yaml does not know it either, it is likely a typo."""
    from koubei.config import ConfigError, check_brand

    try:
        check_brand(brand, also=" and no post carries it")
    except ConfigError:
        return  # nothing to compare with; zero posts is the answer


def one_line(text: str | None) -> str:
    """A post's text on one terminal line (``search``, ``spread``): an article's title and body,
    or a post's lines, were printed as they were, the lines after the first at the start of
    the next line, beneath the columns."""
    return " ".join((text or "").split())


def shown_time(value: object) -> str:
    """A stored time as China time to the minute (a foreign file may have stored it in UTC)."""
    from koubei.crawlers.timeparse import TimeParseError, parse_iso
    from koubei.timeutil import DEFAULT_TZ

    try:
        return parse_iso(value).astimezone(DEFAULT_TZ).strftime("%Y-%m-%d %H:%M")
    except (TimeParseError, TypeError, ValueError):
        return str(value)[:16]


def run(args: argparse.Namespace) -> int:
    from koubei.flows.commands.index import guarded

    return guarded(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from elasticsearch import BadRequestError, NotFoundError

    from koubei.flows.commands.index import no_index
    from koubei.pipeline.index.client import check_cluster, client_from_env, index_prefix
    from koubei.pipeline.index.post_reads import search_posts

    start, end = time_range(args)  # an impossible range needs no cluster to be refused
    prefix = args.prefix or index_prefix()  # nor a bad KOUBEI_INDEX_PREFIX
    es = client_from_env()
    check_cluster(es)
    try:
        hits = search_posts(
            es,
            prefix,
            text=args.text,
            brand=args.brand,
            platform=args.platform,
            label=args.label,
            start=start,
            end=end,
            size=args.size,
            edited=args.edited,
        )
    except BadRequestError as exc:
        raise KoubeiError(_refused(exc, args.size)) from None
    except NotFoundError:  # was a NotFoundError traceback, exit 1
        raise no_index(prefix) from None
    if not hits and args.brand:
        _check_brand(args.brand)
    for hit in hits:
        record = hit.record
        if args.json:
            # The index's name for the edit time, as Kibana shows it; absent when never edited.
            edit_time = {"edited_at": hit.edited_at} if hit.edited_at else {}
            line = {**record, **edit_time, "_highlights": hit.highlights}
            print(json.dumps(line, ensure_ascii=False))
            continue
        sentiment = record.get("sentiment") or {}
        engagement = record.get("engagement") or {}
        author = (record.get("author") or {}).get("name") or "?"
        text = " … ".join(hit.highlights) or (record.get("text_clean") or record["text_raw"])[:80]
        text = one_line(text)  # an article's title and body: one line under its post
        brands = ",".join(record.get("brands") or [])
        counts = f"likes {engagement.get('likes', 0)} reposts {engagement.get('reposts', 0)}"
        edited = f"  edited {shown_time(hit.edited_at)}" if hit.edited_at else ""
        print(
            f"{shown_time(record['created_at'])}  {record['platform']:<8} {brands:<10} "
            f"{sentiment.get('label', '-'):<8} {counts}  @{author}{edited}\n    {text}"
            f"\n    {record.get('url') or ''}"
        )
    if not args.json:
        print(f"-- {len(hits)} post(s)")
    return 0
