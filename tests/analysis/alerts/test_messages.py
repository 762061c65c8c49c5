"""Messages people read on a phone, from the real demo incident (data/demo_incident_payload.json).

The fixture is the firing payload ``koubei demo`` put in its outbox (see data/README.md).

Chinese headings, no dict dumps, no lists of post ids, one spread path per line, links that
survive markdown, Slack URLs escaped, WeCom within 4,096 bytes keeping its evidence, and
pictures only as URLs, the incident page linked. The rendered message of each platform is
checked in under docs/alerts/; ``KOUBEI_UPDATE_DOCS=1`` rewrites them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from koubei.analysis.alerts.channels import build_channels
from koubei.config import AlertsConfig, ChannelConfig

HERE = Path(__file__).parent
DOCS = Path(__file__).resolve().parents[3] / "docs" / "alerts"
PAYLOAD = json.loads((HERE / "data" / "demo_incident_payload.json").read_text(encoding="utf-8"))
TYPES = ("dingtalk", "wecom", "feishu", "slack", "webhook", "alertmanager")


def built(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("EX_URL", "https://robot.example/send?access_token=t")
    monkeypatch.setenv("EX_SECRET", "SECexample")
    channels = []
    for type_ in TYPES:
        options: dict[str, Any] = {"url_env": "EX_URL"}
        if type_ in ("dingtalk", "feishu", "webhook"):
            options["secret_env"] = "EX_SECRET"
        if type_ in ("dingtalk", "wecom", "feishu", "slack"):
            options["mentions"] = ["13800000000"] if type_ == "dingtalk" else ["ou_oncall"]
        channels.append(ChannelConfig(name=type_, type=type_, options=options))
    return {c.type_name: c for c in build_channels(AlertsConfig(channels=channels))}


def shown(type_: str, body: Any) -> str:
    """The text a person sees (or, for machine receivers, the JSON they get)."""
    if type_ == "dingtalk":
        return str(body["markdown"]["text"])
    if type_ == "wecom":
        return str(body["markdown"]["content"])
    if type_ == "feishu":
        card = body["card"]
        title = card["header"]["title"]["content"]
        return f"{title}\n\n" + "\n\n".join(e["content"] for e in card["elements"])
    if type_ == "slack":
        return "\n\n".join(
            b["text"]["text"] if "text" in b else " ".join(e["text"] for e in b["elements"])
            for b in body["blocks"]
        )
    if type_ == "alertmanager":  # endsAt is the send time + ttl: not reproducible
        body = [{**alert, "endsAt": "<发送时间 + ttl>"} for alert in body]
    return json.dumps(body, ensure_ascii=False, indent=1)


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    out = {}
    for type_, channel in built(monkeypatch).items():
        request = channel.build_request(PAYLOAD, "kb-example")
        out[type_] = shown(type_, json.loads(request.body))
    return out


@pytest.mark.parametrize("type_", ["dingtalk", "wecom", "feishu", "slack"])
def test_chat_messages_are_chinese_and_free_of_dumps(messages, type_) -> None:
    text = messages[type_]
    for heading in ("状态", "级别", "负面声量", "传播概况", "传播路径", "关键账号", "负面热帖"):
        assert heading in text, (type_, heading)
    for leak in (
        "placeholders",
        "seconds_to_half",
        "root:",
        "weibo:4950000000694157",  # a coordinated post id
        "pagerank",
        "amplifier",
        "likely coordinated",
        "{",
        "Severity",
        "cascade-weibo_",
        "/var/lib/koubei",
    ):
        assert leak not in text, (type_, leak)
    # one spread path per line
    lines = text.splitlines()
    assert "维权小王 → 消费维权观察 → 刘晴天299 → 刘跑步的猫216 → 杨旅行者176" in lines
    assert "维权小王 → 陈旅行者86 → 赵奶茶控44 → 杨小鱼225" in lines
    assert "22 分钟内传播过半" in text and "疑似有组织" in text
    assert "- 维权小王（粉丝 812，源头、跨圈传播）" in lines
    assert "- 消费维权观察（粉丝 56.8万，认证，放大者、跨圈传播）" in lines
    assert "- 赵阿楠5（粉丝 1397，放大者、跨圈传播、早期参与）" in lines
    # why it fired, in Chinese, stating the reach the key accounts show (never "1,770" beside
    # a 568,000-follower amplifier)
    assert (
        "- 负面转发链加速、加深：08:45–09:00 转发 23 次"
        "（此前 07:45–08:45 平均每 15 分钟转发 0 次），深 2 层；"
        "链上最大账号粉丝 56.8万，有认证账号参与"
    ) in lines
    # the hour the surge counts, by the clock: the hour ending with its 09:00 bin, not the
    # hour before the message ("近 1 小时" read so; session 38)
    assert "- 08:05–09:05 负面提及 46 条，预期 2 条（z=10.0）" in lines
    # the headline figure names the same hour (session 39)
    assert re.search(r"负面声量\W*：46（08:05–09:05，预期 2）", text), text
    # the negative share is one 5-minute bin's, and the message says which
    assert re.search(r"负面占比\W*：74%（09:00–09:05 有观点的帖子中）", text), text
    # key accounts and coordination are over all the brand's posts, not one cascade
    assert re.search(r"关键账号\W*（事件前 1 小时起品牌全部帖子，非单条转发链）", text), text
    assert re.search(r"水军迹象\W*（事件前 1 小时起品牌全部帖子，非单条转发链）：", text), text
    # how fresh each source's data was when it paged (the demo crawls at its alert's instant)
    assert any(line.startswith(("数据新鲜度", "*数据新鲜度*", "**数据新鲜度**")) for line in lines)
    assert "demo-weibo 0 分钟前" in text
    for english in ("max followers", "against", "expected", "negative cascade", "1,770"):
        assert english not in text, (type_, english)


def test_top_posts_name_each_complaint_once() -> None:
    # The demo's copies of "鲜牧客服真的不理人" were three of its five top posts.
    texts = [post["text"] for post in PAYLOAD["top_posts"]]
    assert len(texts) == 5 and len(set(texts)) == 5
    cascade, _ = PAYLOAD["detections"]
    assert cascade["reason"]["params"]["max_followers"] == cascade["details"]["max_followers"]


@pytest.mark.parametrize("type_", ["dingtalk", "wecom", "feishu"])
def test_links_survive_markdown(messages, type_) -> None:
    text = messages[type_]
    (report,) = re.findall(r"\[事件页面（图表、传播、经过）\]\(([^)\s]+)\)", text)
    assert report == "http://127.0.0.1:8780/incidents/1.html"
    (url,) = re.findall(r"\[在 Kibana 中查看负面帖子\]\(([^)\s]+)\)", text)
    assert url.startswith("http://localhost:5601/app/discover#/?_g=") and url.endswith("%29")
    assert "(https://m.weibo.cn/detail/4950000000632728)" in text  # the root post


def test_slack_link_urls_are_escaped(messages) -> None:
    text = messages["slack"]
    assert "<http://127.0.0.1:8780/incidents/1.html|事件页面（图表、传播、经过）>" in text
    (kibana,) = re.findall(r"<(http://localhost:5601[^|>]*)\|", text)
    assert "&amp;_a=" in kibana and "&_a=" not in kibana.replace("&amp;", "")


@pytest.mark.parametrize("type_", ["webhook", "alertmanager"])
def test_machine_receivers_get_the_incident_page(messages, type_) -> None:
    assert '"http://127.0.0.1:8780/incidents/1.html"' in messages[type_]


def test_wecom_fits_4096_bytes_and_keeps_its_evidence(monkeypatch) -> None:
    # Ten posts of 2,000 characters and ten key accounts: far over WeCom's 4,096 bytes.
    heavy = {
        **PAYLOAD,
        "top_posts": [
            {**post, "text": "鲜牧纯牛奶黑色异物" * 222} for post in PAYLOAD["top_posts"]
        ],
        "key_accounts": [
            {"name": f"账号{i}", "followers": 10_000 * i, "url": f"https://weibo.example/a{i}"}
            for i in range(10)
        ],
    }
    wecom = built(monkeypatch)["wecom"]
    text = json.loads(wecom.build_request(heavy, "k").body)["markdown"]["content"]
    size = len(text.encode("utf-8"))
    assert size <= 4096
    assert size > 3500  # uses the room rather than dropping whole sections
    for heading in ("传播概况", "传播路径", "主要话题", "关键账号", "负面热帖", "水军迹象"):
        assert heading in text, heading
    assert text.endswith("<@ou_oncall>")


def test_pictures_only_as_urls(monkeypatch) -> None:
    # The demo's pictures are local files (not shown); a published one is a link.
    timeline = "https://koubei.example/evidence/663391dbbb60ef49/timeline.png"
    payload = {**PAYLOAD, "pictures": {**PAYLOAD["pictures"], "timeline": timeline}}
    channels = built(monkeypatch)
    for type_ in ("dingtalk", "feishu"):
        text = shown(type_, json.loads(channels[type_].build_request(payload, "k").body))
        assert timeline in text
        assert "/var/lib/koubei" not in text


@pytest.mark.parametrize("type_", TYPES)
def test_rendered_examples_are_checked_in(messages, type_) -> None:
    fence = "json" if type_ in ("webhook", "alertmanager") else "markdown"
    document = (
        f"# {type_}: 演示事件的告警消息\n\n"
        "由 `tests/analysis/alerts/test_messages.py` 从 `tests/analysis/alerts/data/"
        "demo_incident_payload.json`（`koubei demo` 的真实告警）生成"
        "（`KOUBEI_UPDATE_DOCS=1` 重新生成）。\n\n"
        f"```{fence}\n{messages[type_]}\n```\n"
    )
    path = DOCS / f"{type_}.md"
    if os.environ.get("KOUBEI_UPDATE_DOCS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        path.write_text(document, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == document, f"{path} is stale"
