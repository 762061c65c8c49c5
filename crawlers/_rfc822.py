"""RFC 822 dates as feeds write them beside the standard form, for :mod:`koubei.crawlers.timeparse`.

The one time parser stays :mod:`~koubei.crawlers.timeparse`; this module only rewrites an RFC 822
date into the form ``email.utils`` reads right (a Chinese month, a date without a time, a zone
``email.utils`` would not read), so that ``timeparse`` stays one readable module.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from koubei.crawlers.timeparse import Precision

MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}

# RFC 822 dates as feeds write them beside the standard form (see :func:`rfc822_form`). The month
# may be ``8月`` (Bing's zh-CN RSS: ``周五, 21 8月 2026 08:42:00 GMT``), followed by a stray
# comma (``13 Feb, 2012``); the time may be missing (``Thu, 01 Jan 2004``).
# 一月 … 十二月: glibc zh_CN's full month names.
_CHINESE_MONTHS = (*(f"{c}月" for c in "一二三四五六七八九十"), "十一月", "十二月")
RFC822_DATE = re.compile(
    r"^(?:[^\s,\d]+,?\s*)?(\d{1,2})\s+([A-Za-z]{3,9}|\d{1,2}月|"
    + "|".join(_CHINESE_MONTHS[::-1])  # 十二月 and 十一月 before 十月
    + r"),?\s+(\d{2}|\d{4})(?:\s+(\d{1,2}:\d{2}(?::\d{2})?)(?:\s+(.+))?)?$"
)
# A zone email.utils would not read, so that the time came back naive and was taken as China's:
# ``GMT+0100`` / ``GMT-01:01`` / ``UTC+8``, ``+08:00`` with a colon, and ``-0000``
# (RFC 5322 3.3: Universal Time, the local zone unknown; email.utils returns it naive too).
# Not ``Etc/GMT+8``: the tz database's sign is the reverse (UTC-8), so it is left unread.
_ZONE_OFFSET = re.compile(r"^(?:(?:GMT|UTC|UT)\s*)?([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)
# The zone after an RFC 822 date's time (``10:00:00 GMT+0100``), whatever the date's shape.
_ZONE_TAIL = re.compile(r"(?<=\d:\d\d)\s+(\S+)$")
# Zone names feedparser reads beyond RFC 822's (its ``timezone_names``): Central European and
# the US zones without S/D, as Disney's feeds wrote them.
_ZONE_NAMES = {
    "ETC/GMT": "+0000",
    "MET": "+0100",
    "MEST": "+0200",
    "AT": "-0400",
    "ET": "-0500",
    "CT": "-0600",
    "MT": "-0700",
    "PT": "-0800",
    # Zones a Chinese-language monitor's feeds are written in beyond China and the US, as the tz
    # database abbreviates them (Asia/Tokyo JST, Asia/Seoul KST, Asia/Hong_Kong HKT,
    # Australia/Perth AWST, Europe/* CET/EET/WET and their summer names, Europe/Moscow MSK,
    # Pacific/Auckland NZST/NZDT; SGT as Singapore's sites write it): read as China's before,
    # JST an hour late. Names two zones share (IST, BST, SST) stay unread (China's time).
    "JST": "+0900",
    "KST": "+0900",
    "HKT": "+0800",
    "SGT": "+0800",
    "AWST": "+0800",
    "ACST": "+0930",
    "ACDT": "+1030",
    "AEST": "+1000",
    "AEDT": "+1100",
    "NZST": "+1200",
    "NZDT": "+1300",
    "WET": "+0000",
    "WEST": "+0100",
    "CET": "+0100",
    "CEST": "+0200",
    "EET": "+0200",
    "EEST": "+0300",
    "MSK": "+0300",
}


def rfc822_form(text: str) -> tuple[str, Precision] | None:
    """An RFC 822 date in a form email.utils reads right, and its precision; None for another
    shape.

    email.utils skips an unknown weekday (``周五,``) but not ``8月``, a comma after the month or
    a date without a time; for the zone see :func:`rfc822_zone`.

    Examples
    --------
    >>> rfc822_form("周五, 21 8月 2026 08:42:00 GMT")
    ('21 Aug 2026 08:42:00 GMT', 'second')
    >>> rfc822_form("星期五, 20 十一月 2026 08:42:00 +0800")
    ('20 Nov 2026 08:42:00 +0800', 'second')
    >>> rfc822_form("Mon, 15 Jan 2024 14:30:22 GMT+0100"), rfc822_form("Thu, 01 Jan 2004")
    (('15 Jan 2024 14:30:22 +0100', 'second'), ('01 Jan 2004 00:00', 'day'))
    """
    match = RFC822_DATE.match(text)
    if match is None:
        return None
    day, month, year, clock, zone = match.groups()
    if month.endswith("月"):
        # ``8月`` is glibc zh_CN's abbreviated month (``%b``), ``八月``/``十一月`` its full one
        # (``%B``), which a locale-formatted template writes as readily.
        number = int(month[:-1]) if month[0].isdigit() else _CHINESE_MONTHS.index(month) + 1
        if not 1 <= number <= 12:
            return None
        month = list(MONTHS)[number - 1]
    if clock is None:
        return f"{day} {month} {year} 00:00", "day"
    return rfc822_zone(" ".join(p for p in (day, month, year, clock, zone) if p)), "second"


def rfc822_zone(text: str) -> str:
    """``text`` with the zone after its time written as email.utils reads it.

    email.utils returns a naive time for a zone it does not know, taken as China's:
    ``Mon, 15 Jan 2024 14:30:22 GMT+0100`` came out 7 hours early and ``-0000`` 8. A zone name
    neither knows stays as it is (China's time, as for a time without a zone).

    Examples
    --------
    >>> rfc822_zone("Tue, Jan 23 2018 02:54:55 GMT-05:00"), rfc822_zone("1 Jan 2026 08:00 -0000")
    ('Tue, Jan 23 2018 02:54:55 -0500', '1 Jan 2026 08:00 +0000')
    """
    match = _ZONE_TAIL.search(text)
    if match is None:
        return text
    zone = match.group(1)
    offset = _ZONE_OFFSET.match(zone)
    if offset is not None:
        sign, hours, minutes = offset.groups()
        zone = f"{sign}{int(hours):02d}{minutes or '00'}"
        if zone == "-0000":
            zone = "+0000"
    else:
        zone = _ZONE_NAMES.get(zone.upper(), zone)
    return f"{text[: match.start(1)]}{zone}"
