"""``python -m bench reports``: what embedding the CJK font costs per page.

Every incident and daily page embeds a subset of Noto Sans CJK SC cut to the characters on
the page (:func:`koubei.fonts.web_font_css`), and that cut is most of a page's render time.
The text is the demo incident's alert payload (every string in it, as an incident page shows
them), and the baseline, run in the same process in alternating rounds, is the same cut with
fontTools' defaults (bounding boxes recomputed on save). Times are CPU seconds
(``time.process_time``) because the machine is shared.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from koubei import fonts

ROUNDS = 5
PAYLOAD = (
    Path(__file__).resolve().parents[1] / "tests/analysis/alerts/data/demo_incident_payload.json"
)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _cpu(call: Any, *args: Any) -> float:
    start = time.process_time()
    call(*args)
    return time.process_time() - start


def main(flags: list[str]) -> int:
    text = " ".join(_strings(json.loads(PAYLOAD.read_text(encoding="utf-8"))))
    ours: list[float] = []
    baseline: list[float] = []
    for _ in range(ROUNDS):
        ours.append(_cpu(fonts.web_font_css, text))
        baseline.append(_cpu(lambda t: fonts.font_subset(t, recalc_bboxes=True), text))
    size = len(fonts.web_font_css(text))
    ratio = statistics.median(o / b for o, b in zip(ours, baseline, strict=True))
    print(f"page text: {len(set(text))} distinct characters; embedded font CSS {size:,} bytes")
    print(
        f"font cut, CPU s per page: ours median {statistics.median(ours):.2f}, fontTools "
        f"defaults median {statistics.median(baseline):.2f}; ratio ours/baseline {ratio:.2f} "
        f"(median of {ROUNDS} paired rounds)"
    )
    return 0
