"""``koubei spikes detect FILE.csv``: run the spike detectors over a ``timestamp,value`` series
(``-`` for FILE reads standard input, as ``sentiment score -`` does; so does ``backtest -``).

Contract (other tools call it; keep it stable): the CSV has ``timestamp,value`` rows at a fixed
interval (a header row is optional; the shapes read are listed in the README, "Series CSV", and
:func:`koubei.analysis.detectors.read_csv`); one JSON object per alert is printed to stdout, in
time order, with at least ``timestamp`` (the input's timestamp of the bin at which the alert
fires) and ``severity`` (info|warning|critical). One alert per incident, at its onset, with
the severity known then; one more if the incident's evidence grows to a higher severity, at
that bin (``details.escalates`` names the onset). The default detector configuration is used
unless ``--config DIR`` names a directory with an ``alerts.yaml``: its ``detectors`` when it
has that section. A mistake in the file is one stderr line naming the file, line and column,
exit 2.

``koubei spikes backtest FILE.csv`` (or ``--brand NAME``: the brand's indexed history in
Elasticsearch, ``--since 30d``) replays the detectors and paging policy of the config
directory's ``alerts.yaml`` (``--config``, else ``$KOUBEI_CONFIG_DIR``, else the shipped
``config/``) over the series and prints the pages they would have sent, per week and when;
with ``--brand`` also ``cascade_growth``'s, as the live cycle adds them beside the pages
(:mod:`._spikes_cascade`).
With ``--at TIME`` it explains the bin holding TIME instead: each detector's gates there and
what the paging policy did (:mod:`koubei.analysis.detectors.explain`), from the bins up to it.

``koubei spikes evaluate`` scores the detectors against the window-ratio rule on generated
labelled series (see ``python -m bench spikes`` for the full comparison).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from koubei.errors import KoubeiError
from koubei.flows import options
from koubei.flows.options import duration, end_time
from koubei.textfile import STDIN, input_name


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("spikes", help="spike detection over count series")
    actions = parser.add_subparsers(dest="spikes_action", required=True, metavar="ACTION")
    detect = actions.add_parser(
        "detect", help="print one JSON alert per incident of FILE.csv (one more per escalation)"
    )
    detect.add_argument(
        "file", type=Path, help="CSV with timestamp,value at a fixed interval (- for stdin)"
    )
    detect.add_argument(
        "--config",
        "--config-dir",
        dest="config",
        type=options.config_dir,
        default=None,
        help="directory with an alerts.yaml whose detectors and paging policy to use "
        "(default: the built-in detectors, not config/alerts.yaml)",
    )
    detect.add_argument(
        "--key",
        default="",
        help="series key to put in the alerts (default: the file name, no extension; stdin for -)",
    )
    detect.set_defaults(func=run_detect)
    backtest = actions.add_parser(
        "backtest",
        help="replay the configured detectors over FILE.csv or a brand's indexed history: "
        "pages per week and when",
    )
    backtest.add_argument(
        "file",
        type=Path,
        nargs="?",
        help="CSV with timestamp,value at a fixed interval (- for stdin)",
    )
    backtest.add_argument("--brand", help="replay this brand's history in Elasticsearch instead")
    backtest.add_argument(
        "--since", type=duration, help="history to replay with --brand (default 30d)"
    )
    backtest.add_argument(
        "--end",
        type=end_time,
        help="end of the history with --brand: ISO time or a day, included (default now)",
    )
    options.add_prefix(backtest, when=" with --brand")
    backtest.add_argument(
        "--config",
        "--config-dir",
        dest="config",
        type=options.config_dir,
        default=None,
        help="directory with alerts.yaml (default $KOUBEI_CONFIG_DIR, else the shipped config/)",
    )
    backtest.add_argument(
        "--at",
        type=_moment,
        help="explain the bin holding this time instead: each detector's gates there (value, "
        "threshold, option) and what the paging policy did (ISO time or as the CSV writes it)",
    )
    backtest.add_argument(
        "--json", action="store_true", help="one JSON object per week (with --at: one in all)"
    )
    backtest.set_defaults(func=run_backtest)
    evaluate = actions.add_parser("evaluate", help="recall / false alerts on generated series")
    evaluate.add_argument(
        "--series", type=options.positive_int, default=20, help="series to generate (default 20)"
    )
    evaluate.add_argument(
        "--days",
        type=_series_days,
        default=30,
        help="days per series (default 30; at least 6: no crisis is placed in the first 4, "
        "the detectors' warm-up)",
    )
    evaluate.add_argument(
        "--seed", type=options.non_negative_int, default=7, help="random seed (default 7)"
    )
    evaluate.set_defaults(func=run_evaluate)


def _series_days(value: str) -> int:
    """``--days`` of ``evaluate``: as many as a generated series needs (was numpy's
    ``ValueError: low >= high`` traceback at 5 days or fewer)."""
    from koubei.analysis.detectors.synthetic import MIN_DAYS  # numpy: only when --days is given

    return options.at_least(value, MIN_DAYS)


def _moment(value: str) -> datetime:
    """``--at``: a time as the CSV reader reads a row's timestamp (ISO 8601, ``2026/3/2 9:05``,
    epoch seconds ...; naive times are Asia/Shanghai)."""
    from koubei.analysis.detectors.series import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run_detect(args: argparse.Namespace) -> int:
    from koubei.analysis.detectors import configured_detectors, default_detectors, detect_all
    from koubei.analysis.detectors.paging import paging_policy
    from koubei.config import load_alerts

    detectors = default_detectors()
    policy = None
    if args.config is not None:
        alerts = load_alerts(args.config)
        detectors = configured_detectors(alerts, args.config / "alerts.yaml")
        policy = paging_policy(alerts)
    data = _read(args.file, args.key or _key(args.file))
    # a configuration enabling nothing that reads this series printed nothing at all, which
    # reads as "no spike"; say so (stdout stays the alerts, none)
    where = f"{args.config / 'alerts.yaml'}" if args.config else "the defaults"
    _nothing_checked(detectors, data.series, where, input_name(args.file))
    index = {ts: i for i, ts in enumerate(data.series.start)}
    for detection in detect_all(detectors, data.series, policy):
        record = detection.to_dict()
        record["timestamp_iso"] = record["timestamp"]
        label = data.labels[index[detection.timestamp]]
        record["timestamp"] = label or record["timestamp"]
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return 0


def _nothing_checked(detectors: list[Any], series: Any, where: str, what: str) -> None:
    """A stderr note when ``where`` (the alerts.yaml) enables no detector that reads
    ``series``: no alert, or "no detector fired", would read as checked and quiet."""
    if not _count_detectors(detectors, series)[0]:
        kind = "a plain mention count" if series.volume_only else "counts"
        print(
            f"note: {where} enables no detector that reads {kind}: nothing was checked in {what}",
            file=sys.stderr,
        )


def run_backtest(args: argparse.Namespace) -> int:
    """Replay ``alerts.yaml``'s detectors and paging policy over a CSV or a brand's history.

    Every decision is causal, so replaying the whole history at once sends the same pages the
    scheduled cycles would have sent bin by bin. Prints the pages per ISO week and each page's
    time, severity and reason, so thresholds are tuned on the user's own history. With
    ``--brand`` the series is the one the live cycle reads (``flows.detect.brand_series``:
    opinions only, negative against total), over ``--since`` up to ``--end``.
    """
    from koubei import paths
    from koubei.analysis.detectors import configured_detectors
    from koubei.config import load_alerts

    if (args.file is None) == (args.brand is None):
        # given neither, "not both" read as if both had been given
        which = "not both" if args.file is not None else "one of them"
        raise KoubeiError(f"give FILE.csv or --brand NAME, {which}")
    if args.file is not None:
        # a CSV is replayed whole: these options choose a brand's indexed history only, and
        # ignoring them would print pages from outside the span the user asked for
        given = [f"--{n}" for n in ("since", "end", "prefix") if getattr(args, n) is not None]
        if given:
            raise KoubeiError(
                f"{' and '.join(given)}: only with --brand (its indexed history); "
                f"{input_name(args.file)} is replayed whole: cut the CSV to the span to replay"
            )
    args.since = args.since or "30d"
    # a config mistake ends as `koubei: config error: FILE: key: ...` (flows/cli.py), as in
    # `spikes detect --config`
    alerts = load_alerts(args.config)
    config_file = (args.config or paths.CONFIG_DIR) / "alerts.yaml"
    detectors = configured_detectors(alerts, config_file)
    if args.file is None:
        from koubei.config import check_brand
        from koubei.flows.commands.index import guarded

        # The live cycle detects the brands of brands.yaml only: a typo was replayed as a brand
        # without posts (exit 1, "no indexed posts"), after connecting to the cluster.
        has_brands = args.config is not None and (args.config / "brands.yaml").exists()
        check_brand(args.brand, args.config if has_brands else None)
        return guarded(lambda: _backtest_brand(args, alerts, detectors, config_file))
    data = _read(args.file, _key(args.file))
    label = input_name(args.file)
    if args.at is not None:
        return _print_explanation(label, data.series, detectors, alerts, args, data.labels)
    return _print_backtest(label, data.series, detectors, alerts, config_file, as_json=args.json)


def _key(path: Path) -> str:
    """The series key of a CSV: its file name without extension; ``stdin`` for ``-``."""
    return "stdin" if str(path) == STDIN else path.stem


def _read(path: Path, key: str) -> Any:
    """The CSV series (:func:`~koubei.analysis.detectors.read_csv`); one it cannot read is a
    :class:`~koubei.errors.KoubeiError` naming the file (and the line and column when a row is
    wrong), which the CLI prints as one line, exit 2; repeated
    timestamps are added into one bin and said so, and so are values that are not whole
    counts (rounded), a change of step (read on the first step's grid: finer rows summed,
    coarser ones split) and bins no row reports (read as 0 or holding the value before: which,
    and why)."""
    from koubei.analysis.detectors import read_csv

    try:
        data = read_csv(path, key=key)
    except OSError as exc:  # a directory, no permission: the reason, not Python's repr
        raise KoubeiError(f"cannot read {path}: {(exc.strerror or str(exc)).lower()}") from None
    except ValueError as exc:  # the message names the file already
        raise KoubeiError(f"cannot read {exc}") from None
    if data.headers:  # exports joined with `cat`: was "timestamp 'timestamp' is not a time"
        _note(path, data.headers[0], "the header again", len(data.headers), "skipped")
    if data.repeats:
        line, earlier = data.repeats[0]
        what = f"the timestamp of line {earlier} again"
        _note(path, line, what, len(data.repeats), "their values are added into one bin")
    if data.fractions:  # a share or a rate: 0.125 is no count, and rounds to 0
        line, value = data.fractions[0]
        what = f"value {value!r} is not a whole count"
        _note(path, line, what, len(data.fractions), "bins are rounded to whole mentions")
    if data.resampled:  # 1-minute rows, then 5-minute ones: read on the first step's grid
        line, before, step = data.resampled[0]
        what = f"rows are {step} s apart from here on, {before} s before"
        interval = data.series.interval_seconds
        how = (
            f"each row is split evenly over the {interval} s bins up to it"
            if step > interval
            else f"every row is summed into {interval} s bins"
        )
        _note(path, line, what, len(data.resampled), how)
    if data.gap_after:  # what a bin no row reports was taken to hold
        from koubei.analysis.detectors.gaps import ZERO_NEIGHBOUR

        missing = data.gaps_zero + data.gaps_carried
        what = f"{missing} bin{'s' * (missing > 1)} with no row, the first after this row"
        zero = (
            "read as 0 mentions, empty bins the export left out (no row of the file up to "
            f"them is 0, and the rows beside hold at most {ZERO_NEIGHBOUR})"
        )
        carried = (
            "holding the value before, a gap in the export (the file wrote a 0 row by "
            f"then, or the rows beside hold more than {ZERO_NEIGHBOUR}, or one does and no rows "
            "of the file stay that low for as long)"
        )
        if not data.gaps_carried:
            consequence = zero
        elif not data.gaps_zero:
            consequence = carried
        else:
            consequence = f"{data.gaps_zero} {zero}; {data.gaps_carried} {carried}"
        _note(path, data.gap_after, what, 1, f"{consequence}; they never alert")
    return data


def _note(path: Path, line: int, what: str, count: int, consequence: str) -> None:
    """One stderr note on the first of ``count`` rows that reading changed, and how."""
    more = f" (and {count - 1} more)" if count > 1 else ""
    print(f"note: {input_name(path)}:{line}: {what}{more}: {consequence}", file=sys.stderr)


def _backtest_brand(
    args: argparse.Namespace, alerts: Any, detectors: list[Any], config_file: Path
) -> int:
    from elasticsearch import NotFoundError

    from koubei import timeutil
    from koubei.config import parse_duration
    from koubei.flows.commands.index import no_index
    from koubei.flows.detect import brand_series
    from koubei.pipeline.index.client import check_cluster, client_from_env, index_prefix

    prefix = args.prefix or index_prefix()  # a bad KOUBEI_INDEX_PREFIX before any cluster
    es = client_from_env()
    check_cluster(es)
    end = args.end or timeutil.now()
    start = end - timedelta(seconds=parse_duration(args.since))
    interval = alerts.interval_seconds
    try:
        _, series = brand_series(es, prefix, args.brand, start, end, interval, alerts)
    except NotFoundError:
        raise no_index(prefix) from None
    if not any(series.total):
        # the span itself: "over 30d" read as the last 30 days when --end chose another month
        zone = timeutil.DEFAULT_TZ
        print(
            f"no indexed posts of {args.brand!r} in {prefix}-posts from "
            f"{start.astimezone(zone):%Y-%m-%d %H:%M} to {end.astimezone(zone):%Y-%m-%d %H:%M} "
            "(Asia/Shanghai)"
        )
        return 1
    label = f"{args.brand} ({prefix})"
    if args.at is not None:

        def cascades(end: datetime) -> Any:
            """The brand's negative cascades as the live cycle read them at ``end``."""
            from koubei.flows.detect import POSTS_WINDOW, negative_cascades
            from koubei.pipeline.index.post_reads import fetch_posts

            records = fetch_posts(es, prefix, brand=args.brand, start=end - POSTS_WINDOW, end=end)
            return negative_cascades(records, args.brand, end, interval)

        return _print_explanation(label, series, detectors, alerts, args, cascades=cascades)
    from koubei.flows.commands._spikes_cascade import replay_brand

    # the cascade detectors at every cycle end, as the live cycle ran them: one read of the span
    ends = [s + timedelta(seconds=interval) for s in series.start]
    cascade = replay_brand(es, prefix, args.brand, detectors, ends, interval)
    return _print_backtest(
        label, series, detectors, alerts, config_file, as_json=args.json, cascade=cascade
    )


