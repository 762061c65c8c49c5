"""``koubei report daily|incident|serve``: the morning brief, incident pages, and serving them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from koubei import paths, timeutil
from koubei.errors import KoubeiError
from koubei.flows import options
from koubei.flows.commands.index import no_index


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="incident pages and the daily brief (HTML)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    daily = actions.add_parser("daily", help="write the daily brief of every configured brand")
    daily.add_argument(
        "--date",
        type=options.day,
        default=None,
        help="the day (YYYY-MM-DD, Asia/Shanghai; today at the latest); default: yesterday",
    )
    daily.set_defaults(func=run_daily)

    incident = actions.add_parser("incident", help="write one incident's page")
    incident.add_argument("id", type=options.row_id, help="incident id (koubei alerts status)")
    incident.set_defaults(func=run_incident)

    serve = actions.add_parser(
        "serve", help="serve the reports folder ($KOUBEI_REPORTS_DIR or $KOUBEI_HOME/reports)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=options.port, default=8780, help="port (default 8780)")
    serve.set_defaults(func=run_serve)

    # `serve` only publishes the folder: it reads no config and no index.
    for sub in (daily, incident):
        sub.add_argument(
            "--config-dir",
            type=options.config_dir,
            default=paths.CONFIG_DIR,
            help="directory with brands.yaml and alerts.yaml "
            "(default $KOUBEI_CONFIG_DIR, else the shipped config/)",
        )
        options.add_prefix(sub)


def _settings(args: argparse.Namespace) -> tuple[str, object, object]:
    """The index prefix, brands and alerts config: checked before any cluster is waited for
    (a bad ``KOUBEI_INDEX_PREFIX`` or config file is one line at once)."""
    from koubei import config
    from koubei.pipeline.index.client import index_prefix

    prefix = args.prefix or index_prefix()
    return prefix, config.load_brands(args.config_dir), config.load_alerts(args.config_dir)


def _cluster() -> object:
    from koubei.pipeline.index.client import check_cluster, client_from_env

    es = client_from_env()
    check_cluster(es)  # unreachable or refused: one line naming the URL, not a traceback
    return es


def _setup(args: argparse.Namespace) -> tuple[object, str, object, object]:
    prefix, brands, alerts = _settings(args)
    return _cluster(), prefix, brands, alerts


def run_daily(args: argparse.Namespace) -> int:
    from elasticsearch import NotFoundError

    from koubei.analysis.reports.gather import write_daily_brief
    from koubei.analysis.spread.daily import index_day

    now = timeutil.now()
    today = now.astimezone(timeutil.DEFAULT_TZ).date()
    day = args.date or today - timedelta(days=1)
    _check_day(day, today)
    es, prefix, brands, alerts = _setup(args)
    try:
        path = write_daily_brief(
            es,
            prefix,
            paths.state_dir("alerts") / "alerts.db",
            day,
            brands=brands,  # type: ignore[arg-type]
            kibana_url=alerts.kibana_url,  # type: ignore[attr-defined]
            reports_url=alerts.reports_url,  # type: ignore[attr-defined]
            now=now,
            progress=options.progress_bars(),
        )
    except NotFoundError:
        raise no_index(prefix) from None
    # As the koubei-daily-report deployment does: the day's spread documents for Kibana.
    spread = index_day(es, prefix, [b.name for b in brands.brands], day)  # type: ignore[attr-defined]
    for error in spread.errors:
        print(f"koubei report daily: spread document not indexed: {error}", file=sys.stderr)
    # A run for an earlier day leaves what a later day's run wrote: say how much, so a short
    # count of cascades written is not taken for cascades lost.
    kept = (
        f"; kept {spread.kept} newer cascade documents (a later day's run wrote them)"
        if spread.kept
        else ""
    )
    print(
        f"indexed {spread.written['accounts']} account and "
        f"{spread.written['cascades']} cascade documents; "
        f"set the cascade field of {spread.posts} posts, cleared it on {spread.cleared}{kept}"
    )
    # The brief's file and address last: scripts read the last two lines.
    print(f"{path}\n{_public_url(alerts, path)}")
    return 1 if spread.errors else 0


def _check_day(day: date, today: date) -> None:
    """A day the brief can be of: not one to come (an empty brief, exit 0, for a mistyped
    year; 9999-12-31 was an OverflowError traceback), nor one whose week before it is before
    the calendar's first day (0001-01-01 was one too)."""
    from koubei.analysis.reports.content import HISTORY_DAYS

    if day > today:
        raise KoubeiError(
            f"report daily: --date {day} is after today ({today} in Asia/Shanghai): "
            "a day to come has no posts"
        )
    earliest = date.min + timedelta(days=HISTORY_DAYS)
    if day < earliest:
        raise KoubeiError(
            f"report daily: --date {day} is before {earliest} (the brief compares the "
            f"{HISTORY_DAYS} days before it)"
        )


