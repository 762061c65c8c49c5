"""CSV reading onto a fixed grid and the causal helpers."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from koubei.analysis.detectors import (
    CountSeries,
    default_detectors,
    detect_all,
    read_csv,
    series_key,
)
from koubei.analysis.detectors.causal import (
    episodes,
    past_abs_median_and_quantile,
    past_median,
    trailing_sum,
)


def test_read_csv_infers_interval_fills_gaps_and_keeps_labels(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "timestamp,value\n"
        "2015-02-26 21:40:00,5\n"
        "2015-02-26 21:45:00,7\n"
        "2015-02-26 21:55:00,9\n"  # 21:50 is missing
        "2015-02-26 22:00:00,4\n",
        encoding="utf-8",
    )
    data = read_csv(path)
    series = data.series
    assert series.interval_seconds == 300
    assert series.negative == [5, 7, 7, 9, 4]
    assert series.filled == [False, False, True, False, False]
    assert data.labels[3] == "2015-02-26 21:55:00" and data.labels[2] == ""
    assert series.start[0].utcoffset() is not None
    assert series.volume_only


def test_read_csv_puts_rows_a_second_off_the_grid_on_it(tmp_path: Path) -> None:
    # An exporter stamping 5-minute rows at run time: a second early or late, now and then.
    # Floored, 21:49:59 would join 21:45's bin (a doubled count, a spike) and leave 21:50's
    # empty; and 299 / 300 / 301 s gaps must still read as 5-minute data.
    path = tmp_path / "jitter.csv"
    stamps = ["21:40:00", "21:45:01", "21:49:59", "21:54:59", "22:00:01", "22:05:00", "22:17:30"]
    path.write_text(
        "timestamp,value\n"
        + "".join(f"2015-02-26 {t},{n}\n" for n, t in enumerate(stamps, start=1)),
        encoding="utf-8",
    )
    series = read_csv(path).series
    assert series.interval_seconds == 300
    # the last row is half an interval off: it is added to the bin it falls in (22:15)
    assert series.negative == [1, 2, 3, 4, 5, 6, 6, 7]
    assert series.filled == [False] * 6 + [True, False]


def test_read_csv_without_header_and_with_iso_offsets(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("2026-03-02T00:00:00+00:00,1\n2026-03-02T00:01:00+00:00,2\n", "utf-8")
    series = read_csv(path).series
    assert series.interval_seconds == 60 and series.total == [1, 2]


def test_read_csv_rejects_garbage(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,value\n2026-03-02 00:00:00,1\nyesterday,2\n", "utf-8")
    with pytest.raises(ValueError, match=r"bad\.csv:3"):
        read_csv(path)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nan", r"hostile\.csv:3: column 2 \('value'\) 'nan' is not a finite number"),
        ("inf", r"hostile\.csv:3: column 2 \('value'\) 'inf' is not a finite number"),
        ("-3", r"hostile\.csv:3: column 2 \('value'\) '-3' is negative"),
    ],
)
def test_read_csv_names_the_line_of_a_value_no_count_has(
    tmp_path: Path, value: str, message: str
) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text(
        f"timestamp,value\n2026-03-02 00:00:00,1\n2026-03-02 00:05:00,{value}\n", "utf-8"
    )
    with pytest.raises(ValueError, match=message):
        read_csv(path)


def test_read_csv_refuses_a_mistyped_year_instead_of_a_grid_of_millions(tmp_path: Path) -> None:
    path = tmp_path / "typo.csv"
    path.write_text(
        "timestamp,value\n2015-03-05 20:10:00,4\n2015-03-05 20:15:00,5\n2051-02-26 21:40:00,9\n",
        "utf-8",
    )
    with pytest.raises(ValueError, match=r"typo\.csv: rows span .* from '2015-03-05 20:15:00' "
                       r"\(line 3\) to '2051-02-26 21:40:00' \(line 4\)"):  # fmt: skip
        read_csv(path)


def test_bins_longer_than_a_day_do_not_break_the_detectors(tmp_path: Path) -> None:
    # Days on which no bin starts (monthly rows) used to end the daily baseline with an
    # IndexError; they are skipped.
    path = tmp_path / "monthly.csv"
    path.write_text(
        "timestamp,value\n2015-02-26,5\n2015-03-26,6\n2015-04-26,6\n2015-05-26,7\n", "utf-8"
    )
    series = read_csv(path).series
    assert detect_all(default_detectors(), series) == []


def test_helpers_look_only_backwards() -> None:
    a = np.arange(10, dtype=float)[None, :]
    assert np.isnan(past_median(a, 3)[0, 0])
    assert past_median(a, 3)[0, 5] == 3.0  # median of 2, 3, 4
    assert trailing_sum(a, 2)[0, 5] == 9.0  # 4 + 5
    strided = past_median(a, 3, stride=4)
    assert strided[0, 6] == past_median(a, 3)[0, 4]  # held from the last recompute point


def _numpy_past(a: np.ndarray, window: int, stride: int, q: float) -> np.ndarray:
    """past_median written plainly for windows without NaN: numpy's quantile of each, held."""
    out = np.full(a.shape, np.nan)
    for t in range(0, a.shape[1], stride):  # recomputed every `stride` bins from bin 0
        past = a[:, max(0, t - window) : t]
        if t >= window and not np.isnan(past).any():
            out[:, t : t + stride] = np.quantile(past, q, axis=1)[:, None]
    return out


