"""Reading a user's text files: a CSV as UTF-8 (or GBK when asked; an error names the file and
line), and a file of texts, one per line, without losing or adding a line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TextLines", "read_lines", "read_utf8"]


def read_utf8(path: Path | str, *, gbk: bool = False) -> str:
    """The file's text; a UTF-8 byte order mark (spreadsheets save one) is dropped.

    With ``gbk``, bytes that are not UTF-8 are read as GB18030 (GBK's superset): what Excel and
    WPS save as "CSV" on a Chinese Windows, where the header is ``时间,数量``.

    Raises
    ------
    ValueError
        The bytes are not UTF-8 (nor GBK with ``gbk``); the message names ``file:line`` and the
        first bad byte.
    """
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        if gbk:
            try:
                return raw.decode("gb18030")
            except UnicodeDecodeError:
                pass
        line = raw.count(b"\n", 0, exc.start) + 1
        also = " or GBK" if gbk else ""
        raise ValueError(f"{path}:{line}: not UTF-8{also} (byte 0x{raw[exc.start]:02x})") from None


# Lines of the file named in full in warnings; more are counted.
NAMED_LINES = 5


@dataclass
class TextLines:
    """A text file's lines and what reading it had to repair (one warning per line, for stderr)."""

    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def read_lines(raw: bytes, name: str) -> TextLines:
    """A user's text file (bytes) as lines, one text per line, none lost or added.

    Lines end at ``\\n`` (``\\r\\n`` included); a ``\\r`` inside a line stays in it, so a stray
    carriage return copied out of a spreadsheet cell cannot shift every later line. A file
    with only ``\\r`` line ends (classic Mac) is split at ``\\r``. The encoding is UTF-8 (a
    byte order mark dropped); a file with a UTF-16 byte order mark is read as UTF-16; a file
    whose non-ASCII lines are mostly not UTF-8 but which is valid GB18030 (GBK files saved by
    Chinese Windows tools) is read as GB18030, with a warning saying so. Otherwise bytes that
    are not UTF-8 are replaced and each such line is named in a warning (``file:line``).
    """
    warnings: list[str] = []
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
        warnings.append(f"{name}: read as UTF-16 (it starts with a UTF-16 byte order mark)")
    else:
        raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text, warnings = _decode_not_utf8(raw, name)
    if "\n" in text:
        lines = [line.removesuffix("\r") for line in text.split("\n")]
    else:
        lines = text.split("\r")
    if lines and lines[-1] == "":
        lines.pop()  # the final line end ends the last line; it does not start another
    return TextLines(lines, warnings)


def _decode_not_utf8(raw: bytes, name: str) -> tuple[str, list[str]]:
    byte_lines = raw.split(b"\n")
    bad: list[int] = []
    good = 0
    for number, line in enumerate(byte_lines, 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad.append(number)
    if len(bad) > good:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            pass
        else:
            return text, [f"{name}: not UTF-8; read as GB18030 (GBK)"]
    warnings = []
    for number in bad[:NAMED_LINES]:
        line = byte_lines[number - 1]
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            warnings.append(
                f"{name}:{number}: not UTF-8 (byte 0x{line[exc.start]:02x}); "
                "scored without those bytes"
            )
    if len(bad) > NAMED_LINES:
        more = len(bad) - NAMED_LINES
        warnings.append(f"{name}: {more} more lines with bytes that are not UTF-8")
    return raw.decode("utf-8", errors="replace"), warnings
