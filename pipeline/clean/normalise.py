"""Character-level normalisation: invisible characters, full-width forms, URLs, traditional script.

Full-width ASCII letters and digits (``Ｔｈｉｎｋｐａｄ``, ``１２３``) become half-width so that
search and features see one spelling; the full-width punctuation Chinese prose uses (，！？：；（）)
is kept because it is the normal form of written Chinese.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

# Zero-width and bidi controls (embeddings, overrides and the isolates U+2066-2069 that
# editors and chat apps insert), the Arabic letter mark and Mongolian vowel separator (both
# invisible format characters), interlinear annotation marks, soft hyphen, BOM, replacement
# character, other C0/C1 controls except tab and newline. The zero-width joiner (U+200D) is handled
# apart: it glues emoji into one (👨‍👩‍👧, 🏳️‍🌈) and is kept there, but dropped between letters, where
# it only hides words.
_INVISIBLE = re.compile(
    "[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u00ad"
    "\u061c\u180e\ufff9-\ufffb\ufffd\ufffc\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
# What may stand on either side of a joiner in an emoji ZWJ sequence: pictographs and symbols,
# variation selector 16 and skin-tone modifiers (which sit in the pictograph block).
_EMOJI_PART = "\u2190-\u21ff\u2300-\u27bf\u2b00-\u2bff\ufe0f\U0001f000-\U0001faff"
_STRAY_JOINER = re.compile(f"(?<![{_EMOJI_PART}])\u200d|\u200d(?![{_EMOJI_PART}])")
_SURROGATE = re.compile("[\ud800-\udfff]")
_KEEP_FULLWIDTH = set("，！？：；（）")
_FULLWIDTH_TABLE = {
    code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code) not in _KEEP_FULLWIDTH
}
_FULLWIDTH_TABLE[0x3000] = 0x20  # ideographic space
# A bare host (``taobao.com``, ``m.tb.cn/h.4Xyz``): subdomains included, so no ``m.`` is left
# behind. The common TLDs stand alone; others count only with a path, as link shorteners write
# them (``bit.ly/3abc``, ``suo.im/5abc``), so that prose like ``No.1`` or ``Mr.Li`` is kept.
#
# An address is ASCII: one glued to the words after it (``t.cn/A6abcd领券``, ``….shtml学术争鸣是
# 好事``) ends where they start, and a bare host may follow a Chinese word directly (``\b`` sees
# no boundary between two letters of any script). The scheme may come without its slashes or
# with a full-width colon: Weibo's check-ins read ``我在:http:t.cn/zl7Xr4E``.
_URL_CHARS = "[^\\s<>\"')\\[\\]\\x80-\\U0010ffff]"
_HOST = r"(?<![0-9a-z_-])(?:[a-z0-9-]{1,63}\.){1,4}"
#
# An e-mail address is no link: it stays whole, like a phone number in prose (contact details
# are the author's words; only a hotline line of its own is furniture, see ``boilerplate``).
# It is tried first, so the bare-host rule cannot take its domain and leave "a@" behind.
_EMAIL = r"(?<![a-z0-9._%+-])[a-z0-9._%+-]{1,64}@(?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,24}(?![a-z0-9-])"
_URL = re.compile(
    rf"(?P<email>{_EMAIL})"
    rf"|(?:https?[:：]/{{0,2}}|ftp://|www\.){_URL_CHARS}{{1,2000}}"
    rf"|{_HOST}(?:com|cn|net|org|cc|io)(?![0-9a-z-])(?:/{_URL_CHARS}{{0,500}})?"
    rf"|{_HOST}(?:ly|im|me|gl|to|co|top|xyz|vip|info|link|site|club|shop)/{_URL_CHARS}{{1,500}}",
    re.I | re.A,  # ASCII case folding: under full Unicode folding "ſ" and "K" (Kelvin) made
)  # the class of non-ASCII characters hold "s" and "k"
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def remove_invisible(text: str) -> str:
    """Drop zero-width, control and lone-surrogate characters; unify line breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")  # line, paragraph separators
    text = _SURROGATE.sub("", text)
    return _STRAY_JOINER.sub("", _INVISIBLE.sub("", text))


# The characters ``_FULLWIDTH_TABLE`` changes: most texts have none, and a search in C is several
# times faster than ``str.translate`` with a dict, which looks up every character.
_FULLWIDTH = re.compile(
    "[" + "".join(re.escape(chr(code)) for code in sorted(_FULLWIDTH_TABLE)) + "]"
)


def to_halfwidth(text: str) -> str:
    """Full-width ASCII letters, digits and symbols to half-width (CJK punctuation kept)."""
    return text.translate(_FULLWIDTH_TABLE) if _FULLWIDTH.search(text) else text


# Every address holds an ASCII letter (its scheme, www, a top-level domain): nine in ten
# reviews have none, and a search for one in C spares them ``_URL``, whose lookbehinds are tried
# at every character (measured on the held-out reviews: 0.08 s a pass, now 0.02 s).
_ASCII_LETTER = re.compile("[a-z]", re.I | re.A)


