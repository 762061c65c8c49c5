"""Impossible times on a real page: counted by kind in the crawl stats, never landed.

Issue 22: a far-future time would create a far-future monthly index. The crawl time is the real
clock here (the spider's), so the future case is far enough ahead (2170) never to turn plausible.
"""

from __future__ import annotations

import json
from typing import Any

from koubei import jsonl
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import PAGES, Reply

PATH = "/comment/productPageComments.action"


def test_future_old_and_odd_offset_times_are_counted_not_landed(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    data = json.loads((PAGES / "jd_p0.json").read_text(encoding="utf-8"))
    good = data["comments"][0]
    times = {
        "future": "2170-01-01 08:00:00",
        "old": "1773-12-16 10:00:00",
        "offset": "Tue Nov 24 10:00:00 +0805 2026",
    }
    data["comments"] = [good] + [
        {**good, "id": 99_000 + n, "creationTime": when, "afterUserComment": None}
        for n, when in enumerate(times.values())
    ]

    def route(q: dict[str, str]) -> Reply:
        if q["page"] == "0":
            return Reply(json.dumps(data, ensure_ascii=False))
        return Reply(json.dumps({**data, "comments": []}))

    site = fixture_site({PATH: route})
    source = Source(name="shop", platform="shop_json", base_url=site.url, product_ids=["1001"])

    [report] = crawl_sources([source], brands, run_id="r1", settings=FAST)

    landed = [r["native_id"] for r in jsonl.read(report.landing_file)]
    assert not [n for n in landed if n.startswith("99")]
    assert str(good["id"]) in landed
    assert report.stats["errors"] == {"time_future": 1, "time_too_old": 1, "time_offset": 1}
