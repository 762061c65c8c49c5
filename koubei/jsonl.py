"""JSON Lines files written atomically, so a killed process never leaves a half line behind.

Reading comes in two kinds: :func:`read` for our own files, where a bad line is an error naming
the file and line, and :func:`read_lines` for landing files written by crawlers (or anyone),
where a bad line is reported as a :class:`BadLine` and the rest of the file goes on.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from koubei.atomicfile import atomic_write
from koubei.errors import KoubeiError


class JsonlError(KoubeiError, ValueError):
    """A JSON Lines file is missing or has a line that is not a JSON object (file:line named)."""


@dataclass(frozen=True)
class BadLine:
    """A line that is not a JSON object: where it is, why, and its text (bad bytes escaped)."""

    line: int
    reason: str
    raw: str


def dumps_line(value: Any) -> str:
    """One JSON line for ``value``, UTF-8 text kept readable.

    A lone surrogate (half an emoji from a caller that did not read through :func:`read`) cannot
    be written as UTF-8; such a value is written with ASCII escapes instead, so the line is
    still written and reads back to the same value.
    """
    text = json.dumps(value, ensure_ascii=False, default=str)
    if _SURROGATE.search(text):
        text = json.dumps(value, default=str)
    return text + "\n"


def write_atomic(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write ``records`` to ``path`` via a temp file and rename; returns the count written."""
    count = 0
    with atomic_write(path) as handle:
        for record in records:
            handle.write(dumps_line(record))
            count += 1
    return count


def read(path: Path) -> Iterator[dict[str, Any]]:
    """Yield records; a line that is not a JSON object raises :class:`JsonlError` with file:line."""
    for number, item in read_lines(path):
        if isinstance(item, BadLine):
            raise JsonlError(f"{path}:{number}: {item.reason}")
        yield item


def read_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    """Yield ``(line number, record or BadLine)`` for each non-blank line; never stops early.

    Lines are split on ``\\n`` only (not the Unicode line breaks ``str.splitlines`` knows), so the
    numbers match what ``sed -n Np`` shows. A missing file raises :class:`JsonlError`. A file
    named ``*.gz`` is read through gzip (``zcat`` numbering); a gzip stream that is cut off (its
    writer killed) or corrupt ends in one BadLine saying so, after the lines read before it.
    """
    try:
        raw_file = open(path, "rb")  # noqa: SIM115 -- closed by the with below; open errors named here
    except OSError as exc:
        raise JsonlError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    with raw_file:
        handle: io.BufferedIOBase = raw_file
        if path.name.endswith(".gz"):
            handle = gzip.GzipFile(fileobj=raw_file, mode="rb")
        number = 0
        try:
            for number, raw in enumerate(handle, start=1):
                # "UTF-8 with BOM" (PowerShell, Notepad): not part of the line. Not only line 1:
                # ``cat`` of two such files puts the second one's BOM mid-file.
                raw = raw.removeprefix(codecs.BOM_UTF8)
                if not raw.strip():
                    continue
                yield number, parse_line(raw, number)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            # Only a gzip stream raises these: a cut-off stream is EOFError, bytes that are
            # not gzip BadGzipFile, damaged ones zlib.error. The lines before it were kept.
            yield number + 1, BadLine(number + 1, f"gzip stream unreadable here ({exc})", "")


def parse_line(raw: bytes, number: int = 0) -> dict[str, Any] | BadLine:
    """One landing line as a JSON object, or a :class:`BadLine` saying why it is not one.

    Besides syntax errors this catches what ``json.loads`` raises on hostile input: invalid UTF-8,
    nesting deep enough to exhaust the stack, integers too long to convert, and the ``NaN`` /
    ``Infinity`` constants (not JSON, and Elasticsearch refuses them). A lone surrogate escape
    (``"\\ud800"``) is valid JSON but not Unicode: it becomes U+FFFD and the record is kept;
    so does one written as bytes (``surrogatepass``), and a pair written so is its character.
    """
    text = raw.decode("utf-8", errors="backslashreplace").rstrip("\r\n")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            decoded = _join_surrogates(raw.decode("utf-8", errors="surrogatepass"))
        except UnicodeDecodeError:
            return BadLine(number, f"invalid UTF-8 at byte {exc.start}", text)
    try:
        record = json.loads(decoded, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        # json's "Invalid control character at", "Unterminated string starting at": one "at"
        where = f"{exc.msg.removesuffix(' at')} at column {exc.colno}"
        return BadLine(number, f"not JSON ({where})", text)
    except RecursionError:
        return BadLine(number, "JSON nested too deeply", text[:1000])
    except ValueError as exc:  # a constant or an over-long integer
        return BadLine(number, f"not JSON ({exc})", text)
    if not isinstance(record, dict):
        return BadLine(number, f"not a JSON object (a {type(record).__name__})", text)
    if _SURROGATE_ESCAPE.search(raw):
        try:
            record = _replace_surrogates(record)
        except RecursionError:
            return BadLine(number, "JSON nested too deeply", text[:1000])
    return record


# JSON may escape half of a UTF-16 pair ("\ud83d": an emoji cut in two by a platform that
# truncates by UTF-16 units). json.loads keeps it as a lone surrogate, which no UTF-8 writer
# can store, so it would stop the file at the write. A valid pair decodes to one character,
# which the walk leaves as it is; only lines with such an escape are walked.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _join_surrogates(text: str) -> str:
    """Halves of UTF-16 pairs written as bytes (``surrogatepass``, CESU-8) joined into their
    character; a lone half becomes U+FFFD, as its ``"\\ud83d"`` escape does."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _replace_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate (in keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")
