from __future__ import annotations

import json
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


def test_a_chain_resolves_the_same_whatever_the_order_and_offsets() -> None:
    # B reposted twice in one second (a double tap); which one C's chain names was whichever
    # came first in the file. And times compared as text: ``02:10Z`` (10:10 in Shanghai,
    # after C) sorted before ``10:05+08:00`` and was taken as C's parent.
    def landed(order: list[dict[str, Any]]) -> dict[str, str]:
        records = json.loads(json.dumps(order))
        resolve_repost_chains(records)
        return {r["id"]: r["parent_id"] for r in records}

    twice = [repost("w:b1", "B", [], 5), repost("w:b2", "B", [], 5), repost("w:c", "C", ["B"], 9)]
    assert landed(twice) == landed(twice[::-1])
    assert landed(twice)["w:c"] == "w:b2"
    utc = {**repost("w:b", "B", [], 0), "created_at": "2026-11-24T02:10:00Z"}
    assert landed([utc, repost("w:c", "C", ["B"], 5)])["w:c"] == "w:root"


def test_a_lone_surrogate_from_a_platform_is_landed_not_the_page_lost() -> None:
    """``response.json()`` keeps a lone surrogate (an emoji cut in two, e.g. ``"\\ud83d"``, as
    reported in encode/django-rest-framework#6895); writing the page's line must not raise, or
    Scrapy drops every record of the page."""
    from koubei.crawlers.pipelines.landing import _json_line
    from koubei.jsonl import parse_line

    record = json.loads(
        '{"id": "w:1", "text_raw": "\\u592a\\u68d2\\ud83d", "n": 18446744073709551616}'
    )
    line = _json_line(record)  # orjson refuses both the surrogate and the 65-bit integer
    assert parse_line(line) == {**record, "text_raw": "太棒\ufffd"}
