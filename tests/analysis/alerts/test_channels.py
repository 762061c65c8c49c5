"""Channels against real 127.0.0.1 servers that verify signatures as each platform documents."""

from __future__ import annotations

from typing import Any

import pytest

from koubei.analysis.alerts.channels import CHANNEL_TYPES, build_channels
from koubei.analysis.alerts.delivery import DeliveryError
from koubei.analysis.alerts.payload import build_payload
from koubei.config import AlertsConfig, ChannelConfig, ConfigError
from tests.analysis.alerts.platforms import (
    PlatformServer,
    dingtalk_check,
    feishu_check,
    slack_check,
    wecom_check,
)

LONG_POSTS = [
    {
        "text": "这家店的汤底吃出了异物，太恶心了" * 8,
        "url": f"https://weibo.example/{i}",
        "author": f"用户{i}",
    }
    for i in range(10)
]


def payload(
    severity: str = "critical", evidence_extra: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    incident = {
        "dedup_key": "abc123",
        "brand": "海底捞",
        "status": "firing",
        "severity": severity,
        "started_at": "2026-11-25T09:00:00+08:00",
        "window_end": "2026-11-25T09:15:00+08:00",
        "detections": [
            {
                "timestamp": "2026-11-25T09:10:00+08:00",
                "severity": severity,
                "score": 7.5,
                "observed": 40,
                "expected": 3,
                "detector": "negative_volume",
                "reason": "40 negative posts vs 3",
            }
        ],
        "kibana_base": "http://localhost:5601",
        **extra,
    }
    evidence = {
        "top_posts": LONG_POSTS,
        "key_accounts": [{"name": "大V", "followers": 2_000_000, "verified": True}],
        "themes": ["异物", "食品安全"],
        "spread_path": "用户0 → 大V → 1200 reposts",
        **(evidence_extra or {}),
    }
    return build_payload(incident, evidence)


def channel(
    monkeypatch: pytest.MonkeyPatch, type_: str, url: str, secret: str | None = None, **options: Any
) -> Any:
    monkeypatch.setenv("T_URL", url)
    opts: dict[str, Any] = {"url_env": "T_URL", **options}
    if secret is not None:
        monkeypatch.setenv("T_SECRET", secret)
        opts["secret_env"] = "T_SECRET"
    config = AlertsConfig(channels=[ChannelConfig(name=type_, type=type_, options=opts)])
    (built,) = build_channels(config, "config/alerts.yaml")
    return built


def serve(servers: list[PlatformServer], check: Any) -> PlatformServer:
    server = PlatformServer(check)
    servers.append(server)
    return server


def test_dingtalk_signed_request_is_accepted_and_wrong_secret_rejected(servers, monkeypatch):
    server = serve(servers, dingtalk_check("tok", "SECabc"))
    url = f"{server.base}/robot/send?access_token=tok"
    good = channel(monkeypatch, "dingtalk", url, "SECabc", mentions=["13800000000", "u42"])
    good.send(payload(), "k1")
    (message,) = server.accepted
    assert message["at"] == {"atMobiles": ["13800000000"], "atUserIds": ["u42"], "isAtAll": False}
    assert "@13800000000" in message["markdown"]["text"]
    assert "海底捞" in message["markdown"]["title"]
    bad = channel(monkeypatch, "dingtalk", url, "SECother")
    with pytest.raises(DeliveryError, match="310000") as info:
        bad.send(payload(), "k2")
    assert info.value.retryable is False


def test_dingtalk_body_heavy_in_json_escapes_fits_20000_bytes(servers, monkeypatch):
    # DingTalk refuses a body over 20 000 bytes (errcode 460101, not worth retrying): the
    # markdown must fit with its JSON escapes (newlines, quotes), title and @ list around it.
    server = serve(servers, dingtalk_check("tok", "SECabc"))
    url = f"{server.base}/robot/send?access_token=tok"
    dingtalk = channel(monkeypatch, "dingtalk", url, "SECabc", mentions=["13800000000"])
    huge = payload()
    huge["title"] = '"舆情"\\\n' * 5000  # cannot be dropped, only cut; 4 JSON escapes a line
    dingtalk.send(huge, "k1")
    (message,) = server.accepted
    assert message["markdown"]["text"].rstrip().endswith("@13800000000")
    assert len(message["markdown"]["text"].encode("utf-8")) > 10_000  # cut to fit, not emptied


def test_feishu_signed_card_is_accepted_and_wrong_secret_rejected(servers, monkeypatch):
    server = serve(servers, feishu_check("fs-secret"))
    good = channel(
        monkeypatch,
        "feishu",
        f"{server.base}/open-apis/bot/v2/hook/x",
        "fs-secret",
        mentions=["ou_123", "oncall@example.com"],
    )
    good.send(payload(), "k1")
    (message,) = server.accepted
    assert message["msg_type"] == "interactive"
    assert message["card"]["header"]["template"] == "red"
    assert "<at id=ou_123></at>" in message["card"]["elements"][0]["content"]
    # by e-mail address: <at email=...></at> (Feishu bot FAQ: card markdown at tags)
    assert "<at email=oncall@example.com></at>" in message["card"]["elements"][0]["content"]
    huge = payload(evidence_extra={"summary": "舆情\n" * 20_000})
    huge["title"] = '"舆情"\n' * 5000  # cannot be dropped, only cut; heavy in JSON escapes
    good.send(huge, "k3")  # the platform refuses bodies over 20 KB; ours is cut to fit
    assert len(server.accepted) == 2
    assert server.accepted[1]["card"]["elements"][0]["content"].rstrip().endswith("</at>")
    bad = channel(monkeypatch, "feishu", f"{server.base}/open-apis/bot/v2/hook/x", "nope")
    with pytest.raises(DeliveryError, match="19021"):
        bad.send(payload(), "k2")


def test_wecom_markdown_fits_4096_bytes_and_mentions(servers, monkeypatch):
    server = serve(servers, wecom_check("KEY1"))
    wecom = channel(
        monkeypatch, "wecom", f"{server.base}/cgi-bin/webhook/send?key=KEY1", mentions=["zhangsan"]
    )
    wecom.send(payload(), "k1")
    content = server.accepted[0]["markdown"]["content"]
    assert 3000 < len(content.encode("utf-8")) <= 4096  # truncated to fit, not emptied
    assert content.rstrip().endswith("<@zhangsan>")
    assert "海底捞" in content and "https://weibo.example/0" in content
    wrong = channel(monkeypatch, "wecom", f"{server.base}/cgi-bin/webhook/send?key=OTHER")
    with pytest.raises(DeliveryError, match="93000"):
        wrong.send(payload(), "k2")


def test_slack_blocks_respect_limits_and_mention(servers, monkeypatch):
    server = serve(servers, slack_check("T/B/X"))
    slack = channel(
        monkeypatch, "slack", f"{server.base}/services/T/B/X", mentions=["U42", "SAZ94GDB8"]
    )
    big = payload(evidence_extra={"summary": "<b>&" + "很长的摘要" * 2000})
    slack.send(big, "k1")
    (message,) = server.accepted
    assert message["blocks"][0]["type"] == "header"
    # a member, and a user group as Slack's formatting docs write one
    assert message["blocks"][-1]["elements"][0]["text"] == "<@U42> <!subteam^SAZ94GDB8>"
    texts = " ".join(b.get("text", {}).get("text", "") for b in message["blocks"])
    assert "&lt;b&gt;&amp;" in texts and "<https://weibo.example/0|" in texts


def test_slack_section_limit_is_characters_so_chinese_posts_are_not_cut(servers, monkeypatch):
    # Block Kit: a section's text is at most 3000 *characters*; ten 120-character Chinese posts
    # with links are ~1200 characters but ~3600 UTF-8 bytes, and were cut as if it were bytes.
    server = serve(servers, slack_check("x"))
    slack = channel(monkeypatch, "slack", f"{server.base}/x")
    slack.send(payload(), "k1")
    texts = " ".join(b.get("text", {}).get("text", "") for b in server.accepted[0]["blocks"])
    assert all(f"https://weibo.example/{i}|" in texts for i in range(10))
    assert "已截断" not in texts


def test_no_mention_below_mention_severity_or_on_resolve(servers, monkeypatch):
    server = serve(servers, wecom_check("K"))
    wecom = channel(monkeypatch, "wecom", f"{server.base}/send?key=K", mentions=["zhangsan"])
    wecom.send(payload("warning"), "k1")
    wecom.send(payload("critical", status="resolved", event="resolved"), "k2")
    assert all("<@zhangsan>" not in m["markdown"]["content"] for m in server.accepted)


def test_mention_all_alone_pages_everyone_at_or_above_the_mention_severity(servers, monkeypatch):
    # `mention_all: true` with no individual `mentions` is a whole configuration: DingTalk's
    # at.isAtAll, Feishu's <at id=all></at>, Slack's <!channel> (each platform's docs).
    ding = serve(servers, dingtalk_check("tok", "SECabc"))
    dingtalk = channel(
        monkeypatch, "dingtalk", f"{ding.base}/robot/send?access_token=tok", "SECabc",
        mention_all=True,
    )  # fmt: skip
    dingtalk.send(payload("critical"), "k1")
    dingtalk.send(payload("warning"), "k2")
    assert [m["at"]["isAtAll"] for m in ding.accepted] == [True, False]
    fs = serve(servers, feishu_check("fs"))
    feishu = channel(monkeypatch, "feishu", f"{fs.base}/hook", "fs", mention_all=True)
    feishu.send(payload("critical"), "k1")
    assert "<at id=all></at>" in fs.accepted[0]["card"]["elements"][0]["content"]
    sl = serve(servers, slack_check("x"))
    slack = channel(monkeypatch, "slack", f"{sl.base}/x", mention_all=True)
    slack.send(payload("critical"), "k1")
    assert sl.accepted[0]["blocks"][-1]["elements"][0]["text"] == "<!channel>"


def test_wecom_mention_all_is_refused_at_start_up(monkeypatch):
    # WeCom markdown mentions only <@userid>; "@all" is a text-message list entry (群机器人
    # 配置说明), so a <@all> in markdown would page nobody while the config promised everyone.
    with pytest.raises(ConfigError) as info:
        channel(monkeypatch, "wecom", "https://qyapi.example/send?key=k", mention_all=True)
    assert "channels[0].options.mention_all: a WeCom markdown message cannot @ everyone" in str(
        info.value
    )


def test_http_errors_are_classified(servers, monkeypatch):
    server = serve(servers, lambda q, h, b: (429, "rate_limited"))
    slack = channel(monkeypatch, "slack", f"{server.base}/x")
    with pytest.raises(DeliveryError) as info:
        slack.send(payload(), "k")
    assert info.value.retryable is True
    server.check = lambda q, h, b: (404, "no_service")
    with pytest.raises(DeliveryError) as info:
        slack.send(payload(), "k")
    assert info.value.retryable is False


@pytest.mark.parametrize("type_", ["dingtalk", "feishu", "wecom"])
def test_a_server_error_with_a_code_in_its_body_is_retried(servers, monkeypatch, type_):
    # A 5xx is the platform failing, not our request ("1500 internal error: 内部错误，请稍后重试",
    # open.feishu.cn server-docs/api-call-guide/generic-error-code); the code in its body must
    # not turn it into a failure for good.
    key = "code" if type_ == "feishu" else "errcode"
    server = serve(servers, lambda q, h, b: (503, {key: 1500, "msg": "internal error"}))
    chat = channel(monkeypatch, type_, f"{server.base}/x?key=k&access_token=t")
    with pytest.raises(DeliveryError, match="1500") as info:
        chat.send(payload(), "k")
    assert info.value.retryable is True and info.value.rate_limited is False


def test_every_problem_of_every_channel_is_reported_at_once(monkeypatch):
    monkeypatch.delenv("NOPE_URL", raising=False)
    config = AlertsConfig(
        channels=[
            ChannelConfig(name="a", type="webhook", options={"url_env": "NOPE_URL", "colour": 1}),
            ChannelConfig(name="b", type="dingtalk", options={"timeout": "soon"}),
            ChannelConfig(name="c", type="carrier-pigeon"),
            ChannelConfig(
                name="d", type="alertmanager", options={"url_env": "NOPE_URL", "ttl": "forever"}
            ),
        ]
    )
    with pytest.raises(ConfigError) as info:
        build_channels(config, "config/alerts.yaml")
    message = str(info.value)
    for expected in (
        "config/alerts.yaml: channels[0].options.colour: unknown option",
        "channels[0].options.secret_env: required option is missing",
        "channels[0].options.url_env: environment variable NOPE_URL is not set",
        "channels[1].options.url_env: required option is missing",
        "channels[1].options.timeout: Input should be a valid number",
        "channels[2].type: unknown channel type 'carrier-pigeon'",
        "channels[3].options.ttl:",
    ):
        assert expected in message, message


def test_inline_secret_is_refused_by_the_schema() -> None:
    with pytest.raises(ValueError, match="url_env"):
        ChannelConfig(name="x", type="webhook", options={"url": "https://example"})


def test_registry_has_every_platform() -> None:
    assert set(CHANNEL_TYPES) >= {"webhook", "dingtalk", "feishu", "wecom", "slack", "alertmanager"}


def test_slack_escapes_nested_text_and_link_urls(servers, monkeypatch):
    server = serve(servers, slack_check("x"))
    slack = channel(monkeypatch, "slack", f"{server.base}/x")
    posts = [{"text": "a<b>&c", "url": "https://w.example/?a=1&b=2"}]
    slack.send(payload(evidence_extra={"top_posts": posts}), "k")
    texts = " ".join(b.get("text", {}).get("text", "") for b in server.accepted[0]["blocks"])
    assert "<https://w.example/?a=1&amp;b=2|a&lt;b&gt;&amp;c>" in texts


def test_feishu_two_rate_windows_pace_through_the_outbox(servers, monkeypatch, db_path):
    from koubei.analysis.alerts.delivery import deliver_pending
    from koubei.analysis.alerts.incidents import IncidentStore
    from tests.analysis.alerts.conftest import at, detection

    server = serve(servers, feishu_check("fs"))
    feishu = channel(monkeypatch, "feishu", f"{server.base}/hook", "fs")
    assert feishu.rate_limits == ((100, 60.0), (5, 1.0))
    store = IncidentStore(db_path)
    for i in range(7):
        brand = f"品牌{i}"
        store.observe(brand, [detection(0, brand=brand)], now=at(1), channels=[feishu])
    from tests.analysis.alerts.test_outbox import FakeClock

    clock = FakeClock()
    report = deliver_pending(db_path, [feishu], now=at(1), clock=clock, sleep=clock.sleep)
    assert len(report.delivered) == 7 and len(server.accepted) == 7
    # five in the first second, then a wait for the 5-per-second window
    assert 1.0 <= sum(clock.slept) <= 1.1


def test_dingtalk_rate_limit_errcode_is_retryable(servers, monkeypatch):
    server = serve(servers, lambda q, h, b: (200, {"errcode": 130101, "errmsg": "send too fast"}))
    dingtalk = channel(monkeypatch, "dingtalk", f"{server.base}/robot/send?access_token=t")
    assert dingtalk.rate_limits == ((20, 60.0),)
    with pytest.raises(DeliveryError, match="130101") as info:
        dingtalk.send(payload(), "k")
    assert info.value.retryable is True and info.value.rate_limited is True


def test_a_typo_in_a_choice_is_an_error_not_a_fallback(monkeypatch) -> None:
    with pytest.raises(ConfigError) as info:
        channel(
            monkeypatch, "wecom", "https://qyapi.example/send?key=k", mention_min_severity="critcal"
        )
    message = str(info.value)
    assert "channels[0].options.mention_min_severity" in message
    assert "'info', 'warning' or 'critical'" in message


@pytest.mark.parametrize("url", ["qyapi.example/send?key=k", "http://", "https://exa mple.com/x"])
def test_a_malformed_webhook_url_fails_at_start_up_naming_channel_and_variable(
    monkeypatch, url
) -> None:
    with pytest.raises(ConfigError) as info:
        channel(monkeypatch, "wecom", url)
    message = str(info.value)
    assert "channels[0].options.url_env" in message and "T_URL" in message
    assert "'wecom'" in message and "http(s) URL" in message


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:9/hook\n", "line break"),  # a secret written from a file
        ("http://127.0.0.1:9/hook\r", "line break"),
        ("http://127.0.0.1:abc/hook", "Invalid port"),
        ("http://[::1/hook", "Invalid port"),
        ("http://127.0.0.1:99999/hook", "1-65535"),
    ],
)
def test_a_url_httpx_cannot_send_to_fails_at_start_up(monkeypatch, url, why) -> None:
    # Before: these passed the start-up check (a newline was stripped before it, the port not
    # read), and every send then failed with httpx.InvalidURL: a traceback in `koubei alerts
    # test`, and in the outbox eight failed attempts at 3 a.m. "http://[::1/hook" raised
    # ValueError out of the check itself.
    with pytest.raises(ConfigError) as info:
        channel(monkeypatch, "slack", url)
    message = str(info.value)
    assert "channels[0].options.url_env" in message and "T_URL" in message
    assert "'slack'" in message and "http(s) URL" in message and why in message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("type_", ["dingtalk", "feishu", "webhook", "alertmanager"])
