"""The one time parser: platform time expressions and stored ISO times to aware datetimes.

Platforms show times the way a reader sees them: ``刚刚``, ``5分钟前``, ``半小时前``,
``今天 10:32``, ``昨天 10:32``, a bare ``10:32`` (today, or yesterday if later than ``now``),
``11-20`` (this year), ``2026-11-20 08:00``, Weibo's
``Tue Nov 24 10:00:00 +0800 2026``, RFC 2822 / ISO 8601 in feeds, or epoch seconds. All are
resolved against ``now`` (the crawl time) in Asia/Shanghai unless the text carries an offset.
The zone name ``CST`` is China Standard Time (+08:00), as Chinese sites mean it. Feeds' RFC 2822
dates are read in the forms they are written beside the standard one: the zone as ``GMT+0100``,
``+08:00`` or ``-0000`` (UTC), a Chinese month (``周五, 21 8月 2026 08:42:00 GMT``), no time of
day (``Thu, 19 Nov 2026``: precision ``day``).

Three entry points, one rule set:

- :func:`parse_time` / :func:`parse_time_detail` read what a platform shows and check that the
  result is plausible (:func:`check_plausible`): not after ``now`` plus a small clock-skew
  allowance, not before 2000, and an offset that some zone uses (whole quarter hours). A far-future
  time would otherwise create a far-future monthly index. A date alone is in the future only
  when its day has not begun in any zone (+14:00); begun east of China, it is taken as ``now``.
- :func:`parse_iso` reads ISO 8601 / RFC 3339 as stored in records and sent by Alertmanager
  (``Z``, fractions up to nanoseconds) without judging the value.
- :func:`check_plausible` is also what the document model applies to ``created_at``.

Whatever the input, the only exception raised is :class:`TimeParseError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

from koubei.crawlers._rfc822 import MONTHS as _MONTHS
from koubei.crawlers._rfc822 import RFC822_DATE as _RFC822_DATE
from koubei.crawlers._rfc822 import rfc822_form, rfc822_zone
from koubei.timeutil import DEFAULT_TZ, aware
from koubei.timeutil import now as _now

__all__ = [
    "EARLIEST",
    "MAX_CLOCK_SKEW",
    "ParsedTime",
    "Precision",
    "TimeParseError",
    "check_plausible",
    "coarse_period_end",
    "date_only",
    "parse_full_date",
    "parse_iso",
    "parse_time",
    "parse_time_detail",
]


class TimeParseError(ValueError):
    """The text is not a time expression this module knows, or not a plausible time.

    ``kind`` says which, for counting: ``unknown`` (not a time), ``future``, ``too_old`` or
    ``offset`` (an offset no zone uses, such as +08:05:43).
    """

    def __init__(self, message: str, kind: str = "unknown") -> None:
        super().__init__(message)
        self.kind = kind


Precision = Literal["second", "minute", "hour", "day"]

#: Nothing the project monitors was posted before this.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: How far after ``now`` a time may be and still be taken as the platform's clock running fast.
MAX_CLOCK_SKEW = timedelta(minutes=10)
_QUARTER_HOUR = timedelta(minutes=15)
_MAX_OFFSET = timedelta(hours=14)
_EARLIEST_ZONE = timezone(_MAX_OFFSET)  # where a day begins first (Kiribati, +14:00)


@dataclass(frozen=True)
class ParsedTime:
    """A parsed time and how much of it the text gave (``day``: the time of day is unknown)."""

    when: datetime
    precision: Precision


# ``半小时前`` (half an hour), ``2个小时前`` and ``1年前`` are shown too (Bilibili, Douyin and
# news pages); a year is taken as 365 days, like a month as 30: the page says no more.
_RELATIVE = re.compile(r"^(\d{1,6}|半)\s*(秒|分钟|个?小时|天|周|个月|年)前$", re.ASCII)
_RELATIVE_UNITS: dict[str, tuple[timedelta, Precision]] = {
    "秒": (timedelta(seconds=1), "second"),
    "分钟": (timedelta(minutes=1), "minute"),
    "小时": (timedelta(hours=1), "hour"),
    "个小时": (timedelta(hours=1), "hour"),
    "天": (timedelta(days=1), "day"),
    "周": (timedelta(weeks=1), "day"),
    "个月": (timedelta(days=30), "day"),
    "年": (timedelta(days=365), "day"),
}
_DAY_WORD = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2}):(\d{2})(?::(\d{2}))?$", re.ASCII)
_DAY_OFFSET = {"今天": 0, "昨天": 1, "前天": 2}
# A bare ``10:32`` (no date), as a page prints a time of day for a post of today. It is the
# last time with that clock reading at or before ``now``: today, or yesterday when today's would
# be later than ``now`` (past the clock-skew allowance), as on a page rendered before midnight
# and read after it. ``今天 10:32`` (Weibo's own form) names the day and stays today.
_BARE_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$", re.ASCII)
# ``11月20日10:32``: as with a full date, the time may follow 日 with no space.
_MONTH_DAY = re.compile(
    r"^(\d{1,2})[-/月](\d{1,2})日?(?:(?:\s+|(?<=日))(\d{1,2}):(\d{2})(?::(\d{2}))?)?$",
    re.ASCII,
)
# ``2026年11月24日10:00``: after 日 the time may follow with no space (news pages write it so).
# The zone may be ``Z``, ``+08:00``/``+0800``, an hour alone (``+08``, ISO 8601's ±hh, as
# PostgreSQL prints a timestamptz) or ``UTC``/``GMT`` (Ruby's ``Time#to_s`` of a UTC time).
_FULL_DATE = re.compile(
    r"^(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})"
    r"(?:日?(?:[\sT]+|(?<=日))(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?|日)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$",
    re.ASCII,
)
# Kibana's default ``dateFormat`` (``MMM D, YYYY @ HH:mm:ss.SSS``), which its CSV export writes.
_KIBANA = re.compile(
    r"^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}) @ (\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$", re.ASCII
)
# Full-width digits and colon, the ideographic and no-break spaces of Chinese pages, as ASCII.
_WIDE = str.maketrans("０１２３４５６７８９：－／\u3000\xa0", "0123456789:-/  ")
_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?", re.ASCII)
# ``CST`` on a Chinese page is China Standard Time: Java's ``Date.toString()`` (``Wed Feb 20
# 21:53:27 CST 2019``) and Go's ``time.String()`` (``... +0800 CST``) print it on Shanghai
# machines, and feeds carry it (``Wed, 27 May 2015 11:00 am CST`` for Beijing). email.utils
# reads it as US Central, -06:00, which puts a post 14 hours later: "in the future", dropped.
_CST = re.compile(r"\s*\(?\bCST\b\)?", re.ASCII)
_NUMERIC_OFFSET = re.compile(r"(?:^|\s)[+-]\d{2}:?\d{2}(?:\s|$)", re.ASCII)
# A 12-hour clock (``10:00 pm``, ``11:00 AM``): email.utils and the date regexes skip the marker,
# which would put every afternoon post 12 hours early.
_TWELVE_HOUR = re.compile(
    r"\b(\d{1,2}):(\d{2})((?::\d{2})?)\s*([ap])\.?m\.?(?![a-z])", re.I | re.ASCII
)
_WEIBO = "%a %b %d %H:%M:%S %z %Y"
_FRACTION = re.compile(r"\.(\d+)", re.ASCII)


def parse_time(value: object, now: datetime | None = None) -> datetime:
    """Resolve a platform time expression to a plausible aware datetime.

    Parameters
    ----------
    value
        The platform's text (or epoch seconds/milliseconds as a number or digit string).
    now
        The reference time for relative expressions and the plausibility check; default the
        current time in Shanghai.

    Raises
    ------
    TimeParseError
        If the text matches none of the known shapes or the time is implausible.

    Examples
    --------
    >>> now = datetime(2026, 11, 24, 12, 0, tzinfo=DEFAULT_TZ)
    >>> parse_time("昨天 10:32", now=now).isoformat()
    '2026-11-23T10:32:00+08:00'
    >>> parse_time_detail("11-20", now=now).precision
    'day'
    """
    return parse_time_detail(value, now).when


def parse_time_detail(value: object, now: datetime | None = None) -> ParsedTime:
    """Like :func:`parse_time`, also saying the precision the text gave (``day`` for a date)."""
    ref = _reference(now)
    try:
        parsed = _parse(value, ref)
    except TimeParseError:
        raise
    except (ValueError, OverflowError, OSError, TypeError, IndexError) as exc:
        # datetime() refuses month 13 or year 0, timedelta and fromtimestamp overflow: all say
        # the text is not a time, and callers should need only one except clause.
        raise TimeParseError(f"not a time: {_show(value)} ({exc})") from None
    if parsed.precision == "day":
        parsed = _day_begun(parsed, ref)
    check_plausible(parsed.when, ref)
    return parsed


def _day_begun(parsed: ParsedTime, ref: datetime) -> ParsedTime:
    """A date alone (read as China's midnight) refused as ``future`` only when its day has not
    begun anywhere (at +14:00, give or take ``MAX_CLOCK_SKEW``), else no later than ``ref``.

    The date is the site's day, begun earlier east of China: a Japanese or Korean site writes
    ``2026-11-25`` from 23:00 of China's 24th, which was refused as in the future (the run
    degraded). A day begun but still ahead of China's is taken as ``ref``, precision ``day``.
    Tested in ``tests/crawlers/test_timeparse.py``.
    """
    day = parsed.when.date()
    begins = datetime(day.year, day.month, day.day, tzinfo=_EARLIEST_ZONE)
    if begins - ref > MAX_CLOCK_SKEW:
        message = f"{day.isoformat()} has not begun in any time zone (now {ref.isoformat()})"
        raise TimeParseError(message, "future")
    return parsed if parsed.when <= ref else ParsedTime(ref.astimezone(parsed.when.tzinfo), "day")


def date_only(value: object) -> bool:
    """Whether a time text names a day but no time of day: such posts stay out of intraday bins.

    Examples
    --------
    >>> [date_only(t) for t in ("11-20", "2026年11月20日", "3天前", "2周前", "Thu, 01 Jan 2004")]
    [True, True, True, True, True]
    >>> [date_only(t) for t in ("11-20 08:00", "5小时前", "昨天 10:32", 1700000000)]
    [False, False, False, False]
    """
    if not isinstance(value, str):
        return False
    text = value.translate(_WIDE).strip()
    match = _FULL_DATE.match(text)
    if match:
        return match.group(4) is None
    match = _MONTH_DAY.match(text) or _RFC822_DATE.match(text)
    if match:
        return match.group(3 if match.re is _MONTH_DAY else 4) is None
    match = _RELATIVE.match(text)
    return match is not None and _RELATIVE_UNITS[match.group(2)][1] == "day"


_W3C_COARSE = re.compile(r"(\d{4})(?:-(\d{2}))?")


def coarse_period_end(value: object) -> datetime | None:
    """The last instant (China time) of a W3C Datetime year or month (``2026``, ``2026-11``),
    or None for any other text.

    Sitemaps date entries in W3C Datetime (sitemaps.org, ``lastmod``), whose coarsest forms
    name a year or a month: a valid date of no post's time, so no bad one either. An entry so
    dated is judged new or known by the period's end, and dated by its page.

    Examples
    --------
    >>> [coarse_period_end(t).isoformat() for t in ("2003-12", " 2026 ")]
    ['2003-12-31T23:59:59.999999+08:00', '2026-12-31T23:59:59.999999+08:00']
    >>> coarse_period_end("2026-11-24"), coarse_period_end("2026-13"), coarse_period_end(2026)
    (None, None, None)
    """
    if not isinstance(value, str):
        return None
    match = _W3C_COARSE.fullmatch(value.strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2) or 12)
    if not 1 <= month <= 12:
        return None
    start = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=DEFAULT_TZ)
    return start - timedelta(microseconds=1)


def check_plausible(when: datetime, now: datetime | None = None) -> datetime:
    """``when`` (made aware) if it could be a post's time as of ``now``, else TimeParseError."""
    when = aware(when)
    ref = _reference(now)
    # Age first: Asia/Shanghai before 1901 is local mean time, +08:05:43, which is not the
    # text's fault but the year's.
    if when < EARLIEST:
        raise TimeParseError(f"{when.isoformat()} is before {EARLIEST.year}", "too_old")
    if when - ref > MAX_CLOCK_SKEW:  # a difference, which cannot overflow near year 9999
        message = f"{when.isoformat()} is in the future (now {ref.isoformat()})"
        raise TimeParseError(message, "future")
    if when.tzinfo is DEFAULT_TZ:  # Shanghai since 1901: +08:00 (+09:00 in summers 1986-91)
        return when
    offset = when.utcoffset()
    if offset is None or offset % _QUARTER_HOUR or abs(offset) > _MAX_OFFSET:
        raise TimeParseError(f"{when.isoformat()} has an offset no time zone uses", "offset")
    return when


