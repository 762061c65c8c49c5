"""The scoring rules' version: a digest of what the scorer applies besides the model file.

Every scored post recorded only the model file's version, so an upgrade of koubei that changed
a lexicon, a gloss table or a no-opinion rule scored the same text otherwise under the same
version, and ``koubei sentiment rescore`` left the history as it was. The digest must change
with what changes scores and not with what does not (a comment of ``lexicon.txt``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from koubei.model import Sentiment
from koubei.pipeline.clean import emoticons
from koubei.pipeline.sentiment import features, load_model, opinion
from koubei.pipeline.sentiment.rules import rules_digest, rules_version


def copy_of(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / path.name
    target.write_bytes(path.read_bytes())
    return target


def test_the_shipped_rules_have_one_short_stable_version() -> None:
    version = rules_version()
    assert re.fullmatch(r"rules-[0-9a-f]{10}", version)
    assert rules_digest() == version == rules_version()


def test_a_lexicon_entry_changes_the_version_and_a_comment_does_not(tmp_path: Path) -> None:
    shipped = rules_digest()
    lexicon = copy_of(features.LEXICON, tmp_path)
    text = lexicon.read_text(encoding="utf-8")
    assert rules_digest(lexicon=lexicon) == shipped  # the copy loads the same entries

    # Comments, blank lines, a word written twice: nothing the scorer reads otherwise.
    lines = text.splitlines()
    positive = lines.index("[positive]")
    edited = [*lines[:positive], "# a new comment line", "", *lines[positive:]]
    edited.insert(edited.index("[positive]") + 1, lines[positive + 1])  # 好 written twice
    lexicon.write_text("\n".join(edited) + "\n", encoding="utf-8")
    assert rules_digest(lexicon=lexicon) == shipped

    lexicon.write_text(text.replace("[positive]\n", "[positive]\n棒呆了\n", 1), encoding="utf-8")
    assert rules_digest(lexicon=lexicon) != shipped  # a word added
    negative = text.index("[negative]")
    assert "\n好\n" in text[: negative + 1]
    moved = text[:negative].replace("\n好\n", "\n", 1) + text[negative:] + "好\n"
    assert features.load_lexicon(features.LEXICON)["positive"][0] == "好"
    lexicon.write_text(moved, encoding="utf-8")
    assert rules_digest(lexicon=lexicon) != shipped  # a word moved to the other side


def test_a_general_lexicon_entry_changes_the_version(tmp_path: Path) -> None:
    general = copy_of(features.GENERAL, tmp_path)
    text = general.read_text(encoding="utf-8")
    general.write_text(text.replace("[negative]\n", "[negative]\n烂透了\n", 1), encoding="utf-8")
    assert rules_digest(general=general) != rules_digest()


@pytest.mark.parametrize(
    ("table", "key", "gloss"),
    [
        ("LATIN_GLOSS", "meh", "一般"),
        ("EMOTICON_GLOSS", "吃瓜", "疑问"),
        ("EMOJI_GLOSS", "🙃", "无语"),
    ],
)
def test_a_gloss_table_entry_changes_the_version(
    table: str, key: str, gloss: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = rules_digest()
    glosses = getattr(emoticons, table)
    assert key not in glosses
    monkeypatch.setitem(glosses, key, gloss)
    assert rules_digest() != shipped
    some = next(iter(glosses))
    monkeypatch.delitem(glosses, key)
    monkeypatch.setitem(glosses, some, glosses[some] + "，很好")  # a gloss rewritten
    assert rules_digest() != shipped


@pytest.mark.parametrize(
    ("table", "entry"), [("BOILERPLATE", "分享笔记"), ("STAND_INS", "默认好评")]
)
def test_a_no_opinion_rule_changes_the_version(
    table: str, entry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = rules_digest()
    monkeypatch.setattr(opinion, table, (*getattr(opinion, table), entry))
    assert rules_digest() != shipped


def test_every_scored_record_carries_the_rules_version_beside_the_models() -> None:
    model = load_model()
    record = model.score_record(
        {"text_raw": "质量很好，物流也快", "text_clean": "质量很好，物流也快"}
    )
    assert record["sentiment"]["model_version"] == model.version  # still the model file's
    assert record["sentiment"]["rules_version"] == rules_version()
    Sentiment.model_validate(record["sentiment"])  # the document model takes it
    # a post scored before koubei recorded the rules is still a valid document
    old = {k: v for k, v in record["sentiment"].items() if k != "rules_version"}
    assert Sentiment.model_validate(old).rules_version is None
