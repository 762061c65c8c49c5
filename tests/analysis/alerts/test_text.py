"""Chat rendering stays within byte budgets and never splits a character."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from koubei.analysis.alerts.channels.base import dumps
from koubei.analysis.alerts.channels.text import TRUNCATED, fit, render_markdown, truncate_utf8
from koubei.analysis.alerts.channels.webhook import shrink


@given(st.text(min_size=0, max_size=400), st.integers(min_value=20, max_value=600))
def test_truncate_utf8_respects_budget_and_characters(text: str, budget: int) -> None:
    cut = truncate_utf8(text, budget)
    assert len(cut.encode("utf-8")) <= budget
    if len(text.encode("utf-8")) <= budget:
        assert cut == text
    else:
        assert text.startswith(cut.removesuffix(TRUNCATED))


def test_fit_drops_lines_before_cutting() -> None:
    sections = [["head"], ["posts"] + [f"{i}. 差评差评差评" for i in range(50)]]
    out = fit(sections, 200)
    assert len(out.encode()) <= 200 and TRUNCATED not in out
    assert out.startswith("head\n\nposts\n0. ")


def test_markdown_keeps_footer_mentions_when_cut() -> None:
    payload = {"title": "T", "severity": "critical", "reasons": ["很长" * 5000]}
    text = render_markdown(payload, 500, footer="<@oncall>")
    assert len(text.encode()) <= 500 and text.endswith("<@oncall>")


def test_webhook_shrink_drops_evidence_to_fit() -> None:
    payload = {"brand": "x", "top_posts": [{"text": "差" * 500} for _ in range(100)]}
    small = shrink(payload, 10_000)
    assert len(dumps(small)) <= 10_000 and small["truncated"] is True
    assert 0 < len(small["top_posts"]) < 100
