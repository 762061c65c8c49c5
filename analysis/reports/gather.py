"""Fetch what the pages show (Elasticsearch, the alerts database) and write the pages.

The only I/O of the reports package: queries come from :mod:`koubei.pipeline.index.queries`
and :mod:`~koubei.pipeline.index.post_reads`, incidents and their history from the alerts
database; :mod:`.content` builds the page and :mod:`.render` writes it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from koubei import config as cfg
from koubei.analysis.reports import content, render
from koubei.timeutil import DEFAULT_TZ, on_grid

__all__ = [
    "brand_counts",
    "history_start",
    "incident_events",
    "load_incident",
    "write_changed_incident_pages",
    "write_daily_brief",
    "write_incident_page",
]

# The incident page shows the hours before the first detection, against the usual level
# (the same time on the seven days before).
LEAD = timedelta(hours=6)
TAIL = timedelta(hours=1)
HISTORY_DAYS = content.HISTORY_DAYS
#: The most negative posts of a brand's day the brief's complaint themes are drawn from.
THEME_POSTS = 10_000


def load_incident(db_path: Path, incident_id: int) -> dict[str, Any] | None:
    """One incident row as a dict, or None."""
    from koubei.analysis.alerts.db import connect
    from koubei.analysis.alerts.records import Incident

    conn = connect(db_path)
    try:
        row = conn.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    finally:
        conn.close()
    return asdict(Incident.from_row(row)) if row else None


def incident_events(db_path: Path, incident: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident's history: fired, each notification (by kind, with its channels), silences
    that covered it, resolved."""
    from koubei.analysis.alerts.db import connect
    from koubei.analysis.alerts.silences import list_silences

    events: list[dict[str, Any]] = [
        {"at": incident["started_at"], "kind": "fired", "detail": incident.get("severity", "")}
    ]
    conn = connect(db_path)
    try:
        rows = conn.execute(
            "SELECT kind, created_at, channel, status FROM outbox WHERE incident_key = ? "
            "ORDER BY created_at, channel",
            (incident["dedup_key"],),
        ).fetchall()
    finally:
        conn.close()
    status_zh = {"delivered": "已送达", "pending": "待发送", "failed": "失败"}
    grouped: dict[tuple[str, float], list[str]] = {}
    for row in rows:
        status = status_zh.get(row["status"], row["status"])
        grouped.setdefault((row["kind"], row["created_at"]), []).append(
            f"{row['channel']}（{status}）"
        )
    for (kind, at), channels in grouped.items():
        events.append({"at": at, "kind": kind, "detail": "、".join(channels)})
    end = incident.get("resolved_at") or float("inf")
    labels = {"brand": incident["brand"], "group": incident.get("group", "")}
    for silence in list_silences(db_path, now=datetime.fromtimestamp(0, tz=DEFAULT_TZ)):
        overlaps = silence.starts_at <= end and silence.ends_at >= incident["started_at"]
        if overlaps and silence.matches(labels | {"severity": incident.get("severity", "")}):
            described = silence.describe()
            events.append(
                {
                    "at": max(silence.starts_at, incident["started_at"]),
                    "kind": "silenced",
                    "detail": " ".join([*described["matchers"], described.get("comment", "")]),
                }
            )
    if incident.get("resolved_at"):
        events.append({"at": incident["resolved_at"], "kind": "resolved", "detail": ""})
    return events


