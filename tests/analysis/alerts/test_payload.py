"""The payload renders what evidence is present and nothing that is absent."""

from __future__ import annotations

from typing import Any

from koubei.analysis.alerts.channels.text import sections
from koubei.analysis.alerts.payload import build_payload, kibana_link

INCIDENT: dict[str, Any] = {
    "dedup_key": "k1",
    "brand": "海底捞",
    "status": "firing",
    "severity": "critical",
    "started_at": "2026-11-25T09:00:00+08:00",
    "window_end": "2026-11-25T09:15:00+08:00",
    "detections": [
        {
            "timestamp": "2026-11-25T09:05:00+08:00",
            "severity": "warning",
            "score": 3.0,
            "observed": 12,
            "expected": 3,
            "detector": "negative_volume",
            "reason": "a",
        },
        {
            "timestamp": "2026-11-25T09:10:00+08:00",
            "severity": "critical",
            "score": 9.0,
            # as the detector emits it: its window's negative count against the count the
            # reference share expects, the share in details (Detector.details_at)
            "observed": 46,
            "expected": 13,
            "detector": "negative_share",
            "reason": "b",
            "details": {"negative_share": 0.71},
        },
    ],
}


def test_minimal_payload_has_the_facts_and_no_empty_evidence() -> None:
    payload = build_payload(INCIDENT, {})
    assert payload["brand"] == "海底捞" and payload["status"] == "firing"
    assert payload["window"] == {
        "start": "2026-11-25T09:00:00+08:00",
        "end": "2026-11-25T09:15:00+08:00",
    }
    # The strongest detection gives observed vs expected; the share detector gives the share.
    assert (payload["observed"], payload["expected"]) == (46, 13)
    assert payload["negative_share"] == 0.71
    assert payload["detectors"] == ["negative_share", "negative_volume"]
    for absent in ("top_posts", "key_accounts", "spread_path", "themes", "pictures", "kibana_url"):
        assert absent not in payload


def test_evidence_is_rendered_and_bounded() -> None:
    evidence = {
        "top_posts": [
            {
                "id": f"weibo:{i}",
                "text_clean": f"差评{i}",
                "url": f"https://w.example/{i}",
                "author": {"name": f"u{i}", "followers": 10},
                "engagement": {"reposts": i},
            }
            for i in range(30)
        ],
        "key_accounts": [{"name": "大V", "followers": 3_000_000, "verified": True}],
        "spread_path": {"depth": 4, "root": "u0", "bridges": ["大V"]},
        "themes": ["异物", "退款"],
        "coordination": {"suspected": True, "accounts": 12},
        "kibana_url": "https://kibana.example/app/discover#/x",
        "pictures": ["var/pictures/海底捞-spread.png"],
    }
    payload = build_payload(INCIDENT, evidence)
    assert len(payload["top_posts"]) == 10
    assert payload["top_posts"][3] == {
        "id": "weibo:3",
        "text": "差评3",
        "url": "https://w.example/3",
        "author": "u3",
        "reposts": 3,
    }
    assert payload["key_accounts"][0]["verified"] is True
    assert payload["spread_path"]["bridges"] == ["大V"]
    assert payload["kibana_url"] == evidence["kibana_url"]
    assert payload["pictures"] == evidence["pictures"]


def test_kibana_link_built_from_base_when_evidence_has_none() -> None:
    payload = build_payload({**INCIDENT, "kibana_base": "http://kb:5601/"}, {})
    assert payload["kibana_url"].startswith("http://kb:5601/app/discover#/?_g=(time:(from:")
    assert payload["kibana_url"] == kibana_link(
        "http://kb:5601", "海底捞", "2026-11-25T09:00:00+08:00", "2026-11-25T09:15:00+08:00"
    )


def test_structured_reasons_read_as_chinese_sentences() -> None:
    detections = [
        {
            **INCIDENT["detections"][0],
            "reason": {
                "code": "volume_rise",
                "params": {
                    "observed": 47.0,
                    "expected": 1.148,
                    "zscore": 10.1183,
                    "counts": "negative mentions",
                    "window": 3600,
                    "interval": 300,
                    # the hour the figures count, ending with the 09:05 bin (UTC here: the
                    # sentence reads China time whatever zone the times were stored in)
                    "count_start": "2026-11-25T00:10:00+00:00",
                    "count_end": "2026-11-25T01:10:00+00:00",
                },
            },
        },
        {**INCIDENT["detections"][1], "reason": "手写的原因"},  # stored before reasons had codes
    ]
    payload = build_payload({**INCIDENT, "detections": detections}, {})
    assert payload["reasons"] == ["08:10–09:10 负面提及 47 条，预期 1.1 条（z=10.1）", "手写的原因"]
    # the detections keep the reason as data for tools reading the webhook
    assert payload["detections"][0]["reason"]["params"]["observed"] == 47.0


