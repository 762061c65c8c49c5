"""Reading a user's text file (CSV) as UTF-8, with an error that names the file and line."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_utf8"]


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
