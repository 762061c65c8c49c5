"""Cron expressions of ``sources.yaml`` schedules, checked as Prefect will read them.

Split from :mod:`koubei.config`: one concept (five fields, names, ranges, steps, the
``@daily`` nicknames and croniter's ``L``/``#`` forms), and the config module stays its models.
"""

from __future__ import annotations

import re

__all__ = ["check_cron"]

_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day", 1, 31),
    ("month", 1, 12),
    ("weekday", 0, 7),
)
_CRON_NAMES = {
    "month": ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    "weekday": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
_CRON_ITEM = re.compile(r"^(\*|(\w+)(?:-(\w+))?)(?:/(\d+))?$")


def check_cron(expr: str) -> str:
    """``expr`` if it is a 5-field cron expression (``*/30 * * * *``), else a clear ValueError.

    Deployments hand it to Prefect's cron schedule; checking here makes a bad entry a config
    error naming the file and field instead of a traceback when ``koubei serve`` starts, or a
    deployment that never runs. Some crons Prefect 3 accepts are refused too, because it runs
    them otherwise than they read (checked against its vendored croniter):

    - a step longer than its field: ``*/90`` minutes is minute 0 alone, hourly, not every 90
      minutes (a step of the whole field, ``*/60``, is the hourly it says and passes);
    - a day no month has (``31 2``, 31 February): the scheduler finds no next date;
    - 6 or 7 fields: croniter reads the 6th as seconds at the end and the 7th as a year, and
      the seconds-first crons of Quartz and Spring (``0 0 9 * * *``) run every second of a
      minute. Seconds are no crawl schedule's business either.

    Steps that do not divide their field pass as cron runs them: ``*/45`` minutes is :00 and
    :45 of every hour (the config comment in ``sources.yaml`` says so).

    The expression comes back without surrounding blanks: Prefect refuses a nickname with one
    (``' @daily'``) that this check, reading it stripped, accepted.
    """
    expr = expr.strip()
    parts = _cron_parts(expr)
    if len(parts) in (6, 7):
        # Prefect's croniter reads a 6th field as seconds at the END and a 7th as a year; Quartz,
        # Spring and many web generators put seconds FIRST. Prefect accepts both spellings and
        # runs the Quartz one wrong, every second of a minute: refused, whatever was meant.
        raise ValueError(
            f"{expr!r} has {len(parts)} fields: Prefect's cron reads a 6th field as seconds at "
            "the end (and a 7th as a year), not first as Quartz and Spring do, so '0 0 9 * * *' "
            "(09:00 daily, seconds first) would run 60 times, every second of 00:00 on the 9th; "
            "write the 5 fields minute hour day month weekday, e.g. '0 9 * * *'"
        )
    if len(parts) != len(_CRON_FIELDS):
        raise ValueError(
            f"{expr!r} is not a cron expression: expected 5 fields "
            "(minute hour day month weekday), e.g. '*/30 * * * *' for every 30 minutes"
        )
    values = [
        _cron_field(expr, part, name, low, high)
        for part, (name, low, high) in zip(parts, _CRON_FIELDS, strict=True)
    ]
    _check_weekday_forms(expr, _CRON_NICKNAMES.get(expr.lower(), expr).split()[4])
    days, months = values[2], values[3]
    if parts[4] == "*" and not any(d <= _MONTH_DAYS[m - 1] for d in days for m in months):
        raise ValueError(
            f"{expr!r}: no month in {parts[3]!r} has a day {parts[2]!r}, so it would never run"
        )
    return expr


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
#: the nicknames Prefect's cron (croniter) takes, as the five fields they mean
_CRON_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def _check_weekday_forms(expr: str, weekday: str) -> None:
    """Prefect's croniter runs the nth (``1#2``) and last (``L5``) weekday forms only with a
    weekday number after ``L`` (``Lfri`` is refused) and never beside a plain weekday of
    another day (``1,L5``, ``mon,1#2``): refused here too, before a deployment is built."""
    items = [item.lower() for item in weekday.split(",")]
    special = [re.match(r"^(\w+)#[1-5]$|^l(\d+)$", item) for item in items]
    if any(item.startswith("l") and not re.match(r"^l\d+$", item) for item in items):
        raise ValueError(
            f"{expr!r}: weekday field {weekday!r}: a last weekday is L and its number "
            "(L5, the last Friday), as Prefect's cron reads it"
        )
    if not any(special):
        return
    days = {_weekday(m.group(1) or m.group(2)) for m in special if m}
    plain = set()
    for item, match in zip(items, special, strict=True):
        if match is None:
            plain |= {_weekday(str(d)) for d in _cron_field(expr, item, "weekday", 0, 7)}
    if plain - days and plain != set(range(7)):
        raise ValueError(
            f"{expr!r}: weekday field {weekday!r} mixes plain weekdays with nth or last ones "
            "(1#2, L5), which Prefect's cron refuses; write a schedule for each"
        )


def _weekday(text: str) -> int:
    """A weekday's number, Sunday 0 (also written 7)."""
    number = _cron_value(text, "weekday", 0, 7)
    return (number or 0) % 7


def _cron_parts(expr: str) -> list[str]:
    """The five fields to check, with the forms Prefect's cron also runs read as plain ones: a
    nickname (``@daily``), ``?`` for any day, ``L`` the last day of the month (checked as the
    28th, which every month has), ``1#2`` the second Monday and ``L5`` the last Friday (checked
    as their weekday)."""
    parts = _CRON_NICKNAMES.get(expr.strip().lower(), expr).split()
    if len(parts) != len(_CRON_FIELDS):
        return parts
    day = ",".join("28" if item.lower() == "l" else item for item in parts[2].split(","))
    weekday = ",".join(
        re.sub(r"^(\w+)#[1-5]$|^[lL](\w+)$", lambda m: m.group(1) or m.group(2), item)
        for item in parts[4].split(",")
    )
    return [
        parts[0],
        parts[1],
        "*" if day == "?" else day,
        parts[3],
        "*" if weekday == "?" else weekday,
    ]


def _cron_field(expr: str, part: str, name: str, low: int, high: int) -> set[int]:
    """The values one cron field matches; a ValueError naming the field if it is not valid."""
    found: set[int] = set()
    for item in part.split(","):
        match = _CRON_ITEM.match(item.lower())
        bounds = [g for g in (match.group(2), match.group(3)) if g] if match else []
        parsed = [_cron_value(b, name, low, high) for b in bounds]
        numbers = [n for n in parsed if n is not None]
        step = int(match.group(4)) if match and match.group(4) else 1
        if match is None or len(numbers) < len(parsed) or step == 0:
            raise ValueError(
                f"{expr!r}: {name} field {part!r} is not valid cron "
                f"(numbers {low}-{high}, ranges a-b, lists a,b, steps */n)"
            )
        first = numbers[0] if numbers else low
        if step > high - low + 1:
            # Prefect takes it and matches the first value alone: '*/90' minutes runs at minute
            # 0 of every hour. Nothing in 5 fields means "every 90 minutes" (a step restarts
            # each hour), so the mistake is refused rather than run hourly.
            period = _CRON_PERIOD[name]
            raise ValueError(
                f"{expr!r}: {name} field {part!r} steps by {step}, more than the field's "
                f"{low}-{high}: Prefect's cron reads it as {name} {first} alone, so it would "
                f"match only once per {period}, not every {step} {_CRON_UNIT[name]} (a cron step "
                f"starts again every {period}; use a step of at most {high - low + 1})"
            )
        last = numbers[-1] if len(numbers) == 2 else (high if step > 1 or not numbers else first)
        # A reversed range (``22-2``) wraps around, as Prefect's croniter reads it.
        span = (
            range(first, last + 1)
            if first <= last
            else [*range(first, high + 1), *range(low, last + 1)]
        )
        found.update(list(span)[::step])
    return found


_CRON_PERIOD = {"minute": "hour", "hour": "day", "day": "month", "month": "year", "weekday": "week"}
_CRON_UNIT = {
    "minute": "minutes",
    "hour": "hours",
    "day": "days",
    "month": "months",
    "weekday": "days",
}


def _cron_value(text: str, name: str, low: int, high: int) -> int | None:
    if text.isdigit():
        return int(text) if low <= int(text) <= high else None
    names = _CRON_NAMES.get(name, [])
    return names.index(text) + low if text in names else None
