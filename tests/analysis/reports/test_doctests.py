"""Run the Examples of the reports' plain-data modules as doctests (nothing ran them before)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["koubei.analysis.reports.content", "koubei.analysis.reports.edits", "koubei.fonts"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
