"""Rison, the URL-friendly JSON that Kibana keeps its app state in (``_g=``, ``_a=``).

Only encoding is needed (deep links). Grammar from the reference implementation (rison.js):
objects ``(k:v,...)``, arrays ``!(...)``, ``!t`` ``!f`` ``!n``, strings bare when they are ids,
else quoted with ``'`` and ``!`` escaping ``'`` and ``!``.
"""

from __future__ import annotations

import re
from typing import Any

_NOT_ID_CHARS = " '!:(),*@$"
_ID = re.compile(
    r"^[^\-0-9" + re.escape(_NOT_ID_CHARS) + r"][^" + re.escape(_NOT_ID_CHARS) + r"]*$"
)


def _string(value: str) -> str:
    if value and _ID.match(value):
        return value
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"


def dumps(value: Any) -> str:
    """Encode a JSON-like value as rison.

    >>> print(dumps({"time": {"from": "now-15m", "to": "now"}, "a": [True, None]}))
    (a:!(!t,!n),time:(from:now-15m,to:now))
    """
    if value is True:
        return "!t"
    if value is False:
        return "!f"
    if value is None:
        return "!n"
    if isinstance(value, int | float):
        return (
            repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))
        )
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        # Kibana writes keys sorted; sorting also makes links stable for tests and dedup.
        inner = ",".join(f"{_string(str(k))}:{dumps(v)}" for k, v in sorted(value.items()))
        return f"({inner})"
    if isinstance(value, list | tuple):
        return "!(" + ",".join(dumps(v) for v in value) + ")"
    raise TypeError(f"cannot encode {type(value).__name__} as rison")
