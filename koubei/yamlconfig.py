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
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["safe_load"]

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
