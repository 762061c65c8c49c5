"""Detection and alerting for one cycle: series → detectors → evidence → incidents → outbox.

Composition only: queries come from ``koubei.pipeline.index.queries`` (counts) and
``post_reads`` (posts), detectors from ``koubei.analysis.detectors``, cascades and evidence from
``koubei.analysis.spread``, the lifecycle from ``koubei.analysis.alerts``. Detection is causal:
everything is computed as of ``as_of``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import networkx as nx

from koubei import config as cfg
from koubei import paths
from koubei.log import get_logger

# Fifteen days of history: the volume detectors' seasonal baseline takes the same time of day
# on up to 14 earlier days (of the same day type) and their usual daily peak the last 14 days,
# so the live cycle decides on what `python -m bench spikes` and `spikes backtest` measured.
HISTORY = timedelta(days=15)
# A detection this recent counts as "still firing"; older ones belong to the incident's past.
ACTIVE_WINDOW = timedelta(hours=1)
# How far back the spread-aware trigger and the evidence look at individual posts.
POSTS_WINDOW = timedelta(hours=3)
# Crawl statuses that brought posts (crawlers/health.py).
DELIVERED = ("ok", "degraded")

log = get_logger(__name__)


def run_detection(config_dir: Path, *, prefix: str, as_of: datetime) -> dict[str, Any]:
    from koubei.analysis.alerts.incidents import IncidentStore
    from koubei.analysis.alerts.routing import Router
    from koubei.analysis.detectors import configured_detectors
    from koubei.analysis.detectors.paging import settling_bins
    from koubei.crawlers.health import all_health
    from koubei.pipeline.index.client import client_from_env

    brands = cfg.load_brands(config_dir)
    alerts = cfg.load_alerts(config_dir)
    detectors = configured_detectors(alerts, config_dir / "alerts.yaml")
    if not detectors:
        log.warning("no detector enabled: only sources are watched", config=str(config_dir))
    # A router over the channel configs, not their names: a name is taken as "send whatever
    # the severity", which sent `info` incidents to every channel whatever its min_severity.
    targets = Router(alerts)
    es = client_from_env()
    store = IncidentStore.from_config(paths.state_dir("alerts") / "alerts.db", alerts)
    operational, blind_brands = check_sources(store, config_dir, as_of, targets)
    interval = alerts.interval_seconds
    # Posts of the newest bins may still be arriving: quiet there is no all-clear.
    settled_until = as_of - timedelta(seconds=settling_bins(alerts, interval) * interval)
    sources = [s for s in cfg.load_sources(config_dir).sources if s.enabled]
    health = all_health()
    outcome: dict[str, Any] = {
        "negative_share": {},
        "detections": {},
        "notifications": operational,
        "evidence_dirs": {},
        "blind_brands": sorted(blind_brands),
        "reports": {},
        "freshness": {},
    }
    for brand in brands.brands:
        shares, detections, records = detect_brand(
            es, prefix, brand.name, detectors, as_of, interval, alerts
        )
        outcome["negative_share"][brand.name] = shares
        freshness = source_freshness(es, prefix, brand.name, sources, health, as_of)
        outcome["freshness"][brand.name] = freshness
        active = active_pages(detections, as_of, interval)
        outcome["detections"][brand.name] = len(active)
        evidence: dict[str, Any] = {}
        if active:
            evidence, evidence_dir = gather_evidence(
                es, prefix, brand.name, records, active, as_of, kibana_url=alerts.kibana_url
            )
            active = [_with_context(d, evidence) for d in active]
            evidence["reports_url"] = alerts.reports_url
            outcome["evidence_dirs"][brand.name] = str(evidence_dir)
        evidence["freshness"] = freshness
        notifications = store.observe(
            brand.name,
            [d.to_dict() for d in active],
            evidence=evidence,
            now=as_of,
            channels=targets,
            # A blocked source hides complaints: its silence must not resolve an incident.
            hold_open=brand.name in blind_brands,
            settled_until=settled_until,
        )
        outcome["notifications"] += len(notifications)
        changed = {n.incident_key for n in notifications}
        if active:
            changed |= {i.dedup_key for i in store.open_incidents(brand.name)}
        outcome["reports"][brand.name] = write_reports(
            es, prefix, store.db_path, changed, brands, alerts, as_of
        )
        log.info("detected", brand=brand.name, active=len(active), notified=len(notifications))
    return outcome


def active_pages(pages: list[Any], as_of: datetime, interval_seconds: int) -> list[Any]:
    """The pages whose incident fired within :data:`ACTIVE_WINDOW` of ``as_of``.

    By the incident's last firing bin (``details.last_at``, else the episode's), not its onset:
    a crisis paged two hours ago and firing still is active, and dropping its page read as
    quiet to the incident store, which resolved it in the middle of the crisis.
    """
    from koubei.analysis.alerts.records import last_active

    since = (as_of - ACTIVE_WINDOW).timestamp()
    return [d for d in pages if last_active(d.to_dict(), interval_seconds) >= since]


def write_reports(
    es: Any,
    prefix: str,
    db_path: Path,
    changed: set[str],
    brands: cfg.BrandsConfig,
    alerts: cfg.AlertsConfig,
    as_of: datetime,
) -> list[str]:
    """Incident pages of the incidents that opened or changed this cycle.

    Written after the notifications are safely in the outbox: a page that cannot be drawn is
    logged and left for the next change, never a reason to hold an alert back.
    """
    from koubei.analysis.reports.gather import write_changed_incident_pages

    try:
        pages = write_changed_incident_pages(
            es,
            prefix,
            db_path,
            changed,
            brands=brands,
            kibana_url=alerts.kibana_url,
            now=as_of,
            interval_seconds=alerts.interval_seconds,
        )
    except Exception as exc:
        log.error("incident page not written", error=repr(exc), incidents=sorted(changed))
        return []
    return [str(p) for p in pages]


def check_sources(
    store: Any, config_dir: Path, as_of: datetime, targets: Any
) -> tuple[int, set[str]]:
    """Raise an operational alert per blocked, empty or stuck source; return the brands blinded.

    The crawler writes each source's health after every run; a bad one opens an
    ``operational`` incident under ``source:<name>`` (resolved once it recovers), and the brands
    the source tracks are reported so their incidents are held open rather than read as calm.
    ``targets`` is the flow's :class:`~koubei.analysis.alerts.routing.Router`: operational
    incidents go through the same routes, ``min_severity`` and quiet hours as crises.
    """
    from koubei.analysis.detectors.operational import BAD_STATUSES, source_health_detections
    from koubei.crawlers.health import all_health

    sources = {s.name: s for s in cfg.load_sources(config_dir).sources if s.enabled}
    every_brand = [b.name for b in cfg.load_brands(config_dir).brands]
    health = [h for h in all_health() if h.get("source") in sources]
    bad = {d.details["source"]: d for d in source_health_detections(health)}
    blind: set[str] = set()
    notified = 0
    for record in health:
        name = record["source"]
        detections = []
        if name in bad:
            if bad[name].details["status"] in BAD_STATUSES:  # a stuck state still delivers posts
                blind.update(sources[name].brands or every_brand)
            # The crawl may finish after the evaluation time of a replay; keep it causal.
            detection = bad[name]
            detections.append(
                {**detection.to_dict(), "timestamp": min(detection.timestamp, as_of).isoformat()}
            )
        notes = store.observe(
            f"source:{name}", detections, evidence={"health": record}, now=as_of, channels=targets
        )
        notified += len(notes)
    return notified, blind


def detect_brand(
    es: Any,
    prefix: str,
    brand: str,
    detectors: list[Any],
    as_of: datetime,
    interval: int,
    alerts: cfg.AlertsConfig | None = None,
) -> tuple[dict[str, float | int], list[Any], list[dict[str, Any]]]:
    """Run count detectors on the brand's series and cascade detectors on its recent cascades.

    With ``alerts`` its paging policy applies, and its ``paging.settling`` newest bins count as
    still filling up (crawl lag): they can neither close an incident nor read as a fall.
    """
    from koubei.analysis.detectors import detect_all
    from koubei.analysis.detectors.paging import paging_policy
    from koubei.pipeline.index.post_reads import fetch_posts

    bins, counts = brand_series(es, prefix, brand, as_of - HISTORY, as_of, interval, alerts)
    policy = paging_policy(alerts) if alerts is not None else None
    # Overlapping episodes of different detectors are one detection, listing who agreed.
    detections = detect_all(detectors, counts, policy)
    records = fetch_posts(es, prefix, brand=brand, start=as_of - POSTS_WINDOW, end=as_of)
    cascade_detectors = [det for det in detectors if det.input_kind == "cascade"]
    if cascade_detectors and records:
        growth = negative_cascades(records, brand, as_of, interval)
        detections += [d for det in cascade_detectors for d in det.detect(growth)]
    return _shares(bins, as_of), detections, records


def negative_cascades(
    records: list[dict[str, Any]], brand: str, as_of: datetime, interval: int
) -> Any:
    """The :class:`~koubei.analysis.detectors.series_types.CascadeSeries` cascade detectors
    read: the reposts of ``records``' negative cascades (the brand's posts of the
    ``POSTS_WINDOW`` before ``as_of``) in bins of ``interval`` up to ``as_of``, its last bin
    the one ending there. The one place the live cycle and ``spikes backtest --brand --at``
    get it."""
    from koubei.analysis.detectors.cascade import cascade_series
    from koubei.analysis.spread.cascade import build_cascades
    from koubei.analysis.spread.measures import cascade_events, cascade_roots
    from koubei.timeutil import on_grid

    # On the count series' grid (`brand_series`): a cycle at 16:10:40 put its cascade page at
    # 16:05:40, where the backtest of the same posts puts it at 16:05.
    as_of = on_grid(as_of, interval)
    graph = build_cascades(records)
    negative_roots = [r for r in cascade_roots(graph) if _negative_cascade(graph, r)]
    events = cascade_events(graph, roots=negative_roots)
    return cascade_series(events, as_of - POSTS_WINDOW, as_of, interval, key=brand)


def brand_series(
    es: Any,
    prefix: str,
    brand: str,
    start: datetime,
    end: datetime,
    interval: int,
    alerts: cfg.AlertsConfig | None = None,
) -> tuple[list[Any], Any]:
    """The brand's volume bins over ``[start, end)`` from its first post on, and the count
    series its detectors read.

    The one place the live cycle and ``koubei spikes backtest --brand`` get a brand's series:
    on the grid of ``interval`` counted from midnight in China (``start`` and ``end`` floored
    onto it, whatever second the command ran at), opinions only (see ``volume_series``), and
    with ``alerts`` its ``paging.settling`` newest bins marked as still filling up (crawl lag).
    """
    from koubei.analysis.detectors import CountSeries
    from koubei.analysis.detectors.paging import settling_bins
    from koubei.pipeline.index.queries import volume_series
    from koubei.timeutil import on_grid

    # Bins take the zone of `start`: an `--end`/`--as-of` given in UTC (`Z`) put the detectors'
    # days and the backtest's weeks and times in UTC. A brand's day is China's.
    # On one grid (`on_grid`): bins started at `start` itself, so `spikes backtest` (ending at
    # the second it ran) counted other posts in each bin than the cycle it replays, and paged
    # at other times with other figures.
    start, end = on_grid(start, interval), on_grid(end, interval)
    bins = volume_series(es, prefix, brand, start, end, interval)
    # The series starts at the brand's first post: empty bins before it are "not monitored yet",
    # not "quiet", and the warm-up must count from real history (otherwise the first day of a
    # new brand's posts looks like a surge from zero).
    first = next((i for i, b in enumerate(bins) if b.total), 0)
    bins = bins[first:]
    counts = CountSeries.from_bins(bins, interval, key=brand)
    if alerts is not None:
        counts.unsettled = settling_bins(alerts, interval)
    return bins, counts


def source_freshness(
    es: Any,
    prefix: str,
    brand: str,
    sources: list[cfg.Source],
    health: list[dict[str, Any]],
    as_of: datetime,
) -> list[dict[str, Any]]:
    """How fresh each source's data for ``brand`` is, as of ``as_of`` (issue 20).

    One entry per source that tracks the brand (``sources.yaml``) or brought it posts in the
    history window: the latest ``crawled_at`` of its posts for the brand and the minutes since,
    and from the crawl health its last run's status and time and its last run that brought
    posts (``last_ok_at``). A source with no posts and no health is listed with ``None``s:
    unknown, never "quiet".
    """
    from koubei.pipeline.index.queries import latest_crawl_per_source

    latest = latest_crawl_per_source(es, prefix, brand, as_of - HISTORY, as_of)
    tracking = {s.name for s in sources if not s.brands or brand in s.brands}
    by_source = {str(h.get("source")): h for h in health}
    out = []
    for name in sorted(tracking | set(latest)):
        crawled = latest.get(name)
        record = by_source.get(name) or {}
        out.append(
            {
                "source": name,
                "latest_crawled_at": crawled.isoformat() if crawled else None,
                "minutes_behind": (
                    round((as_of - crawled).total_seconds() / 60) if crawled else None
                ),
                "crawl_status": record.get("status"),
                "last_crawl_at": record.get("finished_at"),
                # health written before `last_ok_at` existed: its own run, if it delivered
                "last_ok_at": record.get("last_ok_at")
                or (record.get("finished_at") if record.get("status") in DELIVERED else None),
            }
        )
    return out


def _negative_cascade(graph: nx.DiGraph, root: Any) -> bool:
    """A cascade whose root or most of whose posts are negative."""
    labels = [graph.nodes[n].get("sentiment") for n in nx.descendants(graph, root) | {root}]
    scored = [label for label in labels if label and label != "no_opinion"]  # bare reposts
    if graph.nodes[root].get("sentiment") == "negative":
        return True
    return bool(scored) and sum(label == "negative" for label in scored) * 2 > len(scored)


def gather_evidence(
    es: Any,
    prefix: str,
    brand: str,
    records: list[dict[str, Any]],
    active: list[Any],
    as_of: datetime,
    *,
    kibana_url: str,
) -> tuple[dict[str, Any], Path]:
    """Top posts, the spread of the incident, key accounts, themes, pictures and a Kibana link."""
    from koubei.analysis.alerts.payload import EVIDENCE_LEAD
    from koubei.analysis.spread.evidence import incident_evidence
    from koubei.pipeline.index.post_reads import top_posts
    from koubei.pipeline.index.queries import discover_url, kql

    onset = min(d.timestamp for d in active)
    window_start = onset - EVIDENCE_LEAD
    incident_records = records_since(records, window_start)
    evidence_dir = (
        paths.state_dir("evidence") / paths.path_part(brand) / onset.strftime("%Y%m%dT%H%M")
    )
    evidence = incident_evidence(incident_records or records, picture_dir=evidence_dir, now=as_of)
    evidence["top_posts"] = top_posts(es, prefix, brand, window_start, as_of, label="negative")
    evidence["kibana_url"] = discover_url(
        kibana_url, query=kql(brand=brand, label="negative"), start=window_start, end=as_of
    )
    return evidence, evidence_dir


def records_since(records: list[dict[str, Any]], start: datetime) -> list[dict[str, Any]]:
    """The records created at or after ``start``, compared as instants.

    Stored times keep the offset their source gave (``+08:00``, ``Z``), and ``start`` has the
    offset of ``--as-of``: comparing the ISO strings put posts hours on the wrong side.
    Records whose time cannot be read are left out.

    Examples
    --------
    >>> start = datetime.fromisoformat("2026-11-25T01:00:00+00:00")
    >>> records = [{"id": "a", "created_at": "2026-11-25T08:30:00+08:00"},
    ...            {"id": "b", "created_at": "2026-11-25T01:30:00Z"}]
    >>> [r["id"] for r in records_since(records, start)]
    ['b']
    """
    from koubei.analysis.spread.cascade import parse_time

    return [r for r in records if (t := parse_time(r.get("created_at"))) is not None and t >= start]


def _with_context(detection: Any, evidence: dict[str, Any]) -> Any:
    """Raise severity when the spread shows acceleration or high-reach/verified accounts."""
    from koubei.analysis.detectors import crisis_severity

    summary = evidence.get("summary") or {}
    accounts = evidence.get("key_accounts") or []
    context = {
        "cascade_accelerating": bool(summary.get("accelerating")),
        "max_followers": max((a.get("followers") or 0 for a in accounts), default=0),
        "verified_involved": any(a.get("verified") for a in accounts),
    }
    return crisis_severity(detection, context)


def _shares(bins: list[Any], as_of: datetime) -> dict[str, float | int]:
    """Negative share in the last hour and over the whole history, for the run summary."""
    recent = [b for b in bins if b.start >= as_of - timedelta(hours=1)]

    def share(selected: list[Any]) -> float:
        total = sum(b.total for b in selected)
        return round(sum(b.negative for b in selected) / total, 3) if total else 0.0

    return {
        "last_hour": share(recent),
        "history": share(bins),
        "last_hour_docs": sum(b.total for b in recent),
        "history_docs": sum(b.total for b in bins),
    }