def parse_iso(value: object) -> datetime:
    """An ISO 8601 / RFC 3339 time (``Z``, any fraction) as an aware datetime; not judged.

    Naive times are taken as Shanghai local time.

    Examples
    --------
    >>> parse_iso("2026-11-25T02:00:00.123456789Z").isoformat()
    '2026-11-25T02:00:00.123456+00:00'
    """
    if isinstance(value, datetime):
        return aware(value)
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # fromisoformat takes at most microseconds; Alertmanager and Go send nanoseconds.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        return aware(datetime.fromisoformat(text))
    except (ValueError, OverflowError, TypeError) as exc:
        raise TimeParseError(f"not an ISO time: {_show(value)} ({exc})") from None


def parse_full_date(value: object) -> datetime:
    """A full date as pages and tools write it, as an aware datetime; not judged.

    ``2026/3/2 9:05`` (Excel's zh-CN short date), ``2026年3月2日 10:00``, ``2026.3.2``, with
    an optional time and offset: the full-date shape :func:`parse_time` reads, without its
    plausibility check (a replayed series may lie anywhere in time); and Kibana's default
    ``Mar 2, 2026 @ 09:05:00.000`` (its CSV export). Naive times are Shanghai local time.

    Examples
    --------
    >>> parse_full_date("2026/3/2 9:05").isoformat()
    '2026-03-02T09:05:00+08:00'
    >>> parse_full_date("Mar 2, 2026 @ 09:05:00.000").isoformat()
    '2026-03-02T09:05:00+08:00'
    """
    text = str(value).translate(_WIDE).strip()
    try:
        match = _FULL_DATE.match(text)
        if match is not None:
            return _full_date(match).when
        kibana = _KIBANA.match(text)
        if kibana is not None and kibana[1] in _MONTHS:
            day, year, hour, minute = (int(kibana[i]) for i in (2, 3, 4, 5))
            second = int(kibana[6] or 0)
            month = _MONTHS[kibana[1]]
            return datetime(year, month, day, hour, minute, second, tzinfo=DEFAULT_TZ)
    except ValueError as exc:  # month 13, February 30
        raise TimeParseError(f"not a date: {_show(value)} ({exc})") from None
    raise TimeParseError(f"not a full date: {_show(value)}")