def test_rolling_medians_and_quantiles_are_numpys_bit_for_bit() -> None:
    # the selections of past_median (one partition, not np.median's three) must give numpy's
    # values exactly: detections on the same counts may not change with a speed-up
    rng = np.random.default_rng(3)
    a = np.round(rng.normal(size=(5, 400)) * 7) / 3  # ties, like residuals of counts
    a[:, :9] = np.nan  # the first bins have no expected value yet
    for window, stride in ((60, 1), (72, 3), (37, 5)):
        for q in (0.5, 0.9, 0.25):
            plain = _numpy_past(a, window, stride, q)
            got = past_median(a, window, stride=stride, q=q)
            clean = ~np.isnan(plain[0])  # windows that hold no NaN
            assert clean.sum() > 200 and np.array_equal(got[:, clean], plain[:, clean])
            assert np.array_equal(past_median(a, window, stride, q, start=50), got[:, 50:], True)
        spread, decile = past_abs_median_and_quantile(a, window, stride, 0.9)
        assert np.array_equal(spread, past_median(np.abs(a), window, stride), equal_nan=True)
        assert np.array_equal(decile, past_median(a, window, stride, q=0.9), equal_nan=True)


def test_episodes_join_close_bins_and_series_keys() -> None:
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1], dtype=bool)
    assert episodes(mask, cooldown=2) == [(1, 5), (10, 10)]
    assert episodes(mask, cooldown=0) == [(1, 2), (5, 5), (10, 10)]
    assert series_key("鲜牧") == "鲜牧"
    assert series_key("鲜牧", "weibo") == "鲜牧|weibo"
    assert series_key("鲜牧", aspect="物流") == "鲜牧|aspect:物流"


def test_count_series_checks_lengths() -> None:
    with pytest.raises(ValueError):
        CountSeries([], [1], [])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"timestamp,value\n2026-03-02 00:00:00,1\n\xff\xfe,2\n", r"hostile\.csv:3: not UTF-8"),
        (
            b'timestamp,value\n2026-03-02 00:00:00,"' + b"9" * 200_000 + b'"\n',
            r"hostile\.csv:2: field",
        ),
    ],
    ids=["not-utf8", "huge-field"],
)
def test_read_csv_names_the_line_of_unreadable_bytes(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):  # was a csv.Error traceback / no line
        read_csv(path)


@pytest.mark.parametrize("machine_zone", ["UTC", "America/New_York"])
def test_epoch_timestamps_are_read_in_china_time_whatever_the_machine_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, machine_zone: str
) -> None:
    """Epoch rows took the machine's zone: on a UTC server the detectors' days (and weekends)
    began at 08:00 China time, so `koubei spikes detect` answered differently per machine."""
    path = tmp_path / "epoch.csv"
    first = 1_835_366_400  # 2028-02-29 00:00 in Shanghai (2028-02-28 16:00 UTC)
    path.write_text(
        "timestamp,value\n" + "".join(f"{first + 300 * i},{i % 7}\n" for i in range(4)),
        encoding="utf-8",
    )
    monkeypatch.setenv("TZ", machine_zone)
    time.tzset()
    try:
        start = read_csv(path).series.start[0]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert start.utcoffset() == timedelta(hours=8)
    assert (start.year, start.month, start.day, start.hour) == (2028, 2, 29, 0)


