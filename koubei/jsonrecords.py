"""The texts of one field of a file of JSON records (``sentiment score --column FIELD``): JSON
Lines (a landing or processed file), objects printed over lines (``jq .``) or one JSON array of
objects (an export of posts), decoded as any user's text file is
(:func:`koubei.textfile.read_lines`). Apart from :mod:`koubei.textfile`, whose CSV and line
readers it shares, so that each stays a size one can read."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from koubei.textfile import NAMED_LINES, TextLines

__all__ = ["is_jsonl", "read_field"]

_BLANK = " \t\r\n\ufeff"  # between records: a byte order mark too (``cat`` of two files)


def is_jsonl(lines: list[str]) -> bool:
    """Whether a file's ``lines`` are JSON records (:func:`read_field`): its first character
    that is no space or byte order mark opens an object, or an array whose first item is one
    (or none); a CSV's header never does."""
    at = next((i for i, line in enumerate(lines) if line.strip(_BLANK)), len(lines))
    head = "\n".join(lines[at : at + 3]).lstrip(_BLANK)  # "[" and "{" may be lines apart
    if head.startswith("["):
        head = head[1:].lstrip(_BLANK)
        return head[:1] in ("{", "]")
    return head.startswith("{")


def _records(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The JSON objects of ``text`` with the line each starts on: one a line (JSON Lines), an
    object printed over lines or several one after another (``jq .``), or the items of one
    array (``[{...},{...}]``, an export). A value that is no JSON object is an error naming its
    line."""
    decoder = json.JSONDecoder()
    pos, line = 0, 1

    def skip(at: int) -> int:
        nonlocal line
        end = at
        while end < len(text) and text[end] in _BLANK:
            end += 1
        line += text.count("\n", at, end)
        return end

    def value(at: int, what: str) -> tuple[dict[str, Any], int]:
        try:
            record, end = decoder.raw_decode(text, at)
        except (ValueError, RecursionError):  # not JSON; nested deeper than Python reads
            record, end = None, at
        if not isinstance(record, dict):
            raise ValueError(f"{name}:{line}: not a JSON object ({what})")
        return record, end

    pos = skip(0)
    if text.startswith("[", pos):
        pos = skip(pos + 1)
        while not text.startswith("]", pos):
            record, end = value(pos, "a JSON array's items: one a record")
            yield line, record
            line += text.count("\n", pos, end)
            pos = skip(end)
            if text.startswith(",", pos):
                pos = skip(pos + 1)
            elif not text.startswith("]", pos):
                raise ValueError(f"{name}:{line}: the JSON array is cut off or has no comma here")
        if skip(pos + 1) < len(text):
            raise ValueError(f"{name}:{line}: more after the JSON array's closing ]")
        return
    while pos < len(text):
        record, end = value(pos, "JSON Lines: one a line")
        yield line, record
        line += text.count("\n", pos, end)
        pos = skip(end)


def read_field(read: TextLines, name: str, field_name: str) -> TextLines:
    """The texts of a JSON Lines file's ``field_name``, one a record (a landing or processed
    file, an export of posts), of the file ``read`` as :func:`~koubei.textfile.read_lines`
    decoded it (its warnings kept). An
    object printed over several lines, and a JSON array of objects (an export), are read alike
    (:func:`_records`); line numbers are where each record starts.

    ``field_name`` is a key of each record, else a dotted path into nested objects
    (``mblog.text`` of a Weibo API card) when no key is named so. Blank lines are no records.
    A record without the field, or whose field is ``null`` or no string (a list, an object),
    gives an empty text (no opinion), so the output keeps one line a record, and a warning
    names it; a number is read as its text (NaN and Infinity are no text).

    Raises
    ------
    ValueError
        A record is no JSON object (named ``file:line``), or no record has the field
        (the message names the first record's keys).
    """
    texts: list[str] = []
    missing: list[int] = []
    keys: list[str] = []
    found = False
    for number, record in _records("\n".join(read.lines), name):
        keys = keys or list(record)
        value = _dotted(record, field_name)
        # NaN and Infinity (Python's json reads them) are no figure: "nan" was scored as a text
        infinite = isinstance(value, float) and not math.isfinite(value)
        if isinstance(value, bool) or not isinstance(value, str | int | float) or infinite:
            texts.append("")
            missing.append(number)
            continue
        found = True
        texts.append(str(value))
    if texts and not found:
        raise ValueError(
            f"{name}: no record has a text field {field_name!r} (the first has: "
            f"{', '.join(keys[:12])}{', ...' if len(keys) > 12 else ''})"
        )
    warnings = list(read.warnings)
    warnings += [
        f"{name}:{number}: no text in field {field_name!r}; read as no text"
        for number in missing[:NAMED_LINES]
    ]
    if len(missing) > NAMED_LINES:
        more = len(missing) - NAMED_LINES
        warnings.append(f"{name}: {more} more records without text in {field_name!r}")
    return TextLines(texts, warnings)


def _dotted(record: dict[str, Any], path: str) -> Any:
    """``record[path]``, else the value at the dotted ``path`` through nested objects, else None."""
    if path in record:
        return record[path]
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
