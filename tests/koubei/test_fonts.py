"""Pictures draw Chinese: the CJK font is registered by file and its glyphs are not boxes."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

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
from typing import Any
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
from typing import Any
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


# No .ttc is installed on the test machine (fc-list, /usr/share/fonts): the collection is built
# from the two Noto fonts the mplfonts wheel ships, laid out as Noto Sans CJK's own .ttc is (a
# Japanese face first, the Simplified Chinese one after it), cut to a few characters.
_FACE_TEXT = fonts._PROBE + "直骨写"


def _face(file: str, family: str, text: str = _FACE_TEXT) -> Any:
    import importlib.util

    from fontTools import subset
    from fontTools.ttLib import TTFont

    spec = importlib.util.find_spec("mplfonts")
    assert spec is not None and spec.submodule_search_locations
    font = TTFont(Path(next(iter(spec.submodule_search_locations))) / "fonts" / file)
    options = subset.Options()
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    postscript = family.replace(" ", "")
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = family
        elif record.nameID == 6:
            record.string = postscript
    cff = font["CFF "].cff
    cff.fontNames = [postscript]
    cff[postscript].FamilyName = cff[postscript].FullName = family
    return font


def _collection(tmp_path: Path) -> Path:
    from fontTools.ttLib.ttCollection import TTCollection

    collection = TTCollection()
    collection.fonts = [
        _face("NotoSerifCJKsc-Regular.otf", "Koubei Test CJK JP"),  # face 0, as in Noto's .ttc
        _face("NotoSansCJKsc-Regular.otf", "Koubei Test CJK SC"),
    ]
    path = tmp_path / "KoubeiTestCJK-Regular.ttc"
    collection.save(str(path))
    return path


def _clear_font_caches() -> None:
    for cached in (fonts.cjk_font_file, fonts.cjk_font_face, fonts.cjk_font):
        cached.cache_clear()


def test_a_font_collection_draws_with_its_simplified_chinese_face(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Before: face 0 of a .ttc was used, which is the Japanese face of Noto Sans CJK's."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    path = _collection(tmp_path)
    monkeypatch.setenv("KOUBEI_CJK_FONT", str(path))
    _clear_font_caches()
    try:
        assert fonts.cjk_font_file() == path
        assert fonts.cjk_font_face() == 1
        assert fonts.cjk_font() == "Koubei Test CJK SC"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            drawn = _render("直骨", fonts.cjk_font())
            japanese = _render("直骨", "Koubei Test CJK JP")  # face 0, registered beside it
        assert (drawn < 128).sum() > 50 and not np.array_equal(drawn, japanese)
        found = font_manager.fontManager.findfont(
            font_manager.FontProperties(family=fonts.cjk_font()), fallback_to_default=False
        )
        assert (found.path, found.face_index) == (str(path), 1)
        # The pages' embedded font is the same face.
        import io

        cut = TTFont(io.BytesIO(fonts.font_subset("直骨")))
        assert cut["name"].getDebugName(1) == "Koubei Test CJK SC"
    finally:
        _clear_font_caches()
        manager = font_manager.fontManager
        manager.ttflist = [e for e in manager.ttflist if e.fname != str(path)]


def test_a_font_collection_naming_no_script_uses_its_first_face_with_chinese(
    tmp_path: Path,
) -> None:
    """WenQuanYi's .ttc names no script ("WenQuanYi Micro Hei", "... Mono"): face 0, as before;
    and a collection whose first face lacks Chinese draws with the one that has it."""
    from fontTools.ttLib.ttCollection import TTCollection

    collection = TTCollection()
    collection.fonts = [
        _face("NotoSerifCJKsc-Regular.otf", "Koubei Test Hei"),
        _face("NotoSansCJKsc-Regular.otf", "Koubei Test Hei Mono"),
    ]
    path = tmp_path / "hei.ttc"
    collection.save(str(path))
    assert fonts._chinese_face(path) == 0
    collection.fonts = [
        _face("NotoSansCJKsc-Regular.otf", "Koubei Test Latin", text="abc"),
        _face("NotoSansCJKsc-Regular.otf", "Koubei Test Hei"),
    ]
    collection.save(str(path))
    assert fonts._chinese_face(path) == 1
    latin = Path(__import__("matplotlib").get_data_path()) / "fonts/ttf/DejaVuSans.ttf"
    assert fonts._chinese_face(latin) is None


def _mplfonts_file(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec("mplfonts")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "fonts" / name


@pytest.mark.parametrize(
    ("file", "tag", "mime", "css_format"),
    [
        ("NotoSansCJKsc-Regular.otf", b"OTTO", "font/otf", "opentype"),  # CFF outlines
        ("SimHei.ttf", b"\x00\x01\x00\x00", "font/ttf", "truetype"),  # TrueType outlines
    ],
)
def test_the_pages_font_is_labelled_by_its_outlines(
    monkeypatch: pytest.MonkeyPatch, file: str, tag: bytes, mime: str, css_format: str
) -> None:
    """Before: every embedded cut was ``font/otf`` ``format('opentype')``, a TrueType one too."""
    import base64
    import re

    monkeypatch.setenv("KOUBEI_CJK_FONT", str(_mplfonts_file(file)))
    _clear_font_caches()
    try:
        assert fonts.cjk_font_file() == _mplfonts_file(file)
        css = fonts.web_font_css("传播事件")
    finally:
        _clear_font_caches()
    found = re.search(r"url\(data:([^;]+);base64,([^)]+)\) format\('([^']+)'\)", css)
    assert found is not None, css[:200]
    assert base64.b64decode(found[2])[:4] == tag  # what the cut really is
    assert (found[1], found[3]) == (mime, css_format)
