"""The demo site serves the scenario in the platforms' formats, deterministically."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from urllib.parse import quote

import httpx

from koubei.crawlers.timeparse import parse_time
from koubei.demo.site import start_demo_site
from koubei.demo.site_data import build_scenario
from koubei.timeutil import DEFAULT_TZ

ANCHOR = datetime(2026, 11, 24, 12, 3, tzinfo=DEFAULT_TZ)


def test_same_anchor_same_ids_and_burst_shape() -> None:
    first, second = build_scenario(ANCHOR), build_scenario(ANCHOR)
    assert first.anchor == datetime(2026, 11, 24, 12, 0, tzinfo=DEFAULT_TZ)  # floored to 5 min
    assert [p["id"] for p in first.posts] == [p["id"] for p in second.posts]
    assert 1500 <= sum(first.counts().values()) <= 3500
    cascade = first.reposts[first.crisis_root_id]
    depths = Counter(p["text"].count("//<a href") for p in cascade)
    assert max(depths) >= 3
    shills = [p for p in cascade if p["user"]["screen_name"].startswith("用户")]
    assert len(shills) >= 20 and len({p["text"] for p in shills}) <= 3
    amplifier = next(p for p in cascade if p["id"] == first.amplifier_id)
    assert amplifier["user"]["verified"] and amplifier["user"]["followers_count"] == "56.8万"
    burst = [p for p in first.posts if p["_when"] >= first.burst_start]
    before = [p for p in first.posts if p["_when"] < first.burst_start]
    assert len(burst) > 100 and len(before) / (7 * 24) < 15  # a burst well above the hourly norm
    assert sum("鲜牧场" in p["text"] for p in first.posts) >= 3


def test_routes_answer_in_platform_formats() -> None:
    with start_demo_site(ANCHOR) as site, httpx.Client(base_url=site.url) as client:
        assert "Allow: /" in client.get("/robots.txt").text
        jd = client.get(
            "/comment/productPageComments.action",
            params={"productId": "100012043978", "page": 0, "pageSize": 10},
        ).json()
        assert jd["maxPage"] >= 10 and len(jd["comments"]) == 10
        review = jd["comments"][0]
        assert {
            "id",
            "content",
            "creationTime",
            "score",
            "nickname",
            "referenceName",
            "usefulVoteCount",
            "replies",
        } <= set(review)
        assert "_when" not in review
        times = [parse_time(c["creationTime"]) for c in jd["comments"]]
        assert times == sorted(times, reverse=True)

        containerid = quote("100103type=1&q=鲜牧", safe="")
        search = client.get(f"/api/container/getIndex?containerid={containerid}&page=1").json()
        assert search["ok"] == 1 and search["data"]["cardlistInfo"]["page"] == 2
        mblog = search["data"]["cards"][0]["card_group"][0]["mblog"]
        parse_time(mblog["created_at"])  # "Tue Nov 24 10:00:00 +0800 2026"
        root_id = site.scenario.crisis_root_id
        reposts = client.get("/api/statuses/repostTimeline", params={"id": root_id}).json()
        assert reposts["data"]["total_number"] == len(site.scenario.reposts[root_id])
        comments = client.get("/comments/hotflow", params={"id": root_id, "mid": root_id}).json()
        assert comments["data"]["max_id"] == 20
        empty = client.get(f"/api/container/getIndex?containerid={containerid}&page=999")
        assert json.loads(empty.text)["ok"] == 0

        rates = client.get(
            "/list_detail_rate.htm",
            params={"itemId": "600001", "currentPage": 1, "callback": "cb1"},
        )
        assert rates.headers["content-type"].endswith("charset=GBK")
        text = rates.content.decode("gbk")
        assert text.startswith("cb1(") and json.loads(text[4:-1])["rateDetail"]["rateList"]
        replies = client.get("/x/v2/reply/main", params={"oid": "880001", "next": 0}).json()
        assert replies["code"] == 0 and replies["data"]["cursor"]["next"] == 2
        feed = client.get("/news/rss.xml").text
        assert f"{site.url}/news/n-crisis.html" in feed
        assert "鲜牧纯牛奶被曝喝出异物" in client.get("/news/n-crisis.html").text
