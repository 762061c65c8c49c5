"""Complaint themes: clusters named by top terms with a representative post."""

from __future__ import annotations

import random
from pathlib import Path

from koubei.analysis.spread.themes import themes, tokens

NEG = {"label": "negative", "score": 0.1, "model_version": "t"}
POS = {"label": "positive", "score": 0.9, "model_version": "t"}


def rec(i: int, text: str, terms: str, sentiment: dict = NEG) -> dict:
    return {"id": f"w:{i}", "text_raw": text, "terms": terms.split(), "sentiment": sentiment}


def corpus() -> list[dict]:
    spoiled = [rec(i, f"牛奶变质发酸{i}", "牛奶 变质 发酸 异味") for i in range(6)]
    service = [rec(10 + i, f"客服不理人退款难{i}", "客服 不理 退款 拖延") for i in range(4)]
    delivery = [rec(20 + i, f"快递太慢包装破损{i}", "快递 太慢 包装 破损") for i in range(3)]
    happy = [rec(30 + i, "很好喝", "好喝 推荐", POS) for i in range(5)]
    return spoiled + service + delivery + happy


def test_three_complaints_become_three_named_themes() -> None:
    found = themes(corpus(), max_themes=3)
    assert [t["posts"] for t in found] == [6, 4, 3]
    assert set(found[0]["terms"][:4]) == {"牛奶", "变质", "发酸", "异味"}
    assert set(found[1]["terms"][:4]) == {"客服", "不理", "退款", "拖延"}
    assert found[0]["representative"]["id"].startswith("w:")
    assert found[0]["representative"]["id"] in found[0]["ids"]
    assert abs(sum(t["share"] for t in found) - 1.0) < 1e-3
    # Positive posts are never part of a complaint theme.
    happy = {f"w:{30 + i}" for i in range(5)}
    assert not happy & {i for t in found for i in t["ids"]}


def test_identical_texts_weigh_but_do_not_split_themes() -> None:
    copies = [rec(100 + i, "牛奶变质发酸", "牛奶 变质 发酸") for i in range(30)]
    found = themes(corpus() + copies, max_themes=3)
    assert found[0]["posts"] == 36
    assert "变质" in found[0]["terms"]


def test_chain_words_are_not_the_reposter_opinion() -> None:
    records = [
        {"id": "a", "text_raw": "太贵了//@B: 牛奶变质", "sentiment": NEG},
        {"id": "b", "text_raw": "转发微博//@B: 牛奶变质", "sentiment": NEG},
    ]
    found = themes(records)
    assert [t["ids"] for t in found] == [["a"]]
    assert "变质" not in found[0]["terms"]
    assert found[0]["representative"]["text"] == "太贵了"


def test_no_negative_posts_no_themes_and_tokens_fallback_to_jieba() -> None:
    assert themes([rec(1, "很好喝", "好喝", POS)]) == []
    assert "变质" in tokens({"text_raw": "这批牛奶变质了"})


def mengniu_complaints() -> list[dict]:
    """The negative 蒙牛 reviews of ``tests/data/reviews_sample.csv`` as processed posts."""
    import csv

    from koubei.pipeline.clean import clean_record

    path = Path(__file__).resolve().parents[2] / "data" / "reviews_sample.csv"
    with path.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["cat"] == "蒙牛" and r["label"] == "0"]
    return [
        clean_record(
            {"id": f"w:{i}", "text_raw": r["review"], "sentiment": NEG, "brands": ["蒙牛"]}
        )
        for i, r in enumerate(rows)
    ]


def test_themes_do_not_depend_on_the_order_of_the_records() -> None:
    # The daily brief clusters the posts as ES returns them: k-means++ seeded rows in input
    # order, so a shuffle changed the themes, their names and the representative post.
    records = mengniu_complaints()
    expected = themes(records)
    assert len(expected) >= 3
    for seed in range(4):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert themes(shuffled) == expected


def test_the_brand_everyone_names_does_not_lead_the_themes() -> None:
    found = themes(mengniu_complaints())
    assert not [term for theme in found for term in theme["terms"] if "蒙牛" in term]
    assert all(theme["name"] for theme in found)


def test_platform_furniture_handles_counts_and_deleted_notices_are_not_terms() -> None:
    # Shapes as crawled text carries them (tests/data/README.md lists where each was seen).
    texts = {
        "鲜牧牛奶变质了 O网页链接": ["牛奶", "变质"],
        "太恶心了...展开全文c": ["恶心"],
        "L小王的微博视频 牛奶变质": ["牛奶", "变质"],
        "@鲜牧乳业 给个说法，看这个 http://t.cn/A6abcd": ["说法"],
        "http://t.cn/A6abcd牛奶变质了": ["牛奶", "变质"],
        "回复@网友A:同意，变质了": ["同意", "变质"],
        "三个坏了两个，第一次买包装破损": ["包装", "破损"],
        "抱歉，此微博已被作者删除。查看帮助：网页链接": [],
    }
    for text, wanted in texts.items():
        record = {"text_raw": text, "brands": ["鲜牧"]}
        assert tokens(record) == wanted, text
        # The processing stage's terms (handles and links included) give the same words.
        from koubei.pipeline.clean import clean_record

        assert tokens(clean_record(record)) == wanted, text


def test_a_deleted_original_is_no_complaint_theme() -> None:
    records = [
        rec(1, "抱歉，此微博已被作者删除。查看帮助：网页链接", "抱歉 此微博 作者 删除 查看 帮助"),
        rec(2, "牛奶变质发酸", "牛奶 变质 发酸"),
    ]
    assert [t["ids"] for t in themes(records)] == [["w:2"]]
