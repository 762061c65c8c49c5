from __future__ import annotations

from crawlers.brandmatch import keywords, match_brands, tracked_brands
from koubei.config import BrandsConfig


def test_alias_case_insensitive_and_field_order(brands: BrandsConfig) -> None:
    matched, matches, excluded = match_brands(
        [("text", "xianmu yogurt"), ("root_text", "北岭")], brands.brands
    )
    assert matched == ["鲜牧", "北岭"]
    assert [(m.brand, m.term, m.field) for m in matches] == [
        ("鲜牧", "XianMu", "text"),
        ("北岭", "北岭", "root_text"),
    ]
    assert excluded == []


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
