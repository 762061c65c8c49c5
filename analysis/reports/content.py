"""What the incident page and the daily brief show, built from plain data (no I/O here).

:mod:`koubei.analysis.reports.gather` fetches the inputs (Elasticsearch, the alerts database);
these functions turn them into the page context that the templates render, so a page can be
built and tested from fixture data alone. Everything from crawled posts stays plain text here;
the templates escape it, and :func:`safe_url` decides what may become a link.
"""

from __future__ import annotations

import base64
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from koubei.analysis.alerts.payload import EVIDENCE_LEAD_ZH
from koubei.analysis.detectors.reasons import describe
from koubei.analysis.reports import charts
from koubei.analysis.spread.accounts import ROLE_NAMES
from koubei.crawlers.timeparse import TimeParseError, parse_iso
from koubei.timeutil import DEFAULT_TZ

__all__ = [
    "aspect_shift",
    "aspect_tally",
    "daily_context",
    "excerpt",
    "expected_negative",
    "incident_context",
    "negative_share",
    "picture_data_uri",
    "safe_url",
    "series_bars",
    "short_time",
    "step_words",
    "voice_rows",
]

SEVERITY_ZH = {"critical": "严重", "warning": "警告", "info": "提示"}
STATUS_ZH = {"firing": "进行中", "resolved": "已恢复"}
EVENT_ZH = {
    "fired": "告警触发",
    "firing": "已通知",
    "updated": "已更新",
    "resolved": "已恢复",
    "silenced": "已静默",
}
#: Days of the brief's "previous days" (前 7 日), when the brand's history is that long.
HISTORY_DAYS = 7
LABEL_ZH = {"negative": "负面", "positive": "正面", "neutral": "中性"}


def safe_url(value: Any) -> str | None:
    """``value`` when it is an http(s) URL with a host, else None (shown as text, never linked).

    Crawled URLs are untrusted: ``javascript:``, ``data:`` and relative URLs never become links.

    >>> safe_url("https://m.weibo.cn/detail/1"), safe_url("javascript:alert(1)")
    ('https://m.weibo.cn/detail/1', None)
    """
    if not isinstance(value, str) or any(ch in value for ch in "\x00\r\n\t "):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    return value.strip() if parts.scheme in ("http", "https") and parts.hostname else None


#: Characters of a crawled text a page quotes (a post, a theme's representative, the source).
EXCERPT_CHARS = 280
# Left dangling at a cut, these would join or alter nothing, or show as a stray mark.
_DANGLING = "\u200d\ufe0e\ufe0f\u200b\u200c"


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """``value`` as text, cut to ``limit`` characters with a visible "…" when it was longer.

    Posts run to 10,000 characters and more; a page quotes them, the link opens the rest.

    >>> excerpt("鲜牧" * 3, 4), excerpt("鲜牧", 4), excerpt(None)
    ('鲜牧鲜牧…', '鲜牧', '')
    """
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    return text[:limit].rstrip(_DANGLING) + "…"


def picture_data_uri(path: str | Path | None) -> str | None:
    """A PNG embedded as a ``data:`` URI, so the page needs no file beside it."""
    if not path or not Path(path).is_file():
        return None
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


def expected_negative(
    times: Sequence[datetime], history: dict[datetime, int], *, days: int = 7
) -> list[float | None]:
    """The usual negative count of each bin: the median of the same time on earlier days.

    ``history`` maps bin start to negative count (it may reach further back than ``times``).
    A bin with no earlier day on record has no expected level (None).

    >>> t0 = datetime(2026, 11, 20, 12, tzinfo=DEFAULT_TZ)
    >>> hist = {t0 - timedelta(days=d): 2 * d for d in (1, 2, 3)}
    >>> expected_negative([t0], hist)
    [4.0]
    """
    levels: list[float | None] = []
    for moment in times:
        earlier = [
            history[moment - timedelta(days=d)]
            for d in range(1, days + 1)
            if moment - timedelta(days=d) in history
        ]
        levels.append(float(statistics.median(earlier)) if earlier else None)
    return levels


