from __future__ import annotations

import pytest

from koubei.crawlers.textutil import (
    html_to_text,
    mentions,
    own_text,
    parse_count,
    repost_chain,
    topics,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (812, 812),
        ("812", 812),
        ("12.3万", 123_000),
        ("1.2亿", 120_000_000),
        ("10万+", 100_000),
        ("1,024", 1024),
        ("", None),
        ("很多", None),
        (None, None),
        (True, None),
    ],
)
def test_parse_count(value: object, expected: int | None) -> None:
    assert parse_count(value) == expected


def test_repost_chain_from_weibo_html() -> None:
    markup = (
        "避雷//<a href='/n/路人甲'>@路人甲</a>:太吓人了//<a href='/n/消费维权观察'>"
        '@消费维权观察</a>：扩散<span class="url-icon"><img alt=[怒] src=x></span>'
    )
    text = html_to_text(markup)
    assert text == "避雷//@路人甲:太吓人了//@消费维权观察：扩散[怒]"
    assert repost_chain(text) == ["路人甲", "消费维权观察"]
    assert own_text(text) == "避雷"
    assert mentions(text) == ["路人甲", "消费维权观察"]
    assert topics("#鲜牧喝出异物# 和 #维权#") == ["鲜牧喝出异物", "维权"]