def _count_detectors(detectors: list[Any], series: Any) -> tuple[list[Any], list[str]]:
    """The detectors that read ``series``' counts, and the names of those that cannot: a
    plain mention count (a ``timestamp,value`` CSV) has no tone, so a negative-share rule never
    fires on it."""
    counting = [d for d in detectors if d.input_kind == "counts"]
    toneless = [d.name for d in counting if series.volume_only and d.type_name == "negative_share"]
    return [d for d in counting if d.name not in toneless], toneless


def _print_backtest(
    label: str,
    series: Any,
    detectors: list[Any],
    alerts: Any,
    config_file: Path,
    *,
    as_json: bool,
    cascade: Any = None,
) -> int:
    """The pages per ISO week; with ``cascade`` (:class:`._spikes_cascade.CascadePages`, a
    brand's replay) its detections beside the paging policy's pages, marked as cascade ones."""
    from koubei.analysis.detectors import detect_all
    from koubei.analysis.detectors.paging import paging_policy

    counted = detect_all(detectors, series, paging_policy(alerts))
    spread = list(cascade.pages) if cascade is not None else []
    pages = sorted(counted + spread, key=lambda p: p.timestamp)
    marked = {id(p) for p in spread}
    weeks: dict[str, list[Any]] = {}
    first, last = series.start[0], series.start[-1]
    # every week of the history, quiet ones too, by calendar day: stepping from the first
    # bin's time of day never reached a last day whose bins end earlier in the day
    day = first.date()
    while day <= last.date():
        weeks.setdefault(_iso_week(day), [])
        day += timedelta(days=1)
    for page in pages:
        weeks.setdefault(_iso_week(page.timestamp), []).append(page)
    days = (last - first).total_seconds() / 86400 + series.interval_seconds / 86400
    reading, toneless = _count_detectors(detectors, series)
    names_spread = cascade.names if cascade is not None else []
    lead = "0 pages of the count detectors" if spread else "0 pages"
    notes = _backtest_notes(reading, series, counted, days, config_file, lead)
    notes += cascade.notes if cascade is not None else []
    if as_json:
        # the notes the text prints, in every week's object (each line stands alone): a week
        # of "pages": 0 read as checked and quiet where the warm-up or a minimum held them
        for week, items in weeks.items():
            mark = [{"cascade": id(p) in marked} if names_spread else {} for p in items]
            listed = [p.to_dict() | m for p, m in zip(items, mark, strict=True)]
            record = {"week": week, "pages": len(items), "alerts": listed}
            if names_spread:
                record["cascade_pages"] = sum(id(p) in marked for p in items)
            print(json.dumps(record | {"notes": notes}, ensure_ascii=False))
        return 0
    names = ", ".join(d.name for d in reading) or "none enabled"
    if toneless:
        names += f" ({', '.join(toneless)}: not on a plain mention count)"
    if names_spread:
        names += f"; beside the paging policy, on negative cascades: {', '.join(names_spread)}"
    print(
        f"{label}: {len(series)} bins of {_span(series.interval_seconds)}, "
        f"{first:%Y-%m-%d} .. {last:%Y-%m-%d} ({days:.1f} days, Asia/Shanghai); "
        f"detectors: {names}"
    )
    per_30d = 30 * len(pages) / days if days else 0.0
    # an open incident whose evidence grew sends one more alert: not a new incident
    escalations = sum("escalates" in p.details for p in counted)
    split = ""
    if escalations:
        incidents = len(counted) - escalations
        split = (
            f": {incidents} incident{'' if incidents == 1 else 's'}, "
            f"{escalations} escalation{'' if escalations == 1 else 's'}"
        )
    if spread:  # the live cycle adds them beside the policy's pages, unmerged (flows/detect.py)
        split += f"{', ' if split else ': '}{len(spread)} cascade"
    print(
        f"{len(pages)} page{'' if len(pages) == 1 else 's'} ({per_30d:.1f} per 30 days{split}); "
        f"critical: {sum(p.severity == 'critical' for p in pages)}"
    )
    for note in notes:
        print(f"note: {note['text']}")
    for week, items in weeks.items():
        print(f"{week}: {len(items)} page(s)")
        for page in items:
            escalates = page.details.get("escalates")
            severity = f"{page.severity:8s}"
            if escalates:
                opened = datetime.fromisoformat(escalates).astimezone(page.timestamp.tzinfo)
                same_day = opened.date() == page.timestamp.date()
                when = f"{opened:%H:%M}" if same_day else f"{opened:%a %H:%M}"
                severity = f"{page.severity} (escalates the {when} page)"
            reason = f"{page.reason}"
            if id(page) in marked:
                reason = f"cascade: {reason}{_seen_later(page, series.interval_seconds)}"
            print(f"  {page.timestamp:%a %Y-%m-%d %H:%M}  {severity} {reason}")
    return 0


