"""Charts for the incident page and the daily brief, as inline SVG.

matplotlib's object API on an SVG canvas (no pyplot state, safe in worker threads). Text is
drawn as paths (``svg.fonttype: path`` in :func:`koubei.fonts.rc_params`), so the Chinese
labels of a chart need no font on the reader's phone. Each function takes plain data and
returns the SVG markup; the width follows the page (``width: 100%`` in the stylesheet).
"""

from __future__ import annotations

import html
import io
import itertools
import math
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from koubei.fonts import rc_params

__all__ = ["TITLE_WIDTH", "aspect_chart", "fit", "text_width", "voice_chart", "volume_chart"]

NEGATIVE = "#d62728"
POSITIVE = "#2ca02c"
NEUTRAL = "#9e9e9e"
NO_OPINION = "#d9d9d9"
EXPECTED = "#1f77b4"
ALERT = "#ff7f0e"


#: Widths, in half-width columns (a Chinese character is two), of the text a chart can hold: a
#: title across the chart, and a name beside a bar.
TITLE_WIDTH = 80
LABEL_WIDTH = 24


def text_width(text: str) -> int:
    """Columns ``text`` takes: two for a wide (Chinese, full-width) character, one otherwise.

    >>> text_width("鲜牧 A")
    6
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(text: str, width: int = TITLE_WIDTH) -> str:
    """``text`` cut to ``width`` columns with a visible "…" (a chart draws text as shapes, it
    cannot wrap it: a long name ran off both sides of the chart or squeezed its axes to
    nothing). The chart's accessible name and the page's tables keep the whole text.

    >>> fit("鲜牧乳业股份有限公司", 10)
    '鲜牧乳业…'
    """
    if text_width(text) <= width:
        return text
    kept, used = [], 0
    for ch in text:
        used += text_width(ch)
        if used > width - 2:
            break
        kept.append(ch)
    return "".join(kept).rstrip() + "…"


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasSVG(fig)
    return fig


def _svg(fig: Any, label: str) -> str:
    """The figure as inline SVG named ``label`` for screen readers.

    Text drawn as paths is no text to assistive technology: without a name, a chart is an
    image called nothing. ``role="img"`` with ``aria-label`` (and a ``<title>``, the tooltip)
    gives it the chart's title.
    """
    out = io.StringIO()
    fig.savefig(out, format="svg")
    text = out.getvalue()
    # Drop the XML prolog and DOCTYPE: the SVG is inlined into an HTML page.
    svg = text[text.index("<svg") :]
    name = html.escape(label, quote=True)
    head_end = svg.index(">") + 1
    return (
        f'<svg role="img" aria-label="{name}"{svg[4:head_end]}<title>{name}</title>'
        + svg[head_end:]
    )


def volume_chart(
    times: Sequence[datetime],
    totals: Sequence[int],
    negatives: Sequence[int],
    expected: Sequence[float | None],
    *,
    opinions: Sequence[int] | None = None,
    marks: Sequence[datetime] = (),
    title: str = "声量与负面占比",
) -> str:
    """Posts per bin (negative stacked in red), the expected negative level, alert moments.

    ``expected`` is the usual number of negative posts for each bin (None where unknown); the
    negative share is drawn on a second axis. ``opinions`` are the posts with an opinion of
    each bin (all of ``totals`` when not given): the rest are drawn as their own segment, "无观点"
    (bare reposts ...), and the share is of the opinions, as the pages' tables count it.
    """
    import matplotlib
    from matplotlib import dates as mdates

    with matplotlib.rc_context(rc_params()):
        fig = _figure(8, 3.2)
        ax = fig.add_subplot()
        if times:
            width = _bar_width(times)
            scored = list(totals if opinions is None else opinions)
            others = [o - n for o, n in zip(scored, negatives, strict=True)]
            silent = [t - o for t, o in zip(totals, scored, strict=True)]
            ax.bar(times, negatives, width=width, color=NEGATIVE, label="负面", align="edge")
            ax.bar(
                times, others, width=width, bottom=negatives, color=NEUTRAL, label="其他观点",
                align="edge",
            )  # fmt: skip
            if any(silent):
                ax.bar(
                    times, silent, width=width, bottom=scored, color=NO_OPINION,
                    label="无观点（转发等）", align="edge",
                )  # fmt: skip
            known = [(t, e) for t, e in zip(times, expected, strict=True) if e is not None]
            if known:
                ax.step(
                    [t for t, _ in known], [e for _, e in known], where="post", color=EXPECTED,
                    linewidth=1.5, label="负面·往常水平",
                )  # fmt: skip
            share_ax = ax.twinx()
            shares = [n / o if o else math.nan for o, n in zip(scored, negatives, strict=True)]
            share_ax.plot(times, shares, color="#444444", linewidth=1, label="负面占比")
            share_ax.set_ylim(0, 1)
            share_ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
            share_ax.set_ylabel("负面占比（有观点的帖子）")
            for mark in marks:
                ax.axvline(mark, color=ALERT, linewidth=2, linestyle="--")
            if marks:
                ax.plot([], [], color=ALERT, linestyle="--", label="告警时刻")
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=times[0].tzinfo))
            ax.legend(loc="upper left", fontsize=8, ncols=2)
        else:
            ax.text(0.5, 0.5, "此时段没有数据", ha="center", va="center", transform=ax.transAxes)
        ax.set_ylabel("条数 / 时段")
        ax.set_title(fit(title), fontsize=11)
        fig.autofmt_xdate()
        return _svg(fig, title)


def voice_chart(rows: Sequence[dict[str, Any]], *, title: str = "声量份额与净情感") -> str:
    """Share of voice (bars) and net sentiment (dots) of a brand and its competitors.

    Each row: ``brand``, ``share`` (0-1 of the set's posts), ``net`` ((positive - negative) /
    scored posts, -1..1) and ``focus`` (the brand the page is about, drawn darker).
    """
    import matplotlib

    with matplotlib.rc_context(rc_params()):
        fig = _figure(8, 0.6 + 0.5 * max(len(rows), 1))
        share_ax, net_ax = fig.subplots(1, 2, sharey=True)
        names = [fit(str(r["brand"]), LABEL_WIDTH) for r in rows]
        positions = list(range(len(rows)))
        colours = [EXPECTED if r.get("focus") else "#9ecae1" for r in rows]
        share_ax.barh(positions, [r["share"] for r in rows], color=colours)
        share_ax.set_yticks(positions, names)
        share_ax.invert_yaxis()
        share_ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        share_ax.set_title("声量份额", fontsize=10)
        # A brand with no post of any opinion has no net sentiment: no dot, rather than one at 0.
        nets = [r["net"] if r.get("opinions", 1) else math.nan for r in rows]
        net_ax.axvline(0, color="#444444", linewidth=0.8)
        net_ax.scatter(nets, positions, color=[NEGATIVE if n < 0 else POSITIVE for n in nets])
        net_ax.set_xlim(-1, 1)
        net_ax.set_title("净情感（正面−负面）", fontsize=10)
        fig.suptitle(fit(title), fontsize=11)
        return _svg(fig, title)


def aspect_chart(rows: Sequence[dict[str, Any]], *, title: str = "方面：负面占比变化") -> str:
    """Negative share per aspect before and during the period (``aspect``, ``before``, ``now``)."""
    import matplotlib

    with matplotlib.rc_context(rc_params()):
        fig = _figure(8, 0.6 + 0.45 * max(len(rows), 1))
        ax = fig.add_subplot()
        positions = list(range(len(rows)))
        ax.barh([p - 0.2 for p in positions], [r["before"] for r in rows], height=0.4,
                color=NEUTRAL, label="之前")  # fmt: skip
        ax.barh([p + 0.2 for p in positions], [r["now"] for r in rows], height=0.4,
                color=NEGATIVE, label="本期")  # fmt: skip
        ax.set_yticks(positions, [fit(str(r["aspect"]), LABEL_WIDTH) for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        if not rows:
            ax.text(
                0.5, 0.5, "没有涉及方面的帖子", ha="center", va="center", transform=ax.transAxes
            )
        else:
            ax.legend(loc="lower right", fontsize=8)
        ax.set_title(fit(title), fontsize=11)
        # No table repeats these figures on the page: the name carries them.
        figures = "；".join(
            f"{r['aspect']} 之前 {r['before']:.0%}，本期 {r['now']:.0%}" for r in rows
        )
        return _svg(fig, f"{title}：{figures}" if rows else title)


def _bar_width(times: Sequence[datetime]) -> float:
    """Bar width in days (matplotlib's date unit): the spacing of the bins, a little less."""
    if len(times) < 2:
        return 5 / 1440
    step = min((b - a).total_seconds() for a, b in itertools.pairwise(times))
    return max(step, 60) / 86400 * 0.9
