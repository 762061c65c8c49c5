"""The CJK font every picture uses, registered with matplotlib by file, never found by cache.

matplotlib's font cache is built once per machine and goes stale: a font installed after it was
built stays invisible, and every Chinese label turns into a box. So the font file is registered
directly with ``font_manager.fontManager.addfont``, whatever the cache says, from the first of:

1. ``$KOUBEI_CJK_FONT``: a font file (``.otf``, ``.ttf``, ``.ttc``) the operator chose (one
   that is missing or draws no Chinese is passed over with a warning naming it; of a ``.ttc``
   collection, the Simplified Chinese face is used, found by its name, whatever its place);
2. Noto Sans CJK SC shipped inside the ``mplfonts`` wheel, a dependency of koubei, so a fresh
   ``pip install`` draws Chinese with nothing from the system (Noto is under the SIL Open Font
   License; koubei reads only that file of the package);
3. Debian's ``fonts-noto-cjk`` or ``fonts-wqy-microhei`` files at their packaged paths.

None of them usable is an error (:class:`MissingCJKFont`), not a warning: a picture of boxes
is worse than no picture.
"""

from __future__ import annotations

import importlib.util
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from koubei.errors import KoubeiError

__all__ = [
    "MissingCJKFont",
    "cjk_font",
    "cjk_font_face",
    "cjk_font_file",
    "font_subset",
    "rc_params",
    "web_font_css",
]

_MPLFONTS_FILE = "fonts/NotoSansCJKsc-Regular.otf"
_SYSTEM_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
# Glyphs every picture needs: a font that lacks them is no CJK font.
_PROBE = "传播事件时间线条"


class MissingCJKFont(KoubeiError, RuntimeError):
    """No font file that can draw Chinese was found; the message says where koubei looked.

    A :class:`~koubei.errors.KoubeiError`: the CLI prints the message, not a traceback.
    """


def _candidates() -> list[Path]:
    found: list[Path] = []
    if os.environ.get("KOUBEI_CJK_FONT"):
        found.append(Path(os.environ["KOUBEI_CJK_FONT"]))
    spec = importlib.util.find_spec("mplfonts")
    if spec is not None and spec.submodule_search_locations:
        found.append(Path(next(iter(spec.submodule_search_locations))) / _MPLFONTS_FILE)
    found.extend(Path(p) for p in _SYSTEM_FILES)
    return found


# A family name that says Simplified Chinese: Noto and Source Han "... SC", Sarasa "... SC",
# older "... CN" / "... GB" / "... Hans" / "... CHS" cuts.
_SIMPLIFIED = re.compile(r"(?:^|[\s_-])(?:SC|CN|GB|Hans|CHS)(?:$|[\s_-])|Simplified")


def _chinese_face(path: Path) -> int | None:
    """The face of ``path`` to draw with: its Simplified Chinese one, or None if none can.

    A collection (``.ttc``) holds several faces, and which comes first depends on the file:
    Noto Sans CJK's puts Japanese first (JP, KR, SC, TC, HK), whose forms of shared characters
    (直, 骨, 写 ...) are not the ones Chinese readers write. The first face whose family name
    says Simplified Chinese is used; failing one (WenQuanYi's two faces name no script), the
    first face that has the glyphs. A single font file is face 0.
    """
    try:
        drawing = [(0, _face(path, 0))]
        drawing += [(i, _face(path, i)) for i in range(1, drawing[0][1].num_faces)]
    except TypeError:  # matplotlib before 3.11 draws the first face of a collection alone
        pass
    except (OSError, RuntimeError, ValueError):
        return None
    usable = [(i, f) for i, f in drawing if all(ord(ch) in f.get_charmap() for ch in _PROBE)]
    named = [i for i, font in usable if _SIMPLIFIED.search(font.family_name or "")]
    return named[0] if named else (usable[0][0] if usable else None)


def _face(path: Path, index: int) -> Any:
    """Face ``index`` of the font file (``face_index`` is matplotlib 3.11's, face 0 any's)."""
    from matplotlib.ft2font import FT2Font

    return FT2Font(str(path), face_index=index) if index else FT2Font(str(path))


@lru_cache(maxsize=1)
def cjk_font_file() -> Path:
    """The font file pictures use; raises :class:`MissingCJKFont` when there is none.

    A ``$KOUBEI_CJK_FONT`` that is no file or draws no Chinese is passed over for the next
    candidate with a warning naming it: in silence, the operator believed their font was used.
    Not an error: the pictures of an alert's evidence are drawn before it is sent.
    """
    chosen = os.environ.get("KOUBEI_CJK_FONT")
    tried = _candidates()
    usable = next((p for p in tried if p.is_file() and _chinese_face(p) is not None), None)
    if chosen and usable != Path(chosen):
        from koubei.log import get_logger

        why = "no such file" if not Path(chosen).is_file() else f"it lacks some of {_PROBE}"
        get_logger(__name__).warning(
            "KOUBEI_CJK_FONT not used", path=chosen, reason=why, using=str(usable)
        )
    if usable is not None:
        return usable
    raise MissingCJKFont(
        "no CJK font for pictures: tried "
        + ", ".join(str(p) for p in tried)
        + " (install koubei with its dependencies, which include mplfonts, or set "
        "KOUBEI_CJK_FONT to a .otf/.ttf/.ttc file that has Chinese glyphs)"
    )


