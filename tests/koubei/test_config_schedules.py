"""Schedules in sources.yaml: the crons and intervals the config takes are the ones Prefect runs,
and a mistake names the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from koubei.config import (
    AlertsConfig,
    ConfigError,
    SourcesConfig,
    load_alerts,
    load_file,
    load_sources,
)
from koubei.cron import check_cron
from tests.koubei.test_config import write


def test_schedule_must_be_cron_and_platform_known(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sources.yaml",
        "sources:\n"
        "  - {name: a, platform: shop_json, schedule: 'every 30 min'}\n"
        "  - {name: b, platform: weibo_api}\n"
        "  - {name: c, platform: weibo, schedule: '61 * * * *'}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_file(path, SourcesConfig)
    lines = str(info.value).splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"{path}: sources[0].schedule: 'every 30 min' is not a cron")
    assert lines[1].startswith(f"{path}: sources[1].platform: unknown platform 'weibo_api'")
    assert "weibo" in lines[1] and "shop_json" in lines[1]
    assert lines[2].startswith(f"{path}: sources[2].schedule: '61 * * * *': minute field")


@pytest.mark.parametrize(
    "cron",
    [
        "*/30 * * * *",
        "0 9 * * *",
        "0,30 8-20 * * mon-fri",
        "5 */2 1 jan,jul sun",
        # Prefect runs these; the config refused them as "expected 5 fields" or "not valid
        # cron": nicknames, the first Monday, the last day of the month, the last Friday, '?'.
        "@hourly",
        "@daily",
        "@weekly",
        "@midnight",
        "0 9 * * 1#1",
        "0 9 * * mon#2",
        "0 23 L * *",
        "0 9 * * L5",
        "0 9 ? * *",
    ],
)
def test_valid_crons_agree_with_prefect(cron: str) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    assert check_cron(cron) == cron
    CronSchedule(cron=cron, timezone="Asia/Shanghai")  # Prefect accepts what config accepts


@pytest.mark.parametrize(
    ("cron", "why"),
    [
        ("0 0 31 2 *", r"no month in '2' has a day '31', so it would never run"),
        ("0 0 30,31 feb *", r"no month in 'feb' has a day '30,31'"),
        ("0 9 31 4,6,9,11 *", r"no month in '4,6,9,11' has a day '31'"),
        ("*/90 * * * *", r"minute field '\*/90' steps by 90, more than the field's 0-59"),
        ("0 */36 * * *", r"hour field '\*/36' steps by 36"),
    ],
)
def test_a_schedule_that_would_never_run_as_written_is_refused(
    tmp_path: Path, cron: str, why: str
) -> None:
    # Prefect accepted each: 31 February made the deployment's scheduler find no next date
    # (the deployment silently never ran), */90 fired hourly instead of every 90 minutes.
    path = write(
        tmp_path,
        "sources.yaml",
        f"sources:\n  - {{name: a, platform: weibo, schedule: '{cron}'}}\n",
    )
    with pytest.raises(ConfigError, match=rf"sources.yaml: sources\[0\].schedule: '.*': {why}"):
        load_file(path, SourcesConfig)


def _prefect_runs(cron: str, count: int = 3) -> list[str]:
    """The next runs Prefect's own cron (its vendored croniter) gives ``cron`` from 2026-12-01."""
    from datetime import datetime

    from prefect._vendor.croniter import croniter

    runs = croniter(cron, datetime(2026, 12, 1, 12))
    return [runs.get_next(datetime).strftime("%d %H:%M:%S") for _ in range(count)]


@pytest.mark.parametrize(
    ("cron", "runs"),
    [
        # Quartz/Spring spelling of "09:00 daily" (seconds first): every second of 00:00, 9th
        ("0 0 9 * * *", ["09 00:00:00", "09 00:00:01", "09 00:00:02"]),
        # Quartz "every 30 seconds": croniter reads minutes 0,30 and every second of them
        ("*/30 * * * * *", ["01 12:00:01", "01 12:00:02", "01 12:00:03"]),
        # croniter's own spelling, seconds last (09:00:30): runs as written, still refused
        ("0 9 * * * 30", ["02 09:00:30", "03 09:00:30", "04 09:00:30"]),
        # a 7th field is a year: the schedule would stop after 2027
        ("0 9 * * * 0 2027", ["01 09:00:00", "02 09:00:00", "03 09:00:00"]),
    ],
)
def test_a_cron_with_seconds_is_refused_with_what_prefect_would_do(
    tmp_path: Path, cron: str, runs: list[str]
) -> None:
    """Before: "expected 5 fields", saying nothing of why a cron Prefect takes was refused."""
    from prefect.client.schemas.schedules import CronSchedule

    CronSchedule(cron=cron, timezone="Asia/Shanghai")  # Prefect takes every one of them
    assert _prefect_runs(cron) == runs
    path = write(
        tmp_path,
        "sources.yaml",
        f"sources:\n  - {{name: a, platform: weibo, schedule: '{cron}'}}\n",
    )
    fields = len(cron.split())
    with pytest.raises(ConfigError) as info:
        load_file(path, SourcesConfig)
    message = str(info.value)
    assert f"sources[0].schedule: '{cron}' has {fields} fields" in message
    assert "6th field as seconds at the end" in message and "Quartz" in message
    assert "every second of 00:00 on the 9th" in message and "e.g. '0 9 * * *'" in message


