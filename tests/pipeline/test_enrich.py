"""Enrichment on several processes: same result as one, and nothing lost when a helper dies."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from koubei.pipeline.aspects import AspectLexicon, load_aspects
from koubei.pipeline.enrich import BatchFailed, Enricher, enrich_chunk
from koubei.pipeline.sentiment import SentimentModel, load_model
from tests.processes import ended

LEXICON: AspectLexicon = load_aspects()


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model()


def as_json(enriched: tuple[list[dict[str, Any]], list[Any]]) -> str:
    records, signatures = enriched
    return json.dumps(
        [records, [None if s is None else s.tolist() for s in signatures]], sort_keys=True
    )


def test_helpers_share_the_batch_and_change_nothing(model, review_records) -> None:  # type: ignore[no-untyped-def]
    records = review_records(300)
    alone = enrich_chunk(records, model, LEXICON)
    with Enricher(model, LEXICON, workers=2, chunk=10) as enricher:
        enricher.start(wait_ready=True)
        shared = enricher.enrich(records)
        # Helpers are kept: a second batch finds them ready.
        again = enricher.enrich(records[:50])
        assert enricher.chunks_by_helpers > 0 and enricher.chunks_here > 0
    assert as_json(shared) == as_json(alone)
    assert as_json(again) == as_json(enrich_chunk(records[:50], model, LEXICON))


def test_small_batches_do_not_start_helpers(model, review_records) -> None:  # type: ignore[no-untyped-def]
    with Enricher(model, LEXICON, workers=2, parallel_min=1000) as enricher:
        enricher.enrich(review_records(30))
        assert enricher.chunks_by_helpers == 0
        assert not multiprocessing.active_children()


def test_a_killed_helper_loses_no_record(model, review_records) -> None:  # type: ignore[no-untyped-def]
    records = review_records(400)
    killed: list[int] = []

    def kill_helpers(_: int) -> None:
        if not killed:
            for child in multiprocessing.active_children():
                os.kill(child.pid or 0, signal.SIGKILL)
                killed.append(child.pid or 0)

    with Enricher(model, LEXICON, workers=2, chunk=10) as enricher:
        enricher.start(wait_ready=True)
        shared = enricher.enrich(records, on_progress=kill_helpers)
        assert killed
        # The rest of the run goes on in this process.
        later = enricher.enrich(records[:40])
    assert as_json(shared) == as_json(enrich_chunk(records, model, LEXICON))
    assert as_json(later) == as_json(enrich_chunk(records[:40], model, LEXICON))


def test_helpers_that_cannot_load_the_model_fall_back_to_one_core(
    model, review_records, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    records = review_records(60)
    with Enricher(
        model, LEXICON, workers=2, chunk=10, model_path=tmp_path / "missing.gz"
    ) as enricher:
        enricher.start(wait_ready=True)
        shared = enricher.enrich(records)
        assert enricher.chunks_by_helpers == 0
    assert as_json(shared) == as_json(enrich_chunk(records, model, LEXICON))


def test_helpers_with_another_model_are_refused(model, review_records, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = dataclasses.replace(model, version="nb-other").save(tmp_path / "other.json.gz")
    with (
        Enricher(model, LEXICON, workers=2, model_path=other) as enricher,
        pytest.raises(ValueError, match=r"nb-other.*other\.json\.gz"),
    ):
        enricher.start(wait_ready=True)


def fail_on_a_bad_record(
    records: list[dict[str, Any]], model: SentimentModel, lexicon: AspectLexicon
) -> Any:
    """A chunk task that cannot enrich a record whose id ends in ``-bad`` (module level: helpers
    get it by name)."""
    for record in records:
        if str(record["id"]).endswith("-bad"):
            raise ValueError(f"cannot enrich {record['id']}")
    return enrich_chunk(records, model, lexicon)


@pytest.mark.parametrize("where", ["in this process", "in a helper process"])
def test_a_chunk_that_fails_is_named_as_a_failed_batch(model, review_records, where) -> None:  # type: ignore[no-untyped-def]
    # Before: its exception (here a ValueError) came out as it was, and `koubei process` ended
    # with it: no file named, every landing file after it unprocessed. Now it is the
    # BatchFailed a Dask batch raises, which leaves the file pending and the run going on.
    records = review_records(40)
    position = 0 if "helper" in where else 14  # a ready helper is handed the first chunks
    records[position]["id"] += "-bad"
    with Enricher(model, LEXICON, workers=2 if "helper" in where else 1, chunk=10) as enricher:
        enricher.start(wait_ready=True)
        with pytest.raises(BatchFailed) as info:
            list(enricher.iter_chunks(records, fail_on_a_bad_record))
    first = position // 10 * 10
    assert str(info.value) == (
        f"records {first + 1}-{first + 10} of 40 (ids {records[first]['id']} to "
        f"{records[first + 9]['id']}) failed {where}: ValueError: cannot enrich "
        f"{records[position]['id']}"
    )


OWNER = """
import multiprocessing.forkserver, sys
from koubei.pipeline.aspects import load_aspects
from koubei.pipeline.enrich import Enricher
from koubei.pipeline.sentiment import load_model

enricher = Enricher(load_model(), load_aspects(), workers=3)
enricher.start(wait_ready=True)
helpers = list(enricher._pool._processes)
print(multiprocessing.forkserver._forkserver._forkserver_pid, *helpers, flush=True)
sys.stdin.read()  # until killed
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_helpers_and_their_fork_server_end_when_their_owner_is_killed() -> None:
    """A ``koubei process`` killed with SIGKILL (the OOM killer) or SIGTERM left its helpers
    and the fork server behind for ever (~350 MB per killed run on two cores)."""
    import subprocess
    import sys
    import time

    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    started = [int(pid) for pid in owner.stdout.readline().split()]
    assert len(started) == 3 and not any(ended(pid) for pid in started), started
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 120  # a bound for a loaded machine, not a speed assertion
    while not all(ended(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in started if not ended(pid)]
    for pid in left:  # the old code's orphans: not left behind by the test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after their owner was killed: {left}"