@lru_cache(maxsize=1)
def cjk_font_face() -> int:
    """The face of :func:`cjk_font_file` pictures and pages use (0 but in a collection, where
    it is the Simplified Chinese face: see :func:`_chinese_face`)."""
    return _chinese_face(cjk_font_file()) or 0


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Family name of the registered CJK font (registering it on first use).

    Examples
    --------
    >>> "CJK" in cjk_font() or "Hei" in cjk_font()
    True
    """
    from matplotlib import font_manager

    path = cjk_font_file()
    manager = font_manager.fontManager
    # A stale cache lists fonts whose files are gone (a font package removed, a virtualenv
    # deleted). The first lookup that meets one makes matplotlib rebuild its font list from the
    # system fonts, which forgets the file registered here: every later label of a new size or
    # weight is drawn in DejaVu, as boxes. Fonts that no longer exist are dropped first.
    manager.ttflist = [entry for entry in manager.ttflist if os.path.isfile(entry.fname)]
    manager.afmlist = [entry for entry in manager.afmlist if os.path.isfile(entry.fname)]
    manager.addfont(str(path))  # every face of a collection; clears matplotlib's lookup cache
    # The chosen face's name, as matplotlib lists it (FontProperties(fname=...) reads face 0,
    # which in Noto's collection is the Japanese one).
    face = cjk_font_face()
    name = font_manager.ttfFontProperty(_face(path, face)).name
    found = manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
    if not os.path.isfile(found):
        raise MissingCJKFont(f"{path} was registered as {name!r}, but matplotlib finds {found}")
    return name


def rc_params() -> Any:
    """matplotlib rc settings that draw text in the CJK font (Latin falls back to DejaVu).

    Mathtext is off: every label is data (crawled nicknames such as ``$_$``, brand names), never
    TeX, and mathtext raises on text that is not valid TeX.
    """
    return {
        "font.family": [cjk_font(), "DejaVu Sans"],
        "svg.fonttype": "path",
        "text.parse_math": False,
    }


def web_font_css(text: str, family: str = "koubei-cjk") -> str:
    """An ``@font-face`` rule embedding the CJK font cut down to the characters of ``text``.

    Pages are self-contained and opened on phones and laptops with whatever fonts they have;
    a subset of the pictures' font (about 100 KB for 600 characters, against 16 MB whole)
    makes every Chinese label render the same everywhere, with no network.
    """
    import base64

    cut = font_subset(text)
    mime, css_format = _web_font_format(cut)
    data = base64.b64encode(cut).decode("ascii")
    return (
        f"@font-face{{font-family:'{family}';font-display:block;"
        f"src:url(data:{mime};base64,{data}) format('{css_format}');}}"
    )


# The sfnt version tag a font file starts with: its outlines, and so its media type
# (RFC 8081) and CSS ``format()`` hint. A collection is never embedded: font_subset cuts it to
# the chosen face, a single font whose tag is its own outlines'.
_SFNT_FORMATS = {
    b"OTTO": ("font/otf", "opentype"),  # CFF outlines (Noto Sans CJK, Source Han)
    b"\x00\x01\x00\x00": ("font/ttf", "truetype"),  # TrueType outlines (SimHei, WenQuanYi)
    b"true": ("font/ttf", "truetype"),  # Apple's TrueType tag
}


def _web_font_format(font: bytes) -> tuple[str, str]:
    """The media type and CSS ``format()`` of a font file, read from its sfnt version tag.

    Labelling a TrueType cut ``font/otf`` / ``opentype`` (as every cut once was) names the
    wrong outlines: a browser may pass over a source whose declared format it does not take.
    """
    try:
        return _SFNT_FORMATS[font[:4]]
    except KeyError:
        raise ValueError(
            f"{cjk_font_file()}: not a TrueType or OpenType font (starts {font[:4]!r})"
        ) from None


def font_subset(text: str, *, recalc_bboxes: bool = False) -> bytes:
    """The CJK font file cut down to the characters of ``text`` (and space and digits).

    ``recalc_bboxes`` False: the kept glyphs are unchanged, so their side bearings stay right,
    and the whole font's bounding box still encloses them; recomputing bounds (fontTools'
    default) means executing every kept charstring again, about a third of the cut's time
    (``python -m bench reports`` compares the two).
    """
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.hinting = False
    options.notdef_outline = True
    font = TTFont(
        str(cjk_font_file()), lazy=True, fontNumber=cjk_font_face(), recalcBBoxes=recalc_bboxes
    )
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text) | set(" 0123456789"))))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()
