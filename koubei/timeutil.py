"""Timezone handling: every timestamp koubei stores is timezone-aware."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(DEFAULT_TZ)


def aware(value: datetime, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """Attach ``tz`` to a naive datetime (platforms show local China time without an offset)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)
