"""The one time parser: whatever comes in, only TimeParseError goes out, and no result is
implausible (future beyond the skew allowance, before 2000, or an offset no zone uses)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from koubei.crawlers.timeparse import (
    EARLIEST,
    MAX_CLOCK_SKEW,
    TimeParseError,
    check_plausible,
    parse_iso,
    parse_time_detail,
)
from koubei.timeutil import DEFAULT_TZ
from tests.fuzz.strategies import any_text

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=DEFAULT_TZ)

offsets = st.integers(min_value=-24 * 3600 + 1, max_value=24 * 3600 - 1).map(
    lambda s: timezone(timedelta(seconds=s))
)
dates = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.none() | offsets
)
# The shapes the parser knows, with any numbers in them: month 13, year 0, minute 99, 10**20.
numbers = st.integers(min_value=0, max_value=10**20).map(str)
shaped = st.one_of(
    st.tuples(numbers, st.sampled_from(["秒", "分钟", "小时", "天", "周", "个月"])).map(
        lambda t: f"{t[0]}{t[1]}前"
    ),
    st.tuples(st.sampled_from(["今天", "昨天", "前天"]), numbers, numbers).map(
        lambda t: f"{t[0]} {t[1]}:{t[2]}"
    ),
    st.tuples(numbers, numbers, numbers, numbers, numbers).map(
        lambda t: f"{t[0]}-{t[1]}-{t[2]} {t[3]}:{t[4]}"
    ),
    st.tuples(numbers, numbers).map(lambda t: f"{t[0]}-{t[1]}"),
    st.tuples(numbers, st.sampled_from(["+", "-"]), numbers).map(
        lambda t: f"Tue Nov 24 10:00:00 {t[1]}{t[2][:4].zfill(4)} {t[0]}"
    ),
    st.tuples(numbers, numbers).map(lambda t: f"Tue, 24 Nov {t[0]} 02:00:00 +{t[1][:4]}"),
    dates.map(lambda d: d.isoformat()),
    dates.map(lambda d: d.strftime("%a %b %d %H:%M:%S %z %Y")),
)
values = st.one_of(
    any_text,
    shaped,
    numbers,
    st.integers(),
    st.floats(),
    dates,
    st.none(),
    st.booleans(),
)


def _plausible(when: datetime) -> None:
    assert when.tzinfo is not None
    assert EARLIEST <= when <= NOW + MAX_CLOCK_SKEW
    offset = when.utcoffset()
    assert offset is not None and offset % timedelta(minutes=15) == timedelta(0)


@given(values)
def test_parse_time_raises_only_time_parse_error(value: object) -> None:
    try:
        parsed = parse_time_detail(value, now=NOW)
    except TimeParseError:
        return
    _plausible(parsed.when)
    assert parsed.precision in {"second", "minute", "hour", "day"}


@given(any_text | shaped)
def test_parse_iso_raises_only_time_parse_error(value: str) -> None:
    try:
        parsed = parse_iso(value)
    except TimeParseError:
        return
    assert parsed.tzinfo is not None


@given(dates, st.datetimes(timezones=st.just(UTC)))
def test_check_plausible_raises_only_time_parse_error(when: datetime, now: datetime) -> None:
    try:
        checked = check_plausible(when, now)
    except TimeParseError:
        return
    assert EARLIEST <= checked <= now + MAX_CLOCK_SKEW
