"""Platform time expressions to timezone-aware datetimes.

Platforms show times the way a reader sees them: ``刚刚``, ``5分钟前``, ``今天 10:32``,
``昨天 10:32``, ``11-20`` (this year), ``2026-11-20 08:00``, Weibo's
``Tue Nov 24 10:00:00 +0800 2026``, RFC 2822 / ISO 8601 in feeds, or epoch seconds. All are
resolved against ``now`` (the crawl time) in Asia/Shanghai unless the text carries an offset.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from koubei.timeutil import DEFAULT_TZ, aware
from koubei.timeutil import now as _now


class TimeParseError(ValueError):
    """The text is not a time expression this module knows."""


_RELATIVE = re.compile(r"^(\d+)\s*(秒|分钟|小时|天|周|个月)前$")
_RELATIVE_UNITS = {
    "秒": timedelta(seconds=1),
    "分钟": timedelta(minutes=1),
    "小时": timedelta(hours=1),
    "天": timedelta(days=1),
    "周": timedelta(weeks=1),
    "个月": timedelta(days=30),
}
_DAY_WORD = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DAY_OFFSET = {"今天": 0, "昨天": 1, "前天": 2}
_MONTH_DAY = re.compile(r"^(\d{1,2})[-/月](\d{1,2})日?(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_FULL_DATE = re.compile(
    r"^(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})日?"
    r"(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_WEIBO = "%a %b %d %H:%M:%S %z %Y"


def parse_time(value: str | int | float | datetime, now: datetime | None = None) -> datetime:
    """Resolve a platform time expression to an aware datetime.

    Parameters
    ----------
    value
        The platform's text (or epoch seconds/milliseconds as a number or digit string).
    now
        The reference time for relative expressions; default the current time in Shanghai.

    Raises
    ------
    TimeParseError
        If the text matches none of the known shapes.
    """
    ref = aware(now) if now is not None else _now()
    local_ref = ref.astimezone(DEFAULT_TZ)
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _epoch(float(value))
    text = str(value).strip()
    if not text:
        raise TimeParseError("empty time text")
    if re.fullmatch(r"\d{9,13}(?:\.\d+)?", text):
        return _epoch(float(text))
    if text in {"刚刚", "刚才", "just now"}:
        return ref
    match = _RELATIVE.match(text)
    if match:
        return ref - int(match.group(1)) * _RELATIVE_UNITS[match.group(2)]
    match = _DAY_WORD.match(text)
    if match:
        day = local_ref.date() - timedelta(days=_DAY_OFFSET[match.group(1)])
        hour, minute, second = int(match.group(2)), int(match.group(3)), int(match.group(4) or 0)
        return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=DEFAULT_TZ)
    match = _FULL_DATE.match(text)
    if match:
        return _full_date(match)
    match = _MONTH_DAY.match(text)
    if match:
        month, mday = int(match.group(1)), int(match.group(2))
        hour, minute = int(match.group(3) or 0), int(match.group(4) or 0)
        second = int(match.group(5) or 0)
        year = local_ref.year
        when = datetime(year, month, mday, hour, minute, second, tzinfo=DEFAULT_TZ)
        # "12-30" read on Jan 2 means last year's December, not a date in the future.
        if when > local_ref + timedelta(days=1):
            when = when.replace(year=year - 1)
        return when
    try:
        return datetime.strptime(text, _WEIBO)
    except ValueError:
        pass
    try:
        return aware(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        pass
    raise TimeParseError(f"unknown time expression {text!r}")


def _epoch(seconds: float) -> datetime:
    if seconds > 1e11:  # milliseconds (13 digits)
        seconds /= 1000.0
    return datetime.fromtimestamp(seconds, tz=DEFAULT_TZ)


def _full_date(match: re.Match[str]) -> datetime:
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    hour, minute = int(match.group(4) or 0), int(match.group(5) or 0)
    second = int(match.group(6) or 0)
    naive = datetime(year, month, day, hour, minute, second)
    offset = match.group(7)
    if not offset:
        return aware(naive)
    if offset == "Z":
        return datetime.fromisoformat(naive.isoformat() + "+00:00")
    offset = offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
    return datetime.fromisoformat(naive.isoformat() + offset)
