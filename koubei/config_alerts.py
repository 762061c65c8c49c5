"""The alerts.yaml part of the config schema: detectors, paging, channels, routes, quiet hours.

Read through :mod:`koubei.config` (``load_alerts``), which re-exports every name here: that
module stays the one entry point of the schema; this one only keeps it under 600 lines.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from koubei import redact
from koubei.config_fields import FieldProblems, Strict, Text, Texts, check_env_name

Severity = Literal["info", "warning", "critical"]
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# Longer durations are typos; they overflow ``timedelta`` and dates where they are used.
MAX_DURATION_SECONDS = 36500 * 86400


def check_kibana_url(value: str) -> str:
    """``value`` stripped if it is an http(s) URL of a host (and port), else ValueError."""
    if not re.match(r"^https?://[^/\s:\[\]]+(:\d{1,5})?(/\S*)?$", value.strip()):
        raise ValueError(f"{value!r} is not an http(s) URL like http://localhost:5601")
    return value.strip()


def parse_duration(text: str | int) -> int:
    """Seconds in ``'5m'``, ``'1h'``, ``'30s'``, ``'7d'`` or a bare integer of seconds (never
    negative: ``-60`` is refused as ``'-5m'`` is)."""
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"{text} is a negative duration; use one like '5m', '1h' or '7d'")
        seconds = text
    else:
        match = _DURATION.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a duration like '5m', '1h', '30s' or '7d'")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"{text!r} is too long a duration (at most 100 years, '36500d')")
    return seconds


def positive_duration(text: str | int, zero_would: str, example: str) -> int:
    """:func:`parse_duration` of a duration zero makes no sense for, else ValueError saying
    what zero would do (``zero_would``) and a value to use (``example``)."""
    seconds = parse_duration(text)
    if seconds == 0:
        raise ValueError(f"{text!r} {zero_would}; use a positive duration like {example!r}")
    return seconds


#: what a zero ``renotify`` or route ``repeat_interval`` would do
REPEAT_EVERY_CYCLE = "would repeat every active incident's alert each cycle"


class DetectorConfig(Strict):
    name: str
    type: str = Field(description="detector class name in the registry (analysis.detectors)")
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)


class PagingConfig(Strict):
    """The paging policy (analysis/detectors/paging.py): one page per incident."""

    quiet: str = "12h"
    escalate: bool = True
    settling: str = "0s"
    outage_cap: str = "1d"

    @field_validator("quiet")
    @classmethod
    def _quiet(cls, value: str) -> str:
        # At 0 an incident closed at once: every firing bin a new incident and a new page.
        positive_duration(value, "would close every incident at once, each firing a new page", "6h")
        return value

    @field_validator("settling", "outage_cap")
    @classmethod
    def _duration(cls, value: str) -> str:
        # 0 means something: every bin counts as complete (settling, no crawl lag allowed
        # for); an outage of the data counts as quiet like any other time (outage_cap)
        parse_duration(value)
        return value


class ChannelConfig(Strict):
    name: str
    type: str = Field(description="channel class name in the registry (analysis.alerts.channels)")
    enabled: bool = True
    min_severity: Severity = "warning"
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _no_inline_secrets(cls, options: dict[str, Any]) -> dict[str, Any]:
        for key in options:
            if key in {"url", "secret", "token", "webhook", "password", "api_key"}:
                raise ValueError(
                    f"{key!r} must not be written in YAML; set '{key}_env' to the name of an "
                    "environment variable that holds it"
                )
        bad = [k for k, v in options.items() if k.endswith("_env") and isinstance(v, str)]
        for key in bad:
            try:
                check_env_name(options[key])
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        # Whatever the variables are called, their values stay out of every log line.
        redact.register_secret_names(
            str(v) for k, v in options.items() if k.endswith("_env") and isinstance(v, str)
        )
        return options


class RouteConfig(Strict):
    """Alertmanager-style route: the first route whose matchers all hold picks the channels."""

    match: dict[Literal["brand", "group", "severity"], Text | Texts] = Field(
        default_factory=dict, description="label → value or list of values; empty matches all"
    )
    channels: list[str] = Field(min_length=1, description="channel names from `channels`")
    mentions: Texts = Field(default_factory=list, description="extra on-call ids to @")
    repeat_interval: str | None = Field(
        default=None, description="repeat a still-active incident this often (default: `renotify`)"
    )
    digest: bool = Field(
        default=False,
        description="gather into one message a day (at `digest_at`) instead of paging",
    )
    continue_: bool = Field(default=False, alias="continue", description="also try the next routes")

    @field_validator("match")
    @classmethod
    def _known_severity(cls, match: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        # A misspelt severity (critcal) matched no incident, ever, and said nothing.
        wanted = match.get("severity", [])
        known = get_args(Severity)
        for value in [wanted] if isinstance(wanted, str) else wanted:
            if value not in known:
                raise ValueError(f"severity {value!r} is not one of {', '.join(known)}")
        return match

    @field_validator("repeat_interval")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None:
            # 0 was read as unset: the route repeated at `renotify`, and nothing said so
            positive_duration(value, REPEAT_EVERY_CYCLE, "4h")
        return value

    def matches(self, labels: dict[str, Any]) -> bool:
        for name, wanted in self.match.items():
            values = [wanted] if isinstance(wanted, str) else wanted
            if str(labels.get(name)) not in values:
                return False
        return True


class QuietHours(Strict):
    """Hours (Asia/Shanghai) in which notices below ``hold_below`` wait until the end."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")
    hold_below: Severity = "critical"