def voice_rows(counts: dict[str, dict[str, int]], focus: str) -> list[dict[str, Any]]:
    """Share of voice and net sentiment for a brand set, the focus brand first.

    ``counts[brand]`` has ``total``, ``positive`` and ``negative`` posts in the period, and
    ``no_opinion`` posts (bare reposts and the like): those are voice, counted in ``total`` and
    the share of voice, but no opinion, so net sentiment and negative share leave them out.

    >>> rows = voice_rows({"甲": {"total": 30, "positive": 5, "negative": 20},
    ...                    "乙": {"total": 10, "positive": 6, "negative": 1}}, "甲")
    >>> [(r["brand"], r["share"], round(r["net"], 2)) for r in rows]
    [('甲', 0.75, -0.5), ('乙', 0.25, 0.5)]
    """
    everyone = sum(c.get("total", 0) for c in counts.values())
    rows: list[dict[str, Any]] = []
    for brand, c in counts.items():
        total = c.get("total", 0)
        opinions = total - c.get("no_opinion", 0)
        positive, negative = c.get("positive", 0), c.get("negative", 0)
        rows.append(
            {
                "brand": brand,
                "focus": brand == focus,
                "total": total,
                "share": round(total / everyone, 4) if everyone else 0.0,
                # No post with an opinion: the page shows "—", not a 0% negative share.
                "opinions": max(opinions, 0),
                "net": (positive - negative) / opinions if opinions > 0 else 0.0,
                "negative_share": negative_share(c),
            }
        )
    rows.sort(key=lambda r: (not r["focus"], -r["total"], r["brand"]))
    return rows


def negative_share(counts: Mapping[str, int]) -> float:
    """Negative posts over the posts with an opinion (``no_opinion`` ones left out), 0 if none.

    >>> negative_share({"total": 10, "negative": 3, "positive": 3, "no_opinion": 4})
    0.5
    """
    opinions = counts.get("total", 0) - counts.get("no_opinion", 0)
    return counts.get("negative", 0) / opinions if opinions > 0 else 0.0


def _opinions(counts: Mapping[str, int]) -> int:
    return max(counts.get("total", 0) - counts.get("no_opinion", 0), 0)


def _bin_counts(bins: Iterable[Any]) -> dict[str, int]:
    """Counts from volume bins (which hold opinions only), for a brand set without counts."""
    shown = list(bins)
    return {"total": sum(b.total for b in shown), "negative": sum(b.negative for b in shown)}


AspectTally = Mapping[str, tuple[int, int]]


