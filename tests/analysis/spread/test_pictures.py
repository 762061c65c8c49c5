"""Pictures: valid PNGs, CJK font found, layout and pruning of big cascades."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

import matplotlib
import networkx as nx
import numpy as np
from matplotlib import image

from koubei.analysis.spread.cascade import build_cascades
from koubei.analysis.spread.pictures import (
    COLOURS,
    cascade_figure,
    cascade_png,
    prune,
    timeline_data,
    timeline_png,
    tree_layout,
)
from koubei.fonts import rc_params
from tests.analysis.spread.incident import incident


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def _has_colour(png: np.ndarray, hex_colour: str) -> bool:
    return bool((np.abs(png[..., :3] - _rgb(hex_colour)).sum(axis=-1) < 0.02).any())


def test_cascade_png_draws_sentiment_colours_without_missing_glyphs(tmp_path: Path) -> None:
    G = build_cascades(incident())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing CJK glyph is a UserWarning
        path = cascade_png(G, "weibo:1", tmp_path / "c.png")
    png = image.imread(path)
    assert png.shape[0] >= 300 and png.shape[1] >= 500
    assert _has_colour(png, COLOURS["negative"]) and _has_colour(png, COLOURS["neutral"])
    assert not _has_colour(png, COLOURS["positive"])


def test_timeline_png_bins_and_stacks(tmp_path: Path) -> None:
    path = timeline_png(incident(), tmp_path / "sub" / "t.png")
    png = image.imread(path)
    assert png.shape[:2] == (400, 1000)
    assert _has_colour(png, COLOURS["negative"]) and _has_colour(png, COLOURS["neutral"])
    empty = image.imread(timeline_png([], tmp_path / "empty.png"))
    assert not _has_colour(empty, COLOURS["negative"])


def _post(created_at: str, label: str = "negative", precision: str | None = None) -> dict:
    return {"created_at": created_at, "time_precision": precision, "sentiment": {"label": label}}


def test_date_only_posts_stay_out_of_a_time_of_day_timeline(tmp_path: Path) -> None:
    """Before: a post known only by its date ("11-20", "3天前") stood at 00:00 of that day, a
    burst of negative posts at midnight hours before the incident began."""
    posts = [_post(f"2026-11-20T10:{m:02d}:00+08:00") for m in range(0, 50, 5)]
    posts += [_post("2026-11-20T00:00:00+08:00", precision="day") for _ in range(4)]
    data = timeline_data(posts)
    assert data.width == 60  # ten posts over 45 minutes, in minute bars
    assert sum(data.stacks["negative"]) == 10 and data.dated == 4
    assert data.left_out == 4 and data.edges[0] == datetime.fromisoformat(posts[0]["created_at"])
    assert len(data.cumulative) == 10 and data.cumulative[-1][1] == 10
    assert "4 条只有日期" in data.title  # said, not hidden
    timeline_png(posts, tmp_path / "t.png")  # and it draws


def test_a_days_timeline_puts_date_only_posts_in_their_china_days_bar() -> None:
    """Day bars began at 08:00 China time (midnight UTC): a post at 23:30 UTC on the 20th,
    07:30 on the 21st in China, was drawn in the bar of the 20th."""
    posts = [
        _post("2026-11-05T12:00:00+08:00", "positive"),  # three weeks: day bars
        _post("2026-11-20T23:30:00+00:00"),  # 2026-11-21 07:30 in China
        _post("2026-11-21T00:00:00+08:00", precision="day"),
        _post("2026-11-28T12:00:00+08:00", "positive"),
    ]
    data = timeline_data(posts)
    assert data.width == 86400 and data.left_out == 0 and data.dated == 1
    assert data.edges[0] == datetime.fromisoformat(
        "2026-11-05T00:00:00+08:00"
    )  # bars start at midnight in China
    assert data.stacks["negative"][16] == 2  # the 21st: the early-morning post and the dated one
    assert sum(data.stacks["negative"]) == 2 and sum(data.stacks["positive"]) == 2
    assert data.unit == "天"


def test_layout_centres_parents_over_children_and_rows_by_depth() -> None:
    G = nx.DiGraph([(0, 1), (0, 2), (1, 3), (1, 4), (2, 5)])
    pos = tree_layout(G, 0)
    assert [pos[n][1] for n in (0, 1, 3)] == [0.0, -1.0, -2.0]
    assert pos[1][0] == (pos[3][0] + pos[4][0]) / 2
    assert sorted(pos[n][0] for n in (3, 4, 5)) == [0.0, 1.0, 2.0]
    assert len({pos[n] for n in G}) == len(G)


def test_big_cascade_is_pruned_to_its_largest_branches(tmp_path: Path) -> None:
    G = nx.bfs_tree(nx.balanced_tree(3, 7), 0)  # 3280 nodes
    T = prune(G, 0, 200)
    assert len(T) == 200 and nx.is_tree(T) and 0 in T
    assert all(T.in_degree(n) == 1 for n in T if n != 0)
    path = cascade_png(G, 0, tmp_path / "big.png", max_nodes=200)
    assert image.imread(path).shape[1] <= 2400


def test_crawled_names_with_dollar_signs_are_drawn_as_text(tmp_path: Path) -> None:
    """A nickname like ``$_$`` is an emoticon, not TeX: matplotlib's mathtext used to parse it
    and raise, so one such author took down the incident's pictures (and its page)."""
    records = incident()
    for record, nick in zip(records, ["$_$", r"a$\frac$b", "$^$", "$x$"] * 5, strict=False):
        record["author"] = {**(record.get("author") or {}), "name": nick}
    G = build_cascades(records)
    png = image.imread(cascade_png(G, "weibo:1", tmp_path / "c.png", labels=50))
    assert _has_colour(png, COLOURS["negative"])


def test_author_labels_on_one_row_never_overlap_as_drawn() -> None:
    """Labels were kept two layout units apart whatever their length: at 0.12 in per node that
    is about 17 pt, and eight Chinese characters at 8 pt are 64 pt wide, so neighbours' names
    were drawn over each other. Measured here with the renderer, not the estimate."""
    G = nx.DiGraph()
    names = [
        "鲜牧官方旗舰店客服",
        "北岭乳业粉丝后援会",
        "今天也要好好喝牛奶呀",
        "user_name_very_long_1",
    ]
    for i in range(40):
        G.add_edge("root", f"c{i}")
        G.nodes[f"c{i}"]["author"] = names[i % 4] + str(i)
        for j in range(1 + i % 3):
            G.add_edge(f"c{i}", f"g{i}.{j}")
            G.nodes[f"g{i}.{j}"]["author"] = f"转发者{i}.{j}"
    with matplotlib.rc_context(rc_params()):
        fig = cascade_figure(G, "root", labels=60)
        renderer = fig.canvas.get_renderer()
        boxes = [
            text.get_window_extent(renderer)
            for text in fig.axes[0].texts
            if text.get_color() == "#111111"  # authors; "+N" counts sit inside their marker
        ]
    assert len(boxes) >= 8  # still labels the biggest branches on each row
    overlapping = [(a, b) for k, a in enumerate(boxes) for b in boxes[k + 1 :] if a.overlaps(b)]
    assert overlapping == []
    assert all(len(t.get_text()) <= 12 for t in fig.axes[0].texts)  # long names are cut