def brand_counts(
    es: Any, prefix: str, brands: list[str], start: datetime, end: datetime
) -> dict[str, dict[str, int]]:
    """Posts, positive, negative and ``no_opinion`` posts per brand in ``[start, end)`` (every
    brand listed)."""
    from koubei.pipeline.index.queries import post_filters, search

    response = search(  # through queries.search: a shard that fails is an error, not zero posts
        es,
        prefix,
        size=0,
        query={
            "bool": {"filter": [*post_filters(start=start, end=end), {"terms": {"brands": brands}}]}
        },
        aggs={
            "brands": {
                "terms": {"field": "brands", "include": brands, "size": len(brands)},
                "aggs": {"labels": {"terms": {"field": "sentiment.label", "size": 5}}},
            }
        },
    )
    counts = {b: {"total": 0, "positive": 0, "negative": 0, "no_opinion": 0} for b in brands}
    for bucket in response["aggregations"]["brands"]["buckets"]:
        labels = {b["key"]: b["doc_count"] for b in bucket["labels"]["buckets"]}
        counts[bucket["key"]] = {
            "total": int(bucket["doc_count"]),
            "positive": int(labels.get("positive", 0)),
            "negative": int(labels.get("negative", 0)),
            "no_opinion": int(labels.get("no_opinion", 0)),
        }
    return counts


def _brand_set(brands: cfg.BrandsConfig, name: str) -> list[str]:
    for brand in brands.brands:
        if brand.name == name:
            return [brand.name, *(c for c in brand.competitors if c != brand.name)]
    return [name]


def _links(kibana_url: str, brand: str, start: datetime, end: datetime) -> dict[str, str]:
    from koubei.pipeline.index.discover import discover_url, kql

    def url(**criteria: Any) -> str:
        return discover_url(kibana_url, query=kql(**criteria), start=start, end=end)

    everything = url(brand=brand)
    negative = url(brand=brand, label="negative")
    return {
        "posts": negative,
        "volume": everything,
        "voice": everything,
        "aspects": negative,
        "themes": negative,
        "spread": negative,
        "alerts": f"{kibana_url.rstrip('/')}/app/dashboards",
    }


def write_incident_page(
    es: Any,
    prefix: str,
    db_path: Path,
    incident_id: int,
    *,
    brands: cfg.BrandsConfig,
    kibana_url: str,
    now: datetime,
    interval_seconds: int = 300,
    incident: dict[str, Any] | None = None,
) -> Path:
    """Build and write the page of one incident; returns its path.

    ``incident`` is its row as :func:`load_incident` returns it, when the caller has read it
    already (``report incident`` does, before asking any cluster); otherwise it is read here.
    """
    from koubei.pipeline.index.queries import aspect_counts, volume_series

    if incident is None:
        incident = load_incident(db_path, incident_id)
    if incident is None:
        raise LookupError(f"no incident {incident_id} in {db_path}")
    started = datetime.fromtimestamp(incident["started_at"], tz=DEFAULT_TZ)
    last = incident.get("resolved_at") or incident["last_detection_at"]
    end = min(now, datetime.fromtimestamp(last, tz=DEFAULT_TZ) + TAIL)
    end = max(end, started + timedelta(seconds=interval_seconds))
    start = on_grid(started - LEAD, interval_seconds)  # the count series' grid
    brand = incident["brand"]
    # The usual level is the median of the days before that koubei collected the brand on:
    # zero-filled days before its first collection pulled it to 0 for a brand added days ago.
    # On the window's grid, so that a day earlier is a bin of the series.
    step = timedelta(seconds=interval_seconds)
    history = start - (start - history_start(es, prefix, brand, start)) // step * step
    # Bare reposts too (drawn apart), as the page's competitor table counts the window.
    bins = volume_series(es, prefix, brand, history, end, interval_seconds, no_opinion=True)
    # Counted on the node: fetched posts stop at a cap, and a busy day showed its first hours.
    aspects_before = aspect_counts(es, prefix, brand, start - timedelta(days=1), started)
    aspects_now = aspect_counts(es, prefix, brand, started, end)
    context = content.incident_context(
        incident,
        bins=bins,
        window=(start, end),
        voice=brand_counts(es, prefix, _brand_set(brands, brand), start, end),
        aspects_before=aspects_before,
        aspects_now=aspects_now,
        events=incident_events(db_path, incident),
        links=_links(kibana_url, brand, start, end),
        generated_at=now,
    )
    return render.write_page(context, render.incident_path(incident_id))


