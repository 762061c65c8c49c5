"""Why a detection fired: a code and its parameters, and the one Chinese sentence for people.

Detectors give their reason as data (:class:`Reason`: ``code`` + ``params``), so the same reason
serialises for tools (``koubei spikes detect`` prints ``{"code": ..., "params": {...}}``) and
reads as one Chinese sentence wherever people see it: the alert messages, the daily digest,
Alertmanager's description and the incident page all call :func:`describe`. A new code needs
one entry in :data:`TEMPLATES`; an unknown code still reads as its code and parameters.

Parameters that are also keys of the detection's ``details`` (``max_followers``,
``verified_involved``) are refreshed from them when the spread analysis adds context
(:func:`koubei.analysis.detectors.severity.crisis_severity`), so a reason never states a reach
that the detection's own details contradict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from koubei.timeutil import DEFAULT_TZ

__all__ = ["TEMPLATES", "Reason", "describe", "duration_zh", "observed_counts", "reason_dict"]


@dataclass(frozen=True)
class Reason:
    """A reason code (see :data:`TEMPLATES`) and the figures it is stated with."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return describe(self)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": {k: _plain(v) for k, v in self.params.items()}}

    def refreshed(self, details: Mapping[str, Any]) -> Reason:
        """The same reason with the parameters ``details`` also holds taken from ``details``."""
        shared = {k: details[k] for k in self.params if k in details}
        return Reason(self.code, {**self.params, **shared}) if shared else self


def reason_dict(value: Any) -> Any:
    """A detection's reason as JSON: ``{"code", "params"}`` (a plain string is kept as is)."""
    return value.to_dict() if isinstance(value, Reason) else value


def describe(value: Any) -> str:
    """The Chinese sentence for a reason: a :class:`Reason`, its dict form, or a plain string.

    Plain strings (hand-written reasons, rows stored before reasons had codes) pass through.
    """
    if isinstance(value, Reason):
        code, params = value.code, value.params
    elif isinstance(value, Mapping) and "code" in value:
        code, params = str(value["code"]), dict(value.get("params") or {})
    else:
        return "" if value is None else str(value)
    template = TEMPLATES.get(code)
    if template is None:
        figures = "，".join(f"{k}={_figure(v)}" for k, v in params.items())
        return f"{code}（{figures}）" if figures else code
    try:
        return template(params)
    except (KeyError, TypeError, ValueError):  # a stored reason missing a figure: still readable
        figures = "，".join(f"{k}={_figure(v)}" for k, v in params.items())
        return f"{code}（{figures}）"


# --- formatting of figures ---------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, tuple):
        return list(value)
    return value


def _count(value: Any) -> str:
    """Counts as people write them: ``47``, ``1.1``, ``1770``, ``56.8万``, ``10亿``, ``1.5万亿``."""
    number = float(value)
    # from what rounds to 10000 of the unit below (10000万, 10000亿) people write the next one
    for unit, name in ((1e12, "万亿"), (1e8, "亿")):
        if abs(number) >= 0.99995 * unit:
            return f"{number / unit:.1f}".removesuffix(".0") + name
    if abs(number) >= 10_000:
        return f"{number / 10_000:.1f}".removesuffix(".0") + "万"
    return f"{number:.1f}".removesuffix(".0")