def test_freshness_per_source_reaches_the_payload_and_the_message() -> None:
    from koubei.analysis.alerts.channels.text import render_markdown

    freshness = [
        {"source": "weibo-search", "minutes_behind": 4, "crawl_status": "ok"},
        {"source": "dianping", "minutes_behind": 95, "crawl_status": "blocked"},
        {"source": "xhs", "minutes_behind": None, "crawl_status": None},
    ]
    payload = build_payload(INCIDENT, {"freshness": freshness})
    assert payload["freshness"] == freshness
    text = render_markdown(payload, 4000)
    line = "数据新鲜度**：weibo-search 4 分钟前；dianping 95 分钟前（抓取受阻）；xhs 暂无数据"
    assert line in text
    assert "数据新鲜度" not in render_markdown(build_payload(INCIDENT, {}), 4000)


def test_the_negative_share_says_which_bin_it_is_the_share_of() -> None:
    """The demo's payload said `negative_share` 0.8519 beside an hour's 44 negative mentions
    and a 55-minute window; it was one 5-minute bin's share (18:30-18:35: 23 of 27 posts with
    an opinion), and nothing said so (session 38, alertwords). A sibling field names the bin;
    the field itself is kept as it was (receivers read it)."""
    surge = {
        **INCIDENT["detections"][0],
        "details": {"negative_share": 0.8519, "interval": 300},
    }
    payload = build_payload({**INCIDENT, "detections": [surge, INCIDENT["detections"][1]]}, {})
    assert payload["negative_share"] == 0.8519
    assert payload["negative_share_window"] == {
        "start": "2026-11-25T09:05:00+08:00",
        "end": "2026-11-25T09:10:00+08:00",
    }
    text = "\n".join("\n".join(part) for part in sections(payload))
    assert "**负面占比**：85%（09:05–09:10 有观点的帖子中）" in text, text
    # a share of no known span (an evidence summary's) says none
    bare = build_payload({**INCIDENT, "detections": []}, {"negative_share": 0.5})
    assert bare["negative_share"] == 0.5 and "negative_share_window" not in bare
    assert "**负面占比**：50%" in "\n".join("\n".join(p) for p in sections(bare))


def test_a_share_detections_count_is_never_its_share() -> None:
    """A share detection without ``details.negative_share`` (stored by hand, or before the
    details carried it) gave its ``observed`` as the share: the window's 46 negative mentions,
    read as 4600 %. And a damaged detection time leaves the share's bin unnamed, not a
    ValueError out of every message of the incident."""
    share = {**INCIDENT["detections"][1], "details": {"interval": 300}}
    payload = build_payload({**INCIDENT, "detections": [INCIDENT["detections"][0], share]}, {})
    assert "negative_share" not in payload
    assert "负面占比" not in "\n".join("\n".join(part) for part in sections(payload))
    damaged = {
        **share,
        "timestamp": "yesterday",
        "details": {"negative_share": 0.71, "interval": 300},
    }
    payload = build_payload({**INCIDENT, "detections": [damaged]}, {})
    assert payload["negative_share"] == 0.71 and "negative_share_window" not in payload


def test_the_headline_figure_says_what_it_counts_and_over_which_hours() -> None:
    """The message's headline read "负面声量：23（预期 0）" whatever the strongest detection was:
    a cascade's 23 reposts, or an acceleration's mentions of any tone, were called negative
    mentions, over no named span (session 39). The payload says what ``observed`` counts and
    when; a detection stored before (a plain-string reason, no times) reads as it did."""
    times = {"count_start": "2026-11-25T01:00:00+00:00", "count_end": "2026-11-25T09:10:00+08:00"}

    def headline(detection: dict[str, Any]) -> str:
        payload = build_payload({**INCIDENT, "detections": [detection]}, {})
        first = sections(payload)[0]
        return next(line for line in first if "：" in line and "预期" in line)

    cascade = {
        **INCIDENT["detections"][1],
        "reason": {"code": "cascade_growth", "params": {"observed": 23, "expected": 0}},
        "observed": 23,
        "expected": 0,
        "details": {"count_start": "2026-11-25T08:55:00+08:00", "count_end": times["count_end"]},
    }
    assert headline(cascade) == "**负面转发**：23（08:55–09:10，预期 0）"
    acceleration = {
        **cascade,
        "reason": {"code": "volume_acceleration", "params": {"field": "total", **times}},
        "details": times,
    }
    payload = build_payload({**INCIDENT, "detections": [acceleration]}, {})
    assert payload["observed_counts"] == "mentions"
    assert payload["observed_window"] == {
        "start": "2026-11-25T09:00:00+08:00",
        "end": "2026-11-25T09:10:00+08:00",
    }
    assert headline(acceleration) == "**声量**：23（09:00–09:10，预期 0）"
    surge = {**cascade, "reason": {"code": "volume_rise", "params": {"observed": 23}}}
    assert headline(surge) == "**负面声量**：23（08:55–09:10，预期 0）"
    old = {**INCIDENT["detections"][1], "details": {"count_start": "yesterday"}}
    assert headline(old) == "**负面声量**：46（预期 13）"
