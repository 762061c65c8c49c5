"""Refused derived documents are said once per index and reason (``derived.Refusals``); the
red-index runs on a real node are in ``test_derived_red.py``."""

from __future__ import annotations

from koubei.pipeline.index.derived import Refusals

RED = "the index has no active primary shard"


def test_every_brands_refusals_are_one_line_per_index_and_reason() -> None:
    """The daily run writes each brand's accounts apart: two brands into a red accounts index
    are one line of 3, not a line per brand (nor per document)."""
    first, second = Refusals(), Refusals()
    first.add("p-accounts", "a0", RED)
    first.add("p-accounts", "a1", RED)
    second.add("p-accounts", "b0", RED)
    second.add("p-accounts", "b1", "mapper_parsing_exception: bad rank")
    second.add("p-cascades", "c0", RED)
    first.update(second)
    assert first.lines() == [
        f"p-accounts: 3 documents not written (e.g. a0): {RED}",
        "p-accounts: 1 document not written (id b1): mapper_parsing_exception: bad rank",
        f"p-cascades: 1 document not written (id c0): {RED}",
    ]
    assert first.lines("cascade field of {n} post{s}")[0].startswith(
        "p-accounts: cascade field of 3 posts not written (e.g. a0): "
    )
    assert not Refusals() and first