SHANGHAI = timedelta(hours=8)


@pytest.mark.parametrize(
    ("content", "totals"),
    [
        # a European spreadsheet's CSV: ';' between the fields
        ("timestamp;value\n2026-03-02 00:00;3\n2026-03-02 00:05;4\n", [3, 4]),
        # a TSV export
        ("timestamp\tvalue\n2026-03-02 00:00\t3\n2026-03-02 00:05\t4\n", [3, 4]),
        # a spreadsheet's number format, quoted as CSV requires
        ('timestamp,value\n2026-03-02 00:00,"1,234"\n2026-03-02 00:05,"12,345.0"\n', [1234, 12345]),
        ("timestamp;value\n2026-03-02 00:00;1,234\n2026-03-02 00:05;5\n", [1234, 5]),
        # more columns, the time and the value named in the header in any order
        ("brand,timestamp,value\n鲜牧,2026-03-02 00:00,3\n鲜牧,2026-03-02 00:05,4\n", [3, 4]),
        ("count,time\n3,2026-03-02 00:00\n4,2026-03-02 00:05\n", [3, 4]),
        ("时间,数量,备注\n2026-03-02 00:00,3,x\n2026-03-02 00:05,4,y\n", [3, 4]),
        # epoch milliseconds (JavaScript, Grafana), decimal epoch seconds (pandas)
        ("ts,value\n1772380800000,3\n1772381100000,4\n", [3, 4]),
        ("ts,value\n1772380800.0,3\n1772381100.0,4\n", [3, 4]),
        # compact dates
        ("date,value\n20260302,3\n20260303,4\n", [3, 4]),
        ("time,value\n202603020000,3\n202603020005,4\n", [3, 4]),
        # blank lines before the header
        ("\n\ntimestamp,value\n2026-03-02 00:00,3\n2026-03-02 00:05,4\n", [3, 4]),
        # the zh-CN short and long dates (CLDR, as DateTime::Locale::zh_Hans_CN shows them:
        # "2008/2/5", "2008年2月5日"): what Excel on a Chinese Windows writes for a date-time
        ("时间,数量\n2026/3/2 0:00,3\n2026/3/2 0:05,4\n", [3, 4]),
        ("时间,数量\n2026年3月2日 0:00,3\n2026年3月2日 0:05,4\n", [3, 4]),
        ("日期,数量\n2026/3/2,3\n2026/3/3,4\n", [3, 4]),
        # Kibana's CSV export: its default dateFormat, 'MMM D, YYYY @ HH:mm:ss.SSS' (Kibana's
        # core ui_settings date_formats.ts; elastic/elasticsearch#55609 reads it for the same
        # reason), the comma inside quoted
        (
            '"@timestamp per 5 minutes",Count\n"Mar 2, 2026 @ 00:00:00.000",3\n'
            '"Mar 2, 2026 @ 00:05:00.000",4\n',
            [3, 4],
        ),
    ],
    ids=[
        "semicolon",
        "tab",
        "quoted-thousands",
        "semicolon-thousands",
        "named-columns",
        "value-first",
        "chinese-header",
        "epoch-ms",
        "epoch-decimal",
        "compact-date",
        "compact-minutes",
        "blank-lines",
        "zh-short-date",
        "zh-long-date",
        "zh-short-day",
        "kibana-export",
    ],
)
def test_read_csv_takes_what_spreadsheets_and_exporters_write(
    tmp_path: Path, content: str, totals: list[int]
) -> None:
    """Each was refused (`expected 'timestamp,value'`, `could not convert string to float`,
    `year 58134 is out of range`) or, for the compact date, read as epoch seconds in 1970."""
    path = tmp_path / "export.csv"
    path.write_text(content, encoding="utf-8")
    series = read_csv(path).series
    assert series.total == totals
    start = series.start[0]
    assert (start.year, start.month, start.day, start.hour) == (2026, 3, 2, 0)
    assert start.utcoffset() == SHANGHAI


def test_read_csv_reads_a_gbk_file_from_a_chinese_excel(tmp_path: Path) -> None:
    # "CSV (逗号分隔)" on a Chinese Windows is GBK: it was refused as "not UTF-8 (byte 0xca)"
    path = tmp_path / "gbk.csv"
    path.write_bytes("时间,声量\n2026-03-02 00:00,3\n2026-03-02 00:05,4\n".encode("gbk"))
    data = read_csv(path)
    assert data.series.total == [3, 4]


