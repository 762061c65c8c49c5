"""incident_evidence end to end on the hand-built incident: every answer an alert carries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from koubei.analysis.spread.evidence import incident_evidence
from tests.analysis.spread.incident import T0, incident


def test_incident_evidence_answers_and_is_json_ready(tmp_path: Path) -> None:
    ev = incident_evidence(incident(), picture_dir=tmp_path, top=5)
    json.dumps(ev, ensure_ascii=False)  # no datetimes or numpy scalars left
    assert ev["posts"] == 17
    src = ev["source"]
    assert (src["id"], src["author"], src["root_missing"]) == ("weibo:1", "消费者小李", False)
    assert src["time"] == "2026-11-25T09:00:00+08:00" and src["url"] == "https://weibo.com/1"
    s = ev["summary"]
    assert (s["size"], s["depth"], s["max_breadth"], s["platforms"]) == (10, 3, 4, ["weibo"])
    assert s["seconds_to_half"] == 1800.0 and s["accelerating"] is False
    assert ev["spread_path"][0] == ["消费者小李", "大V老王", "网友A", "网友C"]
    assert ev["spread_path"][1] == ["消费者小李", "未抓取的G", "网友F"]
    assert [a["name"] for a in ev["key_accounts"][:2]] == ["消费者小李", "大V老王"]
    assert ev["coordination"]["verdict"] == "likely coordinated"
    # Themes are built from organic posts only: the script is not a theme.
    theme_ids = {i for t in ev["themes"] for i in t["ids"]}
    assert theme_ids and not any(i.startswith("weibo:s") for i in theme_ids)
    for picture in ev["pictures"].values():
        assert Path(picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(ev["pictures"]["cascade"]).name == "cascade-weibo_1.png"


def test_missing_root_is_estimated_from_the_earliest_crawled_post() -> None:
    records = [r for r in incident() if r["id"] != "weibo:1"]
    ev = incident_evidence(records)
    assert ev["source"]["root_missing"] is True
    assert ev["source"]["estimated_by"] == "earliest"
    assert ev["source"]["id"] == "weibo:2"  # 老王's repost is the earliest crawled post
    assert ev["summary"]["root"] == "weibo:1" and ev["pictures"] == {}


def test_judged_at_now_a_quiet_cascade_and_an_accelerating_one() -> None:
    burst = incident()[:9]
    for i in range(12):
        extra = dict(burst[-1])
        extra.update(id=f"weibo:b{i}", created_at=(T0 + timedelta(minutes=58 + i / 6)).isoformat())
        burst.append(extra)
    assert incident_evidence(burst)["summary"]["accelerating"] is True
    later = datetime.fromisoformat("2026-11-26T09:00:00+08:00")
    assert incident_evidence(burst, now=later)["summary"]["accelerating"] is False


def test_empty_incident() -> None:
    ev = incident_evidence([])
    assert ev["source"] is None and ev["spread_path"] == [] and ev["key_accounts"] == []
    assert ev["coordination"]["verdict"] == "organic"


def test_source_of_names_the_estimator_that_made_it() -> None:
    import networkx as nx

    from koubei.analysis.spread.evidence import source_of

    G = nx.DiGraph([("r", "a"), ("a", "b"), ("a", "c"), ("c", "d")])
    nx.set_node_attributes(
        G, {"r": True, "a": False, "b": False, "c": False, "d": False}, "placeholder"
    )
    untimed = source_of(G, "r")  # no crawled post has a time: rumor centrality decides
    assert untimed["root_missing"] is True and untimed["estimated_by"] == "rumor"
    nx.set_node_attributes(G, {"b": 5.0, "d": 9.0}, "ts")
    timed = source_of(G, "r")
    # b and d are reposts below a: a came first though its own time is unknown (was "b").
    assert (timed["id"], timed["estimated_by"]) == ("a", "earliest")


def test_a_missing_root_is_never_estimated_below_a_crawled_post() -> None:
    import networkx as nx

    from koubei.analysis.spread.evidence import source_of

    # Root r not crawled; a and x reposted it, b reposted a. a and b share a second (parent and
    # child often do) and "b" < "a" is not how ids order in time; x's branch starts later.
    G = nx.DiGraph([("r", "a"), ("a", "b"), ("r", "x"), ("x", "y")])
    nx.set_node_attributes(G, {n: n == "r" for n in G}, "placeholder")
    nx.set_node_attributes(G, {"a": 60.0, "b": 60.0, "x": 61.0, "y": 30.0}, "ts")
    # y's clock says 30: x's branch holds the earliest time, so x (its top) is the estimate.
    assert source_of(G, "r")["id"] == "x"
    G.nodes["y"]["ts"] = 90.0
    assert source_of(G, "r")["id"] == "a"  # was b: a tie in time went to the smaller id
    # No times at all along a chain of reposts: the top of the chain, not its middle.
    H = nx.DiGraph([("r", "p1"), ("p1", "p2"), ("p2", "p3"), ("p2", "p4")])
    nx.set_node_attributes(H, {n: n == "r" for n in H}, "placeholder")
    assert (source_of(H, "r")["id"], source_of(H, "r")["estimated_by"]) == ("p1", "rumor")


def test_a_recrawled_copy_counts_once_in_every_answer() -> None:
    # A re-crawl with fresher engagement is the same post: not a second voice in the themes,
    # not a second flagged post of the script, not a second post in the count.
    records = incident()
    again = [
        {**r, "engagement": {"likes": 999}, "crawled_at": "2026-11-26T08:00:00+08:00"}
        for r in records
    ]
    once, twice = incident_evidence(records), incident_evidence(records + again[::-1])
    assert twice["posts"] == once["posts"] == 17
    assert twice["themes"] == once["themes"]
    assert twice["coordination"] == once["coordination"]
    assert twice["summary"]["dropped"]["duplicate"] == 9  # the main cascade's crawled posts


def test_root_crawled_as_the_deletion_notice_is_estimated_like_a_missing_root() -> None:
    # A deleted status as the Sina API returns it (doc comment of the public Android client
    # class com.hengye.share.model.sina.WBUserInfo): no user, the notice as text,
    # "deleted": "1". It was reported as the source, "@None 抱歉，此微博已被作者删除".
    root = "weibo:3899463959387300"
    via = {"root_id": root, "parent_id": root, "relation": "repost", "kind": "repost"}
    records = [
        {
            "id": root,
            "platform": "weibo",
            "author": {},
            "created_at": "2026-11-25T09:00:00+08:00",
            "text_raw": "抱歉，此微博已被作者删除。查看帮助：http://t.cn/zWSudZc",
        },
        {
            "id": "weibo:2",
            "platform": "weibo",
            "author": {"id": "u2", "name": "网友B"},
            "created_at": "2026-11-25T09:05:00+08:00",
            "text_raw": "鲜牧的奶有异物 避雷",
            **via,
        },
        {
            "id": "weibo:3",
            "platform": "weibo",
            "author": {"id": "u3", "name": "网友C"},
            "created_at": "2026-11-25T09:07:00+08:00",
            "text_raw": "天哪//@网友B:鲜牧的奶有异物 避雷",
            **via,
        },
    ]
    source = incident_evidence(records)["source"]
    assert (source["id"], source["author"]) == ("weibo:2", "网友B")
    assert source["root_missing"] is True and source["estimated_by"] == "earliest"
    # A post that quotes the notice is still a post.
    records[0]["text_raw"] = "原博说此微博已被作者删除，太离谱"
    assert incident_evidence(records)["source"]["id"] == root


def test_the_demo_alert_fixture_holds_what_the_spread_code_makes_of_its_records() -> None:
    # tests/analysis/alerts/data: the demo's firing payload and the records its evidence was
    # built from (the window the alert stage read from the index). The payload went stale once
    # (key accounts' reach, themes) while every message test kept passing on it.
    data = Path(__file__).resolve().parents[1] / "alerts" / "data"
    payload = json.loads((data / "demo_incident_payload.json").read_text(encoding="utf-8"))
    lines = (data / "demo_incident_records.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    evidence = incident_evidence(records, now=datetime.fromisoformat(payload["window"]["end"]))
    for key in ("summary", "spread_path", "key_accounts", "themes", "coordination"):
        assert payload[key] == evidence[key], (
            f"{key} of demo_incident_payload.json is not what the code makes of "
            "demo_incident_records.jsonl: re-take both (tests/analysis/alerts/data/README.md)"
        )