def remove_urls(text: str) -> str:
    """Remove web addresses; they carry no sentiment and defeat near-duplicate detection.

    E-mail addresses stay whole.
    """
    return _URL.sub(_keep_email, text) if _ASCII_LETTER.search(text) else text


def _keep_email(match: re.Match[str]) -> str:
    return match.group(0) if match.group("email") else " "


def squeeze_whitespace(text: str) -> str:
    """Collapse runs of spaces, strip each line, keep single blank lines between paragraphs."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


@lru_cache(maxsize=1)
def _converter() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def _dictionary_path(name: str) -> Path:
    """Where the installed OpenCC keeps its dictionary ``name`` (``STPhrases.txt``)."""
    import opencc

    return Path(opencc.__file__).with_name("dictionary") / name


def _dictionary(name: str) -> Iterator[tuple[str, str]]:
    """(key, first value) pairs of one of OpenCC's dictionaries, read a line at a time: holding
    ``STPhrases`` (1 MB, 50,000 pairs) as a list raised ``score``'s peak RSS by 17 MB."""
    with _dictionary_path(name).open(encoding="utf-8") as lines:
        for line in lines:
            key, _, values = line.rstrip("\n").partition("\t")
            yield key, values.split(" ")[0]


def _dictionary_text(name: str) -> str:
    """One of OpenCC's dictionaries as one string (``STPhrases``: 1 MB, let go of once read)."""
    return _dictionary_path(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _variants() -> dict[int, str]:
    """Hong Kong and Taiwan variant characters (衞, 衹, 枱, 粧, 簷) → simplified.

    Taken from OpenCC's own ``HKVariantsRev`` and ``TWVariantsRev`` (variant → OpenCC's standard
    traditional form), then t2s. Not through its ``hk2s``/``tw2s`` conversions: with the
    dictionaries this OpenCC ships, both turn the simplified 抬 into 擡 (抬頭 → 擡头) and ``tw2s``
    turns 么 into 幺 (什么 → 什幺), and crawled simplified text often holds a traditional
    character that sends it through the converter. So a variant that is also a character of
    simplified text (one that OpenCC's s2t tables list: 抬, 么, 著, 痺) is left to t2s. That
    leaves 著 as it is even where Taiwan writes it for 着: in simplified text it is 著作, 名著,
    原著, 专著, and OpenCC's list of phrases that keep it is traditional (显著 → 显着).
    """
    converter = _converter()
    # t2s already converts most of them (裡, 為, 參), in context: those stay its job.
    candidates: dict[str, str] = {}
    for name in ("HKVariantsRev.txt", "TWVariantsRev.txt"):
        for key, value in _dictionary(name):
            if len(key) == 1 and converter.convert(key) == key:  # type: ignore[attr-defined]
                candidates[key] = value
    # Which of them a simplified key (the text before a tab) holds, in one regex pass over each
    # s2t table rather than a set of every character of its 50,000 keys built line by line:
    # 0.05 s of `koubei sentiment score`'s start-up, now 0.01 s; the same table.
    in_simplified = re.compile(f"[{re.escape(''.join(candidates))}](?=[^\t\n]*\t)")
    simplified: set[str] = set()
    for name in ("STCharacters.txt", "STPhrases.txt"):
        simplified.update(in_simplified.findall(_dictionary_text(name)))
    table: dict[int, str] = {}
    for key, value in candidates.items():
        target = str(converter.convert(value))  # type: ignore[attr-defined]
        if key not in simplified and target != key and len(target) == 1:
            table[ord(key)] = target
    return table


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Every character OpenCC's t2s dictionaries or the variant table can change.

    A text without any of them converts to itself, and most crawled text is already simplified,
    so checking this set first skips OpenCC's slow pure-Python matcher for it.
    """
    chars: set[str] = {chr(code) for code in _variants()}
    for name in ("TSCharacters.txt", "TSPhrases.txt"):
        for key, value in _dictionary(name):
            if len(key) != len(value):
                chars.update(key)
            else:
                chars.update(k for k, v in zip(key, value, strict=True) if k != v)
    return frozenset(chars)


def to_simplified(text: str) -> str:
    """Traditional (Hong Kong and Taiwan variants included) → simplified Chinese with OpenCC.

    A no-op on simplified text.
    """
    traditional = _traditional_chars()
    if traditional.isdisjoint(text):
        return text
    text = text.translate(_variants())
    # OpenCC converts each run between its separators (punctuation, spaces) on its own and keeps
    # the separators, so only the runs holding a traditional character need its slow matcher:
    # the same result, and a long simplified text with a few traditional words (or 么, which
    # its phrase tables list) no longer goes through it whole (a 200,000-character text: 2 s).
    converter: Any = _converter()
    parts = converter.split_chars_re.split(text)
    for i in range(0, len(parts), 2):
        if not traditional.isdisjoint(parts[i]):
            parts[i] = converter.convert(parts[i])
    return "".join(parts)


def nfc(text: str) -> str:
    """Unicode NFC, so composed and decomposed forms compare equal."""
    return unicodedata.normalize("NFC", text)
