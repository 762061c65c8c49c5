"""Reading a user's text file (CSV) as UTF-8, with an error that names the file and line."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_utf8"]


def read_utf8(path: Path | str) -> str:
    """The file's text; a UTF-8 byte order mark (spreadsheets save one) is dropped.

    Raises
    ------
    ValueError
        The bytes are not UTF-8; the message names ``file:line`` and the first bad byte.
    """
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x})") from None
