"""Crawled text as the pages quote it: long posts cut visibly, template syntax kept as text."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from koubei.analysis.reports import content, render
from tests.analysis.reports.test_pages_in_browser import _hostile_post, incident_page_context
from tests.analysis.spread.incident import T0

LONG = "鲜牧牛奶" + "喝出异物" * 2_499  # 10,000 characters


def _page_quoting(text: str) -> dict:
    evidence = {
        "themes": [{"name": "异物", "posts": 3, "share": 1.0, "representative": {"text": text}}],
        "source": {"author": "小李", "text": text},
        "top_posts": [{**_hostile_post(), "text_raw": text}],
    }
    row = {"id": 1, "brand": "鲜牧", "status": "firing", "started_at": T0.timestamp()}
    return content.incident_context(
        {**row, "evidence": evidence},
        bins=[],
        window=(T0, T0 + timedelta(hours=1)),
        voice={},
        aspects_before=[],
        aspects_now=[],
        events=[],
        links={},
        generated_at=T0,
    )


def test_a_10000_character_post_is_quoted_cut_and_marked() -> None:
    """Before: the top post was cut at 280 with no sign of the cut; the source post and a
    theme's representative were quoted whole, 10,000 characters each."""
    html = render.render_page(_page_quoting(LONG))
    runs = re.findall(r"鲜牧牛奶[喝出异物]*…?", html)
    assert len(runs) == 3, [len(r) for r in runs]  # the top post, the theme, the source
    for run in runs:
        assert run.endswith("…") and len(run) == content.EXCERPT_CHARS + 1, len(run)


def test_a_short_post_is_quoted_whole() -> None:
    page = _page_quoting("鲜牧牛奶喝出异物")
    assert page["source"]["text"] == page["themes"][0]["text"] == "鲜牧牛奶喝出异物"
    assert page["top_posts"][0]["text"] == "鲜牧牛奶喝出异物"


def test_template_syntax_in_a_post_is_text(tmp_path: Path) -> None:
    context = incident_page_context(tmp_path)
    text = "{{ 7*7 }} {% if true %}x{% endif %} {# c #} ${7*7}"
    context["top_posts"] = [content._post_row({**_hostile_post(), "text_raw": text})]
    html = render.render_page(context)
    assert "{{ 7*7 }} {% if true %}x{% endif %} {# c #} ${7*7}" in html
    assert ">49<" not in html


def test_an_incident_firing_for_90_days_draws_a_readable_chart() -> None:
    """Before: 25,920 five-minute bars, a 10 MB chart taking over two minutes to draw, at
    every rewrite of the page; and the title said "5 分钟" whatever the bins were."""
    from koubei.pipeline.index.queries import VolumeBin

    start = T0 - timedelta(days=90)
    bins = [
        VolumeBin(start + timedelta(minutes=5 * i), 3 + i % 5, 1 + i % 2)
        for i in range(-7 * 288, 90 * 288)
    ]
    window = (start, T0)
    times, totals, negatives, expected, step, _ = content.series_bars(bins, window)
    shown = [b for b in bins if start <= b.start < T0]
    assert len(times) <= content.MAX_BARS and step == 6 * 3600
    assert sum(totals) == sum(b.total for b in shown)  # the same posts, in wider bars
    assert sum(negatives) == sum(b.negative for b in shown)
    assert expected[0] == sum(content.expected_negative([b.start for b in shown[:72]], {
        b.start: b.negative for b in bins
    }))  # fmt: skip
    row = {"id": 1, "brand": "鲜牧", "status": "firing", "started_at": start.timestamp()}
    page = content.incident_context(
        {**row, "evidence": {}},
        bins=bins,
        window=window,
        voice={},
        aspects_before=[],
        aspects_now=[],
        events=[],
        links={},
        generated_at=T0,
    )
    assert 'aria-label="鲜牧 声量与负面（6 小时）"' in page["volume_svg"]
    assert len(page["volume_svg"]) < 1_000_000


def test_a_one_minute_series_is_titled_as_it_is_binned() -> None:
    from koubei.pipeline.index.queries import VolumeBin

    bins = [VolumeBin(T0 + timedelta(minutes=i), 2, 1) for i in range(30)]
    *_, step, _ = content.series_bars(bins, (T0, T0 + timedelta(minutes=30)))
    assert step == 60 and content.step_words(step) == "1 分钟"


def test_chart_bars_keep_the_posts_with_an_opinion_apart_from_bare_reposts() -> None:
    """The share a chart draws is of the opinions, as the headline's; wider bars keep them."""
    from koubei.pipeline.index.queries import VolumeBin

    bins = [VolumeBin(T0 + timedelta(minutes=5 * i), 4, 1, no_opinion=2) for i in range(600)]
    window = (T0, T0 + timedelta(minutes=5 * 600))
    _, totals, negatives, _, step, opinions = content.series_bars(bins, window)
    assert step == 900 and totals[0] == 12 and opinions[0] == 6 and negatives[0] == 3
    assert sum(opinions) == 2 * 600 and bins[0].negative_share == 0.5


def test_a_day_of_bare_reposts_shows_no_negative_share_rather_than_0_percent() -> None:
    """Before: every post a bare repost (no_opinion) read "负面占比 0%" and "+0.00", as if the
    day had been all praise-neutral; there was no opinion to take a share of."""
    day = T0.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = {"total": 5, "positive": 0, "negative": 0, "no_opinion": 5}
    context = content.daily_context(
        day,
        [
            {
                "brand": "鲜牧",
                "voice": {"鲜牧": counts, "北岭": {"total": 4, "positive": 3, "negative": 1}},
                "week_counts": {"total": 0},
            }
        ],
        generated_at=T0,
    )
    html = render.render_page(context)
    kpi = re.search(r"负面占比</span><b>([^<]*)</b><span class=\"muted\">前 7 日 ([^<]*)<", html)
    assert kpi and kpi.groups() == ("—", "—")
    rows = re.findall(
        r"<tr[^>]*><td><bdi>(\S+)</bdi></td>((?:<td class=\"num\">[^<]*</td>)+)", html
    )
    cells = {brand: re.findall(r">([^<]*)</td>", tds) for brand, tds in rows}
    assert cells["鲜牧"] == ["5", "56%", "—", "—"]
    assert cells["北岭"] == ["4", "44%", "25%", "+0.50"]


def test_the_competitor_table_says_the_window_it_counts(tmp_path: Path) -> None:
    """Found cross-checking the demo's surfaces (session 38): the incident page's table said
    鲜牧 332 posts, 79% negative, under no time at all, beside an alert of the last hour (87%
    of 263 opinions) and a brief of the day (388 posts, 72%): its window (6 hours before the
    start to the last detection's hour after, or now) and what it counts are now said."""
    html = render.render_page(incident_page_context(tmp_path))
    start, end = T0 - timedelta(hours=6), T0 + timedelta(hours=2)
    window = f"{start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}"
    assert f"{window} 的帖子（含无观点的转发，负面占比只计有观点的帖子）" in html


def test_the_key_accounts_say_they_are_over_all_the_brands_posts(tmp_path: Path) -> None:
    """The page's key accounts are the alert's: ranked over every post of the brand from an
    hour before the incident (all its cascades), while `koubei spread POST_ID` ranks one
    cascade's, and the two lists disagreed with nothing saying why (session 38, alertwords)."""
    context = incident_page_context(tmp_path)
    assert context["key_accounts"]
    html = render.render_page(context)
    assert "关键账号按事件前 1 小时起品牌的全部帖子（所有转发链）计" in html
