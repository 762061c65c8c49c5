"""Coordinated-posting verdicts on scripted bursts versus organic repetition."""

from __future__ import annotations

from typing import Any

from koubei.analysis.spread.coordination import COORDINATED, ORGANIC, coordination, normalise
from tests.analysis.spread.incident import SCRIPT, incident


def post(i: int, text: str, *, minute: float, followers: int = 5000, **extra: Any) -> dict:
    return {
        "id": f"w:{i}",
        "text_raw": text,
        "author": {"id": f"u{i}", "name": f"用户{i}", "followers": followers},
        "created_at": f"2026-11-25T10:{int(minute):02d}:{int(minute % 1 * 60):02d}+08:00",
        **extra,
    }


def test_incident_script_is_flagged_with_evidence() -> None:
    report = coordination(incident())
    assert report["verdict"] == COORDINATED
    assert report["coordinated_ids"] == [f"weibo:s{i}" for i in range(8)]
    group = report["groups"][0]
    assert (group["posts"], group["accounts"]) == (8, 8)
    assert group["span_seconds"] == 210.0
    assert group["low_follower_share"] == 1.0
    assert set(group["signals"]) == {"low_followers", "regular_intervals"}
    assert group["text"] == SCRIPT


def test_bare_reposts_and_chains_are_not_duplicates() -> None:
    records = [
        post(i, "转发微博//@原作者: 鲜牧牛奶有问题", minute=i, followers=1) for i in range(20)
    ]
    assert coordination(records)["verdict"] == ORGANIC
    assert coordination(records)["groups"] == []


def test_one_account_repeating_itself_is_not_many_accounts() -> None:
    records = [post(1, SCRIPT, minute=i, followers=1) | {"id": f"w:{i}"} for i in range(10)]
    assert coordination(records)["verdict"] == ORGANIC


def test_slow_spread_of_a_popular_quote_is_organic() -> None:
    # Ten well-followed accounts quote the same line hours apart at irregular gaps.
    records = [
        {
            "id": f"w:{i}",
            "text_raw": "鲜牧这次的回应真的很没有诚意",
            "author": {"id": f"u{i}", "followers": 20_000},
            "created_at": f"2026-11-{20 + i % 5:02d}T{(i * 7) % 24:02d}:00:00+08:00",
        }
        for i in range(10)
    ]
    assert coordination(records)["verdict"] == ORGANIC


def test_new_accounts_with_irregular_gaps_are_flagged() -> None:
    gaps = [0, 1, 1.5, 4, 4.5, 9, 9.2, 12]
    records = [
        post(i, SCRIPT + "！！", minute=m, followers=900, extra={"author_created_at": "2026-11-20"})
        for i, m in enumerate(gaps)
    ]
    report = coordination(records)
    assert report["verdict"] == COORDINATED
    assert report["groups"][0]["signals"] == ["new_accounts"]


def test_small_share_stays_organic() -> None:
    script = [post(i, SCRIPT, minute=i * 0.5, followers=1) for i in range(5)]
    words = "酸 苦 涩 咸 腥 臭 馊 怪 淡 稠"
    organic = [
        post(100 + i, f"这次的牛奶{a}得离谱，还有点{b}", minute=(i * i) % 59)
        for i, (a, b) in enumerate((a, b) for a in words.split() for b in words.split()[:6])
    ]
    report = coordination(script + organic, flagged_share=0.1)
    assert report["verdict"] == ORGANIC
    assert len(report["coordinated_ids"]) == 5  # still listed so analysts can filter them


def test_normalise_strips_markup_digits_and_punctuation() -> None:
    assert normalise("【广告】第1名！@某人 http://x.cn/a [哈哈]好喝") == "广告第名好喝"
    # A link glued to words took them along, so two different scripts read as one.
    assert normalise("http://t.cn/A6abcd鲜牧牛奶有异物") == "鲜牧牛奶有异物"


def test_follower_counts_as_pages_write_them() -> None:
    # "1.2万" is m.weibo.cn's followers_count above ten thousand: compared with 50 it raised
    # TypeError out of coordination and so out of incident_evidence and `koubei spread`.
    script = "鲜牧牛奶喝出异物，大家千万别买"
    counts: list[Any] = ["1.2万", "3", 7, "10万+", "很多", None, "2"]
    minutes = [0, 1, 9, 12, 30, 33, 50]  # irregular: only the follower signal
    posts = [post(i, script, minute=minutes[i], followers=n) for i, n in enumerate(counts)]
    group = coordination(posts)["groups"][0]
    assert group["low_follower_share"] == 0.6  # 3, 7, 2 of the five known counts
    assert group["signals"] == ["low_followers"]


def test_date_only_times_are_no_burst() -> None:
    # Six ordinary accounts (few followers) wrote the same complaint on 11-20; the pages showed
    # only the date (``11-20``, ``time_precision: "day"``), which the crawl stores as midnight.
    # Six equal midnights read as six posts in one second: a burst, "likely coordinated".
    script = "鲜牧牛奶喝出异物，商家不给退款"
    posts = [
        {
            "id": f"w:{i}",
            "text_raw": script,
            "author": {"id": f"u{i}", "followers": 12},
            "created_at": "2026-11-20T00:00:00+08:00",
            "time_precision": "day",
        }
        for i in range(6)
    ]
    report = coordination(posts)
    assert report["verdict"] == "organic" and report["groups"] == []
    timed = [{**p, "created_at": f"2026-11-20T10:0{i}:00+08:00"} for i, p in enumerate(posts)]
    for p in timed:
        del p["time_precision"]
    assert coordination(timed)["verdict"] == "likely coordinated"