@pytest.mark.parametrize("secret", ["SECabc123\n", "SECabc123\r\n", " SECabc123", "SECabc123 "])
def test_a_signing_secret_with_a_newline_or_space_at_an_end_fails_at_start_up(
    monkeypatch, type_, secret
) -> None:
    # Before: it was taken, and every message was signed with the wrong key: DingTalk answered
    # 310000 (Feishu 19021) at send time, each alert failing for good.
    with pytest.raises(ConfigError) as info:
        channel(monkeypatch, type_, "http://127.0.0.1:9/robot/send?access_token=tok", secret)
    message = str(info.value)
    assert "channels[0].options.secret_env" in message and "T_SECRET" in message
    assert f"{type_!r}" in message and "line break" in message
    assert len(message.splitlines()) == 1


def test_a_signing_secret_as_given_is_taken(monkeypatch) -> None:
    built = channel(monkeypatch, "dingtalk", "http://127.0.0.1:9/robot/send", "SEC a-b_c 123")
    assert built.secrets["secret"] == "SEC a-b_c 123"


def test_a_malformed_kibana_url_fails_at_load(tmp_path) -> None:
    from koubei.config import load_alerts

    (tmp_path / "alerts.yaml").write_text("kibana_url: localhost:5601\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alerts.yaml: kibana_url: .*http\(s\) URL"):
        load_alerts(tmp_path)
