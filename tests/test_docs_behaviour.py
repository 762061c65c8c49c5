"""What the docs say a thing *does*, checked against what it does (``test_docs.py`` checks that
the names they show exist).

Each check reads the figure or example out of the doc's own text, so a stale sentence fails here
rather than being copied into a test that would agree with it.
"""

from __future__ import annotations

import re
from pathlib import Path

from koubei.pipeline.aspects import find_aspects, load_aspects, tag_aspects
from koubei.pipeline.sentiment import adaptation
from koubei.pipeline.sentiment.model import load_model
from tests.pipeline.sentiment.test_adaptation import DAIRY_BRANDS, MENTION, crisis_feed

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
ASPECTS = REPO / "config" / "aspects.yaml"


def test_readme_brand_names_figures_are_the_adaptation_tests_measure() -> None:
    """README, "Brand names are not learnt as sentiment": the neutral mention's scores it quotes
    from ``test_adaptation.py`` are what that file's crisis feed gives today (it quoted 0.38
    and 0.61 after the scoring rules had moved them to 0.39 and 0.62)."""
    quoted = re.search(
        r"took a\s+neutral mention from (0\.\d\d) to (0\.\d\d), and to (0\.\d\d) with the brand",
        README,
    )
    assert quoted, "the README no longer quotes the brand-name figures"
    model, feed = load_model(), crisis_feed()
    measured = (
        model.score(MENTION)[0],
        adaptation.adapt(model, feed).score(MENTION)[0],
        adaptation.adapt(model, feed, DAIRY_BRANDS).score(MENTION)[0],
    )
    assert tuple(quoted.groups()) == tuple(f"{m:.2f}" for m in measured)


def test_the_aspects_yaml_example_tags_what_its_comment_says() -> None:
    """config/aspects.yaml's header: its example gives the aspects it names, on the sides it
    names (it said "delivery", an aspect the file does not have), and the clause split it
    lists: an ASCII full stop does not split (it said "their ASCII forms" of ，。！？；)."""
    comment = ASPECTS.read_text(encoding="utf-8")
    example = re.search(r'so "([^"]+)" gives (\w+)\s+#?\s*(\w+) and (\w+) (\w+)\.', comment)
    assert example, "the aspects.yaml example sentence moved"
    text, first, first_label, second, second_label = example.groups()
    lexicon = load_aspects(ASPECTS)
    record = tag_aspects({"text_raw": text}, load_model(), lexicon)
    assert {a["aspect"]: a["label"] for a in record["aspects"]} == {
        first: first_label,
        second: second_label,
    }
    assert "an ASCII full stop does not split" in comment
    assert find_aspects("物流很快.包装破了", lexicon) == {
        "logistics": ["物流很快.包装破了"],
        "packaging": ["物流很快.包装破了"],
    }
    for mark in "，。！？；,!?;\n":
        assert len(find_aspects(f"物流很快{mark}包装破了", lexicon)["logistics"][0]) == 4
