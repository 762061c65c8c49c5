"""Scoring over worker processes gives exactly the single-process results, in order."""

from __future__ import annotations

from koubei.pipeline.sentiment import load_model
from koubei.pipeline.sentiment.parallel import score_parallel


def test_parallel_scores_equal_serial_scores_in_order() -> None:
    texts = [f"第{i}次购买，{'质量很好' if i % 3 else '太差了，退货'}" for i in range(1200)]
    serial = load_model().score_many(texts)
    assert score_parallel(texts, processes=2, chunk=250) == serial
    assert score_parallel(texts[:10], processes=2) == serial[:10]
