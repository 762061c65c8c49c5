"""``koubei sentiment rescore`` while the spool holds copies of the source's posts.

A write that met Elasticsearch gone was spooled as it stood: scored with the source's model of
then. ``rescore`` then re-scored the posts in their processed files and in the index, and the
next ``koubei index replay`` (or the cycle's) sent the spooled, older scoring over them. The
writer's "never send an older crawl" rule did not hold it back: both copies are of the same
crawl (the same ``last_seen``). The index was left with scores no processed file held, and a
re-run of ``rescore`` found the files up to date and sent nothing. Real Elasticsearch node,
the real CLI, the cycle's own stages (the fixture of ``test_rescore.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl
from koubei.flows.cli import main
from koubei.pipeline import ledger
from koubei.pipeline.index import spool
from koubei.pipeline.index.writer import index_records
from koubei.pipeline.sentiment import load_model
from koubei.pipeline.sentiment.rules import rules_version
from tests.flows.test_runs import closed_port
from tests.pipeline.test_rescore import (
    HOTEL,
    SHOP,
    history,
    processed,
    rescore,
    stored,
    write_config,
)

__all__ = ["history"]  # the fixture, shared with test_rescore.py

CRAWLED = "2026-11-20T12:00:00+08:00"  # the hotel's and the shop's runs, as a crawler stamps
EDITED = "2026-11-21T12:00:00+08:00"  # the edit's crawl, a day later


@pytest.fixture
def review_records(
    review_records: Callable[[int], list[dict[str, Any]]],
) -> Callable[[int], list[dict[str, Any]]]:
    """The history's records with the crawl time a crawler gives them: a record without one is
    stored with the time it is sent (a new ``last_seen`` at every send), so the writer's
    "never an older crawl" rule could not be seen at work."""
    return lambda count: [{**r, "crawled_at": CRAWLED} for r in review_records(count)]


def test_a_replay_after_a_rescore_does_not_bring_the_spooled_scores_back(
    history: Path,
    es: Elasticsearch,
    index_prefix: str,
    adapted_model: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shipped, adapted = load_model(), load_model(adapted_model)
    first, second = ledger.processed_files(HOTEL)
    (shop,) = ledger.processed_files(SHOP)
    # A load of the hotel's second run and the shop's run met the node gone (nothing
    # listening, as tests/flows/test_runs.py's outage): all 25 spooled, scored as they stood.
    gone = Elasticsearch(f"http://127.0.0.1:{closed_port()}", max_retries=0, request_timeout=2)
    for path, count in ((second, 10), (shop, 15)):
        assert spool.index_file(gone, path, index_prefix).spooled == count
    # And an edit of a post of the first run, crawled since it was stored (newer content than
    # the index holds: it must still be sent), processed then with the shipped model. The
    # shape is the articles spider's (`extra.edited_at`, koubei/crawlers/spiders/articles.py).
    edit = copy.deepcopy(next(iter(jsonl.read(first))))
    edit.update(
        text_raw="<p>房间很脏，服务态度恶劣，再也不住了</p>",
        text_clean="房间很脏，服务态度恶劣，再也不住了",
        crawled_at=EDITED,
        extra={**(edit.get("extra") or {}), "edited_at": EDITED},
    )
    edit["sentiment"] = {**edit["sentiment"], "score": 0.5, "label": "neutral"}
    assert index_records(gone, [edit], prefix=index_prefix).spooled == 1
    gone.close()
    assert spool.spooled_count(index_prefix) == 26
    shop_docs = stored(es, index_prefix, SHOP)
    capsys.readouterr()

    write_config(history, adapted_model)  # the user names the adapted model for the source
    code, reports, err = rescore(history, capsys)
    assert code == 0, err
    said = reports, err
    # A re-run, before the replay: the files are up to date, and so are the spooled copies.
    held = {p: p.read_bytes() for p in spool.spool_files(index_prefix)}
    code, rerun, err = rescore(history, capsys)
    assert code == 0, err
    assert {p: p.read_bytes() for p in spool.spool_files(index_prefix)} == held
    rescored = stored(es, index_prefix, HOTEL)
    assert {d["sentiment"]["model_version"] for d in rescored.values()} == {adapted.version}

    # The replay the next cycle (or an operator) runs.
    assert main(["index", "replay", "--prefix", index_prefix]) == 0, capsys.readouterr().err
    assert spool.spool_files(index_prefix) == []
    docs = stored(es, index_prefix, HOTEL)
    records = processed(HOTEL)
    assert len(records) == len(docs) == 27
    for record in records:
        if record["id"] == edit["id"]:
            continue  # below
        doc = docs[record["id"]]
        assert record["sentiment"]["model_version"] == adapted.version
        assert record["sentiment"]["rules_version"] == rules_version()
        # The index holds what the processed file holds: the re-scored figures, not the
        # spooled copy's (was: the second run's 10 posts back on the shipped model).
        assert doc["sentiment"] == record["sentiment"], record["id"]
        assert doc["aspects"] == record["aspects"]
        assert doc["last_seen"] == CRAWLED  # the same crawl as the spooled copy's
    # The edit is sent, its new text scored with the adapted model (not dropped as "older").
    edited = docs[edit["id"]]
    assert edited["text_clean"] == edit["text_clean"]
    score, label = adapted.score(edit["text_clean"])
    assert (edited["sentiment"]["score"], edited["sentiment"]["label"]) == (round(score, 6), label)
    assert edited["sentiment"]["model_version"] == adapted.version
    assert edited["last_seen"] == EDITED
    # The other source's spooled copies are sent as they were: its model did not change.
    after = stored(es, index_prefix, SHOP)
    assert {d["sentiment"]["model_version"] for d in after.values()} == {shipped.version}
    assert {k: d["sentiment"] for k, d in after.items()} == {
        k: d["sentiment"] for k, d in shop_docs.items()
    }
    assert {r["id"]: r["sentiment"] for r in jsonl.read(shop)} == {
        k: d["sentiment"] for k, d in after.items()
    }

    # What the rescore said: the hotel's files, then the spooled copies of its posts
    # re-scored in their two spool files (the shop's left alone), not sent; the re-run
    # re-scored and rewrote nothing.
    reports, err = said
    files = [r for r in reports if not r.get("spool")]
    assert [(r["rescored"], r["unchanged"]) for r in files] == [(17, 0), (10, 0)]
    assert [(r["rescored"], r["unchanged"], r["index"]) for r in reports if r.get("spool")] == [
        (10, 0, None),
        (1, 0, None),
    ]
    assert "11 spooled cop(ies) re-scored for the replay" in err
    assert [(r["rescored"], bool(r.get("spool"))) for r in rerun] == [(0, False), (0, False)]
