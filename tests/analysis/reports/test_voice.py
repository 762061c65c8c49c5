"""The competitor table's figures: share of voice, net sentiment and negative share."""

from __future__ import annotations

from koubei.analysis.reports.content import voice_rows


def test_bare_reposts_are_voice_but_stay_out_of_net_and_negative_share() -> None:
    # 鲜牧: 40 posts, 20 of them bare reposts (转发微博, no_opinion), 15 negative, 5 positive.
    counts = {
        "鲜牧": {"total": 40, "positive": 5, "negative": 15, "no_opinion": 20},
        "北岭": {"total": 10, "positive": 6, "negative": 2, "no_opinion": 2},
    }
    rows = {row["brand"]: row for row in voice_rows(counts, "鲜牧")}
    assert rows["鲜牧"]["total"] == 40 and rows["鲜牧"]["share"] == 0.8
    assert rows["鲜牧"]["negative_share"] == 0.75  # 15 of 20 opinions, not 15 of 40
    assert rows["鲜牧"]["net"] == -0.5
    assert rows["北岭"]["negative_share"] == 0.25 and rows["北岭"]["net"] == 0.5


def test_a_brand_with_only_bare_reposts_has_no_negative_share() -> None:
    rows = voice_rows({"鲜牧": {"total": 3, "positive": 0, "negative": 0, "no_opinion": 3}}, "鲜牧")
    assert rows[0]["negative_share"] == 0.0 and rows[0]["net"] == 0.0 and rows[0]["share"] == 1.0
