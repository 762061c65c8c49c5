"""Long Weibo posts: the full text a search card carries, and ``statuses/extend`` otherwise."""

from __future__ import annotations

from typing import Any

from koubei import jsonl
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import Reply


def test_long_post_in_a_search_card_is_read_whole_without_asking_extend(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """Search cards carry a long post's full text in ``longText.longTextContent``: the brand
    named only past the cut is matched, nothing is asked of ``statuses/extend`` (which may
    refuse), and a repost of a long post matches through its root's full text."""

    def search(q: dict[str, str]) -> Reply:
        page = "wb_search_longtext.json" if q.get("page") == "1" else "wb_search_end.json"
        return Reply.page(page)

    site = fixture_site({"/api/container/getIndex": search})  # no extend: it would be a 404
    source = Source(name="wb", platform="weibo", base_url=site.url, brands=["鲜牧"])
    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)

    assert report.landing_file is not None
    docs = {r["native_id"]: r for r in jsonl.read(report.landing_file)}
    assert sorted(docs) == ["5000000000000810", "5000000000000820", "5000000000000830"]
    breakfast = docs["5000000000000810"]
    assert breakfast["text_raw"].endswith("冷藏后口感更好。<br />推荐给大家！")
    assert breakfast["extra"]["long_text"] is True
    assert breakfast["brand_matches"][0]["field"] == "text"
    root = docs["5000000000000830"]
    assert root["text_raw"].endswith("奶味淡一点，但孩子愿意喝。") and root["extra"]["long_text"]
    repost = docs["5000000000000820"]
    assert repost["relation"] == "repost" and repost["root_id"] == "weibo:5000000000000830"
    assert repost["brand_matches"][0]["field"] == "root_text"
    assert "long_text" not in repost["extra"]
    assert site.hits("/statuses/extend") == []
    assert report.status == "ok" and report.stats["errors"] == {}
