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
    assert mentions(markup) == ["路人甲", "消费维权观察"]
    assert mentions(text) == []  # plain text: no guessing where a name ends


def test_mentions_only_from_links() -> None:
    markup = (
        '<a href="https://m.weibo.cn/n/%E9%B2%9C%E7%89%A7%E4%B9%B3%E4%B8%9A">@鲜牧乳业</a>'
        " 纯牛奶喝出黑色异物 @鲜牧乳业纯牛奶喝出黑色异物 <a href='/n/路人_甲'>@路人_甲</a>"
    )
    assert mentions(markup) == ["鲜牧乳业", "路人_甲"]
    assert topics("#鲜牧喝出异物# 和 #维权#") == ["鲜牧喝出异物", "维权"]


def test_html_to_text_sets_table_cells_apart() -> None:
    """``<td>价格</td><td>99元</td>`` read ``价格99元`` and English cells one glued word; a
    cell is now a tab, a row a line, and ``<thead>``/``<tbody>`` are no cells."""
    markup = (
        "<p>参数</p><table><thead><tr><th>规格</th><th>价格</th></tr></thead>"
        "<tr><td>价格</td> <td>99元</td></tr><tr><td>Fresh<td>milk</tr></table>尾"
    )
    assert html_to_text(markup) == "参数\n规格\t价格\n价格\t99元\nFresh\tmilk\n尾"