def test_read_csv_refuses_an_unquoted_thousands_separator(tmp_path: Path) -> None:
    """`12,000` unquoted is two fields: the second was dropped as an extra column and the count
    silently read as 12, a thousandth of the truth."""
    path = tmp_path / "excel.csv"
    path.write_text("timestamp,value\n2026-03-02 00:00,12,000\n2026-03-02 00:05,13,500\n", "utf-8")
    split = r"excel\.csv:2: column 2 \('value'\) reads 12,000: a thousands separator splits"
    with pytest.raises(ValueError, match=split + r' the number; quote it \("12,000"\)'):
        read_csv(path)
    # without a header, too; a real third column is still allowed
    path.write_text("2026-03-02 00:00,1,500\n2026-03-02 00:05,2,000\n", "utf-8")
    with pytest.raises(ValueError, match=r"excel\.csv:1: column 2 reads 1,500"):
        read_csv(path)
    path.write_text(
        "timestamp,value,note\n2026-03-02 00:00,1,500\n2026-03-02 00:05,2,ok\n", "utf-8"
    )
    assert read_csv(path).series.total == [1, 2]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2026-03-02 00:05,", r"bad\.csv:3: column 2 \('value'\) is empty"),
        ("2026-03-02 00:05,true", r"bad\.csv:3: column 2 \('value'\) 'true' is not a number"),
        # the text as written (it showed '03-02-2026 00:00', its '/' already replaced)
        (
            "03/02/2026 00:05,4",
            r"bad\.csv:3: column 1 \('timestamp'\): timestamp '03/02/2026 00:05' is not a time: "
            r"expected ISO 8601",
        ),
        ("17723811000,4", r"bad\.csv:3: .* has 11 digits: neither epoch seconds"),
        # a row without a timestamp was skipped silently
        (",4", r"bad\.csv:3: column 1 \('timestamp'\): timestamp '' is not a time"),
        ("2026-03-02 00:05", r"bad\.csv:3: 1 column\(s\), no column 2 \('value'\)"),
    ],
    ids=["empty", "word", "us-date", "epoch-11-digits", "no-timestamp", "one-column"],
)
def test_read_csv_names_the_line_and_column_of_a_bad_row(
    tmp_path: Path, row: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"timestamp,value\n2026-03-02 00:00,1\n{row}\n", "utf-8")
    with pytest.raises(ValueError, match=message):
        read_csv(path)


def test_read_csv_puts_every_offset_in_china_time(tmp_path: Path) -> None:
    """A file in UTC (`Z`) kept UTC: the detectors' days began at 08:00 China time and
    `spikes backtest` put Monday-morning pages in the previous ISO week."""
    path = tmp_path / "utc.csv"
    path.write_text(
        "timestamp,value\n2026-03-01T16:00:00Z,1\n2026-03-01T16:05:00Z,2\n"
        "2026-03-02T00:15:00+08:00,3\n",  # mixed offsets: one zone, one grid
        "utf-8",
    )
    data = read_csv(path)
    assert data.series.start[0].isoformat() == "2026-03-02T00:00:00+08:00"
    assert data.series.start[0].isocalendar().week == 10
    # 00:10 has no row: small whole counts and no 0 row, an empty bin left out (0)
    assert data.series.total == [1, 2, 0, 3]
    assert data.labels[0] == "2026-03-01T16:00:00Z"  # the input's own text, for the contract


def test_read_csv_lists_repeated_timestamps(tmp_path: Path) -> None:
    # real exports repeat a row now and then (NAB's machine_temperature_system_failure.csv):
    # the values are still added into one bin, and the caller can say so
    path = tmp_path / "dup.csv"
    path.write_text(
        "timestamp,value\n2026-03-02 00:00,1\n2026-03-02 00:05,2\n2026-03-02 00:05,2\n", "utf-8"
    )
    data = read_csv(path)
    assert data.series.total == [1, 4]
    assert data.repeats == [(4, 3)]


