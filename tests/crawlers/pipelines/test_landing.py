from __future__ import annotations

from typing import Any

from koubei.crawlers.pipelines.landing import resolve_repost_chains


def repost(rid: str, name: str, chain: list[str], minute: int) -> dict[str, Any]:
    return {
        "id": rid,
        "relation": "repost",
        "root_id": "w:root",
        "parent_id": "w:root",
        "author": {"name": name},
        "created_at": f"2026-11-24T10:{minute:02d}:00+08:00",
        "extra": {"repost_chain": chain},
    }


def test_chains_resolve_to_the_nearest_earlier_repost() -> None:
    records = [
        repost("w:d", "D", ["C", "B"], 30),  # parent arrives later in the file than the child
        repost("w:b", "B", [], 5),
        repost("w:c", "C", ["B"], 10),
        repost("w:c-old", "C", ["B"], 1),  # before B reposted: cannot be the parent of D's chain
        repost("w:e", "E", ["Nobody"], 12),
    ]
    assert resolve_repost_chains(records) == 2
    parents = {r["id"]: r["parent_id"] for r in records}
    assert parents["w:d"] == "w:c"
    assert parents["w:c"] == "w:b"
    assert parents["w:b"] == "w:root"
    assert parents["w:e"] == "w:root"
    assert records[4]["extra"]["parent_unresolved"] == "Nobody"
