"""``koubei alerts status|deliver|silence|unsilence|test|retry-failed``: the alert outbox by hand.

``status`` shows open incidents, the outbox (pending and failed deliveries) and running
silences; ``deliver`` sends what is due (a flow calls the same function every interval);
``silence`` adds a silence with matchers and a duration; ``test`` sends a test message through
one configured channel right away.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from koubei.errors import KoubeiError
from koubei.flows import options

# The "brand" of an operational incident: a source's (flows/detect.py) or a failed run's
# (flows/outcome.py) series; silenced like a brand.
OPERATIONAL = ("source:", "run:")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("alerts", help="alert incidents, outbox, silences, channels")
    actions = parser.add_subparsers(dest="alerts_action", required=True, metavar="ACTION")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text)
        sub.add_argument(
            "--db", type=Path, help="alerts database (default $KOUBEI_HOME/alerts/alerts.db)"
        )
        sub.add_argument("--json", action="store_true", help="machine-readable output")
        return sub

    add("status", "open incidents, outbox and failed deliveries, silences").set_defaults(
        func=status
    )
    deliver_parser = add("deliver", "send every due notification in the outbox")
    deliver_parser.set_defaults(func=deliver)
    add("retry-failed", "give failed deliveries a fresh set of attempts").set_defaults(
        func=retry_failed
    )
    silence = add("silence", "suppress notifications matching a brand and/or matchers")
    silence.add_argument("--brand", help="shorthand for --matcher brand=BRAND")
    silence.add_argument("--duration", required=True, help="e.g. 30m, 2h, 1d")
    silence.add_argument(
        "--matcher", action="append", default=[], help="name=value, name!=value, name=~regex"
    )
    silence.add_argument("--comment", default="", help="why, shown with the silence")
    silence.set_defaults(func=add_silence)
    unsilence = add("unsilence", "end a silence now")
    unsilence.add_argument("id", type=options.row_id)
    unsilence.set_defaults(func=end_silence)
    test = add("test", "send a test notification through one channel now")
    test.add_argument("--channel", required=True, help="a channel name from alerts.yaml")
    test.set_defaults(func=send_test)
    for sub in actions.choices.values():
        sub.set_defaults(func=_damage_named(sub.get_default("func")))
    # The channels to send through are the ones the cycle that queued the notification used.
    for sub in (deliver_parser, test):
        sub.add_argument(
            "--config-dir",
            type=options.config_dir,
            default=None,
            help="directory with alerts.yaml (default $KOUBEI_CONFIG_DIR, else shipped config/)",
        )


def _damage_named(action: Any) -> Any:
    """``action`` with a damaged alerts database as one line naming it, exit 2 (was a sqlite3
    or JSON traceback). :func:`koubei.analysis.alerts.db.connect` names a file that is no
    database at all; damage it cannot see on opening surfaces later, in a read or a write:
    pages a disk or a copy cut short (``database disk image is malformed``), a text value whose
    bytes are no longer UTF-8, a row whose values koubei never wrote (:class:`DamagedRow`)
    (found by session 37's fuzzing of the alerts commands with damaged copies of a database)."""

    def guarded(args: argparse.Namespace) -> int:
        import sqlite3

        from koubei.analysis.alerts.db import DamagedRow

        try:
            return int(action(args))
        except (sqlite3.DatabaseError, DamagedRow) as exc:
            from koubei.analysis.alerts.db import damage_error, default_db_path

            error = damage_error(Path(args.db) if args.db else default_db_path(), exc)
            if error is None:
                raise  # locked past the timeout, a full disk, I/O: the machine's, no damage
            raise error from None

    return guarded


def _db(args: argparse.Namespace) -> Path:
    from koubei.analysis.alerts.db import default_db_path

    if not args.db:
        return default_db_path()  # created on first use, as a cycle does
    path = Path(args.db)
    if not path.exists():
        # A misspelt --db made a new empty database: "open incidents: 0", or a silence that
        # no flow reads.
        raise KoubeiError(
            f"{path}: no alerts database there; --db names the one a cycle keeps "
            f"(default {default_db_path()})"
        )
    return path


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else text)


