"""The alert payload: one JSON-ready dict per notification, rendered by every channel.

The payload is built when the notification is enqueued and stored in the outbox, so a retry a
day later sends what the on-call person would have seen then. Evidence is whatever the caller
has (top posts, key accounts, spread path, themes ...); absent keys are simply left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from koubei import timeutil
from koubei.analysis.detectors.reasons import describe, duration_zh, observed_counts
from koubei.timeutil import DEFAULT_TZ

SCHEMA = "koubei.alert/1"
EVIDENCE_KEYS = (
    "top_posts",
    "key_accounts",
    "spread_path",
    "summary",
    "themes",
    "coordination",
    "kibana_url",
    "pictures",
    "reports_url",
    "freshness",  # per source: latest crawled post, last crawl and its status (issue 20)
)
#: An alert's evidence (key accounts, coordination, top posts) counts every post of the brand
#: from this long before the incident's first bin (koubei.flows.detect.gather_evidence): a
#: story builds up before the bin that fires. Alert texts and the incident page say so from
#: this one value.
EVIDENCE_LEAD = timedelta(hours=1)
#: EVIDENCE_LEAD as alert texts and the incident page write it ("1 小时"), as reasons write spans
EVIDENCE_LEAD_ZH = duration_zh(EVIDENCE_LEAD.total_seconds())
MAX_TOP_POSTS = 10
MAX_KEY_ACCOUNTS = 10
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def iso(seconds: float | None) -> str | None:
    """Unix seconds → ISO 8601 in the default (Asia/Shanghai) zone."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, DEFAULT_TZ).isoformat()


def kibana_link(base: str, brand: str, start: str, end: str) -> str:
    """A Kibana Discover deep link: the brand's negative posts over the incident window."""
    query = f'brands:"{brand}" and sentiment.label:negative'
    g = f"(time:(from:'{start}',to:'{end}'))"
    a = f"(query:(language:kuery,query:'{query}'))"
    safe = "():,"
    return f"{base.rstrip('/')}/app/discover#/?_g={quote(g, safe=safe)}&_a={quote(a, safe=safe)}"


def _negative_share(
    detections: list[Mapping[str, Any]], evidence: Mapping[str, Any]
) -> tuple[Any, dict[str, str] | None]:
    """The payload's ``negative_share`` and the bin it is the share of, from one detection so
    that the two never disagree (they were two scans with their own conditions).

    A count detector's share is of the one bin it fired at (``timestamp`` +
    ``details.interval``; the demo's 85% was one 5-minute bin's 23 of 27 posts with an opinion,
    beside an hour's 44 negative mentions). A share taken from the evidence has no window (a
    summary of unknown span), nor has one whose detection's time is damaged.
    """
    for detection in detections:
        details = detection.get("details") or {}
        share = detection.get("negative_share")
        if share is None:
            share = details.get("negative_share")
        if share is not None:
            return share, _bin_of(detection.get("timestamp"), details.get("interval"))
    # Not a share detector's `observed`: that is its window's count of negative mentions (46
    # read as 4600 %); every count detector on a toned series sets `details.negative_share`.
    if evidence.get("negative_share") is not None:
        return evidence["negative_share"], None
    summary = evidence.get("summary")
    if isinstance(summary, Mapping):
        return summary.get("negative_share"), None
    return None, None


def _bin_of(start: Any, interval: Any) -> dict[str, str] | None:
    if not start or not interval:
        return None
    try:
        begin = datetime.fromisoformat(str(start))
        return _span(begin, begin + timedelta(seconds=int(interval)))
    except (ValueError, TypeError, OverflowError):  # a stored detection damaged by hand
        return None


def _span(start: Any, end: Any) -> dict[str, str] | None:
    """``{start, end}`` in China time from two times (ISO text or datetimes); ``None`` when
    either is missing or damaged."""
    if not start or not end:
        return None
    try:
        a, b = (
            (v if isinstance(v, datetime) else datetime.fromisoformat(str(v))).astimezone(
                DEFAULT_TZ
            )
            for v in (start, end)
        )
    except (ValueError, TypeError, OverflowError):  # a stored detection damaged by hand
        return None
    return {"start": a.isoformat(), "end": b.isoformat()}


def _post(post: Any) -> dict[str, Any]:
    """Keep a post small and uniform: text, url, author, engagement and sentiment if present."""
    if not isinstance(post, Mapping):
        return {"text": str(post)}
    author = post.get("author")
    name = author.get("name") if isinstance(author, Mapping) else author
    out = {
        "id": post.get("id"),
        "text": str(post.get("text") or post.get("text_clean") or post.get("text_raw") or ""),
        "url": post.get("url"),
        "author": name,
        "platform": post.get("platform"),
        "created_at": post.get("created_at"),
        "reposts": post.get("reposts", (post.get("engagement") or {}).get("reposts")),
        "score": post.get("score", (post.get("sentiment") or {}).get("score")),
    }
    return {k: v for k, v in out.items() if v not in (None, "")}