@pytest.mark.parametrize(
    ("cron", "first", "runs"),
    [
        ("*/90 * * * *", "minute 0 alone", ["01 13:00:00", "01 14:00:00", "01 15:00:00"]),
        ("5-55/90 * * * *", "minute 5 alone", ["01 12:05:00", "01 13:05:00", "01 14:05:00"]),
        ("0 */36 * * *", "hour 0 alone", ["02 00:00:00", "03 00:00:00", "04 00:00:00"]),
    ],
)
def test_an_oversized_step_says_what_prefect_would_run_instead(
    cron: str, first: str, runs: list[str]
) -> None:
    """Prefect runs these at the first value of the field only (hourly or daily); the message
    said "once per hour" but not which minute, nor that no step means "every 90 minutes"."""
    assert _prefect_runs(cron) == runs
    with pytest.raises(ValueError) as info:
        check_cron(cron)
    message = str(info.value)
    assert f"Prefect's cron reads it as {first}" in message
    assert "a cron step starts again every" in message and "use a step of at most" in message


def test_a_step_that_does_not_divide_its_field_runs_as_cron_runs_it() -> None:
    """Passed, as Prefect runs it (documented in sources.yaml): :00 and :45, not every 45 min."""
    assert check_cron("*/45 * * * *") == "*/45 * * * *"
    assert _prefect_runs("*/45 * * * *", 4) == [
        "01 12:45:00",
        "01 13:00:00",
        "01 13:45:00",
        "01 14:00:00",
    ]


@pytest.mark.parametrize(
    ("cron", "why"),
    [
        ("0 9 * * 1,L5", r"weekday field '1,L5' mixes plain weekdays with nth or last ones"),
        ("0 9 * * L5,sat", r"weekday field 'L5,sat' mixes plain weekdays"),
        ("0 9 * * mon,1#2,3", r"weekday field 'mon,1#2,3' mixes plain weekdays"),
        ("0 9 * * Lfri", r"weekday field 'Lfri': a last weekday is L and its number"),
    ],
)
def test_a_schedule_prefect_refuses_is_refused_by_the_config(
    tmp_path: Path, cron: str, why: str
) -> None:
    # The config accepted each, and `koubei serve` / `prefect deploy` then failed building the
    # deployment's schedule ("Invalid cron string"), every deployment with it.
    from prefect.client.schemas.schedules import CronSchedule

    with pytest.raises(ValueError, match="Invalid cron string"):
        CronSchedule(cron=cron, timezone="Asia/Shanghai")
    path = write(
        tmp_path,
        "sources.yaml",
        f"sources:\n  - {{name: a, platform: weibo, schedule: '{cron}'}}\n",
    )
    with pytest.raises(ConfigError, match=rf"sources.yaml: sources\[0\].schedule: '.*': {why}"):
        load_file(path, SourcesConfig)


@pytest.mark.parametrize("cron", ["0 9 * * 1#1,L5", "0 9 * * 1,1#1", "0 9 * * *,L5"])
def test_weekday_forms_prefect_runs_still_pass(cron: str) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    CronSchedule(cron=check_cron(cron), timezone="Asia/Shanghai")


@pytest.mark.parametrize("cron", [" @daily", "@hourly ", " */30 * * * * "])
def test_a_schedule_with_blanks_around_reaches_prefect_without_them(
    tmp_path: Path, cron: str
) -> None:
    # ' @daily' passed the config (read stripped) and went to Prefect as written, which refused
    # it: "Invalid cron string".
    from prefect.client.schemas.schedules import CronSchedule

    path = write(
        tmp_path,
        "sources.yaml",
        f"sources:\n  - {{name: a, platform: weibo, schedule: '{cron}'}}\n",
    )
    schedule = load_file(path, SourcesConfig).sources[0].schedule
    assert schedule == cron.strip()
    CronSchedule(cron=schedule, timezone="Asia/Shanghai")


@pytest.mark.parametrize(
    ("line", "column", "value"),
    [
        ("    schedule: */5 * * * *", 16, "*/5 * * * *"),
        ("    schedule: @daily", 15, "@daily"),
        ("    schedule: */30 9-18 * * mon-fri  # office hours", 16, "*/30 9-18 * * mon-fri"),
        ("  - {name: b, platform: weibo, schedule: * * * * *}", 43, "* * * * *"),
    ],
)
def test_an_unquoted_cron_is_told_to_be_quoted(
    tmp_path: Path, line: str, column: int, value: str
) -> None:
    # sources.yaml's comment shows `*/5 * * * *`; written unquoted, the error was YAML's alone
    # ("expected alphabetic or numeric character, but found '/'"), never that it needs quotes.
    path = write(tmp_path, "sources.yaml", f"sources:\n  - name: a\n    platform: weibo\n{line}\n")
    with pytest.raises(ConfigError) as info:
        load_sources(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}: line 4, column {column}: invalid YAML: "), message
    assert message.endswith(
        f" (a value starting with {value[0]!r} must be quoted in YAML, as crons are: '{value}')"
    ), message