def _reference(now: datetime | None) -> datetime:
    return aware(now) if now is not None else _now()


def _show(value: object) -> str:
    return repr(value)[:80]


def _parse(value: object, ref: datetime) -> ParsedTime:
    if isinstance(value, datetime):
        return ParsedTime(aware(value), "second")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ParsedTime(_epoch(float(value)), "second")
    text = str(value).translate(_WIDE).strip()
    if not text:
        raise TimeParseError("empty time text")
    if "CST" in text:
        text = _china_standard_time(text)
    text = _TWELVE_HOUR.sub(_to_24_hour, text)
    if _EPOCH.fullmatch(text):
        return ParsedTime(_epoch(float(text)), "second")
    # The most common shape first (shop reviews, feeds, stored times): one regex, no others.
    match = _FULL_DATE.match(text)
    if match:
        return _full_date(match)
    if text in {"刚刚", "刚才", "just now"}:
        return ParsedTime(ref, "minute")
    match = _RELATIVE.match(text)
    if match:
        unit, precision = _RELATIVE_UNITS[match.group(2)]
        amount = 0.5 if match.group(1) == "半" else int(match.group(1))
        if amount == 0.5 and precision == "hour":
            precision = "minute"  # half an hour ago is to the half hour
        return ParsedTime(ref - amount * unit, precision)
    local_ref = ref.astimezone(DEFAULT_TZ)
    match = _DAY_WORD.match(text)
    if match:
        day = local_ref.date() - timedelta(days=_DAY_OFFSET[match.group(1)])
        hour, minute, second = int(match.group(2)), int(match.group(3)), int(match.group(4) or 0)
        when = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=DEFAULT_TZ)
        return ParsedTime(when, "second" if match.group(4) else "minute")
    match = _BARE_TIME.match(text)
    if match:
        return _bare_time(match, local_ref)
    match = _MONTH_DAY.match(text)
    if match:
        return _month_day(match, local_ref)
    try:
        return ParsedTime(datetime.strptime(text, _WEIBO), "second")
    except ValueError:
        pass
    rfc822 = rfc822_form(text)
    if rfc822 is not None:
        text, precision = rfc822
        return ParsedTime(aware(parsedate_to_datetime(text)), precision)
    try:
        return ParsedTime(aware(parsedate_to_datetime(rfc822_zone(text))), "second")
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    raise TimeParseError(f"unknown time expression {_show(text)}")


