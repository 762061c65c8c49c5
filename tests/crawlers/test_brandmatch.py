from __future__ import annotations

from koubei.config import BrandsConfig
from koubei.crawlers.brandmatch import keywords, match_brands, tracked_brands


def test_alias_case_insensitive_and_field_order(brands: BrandsConfig) -> None:
    matched, matches, excluded = match_brands(
        [("text", "xianmu yogurt"), ("product", "北岭 纯牛奶 250ml")], brands.brands
    )
    assert matched == ["鲜牧", "北岭"]
    assert [(m.brand, m.term, m.field) for m in matches] == [
        ("鲜牧", "XianMu", "text"),
        ("北岭", "北岭", "product"),
    ]
    assert excluded == []


def test_context_counts_only_when_the_item_names_no_brand(brands: BrandsConfig) -> None:
    # A comment about 鲜牧 under a post comparing 鲜牧 with 北岭 is about 鲜牧 only.
    own = match_brands([("text", "鲜牧喝出异物"), ("root_text", "鲜牧和北岭对比")], brands.brands)
    assert own[0] == ["鲜牧"] and [m.field for m in own[1]] == ["text"]
    # A bare repost ("转发微博") is about whatever the post it reposts is about.
    bare = match_brands([("text", "转发微博"), ("root_text", "鲜牧和北岭对比")], brands.brands)
    assert bare[0] == ["鲜牧", "北岭"] and {m.field for m in bare[1]} == {"root_text"}


def test_exclusion_word_drops_the_brand_only(brands: BrandsConfig) -> None:
    matched, _, excluded = match_brands([("text", "鲜牧场露营后买了北岭牛奶")], brands.brands)
    assert matched == ["北岭"]
    assert excluded == ["鲜牧"]


def test_keywords_and_tracking(brands: BrandsConfig) -> None:
    tracked = tracked_brands(brands, ["北岭"])
    assert [b.name for b in tracked] == ["北岭"]
    assert keywords(brands.brands, ["xianmu", "奶"]) == ["鲜牧", "XianMu", "北岭", "奶"]


def test_traditional_script_matches_after_conversion(brands: BrandsConfig) -> None:
    matched, matches, _ = match_brands([("text", "鮮牧乳業新品")], brands.brands)
    assert matched == ["鲜牧"] and matches[0].field == "text"
    assert match_brands([("text", "鮮牧場露營")], brands.brands)[2] == ["鲜牧"]  # still excluded