def status(args: argparse.Namespace) -> int:
    from koubei.analysis.alerts.incidents import IncidentStore
    from koubei.analysis.alerts.outbox import counts, notifications
    from koubei.analysis.alerts.payload import iso
    from koubei.analysis.alerts.silences import list_silences

    db_path = _db(args)
    store = IncidentStore(db_path)
    incidents = [i.as_dict(interval_seconds=store.interval_seconds) for i in store.open_incidents()]
    pending = notifications(db_path, status="pending")
    failed = notifications(db_path, status="failed")
    # Sent, then re-sent marked （重发） after a timeout, and that timed out too: may be there
    # twice, may be missing; `retry-failed` does not touch them.
    unconfirmed = notifications(db_path, status="unconfirmed")

    def row(n: Any) -> dict[str, Any]:
        return {
            "channel": n.channel,
            "kind": n.kind,
            "brand": n.payload.get("brand"),
            "incident": n.incident_key,
            "attempts": n.attempts,
            "last_error": n.last_error,
            "next_attempt_at": iso(n.next_attempt_at) if n.status == "pending" else None,
            "idempotency_key": n.idempotency_key,
        }

    data: dict[str, Any] = {
        "open_incidents": [{k: v for k, v in i.items() if k != "detections"} for i in incidents],
        "outbox": counts(db_path),
        "pending": [row(n) for n in pending],
        "failed": [row(n) for n in failed],
        "unconfirmed": [row(n) for n in unconfirmed],
        "silences": [s.describe() for s in list_silences(db_path)],
    }
    lines = [f"open incidents: {len(incidents)}"]
    lines += [
        # The id first, as a silence's: `koubei report incident ID` takes it (was in --json only).
        f"  #{i['id']} {i['brand']} [{i['group']}] {i['severity']} since {i['started_at']} "
        f"key={i['dedup_key']} channels={','.join(i['notified_channels']) or '-'}"
        for i in incidents
    ]
    lines.append(f"outbox: {json.dumps(data['outbox'])}")
    for title, rows in (
        ("pending", data["pending"]),
        ("failed deliveries", data["failed"]),
        ("unconfirmed (re-sent once, outcome unknown)", data["unconfirmed"]),
    ):
        lines.append(f"{title}: {len(rows)}")
        lines += [
            f"  {r['channel']} {r['kind']} {r['brand']} attempts={r['attempts']} "
            + (f"next={r['next_attempt_at']} " if r["next_attempt_at"] else "")
            + f"error={r['last_error'] or '-'}"
            for r in rows
        ]
    lines.append(f"silences: {len(data['silences'])}")
    lines += [
        f"  #{s['id']} {' '.join(s['matchers'])} until {s['ends_at']}" for s in data["silences"]
    ]
    _print(args, data, "\n".join(lines))
    return 0


def warn_if_unheard(config_dir: Path | None) -> None:
    """A warning on stderr when alerts.yaml enables no channel (``koubei run``, ``serve`` and
    ``alerts deliver``, at start): incidents were recorded and nobody told, without a word."""
    from koubei import paths
    from koubei.config import load_alerts

    path = (config_dir or paths.CONFIG_DIR) / "alerts.yaml"
    why = load_alerts(path.parent).unheard()
    if why:
        print(f"koubei: warning: {path} {why}", file=sys.stderr)


def deliver(args: argparse.Namespace) -> int:
    from koubei import paths
    from koubei.analysis.alerts.channels import build_channels
    from koubei.analysis.alerts.delivery import deliver_pending
    from koubei.config import load_alerts

    config_dir = args.config_dir or paths.CONFIG_DIR
    config = load_alerts(config_dir)
    warn_if_unheard(config_dir)
    channels = build_channels(config, config_dir / "alerts.yaml")
    report = deliver_pending(_db(args), channels)
    _print(args, report.as_dict(), " ".join(f"{k}={v}" for k, v in report.as_dict().items()))
    return 1 if report.failed else 0