def _seen_later(page: Any, interval: int) -> str:
    """`` (seen HH:MM)`` when the live cycle first saw a cascade page after its bin's end."""
    seen = datetime.fromisoformat(page.details["seen_at"])
    if seen <= page.timestamp + timedelta(seconds=interval):
        return ""
    return f" (seen {seen.astimezone(page.timestamp.tzinfo):%H:%M})"


def _backtest_notes(
    reading: list[Any],
    series: Any,
    pages: list[Any],
    days: float,
    config_file: Path,
    lead: str = "0 pages",
) -> list[dict[str, str]]:
    """What the backtest says beside its pages (``kind``, ``text``): a history shorter than
    the detectors' warm-up (``warmup``), and, with no page, the minimum counts the largest
    count stays below (``below_minimum``). Printed as ``note: TEXT`` lines; ``notes`` of each
    week's object with ``--json``."""
    notes = []
    warmups = [d.options.get("warmup") or 0 for d in reading]
    if warmups and days * 86400 <= min(warmups):
        notes.append(
            {
                "kind": "warmup",
                "text": f"the detectors page only after {_span(min(warmups))} of history "
                f"(warmup): {days:.1f} days cannot show a page",
            }
        )
    low = _below_minimums(reading, series) if not pages else []
    if low:
        # a burst that stays below a detector's minimum count pages nothing, which read as
        # "the detectors missed it"; say which minimum, and where to change it
        text = f"{lead}: {'; '.join(low)}; set in {config_file}, the detector's options"
        notes.append({"kind": "below_minimum", "text": text})
    return notes