class AlertsConfig(Strict):
    interval: str = "5m"
    renotify: str = "4h"
    kibana_url: str = "http://localhost:5601"
    # Where the incident pages and daily briefs are published (koubei report serve by default);
    # alerts link to <reports_url>/incidents/<id>.html.
    reports_url: str = "http://127.0.0.1:8780"
    paging: PagingConfig = Field(default_factory=PagingConfig)
    detectors: list[DetectorConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    quiet_hours: QuietHours | None = None
    digest_at: str = Field(
        default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM"
    )

    @model_validator(mode="after")
    def _routes_name_channels(self) -> AlertsConfig:
        names = {c.name for c in self.channels}
        problems = []
        # Routes, the outbox and the incident history know a channel, and an incident its
        # detector, by name: two of one name were one, silently.
        for kind, entries in (("channels", self.channels), ("detectors", self.detectors)):
            seen = [entry.name for entry in entries]
            problems += [
                (f"{kind}[{i}].name", f"{name!r} is already the name of {kind}[{seen.index(name)}]")
                for i, name in enumerate(seen)
                if seen.index(name) != i
            ]
        for i, route in enumerate(self.routes):
            unknown = [n for n in route.channels if n not in names]
            if unknown:
                problems.append(
                    (
                        f"routes[{i}].channels",
                        f"{', '.join(unknown)} not in channels (known: {', '.join(sorted(names))})",
                    )
                )
        if problems:
            raise FieldProblems(problems)
        return self

    @field_validator("renotify")
    @classmethod
    def _renotify(cls, value: str) -> str:
        positive_duration(value, REPEAT_EVERY_CYCLE, "4h")
        return value

    @field_validator("interval")
    @classmethod
    def _positive_interval(cls, value: str) -> str:
        # The bin of every count series and the process deployment's period: zero is neither.
        seconds = positive_duration(value, "is no interval", "5m")
        if 86400 % seconds:
            # the detectors compare a bin with the same time of day on earlier days: at 7m a
            # day is 205.7 bins, and that time of day drifted by most of a bin a day
            raise ValueError(
                f"{value!r} does not divide a day, and the detectors compare each bin with the "
                "same time on earlier days; use one that does, like '5m', '10m', '15m' or '1h'"
            )
        return value

    @field_validator("kibana_url")
    @classmethod
    def _kibana_url(cls, value: str) -> str:
        # Every alert links here: a bad value must fail at start-up, not in a phone's browser.
        return check_kibana_url(value)

    def unheard(self) -> str | None:
        """Why no alert would reach anyone (no channel enabled), or None when one could.

        Not an error: a setup may detect and record incidents for Kibana and the incident pages
        alone. ``koubei run``, ``serve`` and ``alerts deliver`` say it at start, so that it is
        never a silent failure of a monitoring product.
        """
        if any(channel.enabled for channel in self.channels):
            return None
        what = "disables every alert channel" if self.channels else "configures no alert channel"
        return (
            f"{what}: incidents are detected and recorded, but no alert reaches anyone "
            "(enable one under `channels:`; `koubei alerts test NAME` checks it)"
        )

    @property
    def interval_seconds(self) -> int:
        return parse_duration(self.interval)

    @property
    def renotify_seconds(self) -> int:
        return parse_duration(self.renotify)