def _china_standard_time(text: str) -> str:
    """``CST`` read as +08:00: dropped beside a numeric offset, else replaced by ``+0800``.

    Examples
    --------
    >>> _china_standard_time("Wed Feb 20 21:53:27 CST 2019")
    'Wed Feb 20 21:53:27 +0800 2019'
    >>> _china_standard_time("2026-11-24 10:00:00 +0800 CST")
    '2026-11-24 10:00:00 +0800'
    """
    if _NUMERIC_OFFSET.search(text):
        return _CST.sub("", text).strip()
    return _CST.sub(" +0800", text).strip()


def _to_24_hour(match: re.Match[str]) -> str:
    """``10:00 pm`` → ``22:00``; ``12:30 am`` → ``00:30``; an hour past 12 is not 12-hour time.

    Examples
    --------
    >>> _TWELVE_HOUR.sub(_to_24_hour, "Wed, 27 May 2015 10:00 pm +0800")
    'Wed, 27 May 2015 22:00 +0800'
    >>> _TWELVE_HOUR.sub(_to_24_hour, "2015-05-27 12:05:09 AM")
    '2015-05-27 00:05:09'
    """
    hour = int(match[1])
    if not 1 <= hour <= 12:
        raise TimeParseError(f"hour {hour} with {match[4]}m: not a 12-hour clock")
    hour = hour % 12 + (12 if match[4].lower() == "p" else 0)
    return f"{hour:02d}:{match[2]}{match[3]}"


