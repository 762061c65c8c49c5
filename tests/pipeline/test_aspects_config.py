"""The aspect lexicon is the config directory's own ``aspects.yaml``, on every enrichment path.

``koubei process --config-dir DIR`` and its helper processes tagged with the shipped
``config/aspects.yaml`` whatever DIR held: a user who edited their own aspects file saw no
change. (``sentiment rescore``: test_rescore.py; the flows and Dask: tests/flows/test_dask.py,
tests/flows/test_aspects_config.py.)
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from koubei import jsonl, paths
from koubei.config import ConfigError
from koubei.flows.cli import main
from koubei.pipeline import ledger
from koubei.pipeline.aspects import SHIPPED_ASPECTS, aspects_file, load_aspects
from koubei.pipeline.enrich import Enricher, enrich_chunk
from koubei.pipeline.sentiment import load_model

# `food_safety` is no aspect of the shipped lexicon; `logistics` and `customer_service` are, and
# the user's file leaves them out.
OWN_ASPECTS = "aspects:\n  food_safety:\n    label: 食品安全\n    keywords: [拉肚子, 变质, 过期]\n"
TEXTS = [
    "物流很快，但是牛奶变质了",  # shipped: logistics; own: food_safety
    "客服不理人，喝了拉肚子",  # shipped: customer_service; own: food_safety
    "物流很慢",  # shipped: logistics; own: none
]


def config_dir(tmp_path: Path, aspects: str | None) -> Path:
    """A config directory with sources.yaml and, unless None, ``aspects`` as aspects.yaml."""
    folder = tmp_path / "config"
    folder.mkdir(exist_ok=True)
    (folder / "sources.yaml").write_text(
        "sources:\n  - {name: test-shop, platform: shop_json}\n", encoding="utf-8"
    )
    if aspects is not None:
        (folder / "aspects.yaml").write_text(aspects, encoding="utf-8")
    return folder


def land(records: list[dict[str, Any]]) -> Path:
    path = paths.state_dir("landing") / "test-shop" / "r1.jsonl"
    jsonl.write_atomic(path, records)
    return path


def with_texts(records: list[dict[str, Any]], texts: list[str]) -> list[dict[str, Any]]:
    return [{**r, "text_raw": texts[n % len(texts)]} for n, r in enumerate(records)]


def tagged(records: list[dict[str, Any]]) -> list[list[str]]:
    return [[a["aspect"] for a in r["aspects"]] for r in records]


def process(folder: Path, *more: str) -> int:
    return main(["process", "--config-dir", str(folder), "--no-progress", *more])


def test_process_tags_with_the_config_dirs_own_lexicon(
    koubei_home: str, tmp_path: Path, review_records: Callable[[int], list[dict[str, Any]]]
) -> None:
    landed = land(with_texts(review_records(3), TEXTS))
    folder = config_dir(tmp_path, OWN_ASPECTS)

    assert process(folder, "--workers", "1") == 0

    records = list(jsonl.read(ledger.processed_path(landed)))
    assert tagged(records) == [["food_safety"], ["food_safety"], []]
    assert records[1]["aspects"][0]["sentence"] == "喝了拉肚子"
    own, shipped = load_aspects(folder / "aspects.yaml"), load_aspects(SHIPPED_ASPECTS)
    assert {r["aspect_lexicon_version"] for r in records} == {own.version} != {shipped.version}
    assert records[1]["aspects"][0]["label"] == "negative"


def test_a_config_dir_without_aspects_yaml_tags_with_the_shipped_lexicon(
    koubei_home: str, tmp_path: Path, review_records: Callable[[int], list[dict[str, Any]]]
) -> None:
    # as `koubei crawl` reads the shipped brands.yaml when the config directory has none
    landed = land(with_texts(review_records(3), TEXTS))
    folder = config_dir(tmp_path, None)
    assert aspects_file(folder) == SHIPPED_ASPECTS

    assert process(folder, "--workers", "1") == 0

    records = list(jsonl.read(ledger.processed_path(landed)))
    assert tagged(records) == [["logistics"], ["customer_service"], ["logistics"]]


def test_a_bad_aspects_yaml_stops_process_naming_the_file_and_field(
    koubei_home: str,
    tmp_path: Path,
    review_records: Callable[[int], list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    landed = land(with_texts(review_records(3), TEXTS))
    folder = config_dir(tmp_path, "aspects:\n  food_safety: {keywords: [拉肚子, '']}\n")

    assert process(folder, "--workers", "1") == 2

    err = capsys.readouterr().err
    assert (
        f"koubei: config error: {folder / 'aspects.yaml'}: aspects.food_safety.keywords: "
        "entry 1 is empty or blank: it would match every text"
    ) in err, err
    assert ledger.pending_landing() == [landed]  # nothing processed


def test_helper_processes_tag_with_the_lexicon_they_are_given(
    tmp_path: Path, review_records: Callable[[int], list[dict[str, Any]]]
) -> None:
    # The helpers fork from a server that preloaded the shipped lexicon; the run's own must
    # reach them (pickled with their start-up arguments).
    own = load_aspects(config_dir(tmp_path, OWN_ASPECTS) / "aspects.yaml")
    records = with_texts(review_records(300), TEXTS)
    model = load_model()
    with Enricher(model, own, workers=2, chunk=10) as enricher:
        enricher.start(wait_ready=True)
        shared, _ = enricher.enrich(records)
        assert enricher.chunks_by_helpers > 0 and enricher.chunks_here > 0
    assert tagged(shared) == [["food_safety"], ["food_safety"], []] * 100
    alone, _ = enrich_chunk(records, model, own)
    assert shared == alone


def test_process_with_two_workers_on_a_big_file_tags_with_the_config_dirs_lexicon(
    koubei_home: str, tmp_path: Path, review_records: Callable[[int], list[dict[str, Any]]]
) -> None:
    # Big enough (2,000 records) for `koubei process` to start its helper process. How many
    # chunks the helper gets before this process is done depends on the machine (the test
    # above pins the helpers' part), so every record is checked.
    landed = land(with_texts(review_records(2001), TEXTS))
    folder = config_dir(tmp_path, OWN_ASPECTS)

    assert process(folder, "--workers", "2") == 0

    records = list(jsonl.read(ledger.processed_path(landed)))
    assert len(records) == 2001
    assert tagged(records) == [["food_safety"] if n % 3 < 2 else [] for n in range(2001)]


def test_the_lexicon_pickles_with_its_matcher(tmp_path: Path) -> None:
    own = load_aspects(config_dir(tmp_path, OWN_ASPECTS) / "aspects.yaml")
    own.matcher()
    copy = pickle.loads(pickle.dumps(own))
    assert copy.aspects == own.aspects and copy.matcher()[0] == own.matcher()[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("aspects:\n  price: {keywords: []}\n", "aspects.price.keywords: List should have"),
        # the hint of every other section: the fields allowed under an aspect, whatever its name
        (
            "aspects:\n  price: {words: [贵]}\n",
            "aspects.price.words: unknown field; known here: keywords, label",
        ),
        ("aspects:\n  price: {keywords: [贵]}\naspects: {}\n", "key 'aspects' is written twice"),
        ("", "aspects: missing: the file is empty"),
    ],
)
def test_a_bad_lexicon_is_named_with_its_file(tmp_path: Path, text: str, message: str) -> None:
    path = config_dir(tmp_path, text) / "aspects.yaml"
    with pytest.raises(ConfigError) as caught:
        load_aspects(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_a_keyword_written_as_a_number_is_text(tmp_path: Path) -> None:
    path = config_dir(tmp_path, "aspects:\n  model: {keywords: [361, ' 鲜牧 ']}\n")
    assert load_aspects(path / "aspects.yaml").aspects["model"].keywords == ["361", "鲜牧"]


def test_the_lexicons_version_changes_with_what_it_tags_and_only_with_that(
    review_records: Callable[[int], list[dict[str, Any]]],
) -> None:
    """Records carry it as ``aspect_lexicon_version``, and ``koubei sentiment rescore`` tags
    again every post whose version differs: an edit that cannot change a tag must not send the
    whole history to be tagged again."""
    from koubei.pipeline.aspects import AspectLexicon

    def version(aspects: dict[str, Any]) -> str:
        return AspectLexicon.model_validate({"aspects": aspects}).version

    base = version({"price": {"keywords": ["贵", "便宜"]}, "taste": {"keywords": ["味道"]}})
    same = [
        {"taste": {"keywords": ["味道"]}, "price": {"keywords": ["便宜", "贵"]}},  # order
        {
            "price": {"label": "价格", "keywords": ["贵", "便宜", "贵"]},
            "taste": {"keywords": ["味道"]},
        },
    ]
    other = [
        {"price": {"keywords": ["贵"]}, "taste": {"keywords": ["味道"]}},  # a keyword less
        {"price": {"keywords": ["贵", "便宜", "实惠"]}, "taste": {"keywords": ["味道"]}},
        {"cost": {"keywords": ["贵", "便宜"]}, "taste": {"keywords": ["味道"]}},  # renamed
        {"price": {"keywords": ["贵", "便宜", "味道"]}, "taste": {"keywords": ["味道"]}},  # moved
    ]
    assert [version(a) for a in same] == [base, base]
    assert len({base, *(version(a) for a in other)}) == 1 + len(other)
    # every tagged record says which lexicon tagged it
    own = AspectLexicon.model_validate({"aspects": {"price": {"keywords": ["贵"]}}})
    [record], _ = enrich_chunk(with_texts(review_records(1), ["太贵了"]), load_model(), own)
    assert (
        record["aspect_lexicon_version"] == own.version != version({"price": {"keywords": ["x"]}})
    )
