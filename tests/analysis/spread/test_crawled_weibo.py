"""End to end on the crawler's fixtures: the real Weibo spider's landing file -> evidence.

The spider runs against the crawler tests' fixture site (search, repost timeline, comments), so
this checks the spread analysis on records exactly as the crawl stage writes them: HTML in
``text_raw``, ``extra.repost_chain``, parents resolved or left at the root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from koubei import jsonl
from koubei.analysis.spread.cascade import build_cascades
from koubei.analysis.spread.evidence import incident_evidence
from koubei.analysis.spread.measures import cascade_summary
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST, brands, fixture_site  # noqa: F401  (fixtures)
from tests.crawlers.spiders.test_weibo import ROOT, routes


def _landing(fixture_site: Any, brands: BrandsConfig) -> list[dict[str, Any]]:  # noqa: F811
    site = fixture_site(routes())
    source = Source(name="wb", platform="weibo", base_url=site.url)
    [report] = crawl_sources([source], brands, run_id="spread", settings=FAST)
    assert report.landing_file is not None
    return list(jsonl.read(Path(report.landing_file)))


def test_crawled_cascade_paths_and_evidence(
    fixture_site: Any,  # noqa: F811
    brands: BrandsConfig,  # noqa: F811
    koubei_home: str,
    tmp_path: Path,
) -> None:
    records = _landing(fixture_site, brands)
    root = f"weibo:{ROOT}"
    G = build_cascades(records)
    # 维权小王 -> 消费维权观察 -> 路人甲 -> 路人乙, rebuilt from the chain / resolved parents.
    assert G.has_edge(root, "weibo:5000000000000200")
    assert G.has_edge("weibo:5000000000000200", "weibo:5000000000000300")
    assert G.has_edge("weibo:5000000000000300", "weibo:5000000000000400")
    assert G.has_edge("weibo:c4900000000001", "weibo:c4900000000002")
    assert G.nodes["weibo:5000000000000300"]["text"].startswith("太吓人了//@消费维权观察")
    summary = cascade_summary(G, root)
    assert summary["depth"] == 3 and summary["placeholders"] == 0

    own = [r for r in records if r["id"] == root or r.get("root_id") == root]
    ev = incident_evidence(own, picture_dir=tmp_path)
    assert ev["source"]["id"] == root and ev["source"]["author"] == "维权小王"
    assert ev["spread_path"][0] == ["维权小王", "消费维权观察", "路人甲", "路人乙"]
    amplifier = next(a for a in ev["key_accounts"] if a["name"] == "消费维权观察")
    assert "amplifier" in amplifier["roles"] and amplifier["reach"] == 2
    assert amplifier["followers"] == 568_000 and amplifier["verified"] is True
    assert ev["summary"]["max_followers"] == 568_000 and ev["summary"]["verified_involved"]
    assert Path(ev["pictures"]["cascade"]).stat().st_size > 10_000
