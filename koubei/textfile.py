"""Reading a user's text files (``-``: standard input): a CSV as UTF-8 (or GBK or Big5 when
asked; an error names the file and line), a file of texts, one per line, without losing or
adding a line, one column of a CSV of texts (a spreadsheet's export of reviews) or one field of
a JSON Lines file's records (an export of posts); and which separator a CSV uses, and a CSV
header's names."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from koubei.cjk_charset import gb_or_big5

__all__ = [
    "STDIN",
    "TEXT_COLUMNS",
    "TextLines",
    "csv_delimiter",
    "csv_separator",
    "decoded_as",
    "excel_sep",
    "header_hint",
    "header_names",
    "input_name",
    "read_column",
    "read_input",
    "read_lines",
    "read_utf8",
    "utf16_text",
]


#: What a UTF-16 file starts with (little-, big-endian): Excel's "Unicode Text", Notepad's
#: "Unicode". Neither starts any UTF-8 or GBK text, so no file read as those is read otherwise.
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def utf16_text(raw: bytes, errors: str = "strict") -> str | None:
    """``raw`` decoded as UTF-16 (its byte order mark dropped) when it starts with a UTF-16 byte
    order mark, else None: the one rule by which koubei reads UTF-16."""
    return raw.decode("utf-16", errors=errors) if raw.startswith(UTF16_BOMS) else None


#: The FILE argument that is standard input (``sentiment score -``, ``spikes detect -``).
STDIN = "-"


def input_name(path: Path | str) -> str:
    """How messages name the input ``path``: ``<stdin>`` for :data:`STDIN`, else the path."""
    return "<stdin>" if str(path) == STDIN else str(path)


#: How a warning names the encoding a Chinese Windows saves "ANSI" text in, as chosen by
#: :func:`~koubei.cjk_charset.gb_or_big5`: GBK on the mainland, Big5 in Taiwan and Hong Kong.
ANSI_NAMES = {"gb18030": "GB18030 (GBK)", "big5hkscs": "Big5"}


def decoded_as(name: str, encoding: str) -> str:
    """The warning that the input ``name``, not UTF-8, was read as ``encoding`` (``utf-16``, or
    one of :data:`ANSI_NAMES`): the one wording of every reader that says so (``sentiment
    score``'s lines and ``--column``, ``sentiment train`` and ``eval``'s labelled CSV)."""
    if encoding == "utf-16":
        return f"{name}: read as UTF-16 (it starts with a UTF-16 byte order mark)"
    return f"{name}: not UTF-8; read as {ANSI_NAMES[encoding]}"


#: What a gzip stream starts with (RFC 1952): no text in UTF-8, GBK, Big5 or UTF-16 does.
GZIP_MAGIC = b"\x1f\x8b"


def read_input(path: Path | str) -> bytes:
    """The bytes of the input ``path``: standard input's for :data:`STDIN`, else the file's;
    a gzip stream (a landing file compressed to ``run.jsonl.gz``, a ``.csv.gz`` export, ``gzip
    -c`` into standard input) is decompressed, known by its first bytes, not its name.

    Raises
    ------
    ValueError
        The gzip stream is cut off or damaged (named ``file``): the part before it is not read
        as the whole (was: its compressed bytes read as text, scored as mojibake, exit 0).
    """
    raw = sys.stdin.buffer.read() if str(path) == STDIN else Path(path).read_bytes()
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ValueError(f"{input_name(path)}: gzip stream cut off or damaged ({exc})") from None


def read_utf8(path: Path | str, *, gbk: bool = False, said: list[str] | None = None) -> str:
    """The file's text (standard input's for :data:`STDIN`, named ``<stdin>`` in errors); a
    UTF-8 byte order mark (spreadsheets save one) is dropped.

    With ``gbk`` (a spreadsheet's export), bytes that are not UTF-8 are read as GB18030 (GBK's
    superset) or Big5, whichever reads as more common characters
    (:func:`~koubei.cjk_charset.gb_or_big5`): what Excel and WPS save as "CSV" on a Chinese
    Windows, where the header is ``时间,数量`` (``時間,數量`` in Taiwan or Hong Kong); and a
    file with a UTF-16 byte order mark is read as UTF-16 (:func:`utf16_text`; Excel's "Unicode
    Text"). Without it (config files) both are errors. Which of those it was read as is added
    to ``said`` (when given) as :func:`decoded_as` words it, for the caller's stderr.

    Raises
    ------
    ValueError
        The bytes are not UTF-8 (nor GBK or Big5 with ``gbk``), or not UTF-16 after its byte order
        mark (with ``gbk``); the message names ``file:line`` and the first bad byte.
    """
    raw, name = read_input(path), input_name(path)
    try:
        text = utf16_text(raw) if gbk else None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
        raise ValueError(
            f"{name}:{line}: not UTF-16, though it starts with UTF-16's byte order mark "
            f"({exc.reason} at byte {exc.start})"
        ) from None
    if text is not None:
        if said is not None:
            said.append(decoded_as(name, "utf-16"))
        return text
    if not raw.startswith(UTF16_BOMS) and _utf16_without_bom(raw):
        # read as UTF-8 (a NUL is valid there) its error was about '\x00' cells, or GBK made
        # another language of it; what to save it as says more. UTF-16 with its byte order
        # mark is read only with ``gbk``: a config file saved so is "not UTF-8 (byte 0xff)",
        # which its caller says more of (was: called UTF-16 *without* its byte order mark, and
        # told to save it with one, which is refused alike)
        save = "; save it as UTF-8, or as UTF-16 with its byte order mark" if gbk else ""
        raise ValueError(
            f"{name}:1: UTF-16 without its byte order mark (a 0 byte every other byte){save}"
        )
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        if gbk and (encoding := gb_or_big5(raw)):
            if said is not None:
                said.append(decoded_as(name, encoding))
            return raw.decode(encoding)
        line = raw.count(b"\n", 0, exc.start) + 1
        also = ", GBK or Big5" if gbk else ""
        raise ValueError(f"{name}:{line}: not UTF-8{also} (byte 0x{raw[exc.start]:02x})") from None


def _utf16_without_bom(raw: bytes) -> bool:
    """Whether ``raw`` (no byte order mark) looks like UTF-16: in its first 256 bytes, most
    bytes at even or at odd offsets are 0, as Latin letters, digits and punctuation are in
    UTF-16. Text in UTF-8 or GBK holds no 0 byte."""
    head = raw[:256]
    if len(head) < 4:
        return False
    return any(head[start::2].count(0) * 2 > len(head[start::2]) for start in (0, 1))


def _line_end_beside_0(raw: bytes) -> bool:
    """Whether ``raw`` (no byte order mark, not UTF-8) has a line end beside a 0 byte in its
    first 256 bytes, as UTF-16 of Chinese text alone has (``\\n`` is ``0a 00``, its characters
    no 0 byte), where GBK or Big5 text holds none."""
    head = raw[:256]
    return b"\n\x00" in head or b"\x00\n" in head


def _no_bom(name: str) -> ValueError:
    return ValueError(
        f"{name}:1: UTF-16 without its byte order mark (0 bytes in its text, as UTF-16 has); "
        "save it as UTF-8, or as UTF-16 with its byte order mark"
    )


#: Excel's first line naming a CSV's separator (``sep=;``), written when asked, read by Excel
_EXCEL_SEP = re.compile(r'"?sep=([^"\r\n])"?', re.IGNORECASE)


def excel_sep(text: str) -> str | None:
    """The separator a CSV's first line names as Excel writes it (``sep=,``, ``sep=;``,
    ``sep=<tab>``), or None when the first line is no such line. Every CSV reader honours it
    (:func:`csv_separator`) and skips that line, as Excel does: it was read as the header
    ("no column 'text' in the header (sep=, )") or as a row."""
    first = text.split("\n", 1)[0].rstrip("\r").strip(" ")
    match = _EXCEL_SEP.fullmatch(first)
    return match.group(1) if match else None


def csv_separator(text: str) -> tuple[str, bool]:
    """The separator of a CSV's ``text``, and whether its first line is Excel's ``sep=`` line
    (:func:`excel_sep`), which names it and which the caller skips; else ``,`` unless its first
    line that is not blank has none and has a ``;`` (what Excel writes where the decimal mark is
    a comma) or a tab (TSV, Excel's "Unicode Text"). Every CSV reader asks this once."""
    named = excel_sep(text)
    if named is not None:
        return named, True
    first = next((line for line in io.StringIO(text, newline="") if line.strip()), "")
    if "," in first:
        return ",", False
    return (";" if ";" in first else "\t" if "\t" in first else ","), False


def csv_delimiter(text: str) -> str:
    """The separator of a CSV's ``text`` (:func:`csv_separator`), for a reader of one line."""
    return csv_separator(text)[0]


def header_names(fields: Sequence[str], where: str, columns: Iterable[str]) -> list[str]:
    """A CSV header's ``fields`` as every CSV reader names its columns: without the spaces
    around them (``label, review`` typed by hand) and a second byte order mark (a file saved
    again by a spreadsheet, after the first was dropped). ``where`` (``file:line``) names the
    header in errors.

    Raises
    ------
    ValueError
        One of ``columns`` is named twice: a reader by name read one of the two (``DictReader``
        the last), every row's other text taken for it (one "text" evaluated, "all positive"
        to train on).
    """
    names = [f.strip().lstrip("\ufeff").strip() for f in fields]
    for column in columns:
        if names.count(column) > 1:
            at = ", ".join(str(i + 1) for i, n in enumerate(names) if n == column)
            raise ValueError(f"{where}: column {column!r} is named twice (fields {at})")
    return names


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
    byte order mark dropped); a file with a UTF-16 byte order mark is read as UTF-16, one
    without it is a ValueError saying what to save it as; a file whose non-ASCII lines are
    mostly not UTF-8 but which reads as GB18030 or Big5 (GBK or Big5 files saved by Chinese
    Windows tools, mainland or Taiwan and Hong Kong) is read so, the one
    with more common characters (:func:`~koubei.cjk_charset.gb_or_big5`), with a warning
    saying which. Otherwise the lines that are mostly not UTF-8 (a GBK or Big5 export joined to
    a UTF-8 one) are read in the one of the two they read as together, with one warning naming
    them, and bytes of other lines that are not UTF-8 are replaced, each such line named in a
    warning (``file:line``).
    """
    warnings: list[str] = []
    utf16 = utf16_text(raw, errors="replace")
    if utf16 is not None:
        text = utf16
        warnings.append(decoded_as(name, "utf-16"))
    elif _utf16_without_bom(raw):
        # was read as UTF-8 (a 0 byte is valid there): a line more, a CSV header 'r\x00e...'
        raise _no_bom(name)
    else:
        raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            if _line_end_beside_0(raw):
                raise _no_bom(name) from None  # Chinese alone: was read as GBK, gibberish
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
    if len(bad) > good and (encoding := gb_or_big5(raw)):
        return raw.decode(encoding), [decoded_as(name, encoding)]
    warnings = []
    # Lines of a GBK or Big5 export joined to UTF-8 ones (``cat`` of two files, a tool that
    # appends in its own encoding): those read in the encoding they read as together, the
    # rest as UTF-8 (was: each scored without its bytes, as mojibake, while the file was
    # neither, or more UTF-8 than not). A UTF-8 line cut mid-character is mostly UTF-8.
    ansi = [n for n in bad if _mostly_not_utf8(byte_lines[n - 1])]
    encoding = gb_or_big5(b"\n".join(byte_lines[n - 1] for n in ansi)) if ansi else None
    read_as = set(ansi) if encoding else set()
    if encoding:
        bad = [n for n in bad if n not in read_as]
        first = ", ".join(str(n) for n in ansi[:NAMED_LINES]) + (
            ", ..." * (len(ansi) > NAMED_LINES)
        )
        warnings.append(
            f"{name}: {len(ansi)} line{'s' * (len(ansi) > 1)} not UTF-8 ({first}); read as "
            f"{ANSI_NAMES[encoding]}, the other lines as UTF-8"
        )
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
    return "\n".join(
        line.decode(encoding) if encoding and number in read_as else line.decode("utf-8", "replace")
        for number, line in enumerate(byte_lines, 1)
    ), warnings


def _mostly_not_utf8(line: bytes) -> bool:
    """Whether more of ``line``'s non-ASCII bytes are no UTF-8 than make UTF-8 characters: a
    GBK or Big5 line (a few of whose byte pairs may happen to be UTF-8), not a UTF-8 line cut
    mid-character."""
    decoded = line.decode("utf-8", errors="replace")
    replaced = decoded.count("\ufffd")
    return replaced > sum(ord(c) > 0x7F for c in decoded) - replaced


#: The longest field ``read_column`` reads (characters).
FIELD_LIMIT = 1 << 26

#: Header names of a column of texts. A first line of two or more CSV fields, one of
#: them one of these, is a CSV's header rather than a text (``header_hint``): the labelled
#: reviews' own ``cat,label,review``, and what Chinese spreadsheets call the column.
TEXT_COLUMNS = ("review", "text", "content", "comment", "评论", "内容", "评价", "文本", "正文")


def header_hint(lines: list[str], name: str) -> str | None:
    """A warning when the first of a text file's ``lines`` looks like a CSV header (separated as
    :func:`csv_delimiter` finds) naming a column of texts (``TEXT_COLUMNS``): scored one text a
    line, its header is a text and every row's other fields (a label, a category) are part of
    its text; or when it is a JSON object (a landing or processed JSONL file): its keys, ids
    and times are scored with its text. None otherwise."""
    if not lines:
        return None
    record = _json_object(lines[0])
    if record is not None:
        # was unsaid: of the demo incident's 202 negative posts, 141 scored positive this way
        keys = [k for k in ("text_clean", "text_raw", *TEXT_COLUMNS) if k in record]
        field = f"its {keys[0]!r} field" if keys else "the field that holds it"
        column = f"--column {keys[0]}" if keys else "--column FIELD"
        return (
            f"{name}:1 is a JSON object (a JSONL file): every line is read as one text, its "
            f"keys and other fields too; {column} reads {field}, one text a record"
        )
    try:
        row = csv.reader(lines[:1], delimiter=csv_delimiter(lines[0]))
        fields = [f.strip() for f in next(row, [])]
    except csv.Error:  # a stray carriage return in the line: no CSV header
        return None
    found = [f for f in fields if f.lower() in TEXT_COLUMNS]
    if len(fields) < 2 or not found:
        return None
    return (
        f"{name}:1 looks like a CSV header ({lines[0][:60]}): every line is read as one text, "
        f"this one and each row's other fields too; --column {found[0]} reads that column, "
        "one text a row"
    )


def _json_object(line: str) -> dict[str, object] | None:
    """``line`` as a JSON object, else None."""
    if not line.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # not JSON; nested deeper than Python reads
        return None
    return value if isinstance(value, dict) else None


def read_column(read: TextLines, name: str, column: str) -> TextLines:
    """The texts of a CSV's ``column`` (named in its header row, the first line), one a row,
    of the file ``read`` as :func:`read_lines` decoded it (its warnings kept), separated as
    :func:`csv_separator` finds (Excel's ``sep=`` first line, skipped; else ``,``, else ``;``
    or tab). A quoted field may span lines;
    blank lines are no rows. A row too short to have the column gives an empty text (no
    opinion), so the output keeps one line a row, and a warning names it.

    Raises
    ------
    ValueError
        The file is empty, its header has no ``column`` (the message names the columns it has)
        or a row is no CSV (named ``file:line``).
    """
    # Lines, not one stream: ``read_lines`` keeps a stray carriage return inside its line,
    # which a stream would end the row at (one row read as two, every later line misnamed); in
    # a text it is a space. strict: a quote opened and never closed is an error naming its row,
    # not the rest of the file read silently as one field (one text where there were hundreds).
    # the lines up to the first that is not blank: all that names the separator
    filled = next((i for i, line in enumerate(read.lines) if line.strip()), len(read.lines))
    delimiter, sep_line = csv_separator("\n".join(read.lines[: filled + 1]))
    rows = csv.reader(
        (line.replace("\r", " ") + "\n" for line in read.lines), delimiter=delimiter, strict=True
    )
    # A review as long as a line may be (csv refuses fields over 128 KB by default). The limit
    # is process-wide: it is put back once the file is read, so that other CSV readers (a
    # series CSV's 200 KB "count") refuse what they refused before (it was only ever raised,
    # and `spikes` in the same process took such a field after `score --column` had run).
    previous = csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    try:
        return _column_texts(read, rows, name, column, skip_first=sep_line)
    finally:
        csv.field_size_limit(previous)


def _column_texts(
    read: TextLines, rows: Any, name: str, column: str, *, skip_first: bool
) -> TextLines:
    """:func:`read_column`'s rows (a ``csv.reader``) read: the texts of ``column`` and the
    warnings; ``skip_first``: the first row is Excel's ``sep=`` line."""

    def next_row() -> list[str] | None:
        start = rows.line_num + 1
        try:
            return next(rows, None)
        except csv.Error as exc:
            raise ValueError(f"{name}:{start}: not a CSV row ({exc})") from None

    if skip_first:
        next_row()  # Excel's sep= line
    header = next_row()
    while header is not None and not "".join(header).strip():  # blank lines before the header
        header = next_row()  # (spaces too: was "no column 'text' in the header ()")
    if header is None:
        raise ValueError(
            f"{name}: empty (no CSV header row naming column {column!r}, no JSON record)"
        )
    column = column.strip()
    line = rows.line_num
    names = header_names(header, f"{name}:{line}", [column])
    if column not in names:
        raise ValueError(f"{name}:{line}: no column {column!r} in the header ({', '.join(names)})")
    at = names.index(column)
    texts: list[str] = []
    short: list[int] = []  # the lines the rows without the field end on
    while (row := next_row()) is not None:
        if not row:
            continue
        if at < len(row):
            texts.append(row[at])
        else:
            texts.append("")
            short.append(rows.line_num)
    warnings = list(read.warnings)
    warnings += [
        f"{name}:{line}: no {column!r} field; read as no text" for line in short[:NAMED_LINES]
    ]
    if len(short) > NAMED_LINES:
        warnings.append(f"{name}: {len(short) - NAMED_LINES} more rows without a {column!r} field")
    return TextLines(texts, warnings)
