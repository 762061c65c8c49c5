"""Fixtures the sentiment tests share."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from koubei.pipeline.sentiment.features import extract


def _lexicon_marks(text: str) -> set[str]:
    # A contrast-marked mark (›⊕) is kept, so a test stating the marks also states there is none.
    return {f for f in extract(text) if f.lstrip("›")[:1] in ("⊕", "⊖")}


@pytest.fixture(scope="session")
def lexicon_marks() -> Callable[[str], set[str]]:
    """``lexicon_marks(text)``: the hand-lexicon hit features ``extract(text)`` emits (⊕, ⊖,
    one mark a hit per clause, contrast-marked ones too)."""
    return _lexicon_marks