def _figure(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return _count(value)
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def duration_zh(seconds: Any) -> str:
    """A window length: ``15 分钟``, ``1 小时``, ``1 天``."""
    value = int(seconds)
    if value % 86_400 == 0:
        return f"{value // 86_400} 天"
    if value % 3600 == 0:
        return f"{value // 3600} 小时"
    return f"{max(1, value // 60)} 分钟"


def _z(params: Mapping[str, Any]) -> str:
    return f"（z={float(params['zscore']):.1f}）" if params.get("zscore") is not None else ""


# --- one sentence per code ---------------------------------------------------------------------


def _volume_rise(p: Mapping[str, Any]) -> str:
    # A plain `timestamp,value` series is mentions of any tone: never call them negative.
    what = "提及" if p.get("counts") == "mentions" else "负面提及"
    window, interval = int(p.get("window") or 0), int(p.get("interval") or 0)
    held = int(p.get("held_bins") or 1)
    # the clock times the figures count (reasons stored before session 38 have none): an
    # alert goes out after its first bin, and "近 1 小时" read as the hour before the message
    when = _clock_span(p.get("count_start"), p.get("count_end"))
    if window > interval:
        span = f"{when} " if when else f"近 {duration_zh(window)}"
    elif held > 1:  # the figures are the last of the held bins
        span = f"连续 {held} 个 {duration_zh(interval)}时段偏高，最近一个时段"
        span += f"（{when}）" if when else ""
    else:
        span = f"单个 {duration_zh(interval)}时段" + (f"（{when}）" if when else "")
    return f"{span}{what} {_count(p['observed'])} 条，预期 {_count(p['expected'])} 条{_z(p)}"


def _clock_span(start: Any, end: Any) -> str:
    """``17:35–18:35`` in China time from two ISO times; ``""`` when either is missing."""
    if not start or not end:
        return ""
    try:
        a, b = (datetime.fromisoformat(str(v)).astimezone(DEFAULT_TZ) for v in (start, end))
    except (ValueError, OverflowError):  # a stored reason damaged by hand: its words alone
        return ""
    return f"{a:%H:%M}–{b:%H:%M}"


def _share_rise(p: Mapping[str, Any]) -> str:
    points = 100 * float(p.get("share_delta") or 0.0)
    when = _clock_span(p.get("count_start"), p.get("count_end"))
    return (
        f"负面占比上升 {points:.0f} 个百分点：{when + ' ' if when else ''}"
        f"负面提及 {_count(p['observed'])} 条，按往常占比预期 {_count(p['expected'])} 条"
    )


def _two_windows(p: Mapping[str, Any]) -> tuple[str, str]:
    """Clock spans of the counted window and of the one before it, for the rules comparing
    the two (``17:35–18:05``, ``17:05–17:35``); ``""`` for what the reason does not hold (one
    stored before session 39, or damaged by hand)."""
    when = _clock_span(p.get("count_start"), p.get("count_end"))
    if not when:
        return "", ""
    try:  # both parsed by _clock_span already
        start, end = (datetime.fromisoformat(str(p[k])) for k in ("count_start", "count_end"))
        length = (end - start).total_seconds()
    except TypeError:  # naive beside aware
        return when, ""
    return when, _span_before(p, length)


def _span_before(p: Mapping[str, Any], seconds: Any) -> str:
    """The clock span of ``seconds`` before ``count_start``; ``""`` without (or damaged)."""
    try:
        start = datetime.fromisoformat(str(p["count_start"]))
        return _clock_span(start - timedelta(seconds=float(seconds)), start)
    except (KeyError, TypeError, ValueError, OverflowError):
        return ""


def _relative(p: Mapping[str, Any], unnamed: str) -> str:
    return f"近 {duration_zh(p['window'])}" if p.get("window") else unnamed


def _volume_acceleration(p: Mapping[str, Any]) -> str:
    when, before = _two_windows(p)
    window = when or _relative(p, "最近一个窗口")
    return (
        f"{_what(p, 'total')}加速：{window} {_count(p['observed'])} 条，"
        f"前一窗口{f'（{before}）' if before else ' '}{_count(p['expected'])} 条{_z(p)}"
    )


def observed_counts(value: Any) -> str | None:
    """What the ``observed`` figure of a detection with this reason counts:
    ``"negative mentions"``, ``"mentions"`` (a plain volume series, or a rule counting all
    mentions) or ``"negative reposts"`` (a cascade's); ``None`` for a reason with no code or
    figure of that kind. Alert messages label the figure by it ("负面声量" was said of a
    cascade's reposts and of an acceleration's mentions of any tone)."""
    if isinstance(value, Reason):
        code, params = value.code, value.params
    elif isinstance(value, Mapping) and "code" in value:
        code, params = str(value["code"]), dict(value.get("params") or {})
    else:
        return None
    if code == "cascade_growth":
        return "negative reposts"
    if code in ("source_unhealthy", "source_state_stuck", "run_failed"):
        return None
    field = "total" if code == "volume_acceleration" else "negative"
    return "mentions" if _what(params, field) == "提及" else "negative mentions"


def _what(p: Mapping[str, Any], field: str = "negative") -> str:
    """``field`` of the count rules (``field``: the rule's default): all mentions (``total``)
    or the negative ones; on a plain volume series (``counts: mentions``) mentions either way.
    """
    if p.get("counts") == "mentions":
        return "提及"
    return "提及" if p.get("field", field) == "total" else "负面提及"


def _window_ratio(p: Mapping[str, Any]) -> str:
    when, before = _two_windows(p)
    return (
        f"{when + ' ' if when else _relative(p, '当前窗口')}{_what(p)} {_count(p['observed'])} 条，"
        f"前一窗口{f'（{before}）' if before else ' '}{_count(p['expected'])} 条"
    )


def _stl_forecast(p: Mapping[str, Any]) -> str:
    return f"{_what(p)} {_count(p['observed'])} 条，季节分解（STL）预测 {_count(p['expected'])} 条"


CASCADE_TRIGGERS = {
    "accelerating": "加速",
    "deepening": "加深",
    "high_reach": "触达百万粉丝账号",
    "verified": "认证账号加入",
}


def _cascade_growth(p: Mapping[str, Any]) -> str:
    triggers = "、".join(CASCADE_TRIGGERS.get(str(t), str(t)) for t in p.get("triggers") or [])
    when = _clock_span(p.get("count_start"), p.get("count_end"))
    # `expected` is the rate of the `reference` period before the window, scaled to the
    # window's length (CascadeGrowth._figures): "07:45–08:45 平均每 15 分钟 2 次"
    reference = _span_before(p, p.get("reference")) if when else ""
    before = (
        f"此前 {reference} 平均每 {duration_zh(p['window'])}转发 "
        if reference and p.get("window")
        else "此前同样时长 "
    )
    text = (
        f"负面转发链{triggers or '增长'}：{when + ' ' if when else _relative(p, '最近一个窗口')}"
        f"转发 {_count(p['observed'])} 次（{before}{_count(p['expected'])} 次）"
    )
    if p.get("depth") is not None:
        text += f"，深 {int(p['depth'])} 层"
    if p.get("max_followers"):
        text += f"；链上最大账号粉丝 {_count(p['max_followers'])}"
        if p.get("verified_involved"):
            text += "，有认证账号参与"
    return text


SOURCE_STATUSES = {"blocked": "被平台拦截", "empty": "返回空结果"}


def _source_unhealthy(p: Mapping[str, Any]) -> str:
    status = SOURCE_STATUSES.get(str(p.get("status")), str(p.get("status")))
    platform = f"（{p['platform']}）" if p.get("platform") else ""
    detail = f"，爬虫记录：{p['detail']}" if p.get("detail") else ""
    return f"数据源 {p['source']}{platform}{status}{detail}；这段时间的声量未知，不是零"


def _source_state_stuck(p: Mapping[str, Any]) -> str:
    since = datetime.fromisoformat(str(p["since"])).astimezone(DEFAULT_TZ)
    platform = f"（{p['platform']}）" if p.get("platform") else ""
    detail = f"，爬虫记录：{p['detail']}" if p.get("detail") else ""
    return (
        f"数据源 {p['source']}{platform}自 {since:%m-%d %H:%M} 起每轮都有页面抓取失败{detail}；"
        "增量进度停在那时，每轮从那里重抓，失败页之后的内容一直没有收到"
    )


def _run_failed(p: Mapping[str, Any]) -> str:
    return f"定时运行 {p['flow']} 失败：{p.get('error') or '未知错误'}；本轮未完成监测"


def _above_expected(p: Mapping[str, Any]) -> str:
    name = f"{p['detector']}：" if p.get("detector") else ""
    return f"{name}{_count(p['observed'])} 条，预期 {_count(p['expected'])} 条"


#: reason code → the Chinese sentence; every code a detector or flow emits is here
TEMPLATES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "volume_rise": _volume_rise,
    "share_rise": _share_rise,
    "volume_acceleration": _volume_acceleration,
    "window_ratio": _window_ratio,
    "stl_forecast": _stl_forecast,
    "cascade_growth": _cascade_growth,
    "source_unhealthy": _source_unhealthy,
    "source_state_stuck": _source_state_stuck,
    "run_failed": _run_failed,
    "above_expected": _above_expected,
}