@contextmanager
def _damage_named(db_path: Path) -> Iterator[None]:
    """A damaged alerts database said as the alerts commands say it (the file and the row):
    sqlite's error alone did not say which file was damaged."""
    import sqlite3

    from koubei.analysis.alerts.db import DamagedRow, damage_error

    try:
        yield
    except (sqlite3.DatabaseError, DamagedRow) as exc:
        error = damage_error(db_path, exc)
        if error is None:
            raise
        raise error from None


def run_incident(args: argparse.Namespace) -> int:
    from elasticsearch import NotFoundError

    from koubei.analysis.alerts.db import existing_db_path
    from koubei.analysis.reports.gather import load_incident, write_incident_page

    db_path = existing_db_path()  # before the cluster: no database is no incident to wait for
    # The incident before the cluster too: with no node, an id that is not there was reported
    # as the node's error, sending the operator to start one for nothing.
    prefix, brands, alerts = _settings(args)
    with _damage_named(db_path):
        found = load_incident(db_path, args.id)
    if found is None:
        print(f"koubei report incident: no incident {args.id} in {db_path}", file=sys.stderr)
        return 1
    es = _cluster()
    try:
        with _damage_named(db_path):
            path = write_incident_page(
                es,
                prefix,
                db_path,
                args.id,
                brands=brands,  # type: ignore[arg-type]
                kibana_url=alerts.kibana_url,  # type: ignore[attr-defined]
                now=timeutil.now(),
                incident=found,
            )
    except NotFoundError:
        raise no_index(prefix) from None
    except LookupError as exc:
        print(f"koubei report incident: {exc}", file=sys.stderr)
        return 1
    print(f"{path}\n{_public_url(alerts, path)}")
    return 0


def _public_url(alerts: object, path: Path) -> str:
    from koubei.analysis.reports.render import reports_dir

    base = str(alerts.reports_url).rstrip("/")  # type: ignore[attr-defined]
    return f"{base}/{path.relative_to(reports_dir()).as_posix()}"


def run_serve(args: argparse.Namespace) -> int:
    from koubei.analysis.reports.render import reports_dir
    from koubei.analysis.reports.serve import serve_reports

    # The folder first: a KOUBEI_HOME that cannot be made was reported as "cannot listen".
    directory = reports_dir()
    try:
        server = serve_reports(host=args.host, port=args.port, directory=directory)
    except OSError as exc:  # the port is taken, privileged, or the address is not this machine's
        print(
            f"koubei report serve: cannot listen on {args.host}:{args.port}: "
            f"{exc.strerror or exc} (another server there? choose one with --port/--host)",
            file=sys.stderr,
        )
        return 1
    print(f"serving {server.directory} at {server.url} (Ctrl-C stops)", flush=True)
    try:
        server.thread.join()
    except KeyboardInterrupt:
        server.stop()
    return 0
