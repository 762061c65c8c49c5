"""Pictures draw Chinese: the CJK font is registered by file and its glyphs are not boxes."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from koubei import fonts


def _render(text: str, family: str) -> np.ndarray:
    """``text`` drawn large in ``family``, as a grey-level pixel array."""
    fig = Figure(figsize=(2, 1), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.05, 0.2, text, fontsize=40, family=family)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]
    return rgba[..., :3].mean(axis=-1)


def test_chinese_glyphs_render_as_glyphs_not_missing_glyph_boxes() -> None:
    family = fonts.cjk_font()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DejaVu lacks the glyph: this draws the box on purpose
        box_a, box_b = _render("传", "DejaVu Sans"), _render("牧", "DejaVu Sans")
    assert np.array_equal(box_a, box_b)  # every missing glyph is the same box
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning: fail on it
        glyph_a, glyph_b = _render("传", family), _render("牧", family)
    ink = (glyph_a < 128).sum()
    assert ink > 50  # something was drawn
    assert not np.array_equal(glyph_a, box_a)
    assert not np.array_equal(glyph_a, glyph_b)  # two characters, two different shapes


def test_font_is_found_with_an_empty_matplotlib_cache(tmp_path: Path) -> None:
    """A fresh (or stale) font cache does not hide the font: it is registered by file."""
    code = (
        "import warnings; warnings.simplefilter('error');"
        "from koubei.fonts import cjk_font, cjk_font_file; print(cjk_font(), cjk_font_file())"
    )
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "CJK" in out.stdout or "Hei" in out.stdout


# Writes matplotlib's font cache as it stands on a machine where a CJK font was present when the
# cache was built and has been removed since (apt remove fonts-noto-cjk, a deleted virtualenv).
_STALE_CACHE = """
import shutil, sys
from pathlib import Path
import matplotlib
from matplotlib import font_manager
from koubei import fonts
gone = Path(sys.argv[1]) / fonts.cjk_font_file().name
shutil.copy(fonts.cjk_font_file(), gone)
manager = font_manager.FontManager()
manager.addfont(str(gone))
cache = Path(matplotlib.get_cachedir(), f"fontlist-v{manager.__version__}.json")
font_manager.json_dump(manager, cache)
gone.unlink()
"""

_DRAW = """
import sys, warnings
from pathlib import Path
warnings.simplefilter("error")  # a glyph missing from the font drawn is a UserWarning
from koubei.analysis.spread.pictures import timeline_png
records = [
    {"created_at": f"2026-12-01T10:{m:02d}:00+08:00", "sentiment": {"label": "negative"}}
    for m in range(30)
]
timeline_png(records, Path(sys.argv[1]), title="传播事件时间线")
"""


def test_a_stale_cache_naming_a_removed_cjk_font_still_draws_chinese(tmp_path: Path) -> None:
    """A cached font whose file is gone makes matplotlib rebuild its list mid-drawing, which
    forgot the registered file: titles and labels came out as boxes."""
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl")}
    (tmp_path / "removed").mkdir()
    subprocess.run(
        [sys.executable, "-c", _STALE_CACHE, str(tmp_path / "removed")], env=env, check=True
    )
    picture = tmp_path / "timeline.png"
    run = subprocess.run(
        [sys.executable, "-c", _DRAW, str(picture)], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert picture.stat().st_size > 0


def test_no_usable_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    latin_only = Path(__import__("matplotlib").get_data_path()) / "fonts/ttf/DejaVuSans.ttf"
    monkeypatch.setattr(fonts, "_candidates", lambda: [latin_only, tmp_path / "gone.otf"])
    fonts.cjk_font_file.cache_clear()
    try:
        with pytest.raises(fonts.MissingCJKFont, match=r"DejaVuSans\.ttf.*gone\.otf.*KOUBEI_CJK"):
            fonts.cjk_font_file()
    finally:
        fonts.cjk_font_file.cache_clear()


def test_the_operator_can_choose_the_font_file(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = fonts.cjk_font_file()
    monkeypatch.setenv("KOUBEI_CJK_FONT", str(chosen))
    assert fonts._candidates()[0] == chosen
