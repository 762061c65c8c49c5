"""Reasons are data (a code and figures) and read as one Chinese sentence wherever shown."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from koubei.analysis.detectors import REGISTRY, CountSeries, crisis_severity
from koubei.analysis.detectors.cascade import CascadeGrowth, cascade_series
from koubei.analysis.detectors.defaults import default_detectors
from koubei.analysis.detectors.operational import source_health_detections
from koubei.analysis.detectors.reasons import TEMPLATES, Reason, describe
from koubei.analysis.detectors.synthetic import generate
from koubei.timeutil import DEFAULT_TZ as TZ
from tests.analysis.detectors.conftest import START

# Latin words in a sentence meant for Chinese readers (z= and STL are kept on purpose)
ENGLISH = re.compile(r"\b(?!STL\b)[A-Za-z]{2,}\b")


def test_every_detector_states_its_reason_with_a_known_code_in_chinese() -> None:
    labelled = generate(4, days=10, crises=3)
    s = labelled.series
    series = CountSeries(s.start, s.total, s.negative, s.interval_seconds, "鲜牧")
    seen = set()
    for type_name, cls in sorted(REGISTRY.items()):
        if cls.input_kind != "counts":
            continue
        for detection in cls().detect(series):
            record = json.loads(json.dumps(detection.to_dict()))  # what tools and the DB keep
            assert record["reason"]["code"] in TEMPLATES, type_name
            text = describe(record["reason"])
            assert text == str(detection.reason)  # the stored form reads the same
            assert not ENGLISH.search(text), text
            assert f"{detection.observed:.0f}" in text, text
            seen.add(type_name)
    assert {"negative_volume", "negative_share", "window_ratio"} <= seen


def test_cascade_reason_states_the_reach_its_details_hold() -> None:
    # The demo's shape: the cascade fires at its onset with small accounts only; the verified
    # 568,000-follower account reposts six minutes later and the spread context says so.
    def at(minutes: float, depth: int, followers: int) -> dict[str, object]:
        return {"time": START + timedelta(minutes=minutes), "depth": depth, "followers": followers}

    trickle = [at(m, 1, 1770) for m in range(30)]
    deep = [at(20 + m, 3, 90) for m in range(5)]
    series = cascade_series(trickle + deep, START, START + timedelta(hours=1), 300, key="鲜牧")
    (found, *_) = CascadeGrowth().detect(series)
    assert found.reason.params["max_followers"] == found.details["max_followers"] == 1770
    assert "1770" in str(found.reason)
    later = crisis_severity(found, {"max_followers": 568_000, "verified_involved": True})
    assert later.details["max_followers"] == 568_000
    assert later.reason.params["max_followers"] == 568_000  # never 1,770 beside 568,000
    text = str(later.reason)
    assert "链上最大账号粉丝 56.8万，有认证账号参与" in text and "1770" not in text
    assert text.startswith("负面转发链加速")
    assert not ENGLISH.search(text), text


def test_operational_reasons_in_chinese_keep_the_crawlers_words() -> None:
    (blocked,) = source_health_detections(
        [
            {
                "source": "demo-weibo",
                "platform": "weibo",
                "status": "blocked",
                "reason": "blocked responses: {'captcha': 3}",
                "finished_at": datetime(2026, 11, 20, 23, 0).isoformat(),
            }
        ]
    )
    assert blocked.reason == Reason(
        "source_unhealthy",
        {
            "source": "demo-weibo",
            "platform": "weibo",
            "status": "blocked",
            "detail": "blocked responses: {'captcha': 3}",
        },
    )
    assert str(blocked.reason) == (
        "数据源 demo-weibo（weibo）被平台拦截，爬虫记录：blocked responses: {'captcha': 3}；"
        "这段时间的声量未知，不是零"
    )
    failed = Reason("run_failed", {"flow": "koubei-monitor", "error": "cannot reach ES"})
    assert describe(failed.to_dict()).startswith("定时运行 koubei-monitor 失败：cannot reach ES")


def test_plain_strings_pass_and_unknown_codes_stay_readable() -> None:
    assert describe("负面声量上升") == "负面声量上升"
    assert describe(None) == ""
    assert describe({"code": "new_rule", "params": {"observed": 12.0}}) == "new_rule（observed=12）"
    # a stored reason missing a figure its sentence needs is shown, not raised
    assert (
        describe({"code": "volume_rise", "params": {"observed": 3}}) == "volume_rise（observed=3）"
    )


def test_no_detector_calls_a_plain_mention_count_negative() -> None:
    """`spikes detect --config` with the window rule or the STL baseline (field: negative, their
    default) on a `timestamp,value` CSV said "负面提及 ... 条": the file has no tone. And the
    velocity rule on negatives said "提及加速" of what were negative mentions."""
    labelled = generate(4, days=10, crises=3)
    s = labelled.series
    plain = CountSeries(s.start, s.total, s.total, s.interval_seconds, "plain")
    assert plain.volume_only
    toned = CountSeries(s.start, s.total, s.negative, s.interval_seconds, "鲜牧")
    seen = set()
    for type_name, cls in sorted(REGISTRY.items()):
        if cls.input_kind != "counts":
            continue
        for detection in cls().detect(plain):
            assert "负面" not in str(detection.reason), (type_name, str(detection.reason))
            seen.add(type_name)
    assert {"window_ratio", "stl_mad", "negative_volume"} <= seen
    velocity = REGISTRY["volume_velocity"]("v", {"field": "negative", "min_count": 10})
    found = velocity.detect(toned)
    assert found and all(str(d.reason).startswith("负面提及加速") for d in found)


def test_a_huge_count_reads_in_yi_not_ten_thousands_of_wan() -> None:
    """A single enormous bin (an export's runaway counter, 1e9 mentions) read "100000万 条";
    from 1亿 on people write 亿 (and 万亿), and a count just below rounds to 1亿, never
    "10000万"."""
    params = {"observed": 1e9, "expected": 157.7, "zscore": 50090.1, "counts": "mentions"}
    text = str(Reason("volume_rise", {**params, "window": 3600, "interval": 300}))
    assert "10亿 条" in text and "万" not in text, text
    for observed, shown in (
        (99_999_000, "1亿"),
        (999_990_000_000, "1万亿"),
        (1.5e12, "1.5万亿"),
        (568_000, "56.8万"),
    ):
        text = str(Reason("volume_rise", {**params, "observed": observed, "window": 3600}))
        assert f"提及 {shown} 条" in text, text


def test_a_jump_held_for_two_bins_does_not_read_as_one_lone_bin() -> None:
    """The jump fires when two 5-minute bins are held high (session 24); its reason said
    "单个 5 分钟时段" (one lone period) whatever the hold, which on-call staff read as a glitch.
    The figures stay the latest bin's, and the sentence says so."""
    params = {"observed": 854, "expected": 12.5, "zscore": 46.6, "counts": "mentions"}
    lone = str(Reason("volume_rise", {**params, "window": 300, "interval": 300, "held_bins": 1}))
    held = str(Reason("volume_rise", {**params, "window": 300, "interval": 300, "held_bins": 2}))
    assert lone.startswith("单个 5 分钟时段提及 854 条"), lone
    assert held.startswith("连续 2 个 5 分钟时段偏高，最近一个时段提及 854 条"), held
    hourly = str(Reason("volume_rise", {**params, "window": 3600, "interval": 300, "held_bins": 3}))
    assert hourly.startswith("近 1 小时提及 854 条"), hourly


def test_an_hourly_surge_names_the_hour_it_counts() -> None:
    """The demo's alert said "近 1 小时负面提及 44 条": the hour ending with the incident's first
    5-minute bin (17:35-18:35), which an on-call engineer read as the hour before the message
    (229 then; session 38, alertwords). The sentence names the clock hour, and the detection's
    details carry its start and end for tools."""
    labelled = generate(4, days=10, crises=3)
    s = labelled.series
    series = CountSeries(s.start, s.total, s.negative, s.interval_seconds, "鲜牧")
    surge = next(d for d in default_detectors() if d.name == "mention-surge")
    found = surge.detect(series)
    assert found
    for detection in found:
        record = json.loads(json.dumps(detection.to_dict()))  # what the payload carries
        end = detection.timestamp + timedelta(seconds=s.interval_seconds)
        start = end - timedelta(hours=1)
        details = record["details"]
        assert datetime.fromisoformat(details["count_start"]) == start, details
        assert datetime.fromisoformat(details["count_end"]) == end, details
        hour = f"{start.astimezone(TZ):%H:%M}–{end.astimezone(TZ):%H:%M} 负面提及 "
        assert describe(record["reason"]).startswith(hour), describe(record["reason"])
        assert "近 1 小时" not in str(detection.reason)


def test_a_bin_reason_names_its_bin_and_an_old_reason_keeps_its_words() -> None:
    """The single-bin and held-bin sentences name their bin too; a reason stored before the
    times were kept still reads as before."""
    params = {"observed": 23, "expected": 2, "zscore": 9.0, "window": 300, "interval": 300}
    times = {"count_start": "2026-12-07T10:30:00+00:00", "count_end": "2026-12-07T10:35:00Z"}
    lone = describe({"code": "volume_rise", "params": {**params, **times}})
    assert lone.startswith("单个 5 分钟时段（18:30–18:35）负面提及 23 条"), lone
    held = describe({"code": "volume_rise", "params": {**params, **times, "held_bins": 2}})
    assert held.startswith("连续 2 个 5 分钟时段偏高，最近一个时段（18:30–18:35）负面"), held
    old = describe({"code": "volume_rise", "params": {**params, "window": 3600}})
    assert old == "近 1 小时负面提及 23 条，预期 2 条（z=9.0）", old


@pytest.mark.parametrize("bad", ["yesterday", "9999-12-31T23:59:59-23:59", "2026-13-01T00:00"])
def test_a_reason_with_a_damaged_time_keeps_its_words(bad: str) -> None:
    """A stored reason whose times are no times (a database edited by hand) reads as one
    stored before the times were kept, not a ValueError out of every message of it."""
    params = {"observed": 23, "expected": 2, "zscore": 9.0, "window": 3600, "interval": 300}
    text = describe(
        {"code": "volume_rise", "params": {**params, "count_start": bad, "count_end": bad}}
    )
    assert text == "近 1 小时负面提及 23 条，预期 2 条（z=9.0）", text


def test_every_windowed_reason_names_the_clock_span_it_counts() -> None:
    """Session 38 named the surge's hour; the share rise, the acceleration and the window-ratio
    rule still said "近 1 小时" / "前一窗口", read as the hour before the message went out.
    Each names its counted window (ending with the detection's bin) and, for the rules that
    compare two windows, the window before it."""
    labelled = generate(4, days=10, crises=3)
    s = labelled.series
    series = CountSeries(s.start, s.total, s.negative, s.interval_seconds, "鲜牧")
    seen = set()
    for type_name, cls in sorted(REGISTRY.items()):
        if cls.input_kind != "counts" or not cls.counted_window:
            continue
        detector = cls()
        window = timedelta(seconds=detector.options[cls.counted_window])
        for detection in detector.detect(series):
            record = json.loads(json.dumps(detection.to_dict()))
            end = detection.timestamp + timedelta(seconds=s.interval_seconds)
            start = end - max(window, timedelta(seconds=s.interval_seconds))
            assert datetime.fromisoformat(record["details"]["count_start"]) == start
            assert datetime.fromisoformat(record["details"]["count_end"]) == end
            text = describe(record["reason"])
            clock = f"{start.astimezone(TZ):%H:%M}–{end.astimezone(TZ):%H:%M}"
            assert clock in text and "近 " not in text, (type_name, text)
            if record["reason"]["code"] in ("window_ratio", "volume_acceleration"):
                before = start - (end - start)
                assert (
                    f"前一窗口（{before.astimezone(TZ):%H:%M}–{start.astimezone(TZ):%H:%M}）"
                    in text
                )
            seen.add(type_name)
    assert {"negative_volume", "negative_share", "window_ratio"} <= seen


@pytest.mark.parametrize("code", ["window_ratio", "volume_acceleration", "share_rise"])
def test_a_windowed_reason_stored_without_times_or_with_damaged_ones_keeps_its_words(
    code: str,
) -> None:
    params = {"observed": 30, "expected": 5, "zscore": 6.0, "window": 3600, "share_delta": 0.3}
    old = describe({"code": code, "params": params})
    for bad in ("yesterday", "0001-01-01T00:00:00+00:00"):
        damaged = {**params, "count_start": bad, "count_end": "2026-12-07T18:35:00+08:00"}
        text = describe({"code": code, "params": damaged})
        assert "前一窗口（" not in text and "30 条" in text, text
    if code != "share_rise":
        assert "近 1 小时" in old and "前一窗口 5 条" in old, old


def test_a_cascade_reason_names_the_window_it_counts_and_the_one_before() -> None:
    def at(minutes: float, depth: int) -> dict[str, object]:
        return {"time": START + timedelta(minutes=minutes), "depth": depth, "followers": 90}

    events = [at(m, 1) for m in range(30)] + [at(20 + m, 3) for m in range(5)]
    series = cascade_series(events, START, START + timedelta(hours=1), 300, key="鲜牧")
    (found, *_) = CascadeGrowth().detect(series)
    end = found.timestamp + timedelta(seconds=300)
    start = end - timedelta(seconds=CascadeGrowth().options["window"])
    assert datetime.fromisoformat(found.details["count_start"]) == start
    text = describe(json.loads(json.dumps(found.to_dict()))["reason"])
    # its expectation is the rate of the reference hour before the window, not the window
    # before: the sentence names that hour
    before = start - timedelta(seconds=CascadeGrowth().options["reference"])
    clock = f"{start.astimezone(TZ):%H:%M}–{end.astimezone(TZ):%H:%M} 转发"
    reference = (
        f"此前 {before.astimezone(TZ):%H:%M}–{start.astimezone(TZ):%H:%M} 平均每 15 分钟转发"
    )
    assert clock in text and reference in text, text
    assert "近 " not in text, text
