"""The ci profile's promise: at least 100,000 fuzz cases across tests/fuzz/ in all."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import CI_EXAMPLES

FUZZ_TOTAL = 100_000


def test_ci_profile_runs_at_least_100k_fuzz_cases() -> None:
    properties = 0
    for module in Path(__file__).parent.glob("test_fuzz_*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                decorators = [ast.unparse(d) for d in node.decorator_list]
                assert not any("max_examples" in d for d in decorators), node.name  # profile only
                properties += any(d.startswith("given(") for d in decorators)
    assert properties * CI_EXAMPLES >= FUZZ_TOTAL, (properties, CI_EXAMPLES)
