from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koubei.crawlers.timeparse import (
    TimeParseError,
    check_plausible,
    parse_iso,
    parse_time,
    parse_time_detail,
)
from koubei.timeutil import DEFAULT_TZ

NOW = datetime(2026, 11, 25, 9, 30, 0, tzinfo=DEFAULT_TZ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("刚刚", NOW),
        ("5分钟前", NOW - timedelta(minutes=5)),
        ("3小时前", NOW - timedelta(hours=3)),
        ("30秒前", NOW - timedelta(seconds=30)),
        ("2天前", NOW - timedelta(days=2)),
        ("半小时前", NOW - timedelta(minutes=30)),  # Bilibili, Douyin
        ("2个小时前", NOW - timedelta(hours=2)),
        ("1年前", NOW - timedelta(days=365)),
        ("今天 08:32", datetime(2026, 11, 25, 8, 32, tzinfo=DEFAULT_TZ)),
        # s.weibo.com writes no space (SpiderClub/weibospider#200: '今天06:09').
        ("今天06:09", datetime(2026, 11, 25, 6, 9, tzinfo=DEFAULT_TZ)),
        ("昨天 10:32", datetime(2026, 11, 24, 10, 32, tzinfo=DEFAULT_TZ)),
        ("前天 23:05", datetime(2026, 11, 23, 23, 5, tzinfo=DEFAULT_TZ)),
        ("11-20", datetime(2026, 11, 20, tzinfo=DEFAULT_TZ)),
        ("11月20日 08:15", datetime(2026, 11, 20, 8, 15, tzinfo=DEFAULT_TZ)),
        # no space after 日, as news pages write it (and as 2026年11月20日08:15 was read)
        ("11月20日08:15", datetime(2026, 11, 20, 8, 15, tzinfo=DEFAULT_TZ)),
        ("12-30", datetime(2025, 12, 30, tzinfo=DEFAULT_TZ)),  # in the future this year
        ("2026-11-20 08:00", datetime(2026, 11, 20, 8, 0, tzinfo=DEFAULT_TZ)),
        ("2026-11-24 10:00:00", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("2026/11/24", datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)),
        ("2026年11月24日", datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)),
        ("2026-11-24T02:00:00Z", datetime(2026, 11, 24, 2, 0, tzinfo=UTC)),
        # Ruby's Time#to_s of a UTC time (and Rails' TimeWithZone#to_s): "... UTC".
        ("2026-11-24 02:00:00 UTC", datetime(2026, 11, 24, 2, 0, tzinfo=UTC)),
        # An hour-only offset (ISO 8601 ±hh), as PostgreSQL prints timestamptz: "...-08".
        ("2026-11-24 10:00:00+08", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("2026-11-23T18:00:00-08", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("Tue Nov 24 10:00:00 +0800 2026", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("Tue, 24 Nov 2026 02:00:00 GMT", datetime(2026, 11, 24, 2, 0, tzinfo=UTC)),
        # CST is China Standard Time on Chinese pages (email.utils: US Central, 14 h off).
        ("Tue, 24 Nov 2026 10:00:00 CST", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("Tue Nov 24 10:00:00 CST 2026", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("2026-11-24 10:00:00 +0800 CST", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("Tue, 24 Nov 2026 10:00:00 +0800 (CST)", datetime(2026, 11, 24, 10, tzinfo=DEFAULT_TZ)),
        # A 12-hour clock: the marker is not dropped (the afternoon was 12 hours early).
        ("Tue, 24 Nov 2026 10:00 pm CST", datetime(2026, 11, 24, 22, 0, tzinfo=DEFAULT_TZ)),
        ("Tue, 24 Nov 2026 11:00 am CST", datetime(2026, 11, 24, 11, 0, tzinfo=DEFAULT_TZ)),
        ("2026-11-24 12:05:09 AM", datetime(2026, 11, 24, 0, 5, 9, tzinfo=DEFAULT_TZ)),
        ("2026-11-24 12:30 P.M.", datetime(2026, 11, 24, 12, 30, tzinfo=DEFAULT_TZ)),
        ("星期二, 24 Nov 2026 10:00:00 +0800", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("1795485600", datetime.fromtimestamp(1795485600, tz=DEFAULT_TZ)),
        (1795485600, datetime.fromtimestamp(1795485600, tz=DEFAULT_TZ)),
        ("1795485600123", datetime.fromtimestamp(1795485600.123, tz=DEFAULT_TZ)),
        # As Chinese news pages write times (public crawlers strip the spaces and read
        # "%Y年%m月%d日%H:%M", or turn "：" into ":" first): no space after 日, a full-width
        # colon, the no-break space of &nbsp; and the ideographic space.
        ("2026年11月24日10:00", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("2026年11月24日 10:00:05", datetime(2026, 11, 24, 10, 0, 5, tzinfo=DEFAULT_TZ)),
        ("2026-11-24 10：00", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("昨天 10：32", datetime(2026, 11, 24, 10, 32, tzinfo=DEFAULT_TZ)),
        ("2026-11-24\xa010:00", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
        ("2026年11月24日\u300010:00", datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)),
    ],
)
def test_expressions(text: str | int, expected: datetime) -> None:
    parsed = parse_time(text, now=NOW)
    assert parsed == expected
    assert parsed.tzinfo is not None


def _zone(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


@pytest.mark.parametrize(
    ("text", "expected", "precision"),
    [
        # A zone email.utils does not know came back naive and was read as China's time.
        # ``GMT+HHMM``: "non-standard but common feed date formats" (taranis-ai/taranis-ai#952,
        # its sample feed); ``GMT+0000`` from a feed in rometools/rome#539.
        (
            "Mon, 15 Jan 2024 14:30:22 GMT+0100",
            datetime(2024, 1, 15, 14, 30, 22, tzinfo=_zone(1)),
            "second",
        ),
        ("Tue, 01 Mar 2022 16:03:00 GMT+0000", datetime(2022, 3, 1, 16, 3, tzinfo=UTC), "second"),
        # The month before the day (rometools/rome#378: ``Tue, Jan 23 2018 02:54:55 MST``;
        # a Microsoft feed in Ranchero-Software/NetNewsWire#2109), with such a zone.
        (
            "Tue, Jan 23 2018 02:54:55 GMT+0100",
            datetime(2018, 1, 23, 2, 54, 55, tzinfo=_zone(1)),
            "second",
        ),
        # ``+hh:mm`` and ``GMT-hh:mm`` inside RFC 822: feedparser tests/test_date_parsers.py.
        (
            "Tue, 24 Nov 2026 10:00:00 -05:00",
            datetime(2026, 11, 24, 10, tzinfo=_zone(-5)),
            "second",
        ),
        (
            "Tue, 24 Nov 2026 10:00:00 GMT-05:00",
            datetime(2026, 11, 24, 10, tzinfo=_zone(-5)),
            "second",
        ),
        # ``-0000`` is Universal Time (RFC 5322 3.3); the comma without a space is feedparser's
        # example of a real feed (feedparser/datetimes/rfc822.py: 'Fri,24 Nov 2023 18:28:36 -0000').
        (
            "Fri,24 Nov 2023 18:28:36 -0000",
            datetime(2023, 11, 24, 18, 28, 36, tzinfo=UTC),
            "second",
        ),
        # More of feedparser's tests: Etc/GMT, its extra zone names, a comma after the month,
        # no time of day.
        ("Wed, 19 Aug 2009 18:28:00 Etc/GMT", datetime(2009, 8, 19, 18, 28, tzinfo=UTC), "second"),
        ("Thu, 30 Apr 2015 08:57:00 MET", datetime(2015, 4, 30, 7, 57, tzinfo=UTC), "second"),
        ("Thu, 30 Apr 2015 08:57:00 MEST", datetime(2015, 4, 30, 6, 57, tzinfo=UTC), "second"),
        ("Mon, 26 January 2004 16:31:00 ET", datetime(2004, 1, 26, 21, 31, tzinfo=UTC), "second"),
        ("Mon, 26 January 2004 16:31:00 PT", datetime(2004, 1, 27, 0, 31, tzinfo=UTC), "second"),
        ("Mon, 13 Feb, 2012 06:28:00 UTC", datetime(2012, 2, 13, 6, 28, tzinfo=UTC), "second"),
        # Zone names of the tz database beyond feedparser's (were read as China's time).
        ("Mon, 15 Jan 2024 14:30:22 JST", datetime(2024, 1, 15, 5, 30, 22, tzinfo=UTC), "second"),
        ("Mon, 15 Jan 2024 14:30:22 HKT", datetime(2024, 1, 15, 6, 30, 22, tzinfo=UTC), "second"),
        ("Mon, 1 Jul 2024 09:00:00 CEST", datetime(2024, 7, 1, 7, 0, tzinfo=UTC), "second"),
        ("Mon, 1 Jul 2024 09:00:00 AEST", datetime(2024, 6, 30, 23, 0, tzinfo=UTC), "second"),
        # A name two zones share stays unread: China's time, as for a time without a zone.
        ("Mon, 1 Jul 2024 09:00:00 IST", datetime(2024, 7, 1, 9, 0, tzinfo=DEFAULT_TZ), "second"),
        ("Thu, 01 Jan 2004", datetime(2004, 1, 1, tzinfo=DEFAULT_TZ), "day"),
        # A Chinese weekday and month: Bing's zh-CN RSS and a Sparkle appcast generated on a
        # zh-CN Mac (public code and a tutorial found by ``find_string <pubDate>周``).
        ("周五, 21 8月 2026 08:42:00 GMT", datetime(2026, 8, 21, 8, 42, tzinfo=UTC), "second"),
        (
            "周一, 11 3月 2019 09:44:51 +0800",
            datetime(2019, 3, 11, 9, 44, 51, tzinfo=DEFAULT_TZ),
            "second",
        ),
        # The full names of glibc's zh_CN locale (``localedata/locales/zh_CN``: ``day``
        # 星期日…星期六, ``mon`` 一月…十二月), as ``%A, %d %B %Y`` writes them (were unknown).
        (
            "星期五, 20 十一月 2026 08:42:00 +0800",
            datetime(2026, 11, 20, 8, 42, tzinfo=DEFAULT_TZ),
            "second",
        ),
        ("星期四, 01 十月 2026", datetime(2026, 10, 1, tzinfo=DEFAULT_TZ), "day"),
    ],
)
def test_feed_rfc822_dates_keep_their_zone(text: str, expected: datetime, precision: str) -> None:
    parsed = parse_time_detail(text, now=NOW)
    assert parsed.when == expected
    assert parsed.precision == precision


def test_an_rfc822_offset_no_zone_uses_is_judged_not_dropped() -> None:
    # feedparser's "+hh:mm timezone" test value: before, the offset was dropped and the time
    # taken as China's, a plausible but wrong time; now it is read, and refused like any other.
    for text in ("Wed, 19 Feb 2012 22:40:00 -01:01", "Wed, 19 Feb 2012 22:40:00 GMT-01:01"):
        with pytest.raises(TimeParseError) as caught:
            parse_time(text, now=NOW)
        assert caught.value.kind == "offset"


@pytest.mark.parametrize(
    "text", ["", "去年某天", "25:99", "昨天晚上", "2026-13-45", "20 十十月 2026 08:42:00 GMT"]
)
def test_unknown_raises(text: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_time(text, now=NOW)
    assert caught.value.kind == "unknown"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        # The shapes issue 22 found coming back silently or as ValueError/OverflowError.
        ("2170-01-01 08:00", "future"),
        ("7594-03-02", "future"),
        ("1773-12-16", "too_old"),
        ("1999-12-31 23:59", "too_old"),
        ("Tue Nov 24 10:00:00 +0805 2026", "offset"),
        ("2026-11-24T10:00:00+08:05", "offset"),
        ("今天 23:59", "future"),  # later today than now
        ("99999999999999999天前", "unknown"),  # too many digits for the shape
        ("999999个月前", "unknown"),  # timedelta overflow
        ("0000-01-01", "unknown"),  # year 0
        (1e300, "unknown"),
        (float("nan"), "unknown"),
        (-1, "too_old"),
        ("100000000", "too_old"),  # epoch 1973
        ("9999999999999", "future"),  # epoch milliseconds in 2286
        ("Tue, 24 Nov 2026 02:00:00 +2500", "unknown"),
    ],
)
def test_impossible_times_raise_only_time_parse_error(value: object, kind: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_time(value, now=NOW)
    assert caught.value.kind == kind


@pytest.mark.parametrize(
    ("text", "now", "expected", "precision"),
    [
        # A bare time of day is today's, read against the reference time in China.
        ("08:32", NOW, datetime(2026, 11, 25, 8, 32, tzinfo=DEFAULT_TZ), "minute"),
        ("08:05:09", NOW, datetime(2026, 11, 25, 8, 5, 9, tzinfo=DEFAULT_TZ), "second"),
        ("9:30", NOW, NOW, "minute"),
        ("０９：３５", NOW, NOW + timedelta(minutes=5), "minute"),  # within the clock skew
        # Later than the reference (past the skew): yesterday's, as on a page rendered
        # before midnight and read after it; across a month's and a year's end too.
        ("09:45", NOW, datetime(2026, 11, 24, 9, 45, tzinfo=DEFAULT_TZ), "minute"),
        ("10:32", NOW, datetime(2026, 11, 24, 10, 32, tzinfo=DEFAULT_TZ), "minute"),
        ("23:58", NOW, datetime(2026, 11, 24, 23, 58, tzinfo=DEFAULT_TZ), "minute"),
        (
            "23:50",
            datetime(2027, 1, 1, 0, 5, tzinfo=DEFAULT_TZ),
            datetime(2026, 12, 31, 23, 50, tzinfo=DEFAULT_TZ),
            "minute",
        ),
        # The reference in another zone is read as China's clock: 20:00 UTC is 04:00 the next
        # day in Shanghai, so 03:30 is that day's and 05:00 the day before's.
        (
            "03:30",
            datetime(2026, 11, 24, 20, 0, tzinfo=UTC),
            datetime(2026, 11, 25, 3, 30, tzinfo=DEFAULT_TZ),
            "minute",
        ),
        (
            "05:00",
            datetime(2026, 11, 24, 20, 0, tzinfo=UTC),
            datetime(2026, 11, 24, 5, 0, tzinfo=DEFAULT_TZ),
            "minute",
        ),
        ("10:00 pm", NOW, datetime(2026, 11, 24, 22, 0, tzinfo=DEFAULT_TZ), "minute"),
    ],
)
def test_bare_time_of_day_is_today_or_else_yesterday(
    text: str, now: datetime, expected: datetime, precision: str
) -> None:
    parsed = parse_time_detail(text, now=now)
    assert parsed.when == expected
    assert parsed.precision == precision


def test_today_with_a_later_time_stays_an_error() -> None:
    # ``今天`` names the day: a later time is not yesterday's but a time in the future.
    assert parse_time("今天 09:35", now=NOW) == NOW + timedelta(minutes=5)
    with pytest.raises(TimeParseError) as caught:
        parse_time("今天 09:45", now=NOW)
    assert caught.value.kind == "future"


def test_clock_skew_allowance_is_small() -> None:
    assert parse_time("2026-11-25 09:35", now=NOW) == NOW + timedelta(minutes=5)
    with pytest.raises(TimeParseError):
        parse_time("2026-11-25 09:45", now=NOW)


def test_offsets_real_zones_use_pass() -> None:
    nepal = parse_time("2026-11-24T10:00:00+05:45", now=NOW)
    assert nepal.utcoffset() == timedelta(hours=5, minutes=45)
    with pytest.raises(TimeParseError):
        check_plausible(datetime.fromisoformat("2026-11-24T10:00:00+08:05:43"), NOW)


@pytest.mark.parametrize(
    ("text", "precision"),
    [
        ("11-20", "day"),
        ("2026年11月24日", "day"),
        ("2026年11月24日10:00", "minute"),
        ("2026-11-24\xa010:00", "minute"),
        ("2天前", "day"),
        ("3小时前", "hour"),
        ("半小时前", "minute"),
        ("1年前", "day"),
        ("昨天 10:32", "minute"),
        ("2026-11-20 08:00", "minute"),
        ("2026-11-24 10:00:00", "second"),
        ("Tue Nov 24 10:00:00 +0800 2026", "second"),
        (1795485600, "second"),
    ],
)
def test_precision_says_what_the_text_gave(text: object, precision: str) -> None:
    assert parse_time_detail(text, now=NOW).precision == precision


def test_parse_iso_reads_stored_and_alertmanager_times_without_judging() -> None:
    assert parse_iso("2026-11-25T02:00:00.123456789Z") == datetime(
        2026, 11, 25, 2, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_iso("2170-01-01T00:00:00").year == 2170  # stored values are not judged here
    assert parse_iso("2026-11-25 10:00").tzinfo == DEFAULT_TZ
    with pytest.raises(TimeParseError):
        parse_iso("yesterday")


@given(st.integers(min_value=0, max_value=100_000))
def test_minutes_ago_is_exact(minutes: int) -> None:
    assert NOW - parse_time(f"{minutes}分钟前", now=NOW) == timedelta(minutes=minutes)


def test_relative_times_read_koubeis_clock_in_china(clock: datetime) -> None:
    # Without now=, "now" is koubei's clock and the calendar is China's: at 23:59 UTC on a
    # month's last day, "昨天" is that last day and "今天" the next month's first.
    today = clock.astimezone(DEFAULT_TZ).date()
    yesterday = today - timedelta(days=1)
    assert parse_time("刚刚") == clock
    assert parse_time("5分钟前") == clock - timedelta(minutes=5)
    assert parse_time("今天 00:00") == datetime(
        today.year, today.month, today.day, tzinfo=DEFAULT_TZ
    )
    assert parse_time("昨天 23:59") == datetime(
        yesterday.year, yesterday.month, yesterday.day, 23, 59, tzinfo=DEFAULT_TZ
    )
    # A date without a year is at most a year back, and never in the future: a time later
    # than koubei's "now" is refused (the one parser allows only a few minutes of clock skew).
    for text in ("12-31 23:00", "1-1 00:00", f"{today.month}-{today.day} 00:00"):
        when = parse_time(text)
        assert clock - timedelta(days=366) < when <= clock, text
    later = clock.astimezone(DEFAULT_TZ) + timedelta(hours=1)
    with pytest.raises(TimeParseError):
        parse_time(f"{later.year}-{later.month}-{later.day} {later.hour}:{later.minute:02d}")


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        # A Japanese or Korean site's 25th begins at 23:00 of China's 24th (+09:00): read at
        # 23:05 it is no time in the future but the crawl's time, its day still its own.
        ("2026-11-25", "2026-11-24T23:05:00+08:00", "2026-11-24T23:05:00+08:00"),
        ("2026年11月25日", "2026-11-24T23:50:00+08:00", "2026-11-24T23:50:00+08:00"),
        ("11-25", "2026-11-24T23:50:00+08:00", "2026-11-24T23:50:00+08:00"),
        ("Wed, 25 Nov 2026", "2026-11-24T23:50:00+08:00", "2026-11-24T23:50:00+08:00"),
        # The 25th begins at +14:00 (Kiribati) at 18:00 in China; the skew allowed as ever.
        ("2026-11-25", "2026-11-24T17:55:00+08:00", "2026-11-24T17:55:00+08:00"),
        ("2026-11-25", "2026-11-25T00:00:00+08:00", "2026-11-25T00:00:00+08:00"),  # China's
        ("2026-11-24", "2026-11-24T23:05:00+08:00", "2026-11-24T00:00:00+08:00"),
    ],
)
def test_a_date_alone_is_in_the_future_only_before_its_day_began_anywhere(
    text: str, now: str, expected: str
) -> None:
    parsed = parse_time_detail(text, now=datetime.fromisoformat(now))
    assert (parsed.when.isoformat(), parsed.precision) == (expected, "day")


@pytest.mark.parametrize(
    ("text", "now"),
    [
        ("2026-11-25", "2026-11-24T17:45:00+08:00"),  # not begun at +14:00 (18:00 in China)
        ("2026-11-26", "2026-11-24T23:05:00+08:00"),
        ("Thu, 26 Nov 2026", "2026-11-24T23:05:00+08:00"),
    ],
)
def test_a_date_whose_day_has_begun_nowhere_is_in_the_future(text: str, now: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_time_detail(text, now=datetime.fromisoformat(now))
    assert caught.value.kind == "future"