def _print_explanation(
    label: str,
    series: Any,
    detectors: list[Any],
    alerts: Any,
    args: argparse.Namespace,
    labels: list[str] | None = None,
    cascades: Any = None,
) -> int:
    """``backtest --at``: the bin holding ``args.at``, each detector's gates there and what
    the paging policy did (:mod:`koubei.analysis.detectors.explain`); a time outside the
    series is one error line, exit 2. ``cascades`` (``--brand``) gives the brand's negative
    cascades as of a bin's end, which cascade detectors read; a CSV has none."""
    from koubei import paths
    from koubei.analysis.detectors.explain import bin_at, describe, explain_at
    from koubei.analysis.detectors.paging import paging_policy

    try:
        index = bin_at(series, args.at)
    except ValueError as exc:
        raise KoubeiError(f"--at {exc}") from None
    cascade = None
    if cascades is not None and any(d.input_kind == "cascade" for d in detectors):
        end = series.start[index] + timedelta(seconds=series.interval_seconds)
        cascade = cascades(end)
    explanation = explain_at(detectors, series, paging_policy(alerts), index, cascade)
    # was: "paging: no detector fired at this bin", as if they had been asked and were quiet
    where = (args.config or paths.CONFIG_DIR) / "alerts.yaml"
    _nothing_checked(detectors, series, str(where), label)
    written = labels[index] if labels else ""
    if args.json:
        print(json.dumps({"series": label, "label": written, **explanation}, ensure_ascii=False))
        return 0
    when = "the brand's indexed posts"
    if labels is not None:
        when = f"its row reads {written!r}" if written else "no row reports it"
    print("\n".join(describe(explanation, label, when)))
    return 0


