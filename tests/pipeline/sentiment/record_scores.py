"""Record the shipped model's scores on sample texts into ``data/shipped_model_scores.json``.

Run only after retraining the shipped model: ``python -m tests.pipeline.sentiment.record_scores``.
"""

from __future__ import annotations

import json
from pathlib import Path

from koubei.pipeline.sentiment import load_model

OUT = Path(__file__).with_name("data") / "shipped_model_scores.json"


def main() -> None:
    texts = [row["text"] for row in json.loads(OUT.read_text(encoding="utf-8"))["scores"]]
    model = load_model()
    rows = []
    for text in texts:
        score = model.probability_aggregated(text)
        label = model.label_for(score)
        rows.append({"text": text, "score": score, "label": label, "logit": model.logit(text)})
    payload = {"model_version": model.version, "scores": rows}
    OUT.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