def build_payload(incident: Any, evidence: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The notification body for ``incident`` (an ``Incident`` or its ``as_dict()``).

    Parameters
    ----------
    incident
        Must provide ``brand``, ``severity``, ``status``, ``dedup_key``, ``started_at`` and
        ``detections`` (list of detection dicts); may provide ``window_start``/``window_end``,
        ``resolved_at``, ``score``, ``group``, ``kibana_base``.
    evidence
        Any of :data:`EVIDENCE_KEYS`; what is present is rendered, the rest left out.
    """
    data: Mapping[str, Any] = incident.as_dict() if hasattr(incident, "as_dict") else incident
    evidence = dict(evidence or {})
    detections: list[Mapping[str, Any]] = list(data.get("detections") or [])
    top = max(
        detections,
        key=lambda d: (SEVERITY_RANK.get(str(d.get("severity")), 0), float(d.get("score") or 0)),
        default={},
    )
    start = data.get("window_start") or data.get("started_at")
    end = data.get("window_end") or data.get("resolved_at") or start
    brand = str(data["brand"])
    status = str(data["status"])
    share, share_window = _negative_share(detections, evidence)
    counted = top.get("details") or {}  # count_start/count_end (Detector.counted_span)
    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "dedup_key": data["dedup_key"],
        "brand": brand,
        "group": data.get("group", "crisis"),
        "status": status,
        "event": data.get("event", status),
        "severity": data["severity"],
        "score": data.get("score", top.get("score")),
        "started_at": data.get("started_at"),
        "resolved_at": data.get("resolved_at"),
        "window": {"start": start, "end": end},
        "observed": top.get("observed"),
        "expected": top.get("expected"),
        # what `observed` counts and over which clock span (session 39): a cascade's reposts
        # or a plain series' mentions were labelled 负面声量, over no named window
        "observed_counts": observed_counts(top.get("reason")),
        "observed_window": _span(counted.get("count_start"), counted.get("count_end")),
        "negative_share": share,
        # what that share covers: one detection bin, not the incident window (session 38)
        "negative_share_window": share_window,
        "detectors": sorted({str(d.get("detector")) for d in detections if d.get("detector")}),
        # Reasons are codes and figures (analysis/detectors/reasons.py); people read Chinese.
        "reasons": [describe(d["reason"]) for d in detections if d.get("reason")][:10],
        "detections": [dict(d) for d in detections][:20],
    }
    labels = {"resolved": "已恢复", "critical": "严重", "warning": "警告", "info": "提示"}
    verb = "resolved" if status == "resolved" else str(data["severity"])
    payload["title"] = f"【{labels.get(verb, verb)}】口碑告警 · {brand}"
    if evidence.get("top_posts"):
        payload["top_posts"] = [_post(p) for p in evidence["top_posts"]][:MAX_TOP_POSTS]
    if evidence.get("key_accounts"):
        payload["key_accounts"] = list(evidence["key_accounts"])[:MAX_KEY_ACCOUNTS]
    for key in ("spread_path", "summary", "themes", "coordination", "pictures", "freshness"):
        if evidence.get(key):
            payload[key] = evidence[key]
    if evidence.get("previous_severity"):
        payload["previous_severity"] = evidence["previous_severity"]
    if evidence.get("resumed_after") and status != "resolved":
        # reopened: the same incident fires again after it was said to be over
        payload["resumed_after"] = iso(evidence["resumed_after"])
    if evidence.get("reports_url") and data.get("id"):
        # The incident page (koubei.analysis.reports), written when the incident opens or changes.
        payload["report_url"] = (
            f"{str(evidence['reports_url']).rstrip('/')}/incidents/{data['id']}.html"
        )
    if evidence.get("kibana_url"):
        payload["kibana_url"] = evidence["kibana_url"]
    elif data.get("kibana_base") and start and end:
        payload["kibana_url"] = kibana_link(str(data["kibana_base"]), brand, start, end)
    return {k: v for k, v in payload.items() if v is not None}


def sample_payload(channel: str, *, now: datetime | None = None) -> dict[str, Any]:
    """A harmless payload for ``koubei alerts test --channel NAME``."""
    stamp = (now or timeutil.now()).isoformat()
    return {
        "schema": SCHEMA,
        "dedup_key": f"test-{channel}",
        "brand": "测试品牌",
        "group": "test",
        "status": "firing",
        "event": "test",
        "severity": "info",
        "title": f"【测试】口碑告警通道测试 · {channel}",
        "window": {"start": stamp, "end": stamp},
        "observed": 40,
        "expected": 3,
        "negative_share": 0.62,
        "reasons": ["这是一条测试消息，无需处理"],
    }