def _epoch(seconds: float) -> datetime:
    if seconds > 1e11:  # milliseconds (13 digits)
        seconds /= 1000.0
    return datetime.fromtimestamp(seconds, tz=DEFAULT_TZ)


def _bare_time(match: re.Match[str], local_ref: datetime) -> ParsedTime:
    """``10:32`` as the latest such time of day not after ``local_ref`` (Shanghai).

    Examples
    --------
    >>> ref = datetime(2026, 11, 24, 0, 20, tzinfo=DEFAULT_TZ)
    >>> _bare_time(_BARE_TIME.match("00:15"), ref).when.isoformat()
    '2026-11-24T00:15:00+08:00'
    >>> _bare_time(_BARE_TIME.match("23:50"), ref).when.isoformat()
    '2026-11-23T23:50:00+08:00'
    """
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    day = local_ref.date()
    when = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=DEFAULT_TZ)
    if when - local_ref > MAX_CLOCK_SKEW:
        when -= timedelta(days=1)  # wall-clock arithmetic: the same time of day, a day back
    return ParsedTime(when, "second" if match.group(3) else "minute")


def _month_day(match: re.Match[str], local_ref: datetime) -> ParsedTime:
    month, mday = int(match.group(1)), int(match.group(2))
    hour, minute = int(match.group(3) or 0), int(match.group(4) or 0)
    second = int(match.group(5) or 0)
    year = local_ref.year
    when = datetime(year, month, mday, hour, minute, second, tzinfo=DEFAULT_TZ)
    # "12-30" read on Jan 2 means last year's December, not a date in the future.
    if when > local_ref + timedelta(days=1):
        when = when.replace(year=year - 1)
    precision: Precision = "day" if match.group(3) is None else "minute"
    return ParsedTime(when, "second" if match.group(5) else precision)


def _full_date(match: re.Match[str]) -> ParsedTime:
    year, month, day, hour, minute, second, offset = match.groups()
    precision: Precision = "day" if hour is None else "minute"
    if second:
        precision = "second"
    fields = (int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    if not offset:  # local China time, as the platforms show it
        return ParsedTime(datetime(*fields, tzinfo=DEFAULT_TZ), precision)
    naive = datetime(*fields)
    if offset in {"Z", "UTC", "GMT"}:
        return ParsedTime(naive.replace(tzinfo=UTC), precision)
    if len(offset) == 3:  # "+08": the hour alone
        offset += ":00"
    offset = offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
    return ParsedTime(datetime.fromisoformat(naive.isoformat() + offset), precision)
