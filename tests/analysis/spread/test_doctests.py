"""Run the Examples sections of every module in ``koubei.analysis.spread`` as doctests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import koubei.analysis.spread

MODULES = sorted(m.name for m in pkgutil.iter_modules(koubei.analysis.spread.__path__))
# Modules whose functions need a live server have their tests beside the CLI instead
# (``daily``: tests/flows/test_daily_spread.py, tests/analysis/reports/test_gather_es.py).
SERVER_MODULES = {"daily", "fetch"}


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(f"koubei.analysis.spread.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {module.__name__}"


def test_every_module_has_examples() -> None:
    finder = doctest.DocTestFinder()
    for name in sorted(set(MODULES) - SERVER_MODULES):
        module = importlib.import_module(f"koubei.analysis.spread.{name}")
        examples = sum(len(t.examples) for t in finder.find(module))
        assert examples > 0, f"koubei.analysis.spread.{name} has no doctest examples"