def aspect_tally(records: Iterable[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Per aspect, the posts mentioning it and the posts negative about it.

    As :func:`koubei.pipeline.index.queries.aspect_counts` counts them on the node: a post
    counts once per aspect, and as negative when one of its mentions of it is.

    >>> aspect_tally([{"aspects": [{"aspect": "质量", "label": "negative"},
    ...                            {"aspect": "质量", "label": "positive"}]}])
    {'质量': (1, 1)}
    """
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        mentions = [a for a in record.get("aspects") or [] if a.get("aspect")]
        for name in {str(a["aspect"]) for a in mentions}:
            tally[name][0] += 1
        for name in {str(a["aspect"]) for a in mentions if a.get("label") == "negative"}:
            tally[name][1] += 1
    return {name: (n, neg) for name, (n, neg) in tally.items()}


def aspect_shift(
    before: Iterable[dict[str, Any]] | AspectTally,
    now: Iterable[dict[str, Any]] | AspectTally,
    *,
    min_mentions: int = 3,
) -> list[dict[str, Any]]:
    """Aspects (delivery, quality, service ...) whose negative share rose, most risen first.

    ``before`` and ``now`` are posts (each ``aspects`` list holds ``{"aspect", "label"}``) or
    their :func:`aspect_tally`; an aspect needs ``min_mentions`` posts in the period to count.
    """
    earlier = before if isinstance(before, Mapping) else aspect_tally(before)
    current = now if isinstance(now, Mapping) else aspect_tally(now)
    rows: list[dict[str, Any]] = []
    for name, (mentions, negative) in current.items():
        if mentions < min_mentions:
            continue
        base_n, base_neg = earlier.get(name, (0, 0))
        rows.append(
            {
                "aspect": name,
                "mentions": mentions,
                "now": negative / mentions,
                "before": base_neg / base_n if base_n else 0.0,
            }
        )
    rows.sort(key=lambda r: (-(r["now"] - r["before"]), r["aspect"]))
    return rows


def _post_row(record: dict[str, Any]) -> dict[str, Any]:
    author = record.get("author") or {}
    engagement = record.get("engagement") or {}
    sentiment = record.get("sentiment") or {}
    return {
        "id": str(record.get("id", "")),
        "platform": str(record.get("platform", "")),
        "author": str(author.get("name") or author.get("id") or "（未知）"),
        "followers": int(author.get("followers") or 0),
        "time": short_time(record.get("created_at")),
        "text": excerpt(record.get("text_clean") or record.get("text_raw")),
        "url": safe_url(record.get("url")),
        "raw_url": str(record.get("url") or ""),
        "label": LABEL_ZH.get(str(sentiment.get("label")), "未评分"),
        "engagement": sum(int(v or 0) for v in engagement.values() if isinstance(v, int | float)),
    }


def short_time(value: Any) -> str:
    """A stored time as a page shows it: China time, month to minute ("11-26 12:07")."""
    if not value:
        return ""
    try:
        moment = parse_iso(value)
    except TimeParseError:
        return str(value)
    return moment.astimezone(DEFAULT_TZ).strftime("%m-%d %H:%M")


def _when(unix: float | None) -> str:
    if unix is None:
        return ""
    return datetime.fromtimestamp(unix, tz=DEFAULT_TZ).strftime("%Y-%m-%d %H:%M")


#: Most bars a volume chart draws: an incident firing for weeks gave 5-minute bins by the
#: ten thousand (90 days: a 10 MB chart, over two minutes to draw at every rewrite of its page).
MAX_BARS = 400
# Coarser steps a long series is drawn in, each a whole number of the finer ones.
_STEPS = (300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)


def step_words(seconds: int) -> str:
    """A bin width as a chart title says it.

    >>> step_words(300), step_words(3600), step_words(6 * 3600), step_words(86400)
    ('5 分钟', '每小时', '6 小时', '每天')
    """
    if seconds % 86400 == 0:
        return "每天" if seconds == 86400 else f"{seconds // 86400} 天"
    if seconds % 3600 == 0:
        return "每小时" if seconds == 3600 else f"{seconds // 3600} 小时"
    return f"{max(seconds // 60, 1)} 分钟"


def series_bars(
    bins: Sequence[Any], window: tuple[datetime, datetime]
) -> tuple[list[datetime], list[int], list[int], list[float | None], int, list[int]]:
    """What a volume chart draws of ``bins`` inside ``window``: bar starts, posts, negative
    posts, the usual negative level, the bar width in seconds, and the posts with an opinion
    (fewer than the posts when the bins count ``no_opinion`` ones).

    At most :data:`MAX_BARS` bars: a longer series is drawn in the first coarser step of
    :data:`_STEPS` that fits, each bar the sum of the bins it holds (the usual level too), so
    the bars still add up to the same posts.
    """
    history = {b.start: b.negative for b in bins}
    shown = [b for b in bins if window[0] <= b.start < window[1]]
    times = [b.start for b in shown]
    expected = expected_negative(times, history)
    step = int((times[1] - times[0]).total_seconds()) if len(times) > 1 else 0
    totals = [b.total for b in shown]
    negatives = [b.negative for b in shown]
    opinions = [b.total - getattr(b, "no_opinion", 0) for b in shown]
    if step <= 0 or len(shown) <= MAX_BARS:
        return times, totals, negatives, expected, step, opinions
    wider = next(
        (w for w in _STEPS if w % step == 0 and len(shown) * step / w <= MAX_BARS),
        math.ceil(len(shown) / MAX_BARS) * step,
    )
    k = wider // step
    groups = range(0, len(shown), k)
    return (
        [times[i] for i in groups],
        [sum(totals[i : i + k]) for i in groups],
        [sum(negatives[i : i + k]) for i in groups],
        [
            sum(e for e in expected[i : i + k] if e is not None)
            if any(e is not None for e in expected[i : i + k])
            else None
            for i in groups
        ],
        wider,
        [sum(opinions[i : i + k]) for i in groups],
    )


def _series_chart(
    bins: Sequence[Any], window: tuple[datetime, datetime], marks: Sequence[datetime], title: str
) -> str:
    """The volume chart, its bar width added to ``title`` ("鲜牧 声量与负面（5 分钟）")."""
    times, totals, negatives, expected, step, opinions = series_bars(bins, window)
    return charts.volume_chart(
        times,
        totals,
        negatives,
        expected,
        opinions=opinions,
        marks=marks,
        title=f"{title}（{step_words(step)}）" if step else title,
    )


def incident_context(
    incident: dict[str, Any],
    *,
    bins: Sequence[Any],
    window: tuple[datetime, datetime],
    voice: dict[str, dict[str, int]],
    aspects_before: list[dict[str, Any]] | AspectTally,
    aspects_now: list[dict[str, Any]] | AspectTally,
    events: list[dict[str, Any]],
    links: Mapping[str, str | None],
    generated_at: datetime,
) -> dict[str, Any]:
    """The incident page: what happened, against what is usual, how it spread, what was sent.

    ``incident`` is an incident row as a dict (brand, status, severity, started_at, detections,
    evidence ...); ``bins`` the brand's volume bins including earlier days (for the usual
    level); ``voice`` the brand set's counts over the window; ``events`` the incident's history
    (``at`` unix seconds, ``kind``, ``detail``); ``links`` Kibana deep links per section.
    """
    evidence = incident.get("evidence") or {}
    detections = incident.get("detections") or []
    brand = str(incident.get("brand", ""))
    marks = sorted(
        {datetime.fromisoformat(str(d["timestamp"])) for d in detections if d.get("timestamp")}
    )
    summary = evidence.get("summary") or {}
    source = evidence.get("source") or {}
    pictures = evidence.get("pictures") or {}
    aspects = aspect_shift(aspects_before, aspects_now)
    return {
        "kind": "incident",
        "title": f"{brand} · 舆情事件 #{incident.get('id', '')}",
        "brand": brand,
        "incident": {
            "id": incident.get("id"),
            "status": STATUS_ZH.get(str(incident.get("status")), str(incident.get("status"))),
            "firing": incident.get("status") == "firing",
            "severity": str(incident.get("severity", "")),
            "severity_zh": SEVERITY_ZH.get(str(incident.get("severity")), ""),
            "started": _when(incident.get("started_at")),
            "last_detection": _when(incident.get("last_detection_at")),
            "resolved": _when(incident.get("resolved_at")),
            "reasons": [describe(d["reason"]) for d in detections if d.get("reason")],
        },
        "volume_svg": _series_chart(bins, window, marks, f"{brand} 声量与负面"),
        "voice": voice_rows(voice, brand),
        "voice_svg": charts.voice_chart(voice_rows(voice, brand)) if voice else None,
        # The table counts the page's window, not the alert's hour nor the day: said, as the
        # brief says what its counts hold (the demo's 332 posts here, 388 in the day's brief).
        "voice_window": f"{_when(window[0].timestamp())} 至 {_when(window[1].timestamp())}",
        "aspects": aspects[:8],
        "aspects_svg": charts.aspect_chart(aspects[:8]) if aspects else None,
        "themes": [
            {
                "name": str(t.get("name", "")),
                "posts": int(t.get("posts") or 0),
                "share": float(t.get("share") or 0),
                "text": excerpt((t.get("representative") or {}).get("text")),
            }
            for t in evidence.get("themes") or []
        ],
        "top_posts": [_post_row(p) for p in evidence.get("top_posts") or []],
        "source": {
            "author": str(source.get("author") or ""),
            "followers": int(source.get("followers") or 0),
            "text": excerpt(source.get("text")),
            "time": short_time(source.get("time")),
            "url": safe_url(source.get("url")),
            "raw_url": str(source.get("url") or ""),
            "estimated": bool(source.get("root_missing")),
        }
        if source
        else None,
        "cascade": {
            "size": summary.get("size"),
            "depth": summary.get("depth"),
            "max_breadth": summary.get("max_breadth"),
            "virality": summary.get("structural_virality"),
        }
        if summary
        else None,
        # Names kept apart so the page can isolate each one's text direction (a crawled name
        # may carry an unterminated right-to-left override).
        "spread_paths": [
            [str(n) for n in path] for path in (evidence.get("spread_path") or [])[:8]
        ],
        "evidence_lead": EVIDENCE_LEAD_ZH,  # what the key accounts are counted over
        "key_accounts": [
            {
                "name": str(a.get("name") or a.get("account") or ""),
                "followers": int(a.get("followers") or 0),
                "verified": bool(a.get("verified")),
                "roles": "、".join(ROLE_NAMES.get(str(r), str(r)) for r in a.get("roles") or []),
                "posts": int(a.get("posts") or 0),
                "reach": int(a.get("reach") or 0),
            }
            for a in (evidence.get("key_accounts") or [])[:10]
        ],
        "cascade_png": picture_data_uri(pictures.get("cascade")),
        "timeline_png": picture_data_uri(pictures.get("timeline")),
        "events": [
            {
                "at": _when(e["at"]),
                "kind": EVENT_ZH.get(str(e.get("kind")), str(e.get("kind"))),
                "detail": str(e.get("detail") or ""),
            }
            for e in sorted(events, key=lambda e: e["at"])
        ],
        "links": {k: safe_url(v) for k, v in links.items()},
        "generated_at": generated_at.astimezone(DEFAULT_TZ).strftime("%Y-%m-%d %H:%M"),
    }


def daily_context(
    day: datetime,
    brand_sets: Iterable[dict[str, Any]],
    *,
    generated_at: datetime,
) -> dict[str, Any]:
    """The morning brief: one section per brand with its competitors.

    Each brand set: ``brand``, ``bins`` (hourly volume bins of the day and the week before),
    ``voice`` (counts per brand of the set for the day), ``week_counts`` (the brand's counts over
    the week before), ``week_days`` (the days that week holds: fewer than 7 when the brand's
    history is shorter, 7 if not given), ``aspects_before`` / ``aspects_now``
    (records or their :func:`aspect_tally`), ``top_posts`` (records), ``themes`` (as
    :func:`~koubei.analysis.spread.themes.themes` returns), ``themes_drawn`` (the negative
    posts the themes were drawn from and the day's, when known), ``themes_coordinated`` (how
    many of those were left out as a coordinated burst), ``incidents`` (rows as dicts),
    ``edited`` (the brand's edited posts: ``total``, ``negative`` and ``posts``, as
    :func:`~koubei.pipeline.index.post_reads.edited_posts` reads them) and ``links``.
    """
    # Its own module, built on this one's text helpers: imported here, not at the top.
    from koubei.analysis.reports.edits import edited_section

    start = day
    end = day + timedelta(days=1)
    sections = []
    for item in brand_sets:
        brand = str(item["brand"])
        bins = item.get("bins") or []
        aspects = aspect_shift(item.get("aspects_before") or [], item.get("aspects_now") or [])
        voice = voice_rows(item.get("voice") or {}, brand)
        # The headline counts as the competitor table does (every post; negative share of the
        # posts with an opinion): from the hourly bins it left out date-only and no-opinion
        # posts, and the same brand on the same day showed two totals and two shares.
        day_counts = (item.get("voice") or {}).get(brand) or _bin_counts(
            b for b in bins if start <= b.start < end
        )
        week_counts = item.get("week_counts") or _bin_counts(b for b in bins if b.start < start)
        week_days = int(item.get("week_days", HISTORY_DAYS))
        # The chart draws every post with a time of day, bare reposts too, as the headline
        # counts them; a post known by its date alone has no hour to sit in: the page says how
        # many the headline holds that the chart cannot (it once drew opinions only, unsaid).
        drawn = sum(b.total for b in bins if start <= b.start < end)
        sections.append(
            {
                "brand": brand,
                "total": int(day_counts.get("total", 0)),
                "negative_share": negative_share(day_counts),
                "opinions": _opinions(day_counts),
                "week_negative_share": negative_share(week_counts),
                "week_opinions": _opinions(week_counts),
                # The days of that history: fewer than 7 for a brand collected since fewer (the
                # mean divided by 7 read as a quiet week), and the page says so.
                "week_days": week_days,
                "week_daily_total": week_counts.get("total", 0) / week_days if week_days else None,
                "volume_svg": _series_chart(bins, (start, end), [], f"{brand} 当日声量"),
                "drawn": drawn,
                "undrawn": max(int(day_counts.get("total", 0)) - drawn, 0),
                "voice": voice,
                "voice_svg": charts.voice_chart(voice) if voice else None,
                "aspects": aspects[:6],
                "aspects_svg": charts.aspect_chart(aspects[:6]) if aspects else None,
                "themes": [
                    {
                        "name": str(t.get("name", "")),
                        "posts": int(t.get("posts") or 0),
                        "text": excerpt((t.get("representative") or {}).get("text")),
                    }
                    for t in item.get("themes") or []
                ],
                # Drawn from part of the day's negative posts: (drawn, of), else None.
                "themes_drawn": _part(item.get("themes_drawn")),
                # Of those, posts of a coordinated burst left out (as the incident page does).
                "themes_coordinated": int(item.get("themes_coordinated") or 0),
                "top_posts": [_post_row(p) for p in item.get("top_posts") or []],
                "incidents": [
                    {
                        "id": i.get("id"),
                        "severity_zh": SEVERITY_ZH.get(str(i.get("severity")), ""),
                        "severity": str(i.get("severity", "")),
                        "status": STATUS_ZH.get(str(i.get("status")), ""),
                        "started": _when(i.get("started_at")),
                        "url": safe_url(i.get("url")),
                    }
                    for i in item.get("incidents") or []
                ],
                "edited": edited_section(item.get("edited")),
                "links": {k: safe_url(v) for k, v in (item.get("links") or {}).items()},
            }
        )
    return {
        "kind": "daily",
        "title": f"每日简报 · {day.strftime('%Y-%m-%d')}",
        "day": day.strftime("%Y-%m-%d"),
        "sections": sections,
        "generated_at": generated_at.astimezone(DEFAULT_TZ).strftime("%Y-%m-%d %H:%M"),
    }


def _part(drawn: Any) -> tuple[int, int] | None:
    """``(drawn, of)`` when ``drawn`` is fewer posts than the day's ``of``, else None.

    >>> _part((10_000, 25_000)), _part((12, 12)), _part(None)
    ((10000, 25000), None, None)
    """
    if not drawn:
        return None
    taken, total = int(drawn[0]), int(drawn[1])
    return (taken, total) if taken < total else None
