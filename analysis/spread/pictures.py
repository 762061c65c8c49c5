"""PNG pictures for alerts and reports: the main cascade as a tree, and the incident timeline.

Drawn with matplotlib's object API on an Agg canvas (no pyplot global state, safe in worker
threads). Chinese labels use the CJK font of :mod:`koubei.fonts`, registered by file (a missing
font is an error, never boxes). The tree layout is
computed here (leaves spread left to right in depth-first order, parents centred over their
children, one row per depth), so graphviz is not needed.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import networkx as nx

from koubei.analysis.spread.cascade import parse_time, time_of_day
from koubei.analysis.spread.virality import bfs_order, subtree_sizes
from koubei.fonts import rc_params
from koubei.timeutil import DEFAULT_TZ

__all__ = [
    "COLOURS",
    "TimelineData",
    "cascade_figure",
    "cascade_png",
    "collapse_leaves",
    "prune",
    "timeline_data",
    "timeline_png",
    "tree_layout",
]

COLOURS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c", None: "#e0e0e0"}


def prune(G: nx.DiGraph, root: Hashable, max_nodes: int) -> nx.DiGraph:
    """The ``max_nodes`` nodes with the largest subtrees: always a tree containing the root.

    A parent's subtree is strictly larger than its child's, so the largest ones include every
    kept node's ancestors.

    Examples
    --------
    >>> T = prune(nx.DiGraph([(0, 1), (1, 2), (0, 3)]), 0, 3)
    >>> sorted(T.edges())
    [(0, 1), (1, 2)]
    """
    sizes = subtree_sizes(G, root)
    if len(sizes) <= max_nodes:
        return G.subgraph(sizes)
    keep = sorted(sizes, key=lambda n: (-sizes[n], str(n)))[:max_nodes]
    return G.subgraph(keep)


def tree_layout(G: nx.DiGraph, root: Hashable) -> dict[Hashable, tuple[float, float]]:
    """Layered tree layout: ``y = -depth``; leaves at x = 0, 1, 2 ...; parents centred.

    Examples
    --------
    >>> tree_layout(nx.DiGraph([(0, 1), (0, 2)]), 0)
    {1: (0.0, -1.0), 2: (1.0, -1.0), 0: (0.5, 0.0)}
    """
    succ = G._succ
    depth = {root: 0}
    for node in bfs_order(G, root):
        for child in succ[node]:
            depth.setdefault(child, depth[node] + 1)
    pos: dict[Hashable, tuple[float, float]] = {}
    next_leaf = 0.0
    # Iterative post-order: a node is placed after all of its children.
    stack: list[tuple[Hashable, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        children = [c for c in succ[node] if depth.get(c) == depth[node] + 1]
        if not children:
            pos[node] = (next_leaf, float(-depth[node]))
            next_leaf += 1.0
        elif expanded:
            xs = [pos[c][0] for c in children]
            pos[node] = ((min(xs) + max(xs)) / 2, float(-depth[node]))
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children))
    return pos


def collapse_leaves(T: nx.DiGraph, root: Hashable, keep: int = 3) -> nx.DiGraph:
    """``T`` with each big fan of leaves folded into one node per sentiment holding its count.

    A flat cascade (one post reposted 145 times directly) draws as a row of 145 dots and
    labels; folded, it is the root and a few "+N" nodes. A node's leaf children are folded
    when there are more than ``keep`` of them; the folded node carries ``collapsed`` (how many
    posts), ``sentiment`` and the largest ``followers`` among them.

    Examples
    --------
    >>> T = nx.DiGraph([(0, i) for i in range(1, 11)] + [(1, 11)])
    >>> C = collapse_leaves(T, 0)
    >>> sorted(C.nodes[n].get("collapsed", 1) for n in C.successors(0))
    [1, 9]
    """
    folded = T.copy()
    for node in list(T.nodes):
        leaves = [c for c in T.successors(node) if T.out_degree(c) == 0]
        if len(leaves) <= keep:
            continue
        by_label: dict[Any, list[Hashable]] = {}
        for leaf in leaves:
            by_label.setdefault(T.nodes[leaf].get("sentiment"), []).append(leaf)
        folded.remove_nodes_from(leaves)
        for label, members in by_label.items():
            key = ("collapsed", node, str(label))
            followers = max((T.nodes[m].get("followers") or 0) for m in members)
            folded.add_node(key, collapsed=len(members), sentiment=label, followers=followers)
            folded.add_edge(node, key)
    return folded


def cascade_png(
    G: nx.DiGraph,
    root: Hashable,
    path: Path,
    *,
    max_nodes: int = 300,
    labels: int = 25,
    title: str | None = None,
) -> Path:
    """Draw the cascade below ``root`` to ``path`` (PNG) and return ``path``.

    Nodes are coloured by sentiment (red negative, grey neutral, green positive, light grey
    unknown; placeholders hollow), sized by log followers; the ``labels`` biggest branches are
    labelled with their author. Cascades above ``max_nodes`` show their largest branches.
    """
    import matplotlib

    with matplotlib.rc_context(rc_params()):
        fig = cascade_figure(G, root, max_nodes=max_nodes, labels=labels, title=title)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return path


def cascade_figure(
    G: nx.DiGraph,
    root: Hashable,
    *,
    max_nodes: int = 300,
    labels: int = 25,
    title: str | None = None,
) -> Any:
    """The matplotlib ``Figure`` :func:`cascade_png` saves (call inside ``rc_params()``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    tree = collapse_leaves(prune(G, root, max_nodes), root)
    pos = tree_layout(tree, root)
    sizes = subtree_sizes(tree, root)
    total = len(subtree_sizes(G, root))
    width = min(24.0, max(6.0, 0.12 * len(pos)))
    height = min(14.0, max(4.0, 1.1 * (1 - min(y for _x, y in pos.values()))))
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    segments = [(pos[u], pos[v]) for u, v in tree.edges() if u in pos and v in pos]
    ax.add_collection(LineCollection(segments, colors="#bbbbbb", linewidths=0.8, zorder=1))
    nodes = list(pos)
    attrs = [tree.nodes[n] for n in nodes]
    ax.scatter(
        [pos[n][0] for n in nodes],
        [pos[n][1] for n in nodes],
        s=[
            (20 + 25 * math.log10(1 + (a.get("followers") or 0)))
            * min(4.0, 1 + math.sqrt(a.get("collapsed") or 0) / 2)
            for a in attrs
        ],
        c=[
            "white" if a.get("placeholder") else COLOURS.get(a.get("sentiment"), "#e0e0e0")
            for a in attrs
        ],
        edgecolors=[COLOURS.get(a.get("sentiment"), "#777777") for a in attrs],
        linewidths=0.8,
        zorder=2,
    )
    xs = [x for x, _y in pos.values()]
    # Layout units per point of text: the x span plus the 5 % margins over the axes' width
    # (the figure less about 0.8 in for the depth axis and its label).
    per_point = (max(xs) - min(xs) + 1.0) * 1.1 / (max(1.0, width - 0.8) * 72)
    for node in _labelled(tree, pos, sizes, labels, per_point):
        attrs_ = tree.nodes[node]
        collapsed = attrs_.get("collapsed")
        name = f"+{collapsed}" if collapsed else _short_name(attrs_.get("author"))
        x, y = pos[node]
        ax.annotate(
            name,
            (x, y),
            xytext=(0, 0) if collapsed else (0, 6),
            textcoords="offset points",
            ha="center",
            va="center" if collapsed else "bottom",
            fontsize=7 if collapsed else _LABEL_PT,
            color="white" if collapsed else "#111111",
            zorder=3,
        )
    drawn = sum(tree.nodes[n].get("collapsed") or 1 for n in pos)
    folded = sum(tree.nodes[n].get("collapsed") or 0 for n in pos)
    shown = f"（显示 {drawn} / {total}）" if drawn < total else ""
    if folded:
        shown += f"（{folded} 条末端转发合并为 +N）"
    ax.set_title(title or f"传播树 {root} · {total} 条{shown}", fontsize=11)
    ax.set_ylabel("转发层级")
    ax.set_yticks(sorted({y for _x, y in pos.values()}))
    ax.set_yticklabels([str(int(-y)) for y in sorted({y for _x, y in pos.values()})])
    ax.set_xticks([])
    ax.autoscale_view()
    ax.margins(0.05, 0.15)
    for spine in ("top", "right", "bottom"):
        ax.spines[spine].set_visible(False)
    fig.tight_layout()
    return fig


#: Author labels longer than this many ems are cut with an ellipsis: one long nickname would
#: otherwise keep every neighbour on its row unlabelled.
_LABEL_EMS = 8.0
_LABEL_PT = 8.0
_LABEL_GAP_PT = 4.0


def _ems(text: str) -> float:
    """Approximate width in ems: CJK and other wide characters one em, the rest 0.6."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)


def _short_name(author: Any) -> str:
    name = str(author or "?")
    if _ems(name) <= _LABEL_EMS:
        return name
    while name and _ems(name) > _LABEL_EMS - 1:
        name = name[:-1]
    return name + "…"


def _labelled(
    tree: nx.DiGraph,
    pos: dict[Hashable, tuple[float, float]],
    sizes: Any,
    limit: int,
    per_point: float,
) -> list[Hashable]:
    """What to label: the biggest branches first, and never two labels on top of each other
    (on one row, two labels' centres are at least half their widths apart, plus a gap, as
    drawn at ``per_point`` layout units per point); folded nodes always show their count."""
    chosen: list[Hashable] = []
    taken: dict[float, list[tuple[float, float]]] = {}
    folded = [n for n in pos if tree.nodes[n].get("collapsed")]
    authors = sorted(
        (n for n in pos if not tree.nodes[n].get("collapsed")), key=lambda n: (-sizes[n], str(n))
    )
    for node in authors:
        x, y = pos[node]
        if len(chosen) >= limit:
            break
        half = _ems(_short_name(tree.nodes[node].get("author"))) * _LABEL_PT * per_point / 2
        gap = _LABEL_GAP_PT * per_point
        if any(abs(x - other) < half + other_half + gap for other, other_half in taken.get(y, [])):
            continue
        taken.setdefault(y, []).append((x, half))
        chosen.append(node)
    return chosen + folded


_BINS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)
_UNITS = {60: "分钟", 3600: "小时", 86400: "天", 7 * 86400: "周"}
_LABEL_NAMES = {"negative": "负面", "neutral": "中性", "positive": "正面", None: "未标注"}


@dataclass
class TimelineData:
    """What :func:`timeline_png` draws, so it can be checked without reading pixels.

    ``edges`` are the bars' starts (aligned to midnight in China, so a day bar is a China day),
    ``stacks`` the posts per bar by sentiment label, ``cumulative`` the running count as
    ``(moment, posts so far)``. Posts known only by their date (``time_precision: "day"``) have
    no time of day: in bars of a day or more they join their day's bar (``dated``), in shorter
    ones they are left out (``left_out``) and the title says how many.
    """

    width: int = 0
    edges: list[datetime] = field(default_factory=list)
    stacks: dict[str | None, list[int]] = field(default_factory=dict)
    cumulative: list[tuple[datetime, int]] = field(default_factory=list)
    dated: int = 0
    left_out: int = 0
    title: str = ""

    @property
    def unit(self) -> str:
        """The bar width in words: "5 分钟", "小时", "天"."""
        for seconds in sorted(_UNITS, reverse=True):
            if self.width % seconds == 0:
                count = self.width // seconds
                return _UNITS[seconds] if count == 1 else f"{count} {_UNITS[seconds]}"
        return f"{self.width} 秒"


def _local_floor(ts: float, width: int) -> float:
    """``ts`` floored to a multiple of ``width`` seconds counted from midnight in China."""
    offset = _dt(ts).utcoffset()
    shift = int(offset.total_seconds()) if offset else 0
    return ts - (ts + shift) % width


def timeline_data(records: list[dict[str, Any]], *, title: str | None = None) -> TimelineData:
    """The bars and running count of :func:`timeline_png` (see :class:`TimelineData`)."""
    timed: list[tuple[float, Any]] = []
    dated: list[tuple[float, Any]] = []
    for record in records:
        moment = parse_time(record.get("created_at"))
        if moment is None:
            continue
        label = (record.get("sentiment") or {}).get("label")
        if time_of_day(record) is None:
            # The date as the crawler read it: its midnight in China is the day.
            day = moment.astimezone(DEFAULT_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
            dated.append((day.timestamp(), label))
        else:
            timed.append((moment.timestamp(), label))
    timed.sort()
    dated.sort()
    span = timed or dated
    data = TimelineData()
    if span:
        start, end = span[0][0], span[-1][0]
        width = next((b for b in _BINS if (end - start) / b <= 60), _BINS[-1])
        if not timed:  # dates alone: nothing finer than a day can be drawn
            width = max(width, 86400)
        drawn = timed
        if width >= 86400:
            drawn = sorted(timed + dated)
            start, end = drawn[0][0], drawn[-1][0]
        first = _local_floor(start, width)
        count = int((end - first) // width) + 1
        stacks: dict[str | None, list[int]] = {label: [0] * count for label in COLOURS}
        for ts, label in drawn:
            stacks[label if label in stacks else None][int((ts - first) // width)] += 1
        data.width = width
        data.edges = [_dt(first + i * width) for i in range(count)]
        data.stacks = stacks
        data.cumulative = [(_dt(ts), n) for n, (ts, _label) in enumerate(drawn, start=1)]
        data.dated = len(dated)
        data.left_out = len(dated) if width < 86400 else 0
    shown = len(data.cumulative)
    data.title = title or f"事件时间线 · {shown} 条"
    if data.left_out:
        data.title += f"（另有 {data.left_out} 条只有日期，未画入）"
    return data


def timeline_png(records: list[dict[str, Any]], path: Path, *, title: str | None = None) -> Path:
    """Posts per time bin stacked by sentiment, with the cumulative count; PNG to ``path``.

    Draws :func:`timeline_data`: posts known only by their date join their day's bar when the
    bars are days, else they are left out and counted in the title (at midnight they were a
    burst hours before anything happened)."""
    import matplotlib
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = timeline_data(records, title=title)
    with matplotlib.rc_context(rc_params()):
        fig = Figure(figsize=(10, 4), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        if data.edges:
            edges = [mdates.date2num(edge) for edge in data.edges]
            bar_width = data.width / 86400 * 0.9
            bottom = [0] * len(edges)
            for label, heights in data.stacks.items():
                if any(heights):
                    ax.bar(
                        edges,
                        heights,
                        width=bar_width,
                        bottom=bottom,
                        align="edge",
                        color=COLOURS[label],
                        label=_LABEL_NAMES[label],
                    )
                    bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
            cumulative = ax.twinx()
            cumulative.plot(
                [mdates.date2num(moment) for moment, _n in data.cumulative],
                [n for _moment, n in data.cumulative],
                color="#1f77b4",
                linewidth=1.2,
            )
            cumulative.set_ylabel("累计")
            # Ticks in China time too: the default locator put day ticks at 08:00 (UTC midnight).
            ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=DEFAULT_TZ))
            shape = "%m-%d" if data.width >= 86400 else "%m-%d %H:%M"
            ax.xaxis.set_major_formatter(mdates.DateFormatter(shape, tz=DEFAULT_TZ))
            ax.legend(loc="upper left", fontsize=8)
            ax.set_ylabel(f"每 {data.unit}条数" if " " in data.unit else f"每{data.unit}条数")
        ax.set_title(data.title, fontsize=11)
        fig.autofmt_xdate()
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return path


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, DEFAULT_TZ)
