"""``python -m bench process --dask [--n=N]``: landing → indexed, three ways, on the same posts.

- **direct**: the flow's task bodies called as plain functions (``process_pending.fn`` with one
  process, then ``index_pending.fn``): the same work, no Prefect;
- **local runner**: the same stages as the flow's tasks (``process_pending``, ``index_pending``)
  in a Prefect flow on its default task runner, one processing process;
- **dask**: the flow with the process stage on a Dask LocalCluster of two worker processes
  (``koubei.flows.dask_process``, batches of 2,000), then ``index_pending``.

Figures: Prefect's overhead = local runner time / direct time (target <= 1.10); Dask speed-up =
local runner time / Dask time, and scaling efficiency = speed-up / 2 workers. Each variant gets a
fresh ``$KOUBEI_HOME`` (landing file, dedup state) and its own index prefix on one Elasticsearch
node (``$KOUBEI_ES_URL`` or a private local node), after a 500-post warm-up through ``direct``
(model, jieba, Prefect server loaded once). Posts are ``bench.process.landing_records``: the
reviews of the labelled corpus (``$KOUBEI_REVIEWS_CSV``), repeated with a suffix past its 52,773
rows. Variants alternate over ``--rounds`` (default 1) rounds.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.process import landing_records
from koubei import jsonl


def direct(prefix: str) -> int:
    # The flow's own task bodies (``.fn``) called in a plain loop, so the only difference from
    # the local runner is Prefect itself (task runs, state tracking, result handling).
    from koubei.flows.monitor import index_pending, process_pending
    from koubei.pipeline.aspects import load_aspects

    process_pending.fn(False, 1, lexicon=load_aspects())
    counts = index_pending.fn(prefix, False)
    return counts.get("created", 0) + counts.get("updated", 0)


def local_runner(prefix: str) -> int:
    from prefect import flow

    from koubei.flows.monitor import index_pending, process_pending
    from koubei.pipeline.aspects import load_aspects

    @flow(name="bench-landing-to-indexed")
    def landing_to_indexed() -> int:
        process_pending(False, 1, lexicon=load_aspects())
        counts = index_pending(prefix, False)
        return counts.get("created", 0) + counts.get("updated", 0)

    return landing_to_indexed()


def on_dask(prefix: str) -> int:
    from prefect import flow

    from koubei.flows.dask_process import process_on_dask
    from koubei.flows.monitor import index_pending
    from koubei.pipeline.aspects import load_aspects

    @flow(name="bench-landing-to-indexed-dask")
    def landing_to_indexed() -> int:
        process_on_dask(workers=2, lexicon=load_aspects())
        counts = index_pending(prefix, False)
        return counts.get("created", 0) + counts.get("updated", 0)

    return landing_to_indexed()


VARIANTS: dict[str, Callable[[str], int]] = {
    "direct": direct,
    "local runner": local_runner,
    "dask x2": on_dask,
}


def timed(name: str, run: Callable[[str], int], records: list[dict[str, Any]]) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as home:
        os.environ["KOUBEI_HOME"] = home
        landing = Path(home) / "landing" / "bench" / "r1.jsonl"
        jsonl.write_atomic(landing, records)
        prefix = f"benchd{os.getpid()}{name[0]}"
        began = time.perf_counter()
        indexed = run(prefix)
        seconds = time.perf_counter() - began
    _drop(prefix)
    assert indexed == len(records), f"{name}: indexed {indexed} of {len(records)}"
    print(f"{name}: {len(records):,} posts landing → indexed in {seconds:.1f} s "
          f"({len(records) / seconds:,.0f} posts/s)", flush=True)  # fmt: skip
    return seconds


def _drop(prefix: str) -> None:
    from koubei.pipeline.index.client import client_from_env

    es = client_from_env()
    es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True)
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


def main(argv: list[str]) -> int:
    # As the CLI does: no telemetry from the temporary server (it only adds failing lookups).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    from koubei import es_local

    count = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--n=")), 200_000)
    rounds = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--rounds=")), 1)
    records = landing_records(count)
    node = None
    if not os.environ.get("KOUBEI_ES_URL"):
        node = es_local.start(heap="1g")
        os.environ["KOUBEI_ES_URL"] = node.url
    totals = dict.fromkeys(VARIANTS, 0.0)
    try:
        with prefect_test_harness(server_startup_timeout=180):
            # Warm-up: model, jieba and the harness loaded once, so no variant pays for them.
            timed("warm-up", direct, records[:500])
            for number in range(rounds):
                names = list(VARIANTS) if number % 2 == 0 else list(reversed(VARIANTS))
                for name in names:
                    totals[name] += timed(name, VARIANTS[name], records)
    finally:
        if node is not None:
            es_local.stop(node)
            del os.environ["KOUBEI_ES_URL"]
    overhead = totals["local runner"] / totals["direct"]
    speedup = totals["local runner"] / totals["dask x2"]
    print(f"Prefect overhead (local runner / direct): {overhead:.3f} (target <= 1.10)")
    print(f"Dask x2 speed-up over the local runner: {speedup:.2f}; "
          f"scaling efficiency {speedup / 2:.2f}")  # fmt: skip
    return 0