def retry_failed(args: argparse.Namespace) -> int:
    from koubei.analysis.alerts.outbox import retry_failed as retry

    count = retry(_db(args))
    _print(args, {"requeued": count}, f"requeued {count} failed deliveries")
    return 0


def add_silence(args: argparse.Namespace) -> int:
    from koubei.analysis.alerts.silences import Matcher
    from koubei.analysis.alerts.silences import add_silence as add
    from koubei.config import check_brand, parse_duration

    try:
        matchers = [Matcher.parse(m) for m in args.matcher]
        seconds = parse_duration(args.duration)
    except ValueError as exc:  # a matcher or duration that is no such thing: the user's input
        raise KoubeiError(f"alerts silence: {exc}") from None
    # A typo silenced nothing, said nothing and exited 0 (and after != every brand): a brand
    # (--brand B, or --matcher brand=B or brand!=B) is checked as `search --brand` checks it
    # (an operational incident's "brand" is its series).
    brands = [("--brand", args.brand)] if args.brand else []
    brands += [
        (f"--matcher brand{m.op}", m.value)
        for m in matchers
        if m.name == "brand" and m.op in ("=", "!=")
    ]
    for option, brand in brands:
        if not brand.startswith(OPERATIONAL):
            also = "; an operational incident's is source:NAME or run:FLOW"
            check_brand(brand, option=option, also=also)
    if args.brand:
        matchers.insert(0, Matcher("brand", "=", args.brand))
    if not matchers:
        raise KoubeiError("alerts silence: give --brand and/or --matcher")
    db = _db(args)
    try:
        silence = add(db, matchers, duration_seconds=seconds, comment=args.comment)
    except ValueError as exc:  # '0s': "a silence needs a positive duration" (was a traceback)
        raise KoubeiError(f"alerts silence: --duration {args.duration!r}: {exc}") from None
    info = silence.describe()
    _print(
        args, info, f"silence #{info['id']} {' '.join(info['matchers'])} until {info['ends_at']}"
    )
    return 0


def end_silence(args: argparse.Namespace) -> int:
    from koubei.analysis.alerts.silences import expire_silence

    ended = expire_silence(_db(args), args.id)
    if not ended and not args.json:
        print(
            f"alerts unsilence: no running silence #{args.id} (`koubei alerts status` lists "
            "them; an ended or expired one needs no unsilence)",
            file=sys.stderr,
        )
        return 1
    _print(args, {"id": args.id, "ended": ended}, f"silence #{args.id} ended")
    return 0 if ended else 1


def send_test(args: argparse.Namespace) -> int:
    from koubei import paths
    from koubei.analysis.alerts.channels import build_channels
    from koubei.analysis.alerts.delivery import DeliveryError
    from koubei.analysis.alerts.payload import sample_payload
    from koubei.config import load_alerts

    config_dir = args.config_dir or paths.CONFIG_DIR
    config = load_alerts(config_dir)
    known = [c.name for c in config.channels]
    if args.channel not in known:
        raise KoubeiError(f"alerts test: no channel {args.channel!r}; configured: {known}")
    (channel,) = build_channels(
        config, config_dir / "alerts.yaml", include_disabled=True, names=[args.channel]
    )
    key = f"test-{uuid.uuid4().hex}"
    try:
        channel.send(sample_payload(args.channel), key)
    except DeliveryError as exc:
        _print(args, {"channel": args.channel, "ok": False, "error": str(exc)}, f"failed: {exc}")
        return 1
    _print(args, {"channel": args.channel, "ok": True, "idempotency_key": key}, "sent")
    return 0
