"""Timezone handling and koubei's one clock: every timestamp koubei stores is timezone-aware.

:func:`now` is the only "current time" with a calendar meaning (the month's posts index, a
spider's ``crawled_at``, "the last 7 days", platform times like "3分钟前", alert and
silence stamps). ``KOUBEI_NOW`` (an ISO 8601 time with an offset) stops it at that instant, for
tests and for CI runs at a month's last minute and at New Year (.ci/run). Durations, timeouts,
signature freshness and unique file stamps keep the real clock on purpose: a stopped clock would
never time out, receivers check signatures against their own clock, and stamps would collide.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from koubei.errors import KoubeiError

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
CLOCK_ENV = "KOUBEI_NOW"


class ClockError(KoubeiError):
    """``KOUBEI_NOW`` is not one instant. Not a ValueError on purpose: code that sets aside a
    record whose values raise ValueError must not set aside every record for a bad clock."""


def now() -> datetime:
    """The current time in China, or the instant ``KOUBEI_NOW`` names (the clock then stands)."""
    fixed = os.environ.get(CLOCK_ENV)
    if fixed:
        return _parse_fixed(fixed)
    return datetime.now(DEFAULT_TZ)


@lru_cache(maxsize=8)
def _parse_fixed(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ClockError(
            f"{CLOCK_ENV}={raw!r}: not an ISO 8601 time (e.g. 2027-01-31T23:59:00+00:00)"
        ) from None
    if value.tzinfo is None:
        raise ClockError(f"{CLOCK_ENV}={raw!r}: needs an offset (+08:00 or Z) to be one instant")
    return value.astimezone(DEFAULT_TZ)


def aware(value: datetime, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """Attach ``tz`` to a naive datetime (platforms show local China time without an offset)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def on_grid(moment: datetime, seconds: int) -> datetime:
    """``moment`` floored onto the grid of ``seconds``-long bins counted from midnight in
    China (for a bin that divides an hour, the same grid in any whole-hour zone): every count
    series of a brand is cut on it, so a backtest run at 19:27:45 reads the bins the 19:20
    cycle read, not bins shifted by 2 min 45 s with other counts in them."""
    local = moment.astimezone(DEFAULT_TZ)
    offset = local.utcoffset()
    shift = int(offset.total_seconds()) if offset is not None else 0
    stamp = int(local.timestamp())  # whole seconds: a bin boundary has no fraction
    return datetime.fromtimestamp(stamp - (stamp + shift) % seconds, tz=local.tzinfo)
