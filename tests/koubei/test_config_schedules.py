"""Schedules in sources.yaml: the crons and intervals the config takes are the ones Prefect runs,
and a mistake names the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from koubei.config import (
    AlertsConfig,
    ConfigError,
    SourcesConfig,
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
