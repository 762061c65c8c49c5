"""Secrets out of every text we emit: one redaction used by all logging and error lines.

What counts as a secret:

* the value of every ``KOUBEI_*`` variable whose name has a part ``URL``, ``TOKEN``,
  ``SECRET``, ``KEY`` (also ``API_KEY``), ``PASSWORD`` or ``COOKIE``, and of ``REDIS_URL``
  (the one secret koubei reads under a name it does not own: scrapy-redis's). A ``*_URL``
  that is a bare origin (``https://es.internal:9200``, as ``KOUBEI_ES_URL`` usually is, or
  Redis's ``redis://10.0.0.5:6379/0``, whose path is a database number) names a place, not a
  secret, and stays readable in error messages; any URL with a path, query or credentials (a
  webhook: the token is in the path or the query) is redacted whole, and its password and
  query values are redacted wherever they appear alone;
* the value of every variable that config names as holding one (``cookie_env``, ``proxy_env``
  and a channel's ``*_env`` options), whatever its name: validating the config registers
  them (:func:`register_secret_names`), so ``cookie_env: WB_COOKIE`` is covered too;
* any URL query value named like a credential (``token``, ``access_token``, ``sign``, ...),
  whatever the variable, so a receiver's signed URL built at run time is covered too.

Values are read from the environment at each call, so a secret set after start-up (or by a
test) is covered; very short values (under 6 characters) are ignored to keep logs readable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["redact", "register_secret_names", "secret_values"]

SECRET_PARTS = ("URL", "TOKEN", "SECRET", "KEY", "PASSWORD", "COOKIE")
# Secrets koubei reads under names that are not ``KOUBEI_*`` (``redis://:PASSWORD@host/0``).
FOREIGN_SECRET_NAMES = frozenset({"REDIS_URL"})
MIN_LENGTH = 6
QUERY_CREDENTIAL = re.compile(
    r"(?i)([?&;](?:access_token|token|sign|signature|secret|key|api_key|apikey|password|"
    r"passwd|pwd|auth)=)[^&#\s\"'<>]+"
)


# Variables config names as holding a secret, whatever their names (see the module docstring).
_NAMED_IN_CONFIG: set[str] = set()


def register_secret_names(names: Iterable[str | None]) -> None:
    """Treat these environment variables as secrets from now on, whatever their names."""
    _NAMED_IN_CONFIG.update(name for name in names if name)


def _is_secret_name(name: str) -> bool:
    if name in _NAMED_IN_CONFIG or name in FOREIGN_SECRET_NAMES:
        return True
    if not name.startswith("KOUBEI_"):
        return False
    parts = name[len("KOUBEI_") :].split("_")
    return any(part.endswith(secret) for part in parts for secret in SECRET_PARTS)


def _url_parts(value: str) -> list[str]:
    """The secret pieces of a URL value (credentials, query values), and whether it is one."""
    several = [part.strip() for part in value.split(",")]
    if len(several) > 1 and all(re.match(r"^[a-z][a-z0-9+.-]*://", p) for p in several):
        # A cluster's nodes (KOUBEI_ES_URL=http://es1:9200,http://es2:9200): each on its own.
        return [piece for part in several for piece in _url_parts(part)]
    try:
        url = urlsplit(value)
    except ValueError:
        return [value]
    if not url.scheme or not url.netloc:
        return [value]
    pieces = [url.password or "", *(v for _, v in parse_qsl(url.query))]
    # Redis's path is a database number (redis://127.0.0.1:6379/0), no secret: an error naming
    # a REDIS_URL without credentials stays readable.
    path = url.path.strip("/")
    names_a_place = not path or (url.scheme in ("redis", "rediss") and path.isdigit())
    if not names_a_place or url.query or url.username or url.password:
        pieces.append(value)  # a webhook or a URL with credentials: all of it is secret
    return [p for p in pieces if p]


@lru_cache(maxsize=8)
def _pattern(items: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    labels: dict[str, str] = {}
    for name, value in items:
        pieces = _url_parts(value) if name.endswith("URL") else [value]
        for piece in pieces:
            for form in {piece, unquote(piece)}:
                if len(form) >= MIN_LENGTH:
                    labels.setdefault(form, name)
    if not labels:
        return None, labels
    # Longest first, so a URL is replaced whole before its token is.
    alternatives = sorted(labels, key=len, reverse=True)
    return re.compile("|".join(re.escape(a) for a in alternatives)), labels


def secret_values() -> dict[str, str]:
    """Each secret value (and each secret piece of a URL) -> the variable it came from."""
    return _pattern(_secret_items())[1]


def _secret_items() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if v and _is_secret_name(k)))


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``[REDACTED:VARIABLE]``."""
    if not text:
        return text
    pattern, labels = _pattern(_secret_items())
    if pattern is not None:
        text = pattern.sub(lambda m: f"[REDACTED:{labels[m.group(0)]}]", text)
    return QUERY_CREDENTIAL.sub(r"\1[REDACTED]", text)
