"""The YAML reader of the config files: PyYAML's safe loader without its silent surprises.

* A key written twice in one mapping (a second ``aliases:`` under a brand, a second
  ``brands:`` at the top) is an error naming its line and the first one's; PyYAML keeps the last
  and drops the first without a word (a whole list of brands, lost).
* Keys are the text written: ``yes:`` or ``on:`` stay ``'yes'``/``'on'`` (YAML 1.1 made them
  ``True``) and ``1:`` stays ``'1'``, so a stray key is an "unknown field" naming it.
* Only plain decimal numbers are integers. YAML 1.1 also reads ``0123`` as octal 83, ``1_000``
  as 1000 and ``22:30`` as 1350 (base 60): a product id ``0123`` became another number
  silently, and ``quiet_hours: {start: 22:30}`` was refused as a number; now they stay text as
  written, and a field that wants a number reads decimal text itself.

Its errors are the config's: :class:`ConfigError`, raised by :func:`read_file` naming the file,
line and column (and a file's likely encoding when it is not UTF-8), and the words
:func:`koubei.config.load_file` reports a schema error in (:func:`field_path`,
:func:`known_fields`, :data:`TYPE_WORDS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel

from koubei.textfile import read_utf8

__all__ = [
    "TYPE_WORDS",
    "ConfigError",
    "expected_text",
    "field_path",
    "known_fields",
    "read_file",
    "safe_load",
]


class ConfigError(ValueError):
    """A config file is unreadable or invalid; the message names the file and field."""


_INT = "tag:yaml.org,2002:int"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


class _ConfigLoader(yaml.SafeLoader):
    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML reads it as a class attribute
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _INT]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                continue
            if key_node.value in seen:
                first = seen[key_node.value].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key_node.value!r} is written twice in one mapping (first on line "
                    f"{first}); only one may stay",
                    key_node.start_mark,
                )
            seen[key_node.value] = key_node
            key_node.tag = _STR  # the key as written (yes: is 'yes', 1: is '1')
        return super().construct_mapping(node, deep=deep)


_DECIMAL = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_ConfigLoader.add_implicit_resolver(_INT, _DECIMAL, list("-+0123456789"))


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with the rules above; raises ``yaml.YAMLError`` with a line mark."""
    return yaml.load(text, Loader=_ConfigLoader)


# A plain value may not start with these: '*' is an alias, '@' and '`' are reserved. A cron
# written unquoted (`schedule: */5 * * * *`, `schedule: @daily`) met YAML's own words only
# ("expected alphabetic or numeric character, but found '/'"), never that it needs quotes.
_UNQUOTABLE_START = re.compile(r"(?:^|[-:\[{,])\s*([*@`][^,\]}#]*?)\s*(?:[,\]}#]|$)")


def _quote_hint(text: str, mark: Any) -> str:
    """A hint to quote the value on the error's line when it starts with a character YAML does
    not allow there ('*', '@', '`'), as crons do."""
    lines = text.splitlines()
    if mark is None or not 0 <= mark.line < len(lines):
        return ""
    match = _UNQUOTABLE_START.search(lines[mark.line])
    if match is None:
        return ""
    value = match.group(1)
    return f" (a value starting with {value[0]!r} must be quoted in YAML, as crons are: '{value}')"


def read_file(path: Path) -> Any:
    """The data of the YAML file ``path`` (None if it is empty), read by :func:`safe_load`;
    a file that cannot be read, is not UTF-8 or is not YAML is a ConfigError naming it."""
    try:
        text = read_utf8(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc
    except ValueError as exc:  # not UTF-8, naming the line
        raise ConfigError(f"{exc}{_encoding_hint(path)}; save the file as UTF-8") from exc
    try:
        data = safe_load(text)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids; its str() spans lines
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError(
            f"{path}: line {line}, column {column}: invalid YAML: {exc.reason} (#x{char:04x})"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if "'\\t'" in problem:
            problem += " (indent with spaces: YAML does not allow tabs there)"
        problem += _quote_hint(text, mark)
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}") from exc
    return data


def _encoding_hint(path: Path) -> str:
    """What a file that is not UTF-8 most likely is: Windows editors save Chinese text as GBK
    (ANSI on a mainland Chinese Windows), Big5 (on a Taiwan or Hong Kong one) or UTF-16
    ("Unicode")."""
    from koubei.cjk_charset import gb_or_big5

    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return " (it is UTF-16, Notepad's 'Unicode')"
    if b"\x00" in raw:  # UTF-16 without its byte order mark, said so already: no GBK text
        return ""
    encoding = gb_or_big5(raw)
    if encoding == "big5hkscs":
        return " (it reads as Big5, the ANSI encoding of a Taiwan or Hong Kong Windows)"
    if encoding is None:
        return ""
    return " (it reads as GBK, the ANSI encoding of a Chinese Windows)"


def field_path(loc: tuple[int | str, ...]) -> str:
    """The field path of a pydantic error location: ``brands[2].name``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def known_fields(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names (as written in YAML) beside an unknown one at ``loc``, for its error."""
    current: type[BaseModel] | None = model
    keyed = False  # the part is a key the YAML chose (``aspects.<name>``), not a field name
    for part in loc[:-1]:
        if isinstance(part, int) or current is None or keyed:
            # a list index or a mapping's key: the item's model is already ``current``
            keyed = False
            continue
        field = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)), None
        )
        current = _model_in(field.annotation) if field is not None else None
        keyed = field is not None and _is_mapping(field.annotation)
    if current is None:
        return []
    return sorted(f.alias or name for name, f in current.model_fields.items())


def _is_mapping(annotation: Any) -> bool:
    """Whether ``dict[str, Aspect]`` (or ``... | None``): its keys are the YAML's own."""
    return any(get_origin(a) is dict for a in (annotation, *get_args(annotation)))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``Brand``, ``list[Brand]`` or ``QuietHours | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def expected_text(value: Any, unit: bool = True) -> str:
    """Why ``value`` is not the text wanted, in YAML's words (with ``unit``, a number is a
    duration written without its unit)."""
    if isinstance(value, bool):  # YAML 1.1: yes/no/on/off unquoted are booleans
        word = str(value).lower()
        return f"expected text, got {word}: YAML reads yes/no/on/off as {word}; quote the text"
    if isinstance(value, int | float) and unit:
        return f"expected text, got {value}: a duration needs its unit ('6h'); quote a number"
    if isinstance(value, int | float):
        return f"expected text, got the number {value}; quote it if it is meant as text"
    return f"expected text, got {type(value).__name__} {value!r}"[:200]


#: pydantic's wrong-type messages ("Input should be a valid list") in the words of the YAML
TYPE_WORDS: dict[str, Callable[[Any], str]] = {
    "string_type": expected_text,
    "bool_parsing": lambda v: f"expected true or false, got {v!r}",
    "bool_type": lambda v: f"expected true or false, got {v!r}",
    "list_type": lambda v: f"expected a list (lines starting with '- '), got {v!r}"[:200],
    "dict_type": lambda v: f"expected a mapping (key: value lines), got {v!r}"[:200],
    "model_type": lambda v: f"expected a mapping (key: value lines), got {v!r}"[:200],
    "int_parsing": lambda v: f"expected an integer, got {v!r}",
    "int_type": lambda v: f"expected an integer, got {v!r}",
    "int_from_float": lambda v: f"expected a whole number, got {v!r}",
    "float_parsing": lambda v: f"expected a number, got {v!r}",
    "float_type": lambda v: f"expected a number, got {v!r}",
}
