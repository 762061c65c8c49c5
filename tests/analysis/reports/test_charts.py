"""Charts drawn from hostile names: a brand or aspect name too long for a chart's margin."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta

from koubei.analysis.reports import charts
from koubei.timeutil import DEFAULT_TZ

LONG = "鲜牧乳业（集团）股份有限公司华东大区" * 10  # 190 characters, as a brands.yaml may hold


def test_a_long_brand_name_leaves_the_voice_chart_drawn() -> None:
    """Before: the name pushed both axes to nothing ("constrained_layout not applied because
    axes sizes collapsed to zero"), cut the names on the left and laid the titles over each
    other."""
    rows = [
        {"brand": LONG, "share": 0.75, "net": -0.3, "focus": True},
        {"brand": "北岭", "share": 0.25, "net": 0.5, "focus": False},
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = charts.voice_chart(rows)
    assert 'aria-label="声量份额与净情感"' in svg


def test_a_long_name_is_cut_visibly_in_a_chart_and_named_whole() -> None:
    start = datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)
    times = [start + timedelta(hours=h) for h in range(24)]
    title = f"{LONG} 当日声量（每小时）"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = charts.volume_chart(times, [5] * 24, [1] * 24, [None] * 24, title=title)
    assert f'aria-label="{title}"' in svg  # screen readers hear the whole name
    drawn = charts.fit(title)
    assert drawn.endswith("…") and charts.text_width(drawn) <= charts.TITLE_WIDTH
    assert charts.fit("鲜牧 当日声量（每小时）") == "鲜牧 当日声量（每小时）"
