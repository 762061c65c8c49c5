"""The field types and checks every part of the config schema shares (:mod:`koubei.config`).

Apart from :mod:`koubei.config` so that :mod:`koubei.config_alerts` (the alerts.yaml part)
can use them without importing the module that re-exports it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class Strict(BaseModel):
    """A config section: a field it does not declare is an error (a typo, not a default)."""

    model_config = ConfigDict(extra="forbid")


class FieldProblems(ValueError):
    """Problems a whole-file check finds, each at its own field path (``brands[2].name``)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where}: {why}" for where, why in problems))
        self.problems = problems


def _number_as_text(value: Any) -> Any:
    # A brand called 361, a product id 100012043978: YAML reads them as numbers. Only plain
    # decimals are numbers in the config loader (koubei.yamlconfig), so the text is as written.
    if isinstance(value, list):
        return [_number_as_text(v) for v in value]
    return str(value) if type(value) is int else value


#: text, or a whole number written without quotes (names, ids, keywords)
Text = Annotated[str, BeforeValidator(_number_as_text)]
Texts = Annotated[list[str], BeforeValidator(_number_as_text)]


def _not_a_boolean(value: Any) -> Any:
    # pydantic reads true as 1: `max_pages: true` crawled one page, without a word.
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {str(value).lower()}")
    return value


#: a whole number, never a YAML boolean
Count = Annotated[int, BeforeValidator(_not_a_boolean)]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_env_name(value: str) -> str:
    """``value`` if it can name an environment variable, else a ValueError that does not echo it
    (what is written in a ``*_env`` field by mistake is most often the secret itself)."""
    if not _ENV_NAME.match(value):
        raise ValueError(
            "must be the name of an environment variable (letters, digits and _, like "
            "KOUBEI_WEBHOOK_URL) that holds the secret, not the secret itself; the value "
            f"written ({len(value)} characters) is not shown here"
        )
    return value
