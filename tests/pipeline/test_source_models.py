"""A source scores with the sentiment model sources.yaml names for it (``sentiment_model``).

The model adapted to a domain's own texts (``koubei sentiment adapt``) raised the accuracy of
every leave-one-category-out fold (BENCHMARKS.md), but the live pipeline scored every source
with the shipped model: an adapted model could be used by ``sentiment score`` alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from koubei import jsonl, paths
from koubei.config import ConfigError, load_sources
from koubei.flows.cli import main
from koubei.pipeline import ledger
from koubei.pipeline.aspects import load_aspects
from koubei.pipeline.process import process_pending_files
from koubei.pipeline.sentiment import load_model
from koubei.pipeline.sentiment.adaptation import adapt


def config_dir(tmp_path: Path, model_line: str) -> Path:
    folder = tmp_path / "config"
    folder.mkdir(exist_ok=True)
    (folder / "sources.yaml").write_text(
        "sources:\n"
        f"  - {{name: hotel-reviews, platform: shop_json{model_line}}}\n"
        "  - {name: test-shop, platform: shop_json}\n",
        encoding="utf-8",
    )
    return folder


def land(source: str, records: list[dict[str, Any]]) -> Path:
    path = paths.state_dir("landing") / source / "r1.jsonl"
    jsonl.write_atomic(path, [{**r, "source": source} for r in records])
    return path


def test_a_source_scores_with_the_model_sources_yaml_names_for_it(
    koubei_home: str, tmp_path: Path, adapted_model: Path, review_records: Any
) -> None:
    folder = config_dir(tmp_path, ", sentiment_model: models/hotel.json.gz")
    (folder / "models").mkdir()
    (folder / "models" / "hotel.json.gz").write_bytes(adapted_model.read_bytes())
    records = review_records(30)
    hotel, shop = land("hotel-reviews", records[:15]), land("test-shop", records[15:])

    models = load_sources(folder).sentiment_models()
    assert models == {"hotel-reviews": folder / "models" / "hotel.json.gz"}  # relative to config
    reports = list(
        process_pending_files([hotel, shop], lexicon=load_aspects(), workers=1, models=models)
    )

    assert [r.processed for r in reports] == [15, 15]
    adapted, shipped = load_model(adapted_model), load_model()
    assert adapted.version != shipped.version and "+adapted-" in adapted.version
    for landed, model in ((hotel, adapted), (shop, shipped)):
        for record in jsonl.read(ledger.processed_path(landed)):
            assert record["sentiment"]["model_version"] == model.version
            assert record["sentiment"]["score"] == round(model.score(record["text_clean"])[0], 6)


def test_a_missing_model_file_is_named_with_its_field_when_the_config_is_read(
    tmp_path: Path,
) -> None:
    folder = config_dir(tmp_path, ", sentiment_model: models/hotl.json.gz")
    with pytest.raises(ConfigError) as caught:
        load_sources(folder)
    message = str(caught.value)
    assert "sources.yaml: sources[0].sentiment_model: no such file" in message
    assert str(folder / "models" / "hotl.json.gz") in message and "sentiment adapt" in message


def test_a_model_file_that_is_no_model_stops_the_run_before_any_file(
    koubei_home: str, tmp_path: Path, review_records: Any
) -> None:
    bad = tmp_path / "notes.json.gz"
    bad.write_text("not a model", encoding="utf-8")
    records = review_records(4)
    shop, hotel = land("test-shop", records[:2]), land("hotel-reviews", records[2:])

    with pytest.raises(ValueError, match=r"notes\.json\.gz: not a sentiment model"):
        list(
            process_pending_files(
                [shop, hotel], lexicon=load_aspects(), workers=1, models={"hotel-reviews": bad}
            )
        )
    # the shop's file came first and is still pending: nothing was half done
    assert sorted(ledger.pending_landing()) == sorted([shop, hotel])


def test_adapt_source_learns_from_the_sources_processed_posts(
    koubei_home: str, tmp_path: Path, review_records: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # the path a user takes: process with the shipped model, adapt to what the source brought,
    # then name the model in sources.yaml
    landed = land("hotel-reviews", review_records(300))
    assert [
        r.processed for r in process_pending_files([landed], lexicon=load_aspects(), workers=1)
    ] == [300]
    out = tmp_path / "config" / "models" / "hotel.json.gz"

    code = main(["sentiment", "adapt", "--source", "hotel-reviews", "--out", str(out)])

    err = capsys.readouterr().err
    assert code == 0 and "300 texts from 1 processed file(s) of hotel-reviews" in err, err
    texts = [r["text_clean"] for r in jsonl.read(ledger.processed_path(landed))]
    assert load_model(out).weights == adapt(load_model(), texts).weights


def test_adapt_source_without_processed_files_names_those_that_have_them(
    koubei_home: str, tmp_path: Path, review_records: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    list(
        process_pending_files(
            [land("test-shop", review_records(3))], lexicon=load_aspects(), workers=1
        )
    )

    code = main(["sentiment", "adapt", "--source", "hotel", "--out", str(tmp_path / "m.json.gz")])

    err = capsys.readouterr().err
    assert code != 0 and "no processed files for source 'hotel'" in err, err
    assert "sources with processed files: test-shop" in err