def write_daily_brief(
    es: Any,
    prefix: str,
    db_path: Path | None,
    day: date,
    *,
    brands: cfg.BrandsConfig,
    kibana_url: str,
    now: datetime,
    reports_url: str | None = None,
    progress: bool = False,
) -> Path:
    """Build and write the brief of ``day`` (Asia/Shanghai) for every configured brand.

    ``progress``: bars of the brands read and drawn on stderr (a brand takes a few queries and
    charts, half a second or more: a hundred brands were most of a minute without a word).
    """
    from tqdm import tqdm

    from koubei.analysis.spread.cascade import canonical_records
    from koubei.analysis.spread.coordination import organic
    from koubei.analysis.spread.themes import themes
    from koubei.pipeline.index.post_reads import edited_posts, sample_posts, top_posts
    from koubei.pipeline.index.queries import aspect_counts, volume_series

    start = datetime(day.year, day.month, day.day, tzinfo=DEFAULT_TZ)
    end = start + timedelta(days=1)
    incidents = _incidents_between(db_path, start, end) if db_path else []
    sets = []
    bar = tqdm(brands.brands, desc="brief: read", unit="brand", disable=not progress, leave=False)
    for brand in bar:
        # Themes are drawn from the day's negative posts alone, evenly over the day (a crisis
        # day has more than THEME_POSTS, and the page says how many of how many), and aspects
        # are counted on the node: the first 10,000 posts of a busy day were its night and
        # morning, and an evening crisis never reached the brief.
        negative, negatives = sample_posts(
            es, prefix, size=THEME_POSTS, brand=brand.name, start=start, end=end, label="negative"
        )
        # The organic voices, as the incident page draws its themes: the demo's 40 copies of
        # one scripted line led the brief as its main complaint (167 posts).
        posts = canonical_records(negative)
        voices = organic(posts)
        week_start = history_start(es, prefix, brand.name, start)
        own = [i for i in incidents if i["brand"] == brand.name]
        for incident in own:
            if reports_url:
                incident["url"] = f"{reports_url.rstrip('/')}/incidents/{incident['id']}.html"
        sets.append(
            {
                "brand": brand.name,
                # Every post with a time of day, bare reposts too, as the headline counts them.
                "bins": volume_series(
                    es, prefix, brand.name, week_start, end, 3600, no_opinion=True
                ),
                "voice": brand_counts(es, prefix, _brand_set(brands, brand.name), start, end),
                # Counted as the competitor table counts the day: every post, date-only and
                # no-opinion ones too (the hourly chart can place neither).
                "week_counts": brand_counts(es, prefix, [brand.name], week_start, start)[
                    brand.name
                ],
                "week_days": (start - week_start).days,
                "aspects_before": aspect_counts(es, prefix, brand.name, week_start, start),
                "aspects_now": aspect_counts(es, prefix, brand.name, start, end),
                "top_posts": top_posts(es, prefix, brand.name, start, end, label="negative"),
                "themes": themes(voices, max_themes=4),
                "themes_drawn": (len(negative), negatives),
                "themes_coordinated": len(posts) - len(voices),
                "incidents": own,
                "edited": asdict(edited_posts(es, prefix, brand.name, start, end)),
                "links": _links(kibana_url, brand.name, start, end),
            }
        )
    # Its charts take longer than the reads: a bar of their own.
    drawn = tqdm(sets, desc="brief: draw", unit="brand", disable=not progress, leave=False)
    context = content.daily_context(start, drawn, generated_at=now)
    return render.write_page(context, render.daily_path(day.isoformat()))