@pytest.mark.parametrize("cron", ["0 0 29 2 *", "0 0 31 2 mon", "0 0 31 dec-feb *", "*/60 * * * *"])
def test_odd_but_possible_schedules_pass(cron: str) -> None:
    # 29 February (leap years), 31 February or any Monday (cron ORs day and weekday), a wrapped
    # month range, and a step as long as its field all fire as written.
    assert check_cron(cron) == cron


@pytest.mark.parametrize("interval", ["0m", "0s", "0h"])
def test_a_zero_interval_is_a_config_error(tmp_path: Path, interval: str) -> None:
    # 0m passed validation; `koubei serve` then died with ZeroDivisionError building its cron.
    path = write(tmp_path, "alerts.yaml", f"interval: {interval}\n")
    with pytest.raises(ConfigError, match=rf"alerts.yaml: interval: '{interval}' is no interval"):
        load_file(path, AlertsConfig)


@pytest.mark.parametrize("interval", ["7m", "25m", "7h", "2d"])
def test_an_interval_that_does_not_divide_a_day_is_a_config_error(
    tmp_path: Path, interval: str
) -> None:
    # 7m passed: the detectors' same-time-of-day baseline then drifted by most of a bin a day
    # (a day is 205.7 bins of 7 minutes), and the process deployment's */7 ran unevenly.
    path = write(tmp_path, "alerts.yaml", f"interval: {interval}\n")
    with pytest.raises(ConfigError, match=rf"interval: '{interval}' does not divide a day"):
        load_file(path, AlertsConfig)


@pytest.mark.parametrize("interval", ["1m", "5m", "10m", "15m", "30m", "1h", "2h", "1d"])
def test_intervals_that_divide_a_day_pass(tmp_path: Path, interval: str) -> None:
    path = write(tmp_path, "alerts.yaml", f"interval: {interval}\n")
    assert load_file(path, AlertsConfig).interval == interval


AM = "channels: [{name: am, type: alertmanager, options: {url_env: AM_URL%s}}]\n"


@pytest.mark.parametrize(
    ("yaml", "field", "words"),
    [
        ("paging:\n  quiet: 0s\n", "paging.quiet", "would close every incident at once"),
        ("paging:\n  quiet: 0m\n", "paging.quiet", "would close every incident at once"),
        ("renotify: 0h\n", "renotify", "would repeat every active incident's alert each cycle"),
        (
            AM % "" + "routes: [{channels: [am], repeat_interval: 0m}]\n",
            "routes[0].repeat_interval",
            "would repeat every active incident's alert each cycle",
        ),
        (AM % ", ttl: 0s", "channels[0].options.ttl", "would end every alert as it is sent"),
        (AM % ", ttl: -60", "channels[0].options.ttl", "-60 is a negative duration"),
    ],
)
def test_a_duration_that_cannot_be_zero_is_refused_at_load_naming_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml: str, field: str, words: str
) -> None:
    # Each loaded: `paging: quiet: 0s` opened a new incident, and paged, for every firing bin;
    # `renotify: 0h` repeated every active incident's alert every cycle; a route's
    # `repeat_interval: 0m` was read as unset (its route fell back to `renotify`, unsaid); an
    # Alertmanager `ttl` of 0s or -60 sent alerts that had already ended.
    from koubei.analysis.alerts.channels import build_channels

    monkeypatch.setenv("AM_URL", "http://127.0.0.1:9093")
    path = write(tmp_path, "alerts.yaml", yaml)
    with pytest.raises(ConfigError) as info:
        build_channels(load_alerts(tmp_path), path)
    message = str(info.value)
    assert message.startswith(f"{path}: {field}: "), message
    assert words in message, message


def test_a_settling_of_zero_still_means_no_settling(tmp_path: Path) -> None:
    write(tmp_path, "alerts.yaml", "paging:\n  settling: 0s\n")
    assert load_alerts(tmp_path).paging.settling == "0s"


def test_an_outage_cap_is_read_into_the_paging_policy(tmp_path: Path) -> None:
    """0 means something (an outage counts as quiet, as before session 22); a word does not."""
    from koubei.analysis.detectors.paging import paging_policy
    from koubei.paths import package_dir

    write(tmp_path, "alerts.yaml", "paging:\n  outage_cap: 0s\n")
    assert paging_policy(load_alerts(tmp_path)).outage_cap_seconds == 0
    assert paging_policy(load_alerts(package_dir("conf"))).outage_cap_seconds == 86400
    path = write(tmp_path, "alerts.yaml", "paging:\n  outage_cap: a day\n")
    with pytest.raises(ConfigError, match=f"{path}: paging.outage_cap: 'a day' is not a duration"):
        load_alerts(tmp_path)
