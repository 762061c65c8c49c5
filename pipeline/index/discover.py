"""Kibana Discover deep links for alerts: a KQL query and a time range, rison-encoded."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from koubei.pipeline.index import rison

POSTS_DATA_VIEW_ID = "koubei-posts"


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError(f"{value!r} is naive; pass a timezone-aware datetime")
    return int(value.timestamp() * 1000)


def kql(*, brand: str | None = None, label: str | None = None, platform: str | None = None) -> str:
    """A KQL query string for Discover matching the same posts as :func:`post_filters`."""

    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    parts = []
    if brand:
        parts.append(f"brands:{quoted(brand)}")
    if platform:
        parts.append(f"platform:{quoted(platform)}")
    if label:
        parts.append(f"sentiment.label:{quoted(label)}")
    return " and ".join(parts)


def _iso_utc(value: datetime) -> str:
    _ms(value)  # rejects naive datetimes
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def discover_url(
    kibana_url: str,
    *,
    query: str,
    start: datetime,
    end: datetime,
    index_pattern_id: str = POSTS_DATA_VIEW_ID,
) -> str:
    """A Kibana Discover deep link showing ``query`` (KQL) over ``[start, end]``.

    Example: ``discover_url(cfg.kibana_url, query=kql(brand="奶茶甲", label="negative"),
    start=alert.start, end=alert.end)``.
    """
    global_state = {"time": {"from": _iso_utc(start), "to": _iso_utc(end)}}
    app_state = {
        "dataSource": {"type": "dataView", "dataViewId": index_pattern_id},
        "index": index_pattern_id,
        "query": {"language": "kuery", "query": query},
        "sort": [["@timestamp", "desc"]],
    }
    safe = "(),:!'*-_.~"
    return (
        f"{kibana_url.rstrip('/')}/app/discover#/"
        f"?_g={quote(rison.dumps(global_state), safe=safe)}"
        f"&_a={quote(rison.dumps(app_state), safe=safe)}"
    )