def history_start(es: Any, prefix: str, brand: str, start: datetime) -> datetime:
    """Where the days a page compares ``brand`` with begin (the brief's "previous 7 days", an
    incident page's usual level): 7 days before ``start``, or the midnight of the day koubei
    first collected one of its posts when that is later (``start`` itself when none was
    collected before it). Posts without a crawl time (an old export given to ``koubei index
    load``) were collected by whoever exported them: they count from their own days.

    A brand added three days ago has three days of history, not seven of which four are empty:
    divided by 7, its daily mean read less than half of what it was. The days before the first
    collection are left out, and with them the older posts that first crawl found (its search
    reached back days: partial days, not history). A day without posts after it counts, as a
    quiet day: the index keeps no trace of a crawl that found nothing, so it cannot tell a
    quiet day from a crawler that did not run (the freshness check of ``koubei detect`` says
    when a source stopped).
    """
    from koubei.pipeline.index.queries import post_filters, search

    response = search(
        es,
        prefix,
        size=0,
        query={"bool": {"filter": post_filters(brand=brand)}},
        aggs={
            # The first crawl of a post: first_seen (kept on re-crawls), crawled_at standing in
            # for documents indexed before first_seen existed. Only posts with a crawl time:
            # one without was loaded from an export (``index load``), and its first_seen is
            # the load's time, not when it was collected.
            "crawled": {
                "filter": {"exists": {"field": "crawled_at"}},
                "aggs": {f: {"min": {"field": f}} for f in ("first_seen", "crawled_at")},
            },
            # ... which holds the brand's posts from their own days: their history.
            "loaded": {
                "filter": {"bool": {"must_not": {"exists": {"field": "crawled_at"}}}},
                "aggs": {"created_at": {"min": {"field": "created_at"}}},
            },
        },
    )
    aggs = response["aggregations"]
    firsts = [
        a["value"]
        for group in (aggs["crawled"], aggs["loaded"])
        for name, a in group.items()
        if name != "doc_count" and a["value"] is not None
    ]
    week_start = start - timedelta(days=HISTORY_DAYS)
    if not firsts:
        return start
    first = datetime.fromtimestamp(min(firsts) / 1000, tz=DEFAULT_TZ)
    first_day = datetime(first.year, first.month, first.day, tzinfo=DEFAULT_TZ)
    return min(max(week_start, first_day), start)


def _incidents_between(db_path: Path, start: datetime, end: datetime) -> list[dict[str, Any]]:
    from koubei.analysis.alerts.db import connect

    if not db_path.exists():
        return []
    conn = connect(db_path)
    try:
        rows = conn.execute(
            "SELECT id, brand, severity, status, started_at, resolved_at FROM incidents "
            "WHERE started_at < ? AND (resolved_at IS NULL OR resolved_at >= ?) "
            "AND brand NOT LIKE 'source:%' ORDER BY started_at",
            (end.timestamp(), start.timestamp()),
        ).fetchall()
    finally:
        conn.close()
    return [dict(row) for row in rows]


def write_changed_incident_pages(
    es: Any,
    prefix: str,
    db_path: Path,
    dedup_keys: set[str],
    *,
    brands: cfg.BrandsConfig,
    kibana_url: str,
    now: datetime,
    interval_seconds: int = 300,
) -> list[Path]:
    """Rewrite the pages of the incidents with these keys (opened, updated or resolved)."""
    from koubei.analysis.alerts.db import connect

    if not dedup_keys:
        return []
    conn = connect(db_path)
    try:
        marks = ",".join("?" * len(dedup_keys))
        ids = [
            int(row["id"])
            for row in conn.execute(
                f"SELECT id FROM incidents WHERE dedup_key IN ({marks}) ORDER BY id",
                sorted(dedup_keys),
            )
        ]
    finally:
        conn.close()
    return [
        write_incident_page(
            es,
            prefix,
            db_path,
            incident_id,
            brands=brands,
            kibana_url=kibana_url,
            now=now,
            interval_seconds=interval_seconds,
        )
        for incident_id in ids
    ]
