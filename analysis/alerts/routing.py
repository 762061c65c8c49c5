"""Routing: which channels hear of an incident, with whose @-mentions, and when.

As Alertmanager users expect: ``routes`` in ``config/alerts.yaml`` are tried in order; the first
whose matchers (brand, group, severity) all hold picks its channels, and ``continue: true``
lets the next routes add theirs. Without routes every enabled channel is a target. A channel
still applies its own ``min_severity``. ``quiet_hours`` (Asia/Shanghai) hold notices below
``hold_below`` (default critical) until the quiet time ends: nobody is woken for a warning.
A route with ``digest: true`` (typically ``severity: info``) pages nobody: its incidents wait as
``digest-item`` rows and go out once a day at ``digest_at`` as one message per channel
(:func:`koubei.analysis.alerts.digest.collect_digests`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from koubei.config import AlertsConfig, QuietHours, parse_duration
from koubei.timeutil import DEFAULT_TZ

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Target:
    """One channel an incident goes to, and the mentions its route adds."""

    name: str
    min_severity: str
    enabled: bool = True
    mentions: tuple[str, ...] = field(default_factory=tuple)
    repeat_seconds: int | None = None  # the route's repeat_interval
    digest: bool = False  # gathered into the daily digest instead of sent now


def route(config: AlertsConfig, labels: dict[str, Any]) -> list[Target]:
    """The targets for an incident with ``labels`` (brand, group, severity)."""
    channels = {c.name: c for c in config.channels if c.enabled}
    if not config.routes:
        return [Target(c.name, c.min_severity) for c in channels.values()]
    picked: dict[str, Target] = {}
    for rule in config.routes:
        if not rule.matches(labels):
            continue
        for name in rule.channels:
            if name in channels and name not in picked:
                repeat = parse_duration(rule.repeat_interval) if rule.repeat_interval else None
                picked[name] = Target(
                    name,
                    channels[name].min_severity,
                    True,
                    tuple(rule.mentions),
                    repeat,
                    rule.digest,
                )
        if not rule.continue_:
            break
    return list(picked.values())


class Router:
    """``IncidentStore`` asks it for targets once it knows the incident's severity."""

    def __init__(self, config: AlertsConfig) -> None:
        self.config = config

    def __call__(self, labels: dict[str, Any]) -> list[Target]:
        return route(self.config, labels)

    def digest_time(self, at: float) -> float:
        return next_digest(self.config.digest_at, at)

    def hold_until(self, severity: str, at: float) -> float | None:
        """When a notice of ``severity`` enqueued at ``at`` may go out (None: now)."""
        return quiet_until(self.config.quiet_hours, severity, at)


def next_digest(digest_at: str, at: float) -> float:
    """The next daily digest time (Asia/Shanghai) after ``at``."""
    hour, minute = map(int, digest_at.split(":"))
    now = datetime.fromtimestamp(at, DEFAULT_TZ)
    when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if when <= now:
        when += timedelta(days=1)
    return when.timestamp()


def quiet_until(quiet: QuietHours | None, severity: str, at: float) -> float | None:
    if quiet is None or SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[quiet.hold_below]:
        return None
    now = datetime.fromtimestamp(at, DEFAULT_TZ)
    start_h, start_m = map(int, quiet.start.split(":"))
    end_h, end_m = map(int, quiet.end.split(":"))
    minutes = now.hour * 60 + now.minute
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    inside = start <= minutes < end if start < end else minutes >= start or minutes < end
    if not inside:
        return None
    ends = now.replace(hour=end_h, minute=end_m, second=0, microsecond=0)
    if ends <= now:
        ends += timedelta(days=1)
    return ends.timestamp()
