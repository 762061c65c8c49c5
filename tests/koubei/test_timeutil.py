"""koubei's one clock: real time in China, or stopped where KOUBEI_NOW says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from koubei import timeutil
from koubei.timeutil import DEFAULT_TZ


def test_real_clock_is_aware_and_in_china(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(timeutil.CLOCK_ENV, raising=False)
    now = timeutil.now()
    assert now.tzinfo == DEFAULT_TZ
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)


def test_koubei_now_stops_the_clock_at_that_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    # A month's last UTC minute is already the next month's first day in China.
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2027-01-31T23:59:00Z")
    assert timeutil.now() == datetime(2027, 2, 1, 7, 59, tzinfo=DEFAULT_TZ)
    assert timeutil.now().tzinfo == DEFAULT_TZ
    assert timeutil.now() == timeutil.now()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("2027-01-31 23:59", "needs an offset"), ("next tuesday", "not an ISO 8601 time")],
)
def test_a_bad_koubei_now_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str, reason: str
) -> None:
    monkeypatch.setenv(timeutil.CLOCK_ENV, raw)
    with pytest.raises(timeutil.ClockError, match=f"KOUBEI_NOW='{raw}': {reason}"):
        timeutil.now()