@pytest.mark.parametrize(
    "rows",
    [
        # two rows of one timestamp are added: 1e308 twice overflowed to inf, and the CLI ended
        # in an OverflowError traceback ("cannot convert float infinity to integer")
        "2026-03-02 00:00:00,1e308\n2026-03-02 00:00:00,1e308\n2026-03-02 00:05:00,4\n",
        # read as a 309-digit count, silently
        "2026-03-02 00:00:00,4\n2026-03-02 00:05:00,1e300\n",
    ],
    ids=["repeated-near-max", "one-huge"],
)
def test_read_csv_refuses_a_value_no_count_reaches(tmp_path: Path, rows: str) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("timestamp,value\n" + rows, "utf-8")
    larger = r"huge\.csv:[23]: column 2 \('value'\) '1e30[08]' is larger than any"
    with pytest.raises(ValueError, match=larger):
        read_csv(path)
    # a large but real count still reads
    path.write_text("timestamp,value\n2026-03-02 00:00,4\n2026-03-02 00:05,123456789012\n", "utf-8")
    assert read_csv(path).series.total == [4, 123456789012]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # row numbers in the first column (a spreadsheet's or pandas' index, no header)
        ("1,5\n2,6\n3,40\n", r"rows\.csv:1: .*'1' as epoch seconds is 1970-01-01 08:00:01"),
        # Excel's serial day numbers (46083.5 is 2026-03-02 12:00 there)
        ("time,value\n46083.5,3\n46083.5035,4\n", r"rows\.csv:2: .*'46083\.5' as epoch"),
    ],
    ids=["row-numbers", "excel-serial-days"],
)
def test_read_csv_refuses_numbers_that_are_no_epoch_time(
    tmp_path: Path, content: str, message: str
) -> None:
    """Both were read as seconds after 1970-01-01: a one-second series in 1970 (the serial
    days' rows a third of a second apart summed into one bin), replayed without a word."""
    path = tmp_path / "rows.csv"
    path.write_text(content, "utf-8")
    with pytest.raises(ValueError, match=message + r".*before 2000"):
        read_csv(path)


def test_from_values_steps_through_a_dst_change_in_real_time() -> None:
    """A series starting in a zone with summer time: its bins were the start's wall clock plus
    5 minutes each, so across Berlin's spring change they walked into the skipped hour
    (02:00-02:55, the same instants as 03:00-03:55: 12 instants twice and a step back of
    55 minutes). Every bin is now 5 real minutes after the one before."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    series = CountSeries.from_values(datetime(2026, 3, 28, 12, tzinfo=berlin), [3] * 288)
    instants = [s.timestamp() for s in series.start]
    assert set(np.diff(instants)) == {300.0}  # before: also -3300
    labels = [f"{s:%H:%M%z}" for s in series.start]
    assert labels[155:158] == ["00:55+0100", "01:00+0100", "01:05+0100"]
    assert "01:55+0100" in labels and "03:00+0200" in labels
    assert not any(label.startswith("02:") for label in labels)


@pytest.mark.parametrize("time", ["1e5", "-5"])
def test_a_signed_or_exponent_time_is_no_time_not_a_wrong_count_of_digits(
    tmp_path: Path, time: str
) -> None:
    """The header rule's number pattern (signs, exponents: a count beside a first time) once
    rebound the time reader's, which then said "'-5' has 2 digits: neither epoch seconds ..."."""
    path = tmp_path / "s.csv"
    path.write_text(f"timestamp,value\n{time},3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"s\.csv:2: .*'{time}' is not a time"):
        read_csv(path)


def test_a_fine_step_over_a_long_span_is_refused_before_the_detectors(tmp_path: Path) -> None:
    # Found by fuzzing `koubei spikes backtest` (session 36): 500 rows of 1-second bins spanning
    # 31.7 hours (114,091 bins, under MAX_BINS) were read, and the detectors, whose 12-hour
    # window is 43,200 such bins, copied bins × window values: the process was killed for
    # memory. Refused now as a span of 1-second bins too long, naming the file and the step.
    path = tmp_path / "per_second.csv"
    rows = ["2026-03-01 10:00:00,1", "2026-03-01 10:00:01,2", "2026-03-01 10:00:02,1"]
    path.write_text("\n".join(["timestamp,value", *rows, "2026-03-01 12:00:02,3"]) + "\n")
    with pytest.raises(ValueError, match=r"per_second\.csv: rows span 7,203 bins of 1 s") as info:
        read_csv(path)
    assert "at most 3,333 at that step" in str(info.value)
    # as many 1-second bins as the cap allows are read
    path.write_text("\n".join(["timestamp,value", *rows, "2026-03-01 10:55:32,3"]) + "\n")
    assert len(read_csv(path).series.start) == 3333
