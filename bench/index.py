"""Indexing throughput: the project's writer against raw ``helpers.bulk`` of the same documents.

``python -m bench index [--quick] [--docs N]``. Both variants index the same generated posts
(same ids, same monthly indices, same template, same chunk size) into a fresh prefix, each in
its own child process so peak RSS is the variant's own. The writer does more per document
(create-then-update upsert, first/last_seen, dead letters, spool bookkeeping); the ratio says
what that costs. Uses ``$KOUBEI_ES_URL`` or starts a private local node.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

CHUNK_SIZE = 1000
FULL_DOCS = 1_000_000
QUICK_DOCS = 20_000
PHRASES = ["这家奶茶太难喝了，客服还不退款", "物流很快，包装完好，味道不错", "一般般吧，价格有点贵",
           "用了三天就坏了，差评", "性价比很高，会回购"]  # fmt: skip
LABELS = ["negative", "positive", "neutral", "negative", "positive"]


def generate(count: int, first: int = 0) -> Iterator[dict[str, Any]]:
    """Deterministic Document-shaped records (as ``to_record`` emits them), streamed."""
    base = datetime(2026, 9, 1, tzinfo=UTC)
    for i in range(first, first + count):
        k = i % 5
        created = base + timedelta(seconds=i * 7)  # ~81 days: three monthly indices
        yield {
            "id": f"weibo:{i}", "platform": "weibo", "source": "weibo-search", "kind": "post",
            "native_id": str(i), "url": f"https://weibo.example/{i}",
            "brands": ["奶茶甲" if i % 2 else "奶茶乙"],
            "brand_matches": [{"brand": "奶茶甲", "term": "奶茶甲", "field": "text"}],
            "author": {"id": f"u{i % 5000}", "name": f"用户{i % 5000}", "followers": i % 100000,
                       "verified": i % 11 == 0, "region": "上海"},
            "parent_id": None, "root_id": None, "relation": None, "title": None,
            "text_raw": f"#{i} {PHRASES[k]}", "text_clean": PHRASES[k],
            "terms": ["奶茶", PHRASES[k][:2]], "topics": [], "mentions": [],
            "product_id": None, "rating": None,
            "engagement": {"likes": i % 97, "reposts": i % 13, "comments": i % 7, "helpful": 0},
            "created_at": created.isoformat(),
            "crawled_at": (created + timedelta(hours=1)).isoformat(),
            "language": "zh",
            "sentiment": {"score": 0.2 + 0.15 * k, "label": LABELS[k], "model_version": "snownlp"},
            "aspects": [{"aspect": "口味", "score": 0.3, "label": LABELS[k],
                         "sentence": PHRASES[k]}],
            "dup_cluster": f"c{i // 3}", "extra": {}, "schema_version": 1,
        }  # fmt: skip


def _worker(variant: str, url: str, prefix: str, docs: int, first: int) -> dict[str, Any]:
    from elasticsearch import Elasticsearch, helpers

    from koubei.pipeline.index.templates import ensure_templates, posts_index
    from koubei.pipeline.index.writer import index_records

    es = Elasticsearch(url, request_timeout=120)
    ensure_templates(es, prefix)
    started = time.perf_counter()
    if variant == "writer":
        report = index_records(es, generate(docs, first), prefix=prefix, chunk_size=CHUNK_SIZE)
        ok, problems = report.created, report.failed + report.spooled
    else:
        actions = (
            {"_index": posts_index(prefix, r["created_at"]), "_id": r["id"], "_source": r}
            for r in generate(docs, first)
        )
        ok, errors = helpers.bulk(es, actions, chunk_size=CHUNK_SIZE, raise_on_error=False)
        problems = len(errors) if isinstance(errors, list) else int(errors)
    seconds = time.perf_counter() - started
    es.indices.refresh(index=f"{prefix}-posts")
    stored = int(es.count(index=f"{prefix}-posts")["count"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"variant": variant, "docs": docs, "ok": ok, "problems": problems, "stored": stored,
            "seconds": seconds, "docs_per_s": docs / seconds, "peak_rss_mb": peak_mb}  # fmt: skip


def _run_child(variant: str, url: str, prefix: str, docs: int, first: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.index", "--worker", variant, "--url", url,
               "--prefix", prefix, "--docs", str(docs), "--first", str(first)]  # fmt: skip
    env = {**os.environ, "KOUBEI_HOME": os.environ.get("KOUBEI_HOME", "/tmp/koubei-bench")}
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _cleanup(url: str, prefix: str) -> None:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(url, request_timeout=120)
    es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    for kind in ("posts", "alerts", "accounts", "cascades"):
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-{kind}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench index")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_DOCS} docs")
    parser.add_argument("--docs", type=int)
    parser.add_argument("--rounds", type=int, default=4, help="alternate variants this often")
    parser.add_argument("--worker", choices=["writer", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    docs = args.docs or (QUICK_DOCS if args.quick else FULL_DOCS)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.url, args.prefix, docs, args.first)))
        return 0

    from koubei import es_local

    node = None
    url = os.environ.get("KOUBEI_ES_URL")
    if not url:
        node = es_local.start(heap="1g")
        url = node.url
    # The machine is shared and its load drifts, so the variants alternate in rounds over
    # consecutive slices of the same documents (each variant into its own prefix); totals are
    # summed. Peak RSS is the largest of a variant's child processes.
    per_round = -(-docs // args.rounds)
    totals = {v: {"seconds": 0.0, "stored": 0, "problems": 0, "peak_rss_mb": 0.0}
              for v in ("baseline", "writer")}  # fmt: skip
    prefixes = {v: f"bench{v[0]}{os.getpid()}" for v in totals}
    try:
        for number, first in enumerate(range(0, docs, per_round)):
            count = min(per_round, docs - first)
            order = ("baseline", "writer") if number % 2 == 0 else ("writer", "baseline")
            for variant in order:
                result = _run_child(variant, url, prefixes[variant], count, first)
                total = totals[variant]
                total["seconds"] += result["seconds"]
                total["problems"] += result["problems"]
                total["stored"] = result["stored"]
                total["peak_rss_mb"] = max(total["peak_rss_mb"], result["peak_rss_mb"])
                print(json.dumps(result), flush=True)
    finally:
        for prefix in prefixes.values():
            _cleanup(url, prefix)
        if node is not None:
            es_local.stop(node)
    base, ours = totals["baseline"], totals["writer"]
    rate = {v: docs / t["seconds"] for v, t in totals.items()}
    ratio = rate["writer"] / rate["baseline"]
    complete = all(t["stored"] == docs and t["problems"] == 0 for t in totals.values())
    print(
        f"index {docs} docs in {args.rounds} alternating rounds: baseline helpers.bulk "
        f"{rate['baseline']:.0f} docs/s, writer {rate['writer']:.0f} docs/s, ratio {ratio:.2f} "
        f"(target >= 0.8); peak RSS writer {ours['peak_rss_mb']:.0f} MB, baseline "
        f"{base['peak_rss_mb']:.0f} MB (target < 500 MB); all stored: {complete}"
    )
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
