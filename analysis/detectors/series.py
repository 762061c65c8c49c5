"""Reading a count series from a CSV file (:func:`read_csv`, ``koubei spikes detect``).

The series types (:class:`CountSeries`, :class:`CascadeSeries`, :func:`series_key`) live in
:mod:`koubei.analysis.detectors.series_types`, and stay importable from here, where code
imported them before they moved.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from koubei.analysis.detectors.gaps import left_out_zeros
from koubei.analysis.detectors.series_types import CascadeSeries as CascadeSeries
from koubei.analysis.detectors.series_types import CountSeries
from koubei.analysis.detectors.series_types import series_key as series_key
from koubei.analysis.detectors.steps import coarse_rows, resolutions
from koubei.crawlers.timeparse import EARLIEST, TimeParseError, parse_full_date, parse_iso
from koubei.textfile import csv_separator, input_name, read_utf8
from koubei.timeutil import DEFAULT_TZ, aware


@dataclass
class CsvSeries:
    """A ``timestamp,value`` file on a fixed grid, keeping the original timestamp text."""

    series: CountSeries
    labels: list[str]  # the input's timestamp text per bin ('' for a filled gap)
    #: ``(line, earlier line)`` of each row whose timestamp repeats an earlier row's: their
    #: values are added into one bin (real exports repeat a row now and then); callers say so
    repeats: list[tuple[int, int]] = field(default_factory=list)
    #: ``(line, value text)`` of each row whose value is not a whole number: the bins are
    #: rounded to whole mentions (a share or a rate reads as zeros and ones); callers say so
    fractions: list[tuple[int, str]] = field(default_factory=list)
    #: ``(line, step before, step from that line on)`` in seconds at each change of resolution
    #: (1-minute rows, then 5-minute rows): rows of a finer step than the grid (the step of the
    #: file's first rows) are summed into its bins, rows of a coarser one split over them
    resampled: list[tuple[int, int, int]] = field(default_factory=list)
    #: the line of the row before the first bin no row reported (0: every bin has a row), and
    #: how many of those ``filled`` bins were read as 0 (empty bins an export left out) and how
    #: many carry the value before (a gap in the export); see :func:`.gaps.left_out_zeros`
    gap_after: int = 0
    gaps_zero: int = 0
    gaps_carried: int = 0
    #: lines repeating the header row (exports joined with ``cat``): skipped; callers say so
    headers: list[int] = field(default_factory=list)


#: years a series may lie in: the detectors look weeks back and a day ahead of each bin, which
#: overflows Python's dates at year 1 or 9999; mention counts lie well inside either way
YEARS = (1900, 2200)

#: the timestamp forms :func:`read_csv` takes, for its error message
TIME_FORMS = (
    "ISO 8601 like 2026-11-24 10:00 or 2026-11-24T10:00:00+08:00, 2026/3/2 9:05, "
    "2026年3月2日 9:05, Mar 2, 2026 @ 09:05:00.000, 20261124, epoch seconds or milliseconds"
)
#: digits-only timestamps: compact dates by their length, else epoch seconds (up to 10 digits)
#: or milliseconds (13 digits); 11 and 12 digits are neither for any year in :data:`YEARS`
_COMPACT = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
_EPOCH = re.compile(r"(\d{1,10}|\d{13})(\.\d+)?")
#: a number of another length (a dotted date, ``2026.3.2``, is none: timeparse reads it)
_NUMBER = re.compile(r"\d+(\.\d+)?")


def parse_timestamp(text: str) -> datetime:
    text = text.strip()
    digits = text.split(".")[0]
    try:
        if text.isdigit() and len(text) in _COMPACT:
            when = datetime.strptime(text, _COMPACT[len(text)]).replace(tzinfo=DEFAULT_TZ)
        elif _EPOCH.fullmatch(text):
            # China time like every other time koubei reads, not the machine's zone: the
            # detectors' days (and weekends) start at midnight of the series' zone.
            seconds = float(text) / (1000 if len(digits) == 13 else 1)
            when = datetime.fromtimestamp(seconds, tz=DEFAULT_TZ)
            if when < EARLIEST:  # small numbers: row numbers, Excel's serial days (46083.5)
                unit = "milliseconds" if len(digits) == 13 else "seconds"
                raise ValueError(
                    f"timestamp {text[:40]!r} as epoch {unit} is {when:%Y-%m-%d %H:%M:%S}, "
                    f"before {EARLIEST.year}: a row number or a spreadsheet's serial day? "
                    "Give the time itself"
                )
        elif _NUMBER.fullmatch(text):
            raise ValueError(
                f"timestamp {text[:40]!r} has {len(digits)} digits: neither epoch seconds "
                "(up to 10), milliseconds (13) nor a compact date (8, 12 or 14)"
            )
        else:
            try:
                when = parse_iso(text.replace("/", "-"))  # TimeParseError is a ValueError
            except TimeParseError:  # 2026/3/2 9:05 (Excel, zh-CN), Mar 2, 2026 @ ... (Kibana)
                when = parse_full_date(text)
    except TimeParseError:
        raise ValueError(f"timestamp {text[:40]!r} is not a time: expected {TIME_FORMS}") from None
    except (OverflowError, OSError) as exc:  # an epoch beyond what the platform's dates hold
        raise ValueError(f"timestamp {text[:40]!r} is out of range ({exc})") from None
    if not YEARS[0] <= when.year <= YEARS[1]:
        raise ValueError(f"timestamp {text[:40]!r} is outside the years {YEARS[0]}-{YEARS[1]}")
    # One zone for the whole series, China's: a file in UTC (``Z``) or with mixed offsets
    # still has its days, weekends and ISO weeks (backtest) in China time.
    return aware(when).astimezone(DEFAULT_TZ)


#: how far from a grid point (a fraction of the interval) a row still counts as on it
GRID_JITTER = 0.1
#: the most bins a CSV may span: one mistyped year (2051 for 2015) in a 5-minute series would
#: otherwise make a grid of 3.8 million filled bins, gigabytes of detector arrays
MAX_BINS = 1_000_000
#: the bins in a day at the step :data:`MAX_BINS` is sized for (5 minutes): the detectors look
#: back windows of hours and days (``recent_window: 12h``), which hold ``day / interval`` times
#: more bins at a finer step, and each bin's window is copied to take its median
_DAY_BINS = 288


def max_bins(interval: int) -> int:
    """The most bins a CSV of ``interval``-second bins may span: :data:`MAX_BINS` at 5 minutes
    or more; at a finer step as many as cost the detectors what :data:`MAX_BINS` 5-minute bins
    do (bins × window bins). A 500-row series of 1-second bins spanning a day and a half (114,000
    bins, 43,200 in a 12-hour window) took more memory than the machine had (the process was
    killed) and a 3-second one 60 s (was: only :data:`MAX_BINS` bounded either).

    >>> max_bins(300), max_bins(86_400), max_bins(60), max_bins(1)
    (1000000, 1000000, 200000, 3333)
    """
    day_bins = max(1, 86_400 // max(1, interval))
    return min(MAX_BINS, MAX_BINS * _DAY_BINS // day_bins)


#: header names (lower case) of the time and the value column, for files with more columns;
#: the Chinese ones in simplified and traditional characters (a Taiwan or Hong Kong export)
TIME_COLUMNS = ("timestamp", "time", "ts", "datetime", "date", "时间", "日期", "时间戳", "時間",
                "時間戳")  # fmt: skip
VALUE_COLUMNS = ("value", "count", "counts", "mentions", "volume", "数量", "声量", "提及量",
                 "數量", "聲量")  # fmt: skip
#: the largest value a row may hold: floats count exactly up to 2**53, and far fewer posts were
#: ever written; beyond it sums overflow (two rows of 1e308 in one bin are infinite)
MAX_VALUE = 2.0**53
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_GROUP = re.compile(r"\d{3}(\.\d+)?")


def _value(text: str, scale: float, column: str) -> float:
    raw = text.strip()
    if not raw:
        raise ValueError(f"{column} is empty")
    try:
        value = float(raw.replace(",", "") if _THOUSANDS.fullmatch(raw) else raw)
    except ValueError:
        raise ValueError(f"{column} {raw[:40]!r} is not a number") from None
    if not np.isfinite(value):
        raise ValueError(f"{column} {raw!r} is not a finite number")
    if value < 0:
        raise ValueError(f"{column} {raw!r} is negative: mention counts never are")
    if scale * value > MAX_VALUE:
        raise ValueError(f"{column} {raw!r} is larger than any mention count (at most 2**53)")
    return scale * value


def _columns(header: list[str]) -> tuple[int, int]:
    """Indexes of the time and value columns: by name when the header names both, else 0, 1."""
    names = [cell.strip().lower() for cell in header]
    time_at = next((names.index(n) for n in TIME_COLUMNS if n in names), None)
    value_at = next((names.index(n) for n in VALUE_COLUMNS if n in names), None)
    if time_at is None or value_at is None or time_at == value_at:
        return 0, 1
    return time_at, value_at


#: a cell that reads as a count (signed, decimal or in exponent form; thousands: ``_THOUSANDS``)
_COUNT_CELL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _is_header(row: list[str]) -> bool:
    """Whether a file's first row is a header: its first cell is no time, and its second no
    number. Not only a cell that starts with a digit is a time: rows of Kibana's export
    (``Mar 2, 2026 @ 09:05:00.000``) cut out of it without its header lost their first row,
    read as the header, without a word; so did a headerless file's first row whose time could
    not be read (``yesterday 9am,12``): a count beside it makes it a row, and its time the
    usual error naming the line."""
    first = row[0].strip()
    if first[:1].isdigit():
        return False
    second = row[1].strip() if len(row) > 1 else ""
    if _COUNT_CELL.fullmatch(second) or _THOUSANDS.fullmatch(second):
        return False
    try:
        parse_timestamp(first)
    except ValueError:
        return True
    return False


def _bin_of(offset_seconds: float, interval: int, jitter: float = GRID_JITTER) -> int:
    """The bin of a row ``offset_seconds`` after the grid's start: the nearest grid point when
    the row is within ``jitter`` (a fraction of the interval) of it, else the bin it falls in."""
    position = offset_seconds / interval
    nearest = round(position)
    return int(nearest) if abs(position - nearest) <= jitter else int(position // 1)


def read_csv(path: Path | str, key: str = "", scale: float = 1.0) -> CsvSeries:
    """Read ``timestamp,value`` rows at a fixed interval into a volume-only :class:`CountSeries`.

    The interval is the most common gap between rows, to the minute when rows are a minute or
    more apart (an exporter stamping rows a second early or late still reads as 5-minute data).
    A row within a tenth of the interval of a grid point belongs to that point's bin (the same
    jitter must not put two rows in one bin and leave the next one empty). A file whose step
    changes (runs of 1-minute rows, then of 5-minute rows) is read on the step of its first run
    (:mod:`.steps`, listed in ``resampled``): rows of a finer step are summed into the bin they
    fall in, and each row of a coarser step is split evenly over the bins since the row before
    (each 5-minute row over five 1-minute bins: read as one bin carried over the next four, it
    was a surge), from the row where a run of them is known to be a step, or where the last rows
    hold about k times the rows before (:func:`.steps.coarse_rows`: a live export whose bins
    just changed would page a surge on its newest bins); a step that is not a multiple of the
    other is refused, naming the row where it changes. Causal: each of these is decided on the
    rows up to it, so reading the first rows of a file gives the bins the whole file gives up to
    there (the whole file was once read at its coarsest step, every bin before the change too,
    and the alerts sent on them moved; issue 20). Missing bins
    are marked ``filled`` and hold 0 when they are empty bins the export left out
    (:func:`.gaps.left_out_zeros`; ``known_empty``), else the previous value (causal); rows
    farther off the grid are added to the bin they fall in, and so are rows repeating a
    timestamp (listed in ``repeats``). Rows may come in any order, and a row repeating the
    header is skipped (listed in ``headers``: exports joined with ``cat``). Values must be
    finite, not negative and at most :data:`MAX_VALUE` (``"1,234"`` in quotes is 1234;
    unquoted, the comma splits it and the row is refused), and the rows may span at most
    :func:`max_bins` bins (:data:`MAX_BINS` at 5 minutes or more, fewer at a finer step); errors
    name the file, the line and the column.

    The file (``-``: standard input, named ``<stdin>`` in errors) is UTF-8 (a byte order mark is
    dropped), GBK, Big5 or UTF-16 with its byte order mark (:func:`~koubei.textfile.read_utf8`);
    ``,``-separated, or ``;`` or tab when the first line has no comma (an Excel ``sep=;``
    first line names the separator and is skipped: :func:`~koubei.textfile.csv_separator`). A
    first row whose first cell is no time and whose second is no number (:func:`_is_header`)
    is a header; a header naming a time column (``timestamp``, ``time``, ``ts``, ``date``,
    ``时间`` ...) and a value column (``value``, ``count``, ``数量`` ...) picks them, else the
    first two columns are read. Timestamps are ISO 8601 (``/`` for ``-`` too), the zh-CN dates
    Excel writes (``2026/3/2 9:05``, ``2026年3月2日``), dotted dates (``2026.3.2``), Kibana's
    CSV export (``Mar 2, 2026 @ 09:05:00.000``), compact dates (``20261124``), epoch seconds or
    milliseconds; naive ones are Asia/Shanghai local time and every time is converted to it.
    Each bin's sum is rounded to whole mentions (rows whose value is not whole are listed in
    ``fractions``); ``scale`` multiplies every value before (the benchmark reads non-count
    series, e.g. CPU percentages, this way).
    """
    rows: list[tuple[datetime, str, float, int]] = []
    fractions: list[tuple[int, str]] = []
    text = read_utf8(path, gbk=True)
    name = input_name(path)  # how errors name it: ``<stdin>`` for ``-``
    delimiter, sep_line = csv_separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    time_at, value_at, width = 0, 1, 2
    # how errors name the columns: by number, and by their header's names once it is read
    time_name, value_name = "column 1: ", "column 2"
    header: list[str] | None = None
    headers: list[int] = []
    start = 1  # the line the next row starts on: a quoted field may span lines
    if sep_line:  # Excel's sep= line: it named the separator
        next(reader)
        start = 2
    try:
        for row in reader:
            lineno, start = start, reader.line_num + 1
            if not row or not "".join(row).strip():
                continue
            if any("\n" in cell or "\r" in cell for cell in row):
                # no time or count spans lines: a quote opened and never closed read the rest
                # of the file as one field (was "1 column(s), no column 2", or the next rows
                # quoted as the value; on the last row its count, unsaid)
                raise ValueError(f"{name}:{lineno}: a quote opened on this line is never closed")
            if header is not None and [c.strip() for c in row] == header:
                headers.append(lineno)  # a second export's header, joined on with ``cat``
                continue
            if header is None and not rows and _is_header(row):
                header = [c.strip() for c in row]
                time_at, value_at = _columns(row)
                width = len(row)
                names = [c.strip() for c in row] + ["timestamp", "value"][len(row) :]
                time_name = f"column {time_at + 1} ({names[time_at]!r}): "
                value_name = f"column {value_at + 1} ({names[value_at]!r})"
                continue
            if len(row) <= max(time_at, value_at):
                raise ValueError(
                    f"{name}:{lineno}: {len(row)} column(s), no {value_name}: expected "
                    "timestamp,value (a ';' or tab separator only when the first line has no ',')"
                )
            cell = row[value_at].strip()
            nxt = row[value_at + 1].strip() if len(row) > max(width, value_at + 1) else ""
            if cell.isdigit() and len(cell) <= 3 and _GROUP.fullmatch(nxt):
                raise ValueError(
                    f"{name}:{lineno}: {value_name} reads {cell},{nxt}: a thousands "
                    f'separator splits the number; quote it ("{cell},{nxt}") or drop the comma'
                )
            try:
                when = parse_timestamp(row[time_at])
            except ValueError as exc:
                raise ValueError(f"{name}:{lineno}: {time_name}{exc}") from None
            try:
                value = _value(row[value_at], scale, value_name)
            except ValueError as exc:
                raise ValueError(f"{name}:{lineno}: {exc}") from None
            if value != int(value):
                fractions.append((lineno, row[value_at].strip()))
            rows.append((when, row[time_at].strip(), value, lineno))
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise ValueError(f"{name}:{reader.line_num}: {exc}") from None
    if len(rows) < 2:
        found = "no rows" if not rows else f"one row (line {rows[0][3]})"
        raise ValueError(
            f"{name}: {found}; need at least two rows of 'timestamp,value' to know the interval"
        )
    rows.sort(key=lambda r: r[0])
    gaps = np.diff([r[0].timestamp() for r in rows])
    positive = gaps[gaps > 0]
    if not len(positive):
        raise ValueError(f"{name}: all timestamps are equal")
    unit = 60 if np.median(positive) >= 60 else 1
    rounded = np.maximum(unit, unit * np.round(positive / unit)).astype(np.int64)
    values, counts = np.unique(rounded, return_counts=True)
    interval = int(values[np.argmax(counts)])
    t0 = rows[0][0]
    jitter = GRID_JITTER
    # one row per timestamp (repeats summed) for the steps: a repeat is no step of its own
    stamps, first, inverse = np.unique(
        [r[0].timestamp() for r in rows], return_index=True, return_inverse=True
    )
    stamp_sums = np.bincount(inverse.ravel(), weights=[r[2] for r in rows])
    runs = resolutions(stamps, unit)
    resampled: list[tuple[int, int, int]] = []
    if len({size for _, size in runs}) > 1:
        # a change of resolution: the grid is the step of the file's first run (causal: the
        # bins before a change are what they were before it was written); a finer step is
        # summed into its bins, a coarser one split over them (steps.coarse_rows)
        interval = runs[0][1]
        for (_, was), (at, size) in itertools.pairwise(runs):
            line = rows[first[at]][3]
            if max(size, interval) % min(size, interval):
                raise ValueError(
                    f"{name}:{line}: rows are {size} s apart from here on, {was} s before: "
                    f"a change of resolution that does not sum into one grid ({size} s and "
                    f"the file's first step, {interval} s, are no multiples of one another); "
                    "split the file there or resample it"
                )
            resampled.append((line, was, size))
        # a fine row just before a coarse grid point is the fine bin before it, not jitter
        jitter = GRID_JITTER * min(min(size for _, size in runs), interval) / interval
        grid = timedelta(seconds=interval)
        anchor = rows[first[runs[0][0]]][0]  # on the grid
        t0 = anchor - math.ceil((anchor - t0).total_seconds() / interval) * grid
        t0 += _bin_of((rows[0][0] - t0).total_seconds(), interval, jitter) * grid
    coarse = coarse_rows(stamps, stamp_sums.tolist(), interval, unit)
    listed = {(at, size) for at, size in runs}
    for (_, was_at, was), (_, start, size) in itertools.pairwise([(0, -1, 0), *coarse]):
        # a coarser step not in a run yet (a live export whose bins just changed): said once
        if (start, size) not in listed and (start, size) != (was_at, was):
            resampled.append((rows[first[start]][3], interval, size))
    resampled.sort()
    n_bins = _bin_of((rows[-1][0] - t0).total_seconds(), interval, jitter) + 1
    if n_bins > MAX_BINS:
        widest = int(np.argmax(gaps))
        (before, text_a, _, line_a), (after, text_b, _, line_b) = rows[widest : widest + 2]
        raise ValueError(
            f"{name}: rows span {n_bins:,} bins of {interval} s (at most {MAX_BINS:,}); the "
            f"widest gap is {(after - before).days} days, from {text_a!r} (line {line_a}) to "
            f"{text_b!r} (line {line_b}): a mistyped timestamp?"
        )
    if n_bins > max_bins(interval):
        hours = n_bins * interval / 3600
        raise ValueError(
            f"{name}: rows span {n_bins:,} bins of {interval} s ({hours:,.1f} hours), at most "
            f"{max_bins(interval):,} at that step: the detectors look back hours and days of "
            f"bins from each one (at most {MAX_BINS:,} bins of 5 minutes or more); sum the rows "
            "into 1- or 5-minute bins, or cut the file"
        )
    sums = np.zeros(n_bins)
    seen = np.zeros(n_bins, dtype=bool)
    labels = [""] * n_bins
    repeats = [(b[3], a[3]) for a, b in itertools.pairwise(rows) if a[0] == b[0]]
    last_line = np.zeros(n_bins, dtype=np.int64)  # line of the latest row in each bin
    not_counts = np.zeros(n_bins, dtype=bool)  # a row of 0 or a fraction: see left_out_zeros
    for ts, text, value, lineno in rows:
        i = _bin_of((ts - t0).total_seconds(), interval, jitter)
        sums[i] += value
        not_counts[i] |= value == 0 or value != int(value)
        if not seen[i]:
            labels[i] = text
        seen[i] = True
        last_line[i] = max(last_line[i], lineno)
    # a row of a coarser step (steps.coarse_rows): split evenly over the bins since the row
    # before, which no row reported (whole mentions, adding up to the row's)
    origin = t0.timestamp()
    for coarse_at, _, _ in coarse:
        into = _bin_of(stamps[coarse_at] - origin, interval, jitter)
        since = _bin_of(stamps[coarse_at - 1] - origin, interval, jitter)
        if into - since > 1:
            parts = np.rint(sums[into] * np.arange(into - since + 1) / (into - since))
            sums[since + 1 : into + 1] = np.diff(parts)
            seen[since + 1 : into] = True
            last_line[since + 1 : into] = last_line[into]
    gap_after = int(last_line[int(np.argmin(seen)) - 1]) if not seen.all() else 0
    zero = left_out_zeros(sums, seen, not_counts)
    for i in range(1, n_bins):  # a missing bin: 0 (left out by the export) or the value before
        if not seen[i]:
            sums[i] = 0.0 if zero[i] else sums[i - 1]
    step = timedelta(seconds=interval)
    counts_list = [int(np.rint(v)) for v in sums]
    series = CountSeries(
        [t0 + i * step for i in range(n_bins)],
        counts_list,
        counts_list,
        interval,
        key,
        [not s for s in seen],
        zero.tolist(),
    )
    n_zero = int(zero.sum())
    missing = int((~seen).sum())
    return CsvSeries(
        series, labels, repeats, fractions, resampled, gap_after, n_zero, missing - n_zero, headers
    )