def _below_minimums(detectors: list[Any], series: Any) -> list[str]:
    """The minimum counts (``min_count``; ``rise_min_count`` when ``rise_ratio`` is on) that
    the largest count each of ``detectors`` judged in ``series`` (summed over its ``window``,
    after its warm-up) stays below: it never fired on fewer, so a burst that low pages nothing.
    """
    import numpy as np

    from koubei.analysis.detectors.causal import trailing_sum

    interval = series.interval_seconds
    found = []
    for detector in detectors:
        opts = detector.options
        counts = series.total if opts.get("field") == "total" else series.negative
        window = detector.bins("window", interval) if "window" in opts else 1
        skip = (detector.bins("warmup", interval) if opts.get("warmup") else 0) + window - 1
        judged = trailing_sum(np.asarray(counts, dtype=float)[None, :], window)[0, skip:]
        if not len(judged):
            continue  # all warm-up: said above
        largest = int(judged.max())
        minimums = ["min_count", "rise_min_count"] if opts.get("rise_ratio") else ["min_count"]
        for option in (o for o in minimums if o in opts and largest < opts[o]):
            found.append(
                f"{detector.name}'s {option} is {opts[option]:g}, and the largest count it saw "
                f"in {_span(window * interval)} was {largest}"
            )
    return found


def _span(seconds: int) -> str:
    """A bin or warm-up length as people say it: ``30 s``, ``5 min``, ``1 h``, ``3 days``."""
    from koubei.analysis.detectors.base import span

    return span(seconds)


def _iso_week(moment: Any) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


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
