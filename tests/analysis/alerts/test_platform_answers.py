"""Each platform's documented answers, from real 127.0.0.1 receivers, through the outbox.

Rate-limit answers must be waited out (every alert delivered once, in order), permanent ones
must fail for good with a message naming the channel, its platform and the code, and what the
code means for the operator. Sources of each answer are given where it is used:

- DingTalk custom robot: 20 messages a minute per robot, then "send too fast" and 10 minutes
  of throttling ("每个机器人每分钟最多发送20条。如果超过20条，会限流10分钟", open.dingtalk.com
  custom-robot-access, as quoted by blog.csdn.net/lxw1844912514/article/details/125780346);
  the body public clients log is ``{"status":1111,"wait":5,"source":"x5","punish":"deny",
  "errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}``
  (blog.csdn.net/jialiuyang/article/details/118615052) and a throttled robot answers HTTP 302
  ("再发，就直接 302 并限制发送10分钟", m.elefans.com/dongtai/1725725310a1038879.html); a code
  outside the documented ones whose errmsg says the limit (99999 below) is the limit too.
  310000 is the 安全设置 refusal (keywords / IP whitelist / sign).
- Feishu custom bot ("自定义机器人使用指南", open.larkoffice.com/document/ukTMukTMukTM/
  ucTM5YjL3ETO24yNxkjN): 100 a minute and 5 a second per bot, 11232 over it; 9499 answers
  both a malformed request ("Bad Request") and "too many request" (retried by
  kubesphere/notification-manager#126); 19021 sign,
  19024 keywords; HTTP 200 with a non-zero code is a failure.
- WeCom group robot (developer.work.weixin.qq.com/document/path/91770 and the global error
  codes, path/90455): 20 a minute, 45009 over it; 93000 invalid webhook url.
- Slack incoming webhooks ("Handling errors"): 410 ``channel_is_archived``, 404
  ``no_service``, 400 ``invalid_payload``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from koubei.analysis.alerts.delivery import deliver_pending
from koubei.analysis.alerts.outbox import counts, notifications
from tests.analysis.alerts.conftest import alerts_status
from tests.analysis.alerts.platforms import (
    DINGTALK_BLOCKED,
    DINGTALK_SEND_TOO_FAST,
    Answer,
    PlatformServer,
    RateLimit,
)
from tests.analysis.alerts.test_rate_limits import PLATFORMS, build, burst

BURST = 30


def _brands(server: PlatformServer, type_: str) -> list[str]:
    """The brand of each accepted message, in the order the receiver took them."""
    out = []
    for message in server.accepted:
        text = (
            message["markdown"]["text"]
            if type_ == "dingtalk"
            else message["card"]["elements"][0]["content"]
        )
        out.append(next(f"品牌{i:02d}" for i in range(BURST) if f"品牌{i:02d}" in text))
    return out


DINGTALK_LIMIT_ANSWERS: dict[str, tuple[Answer, Answer | None]] = {
    "130101 send too fast": (DINGTALK_SEND_TOO_FAST, None),
    "unlisted code, send too fast": (
        (200, {"errcode": 99999, "errmsg": "send too fast, exceed 20 times per minute"}, {}),
        None,
    ),
    "unlisted code, 限流": ((200, {"errcode": 99999, "errmsg": "发送速度太快而限流"}, {}), None),
    # "send too fast" once, then HTTP 302 to everything for the 10 minutes of throttling
    "send too fast then 302": (DINGTALK_SEND_TOO_FAST, DINGTALK_BLOCKED),
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("name", sorted(DINGTALK_LIMIT_ANSWERS))
def test_dingtalk_limit_answers_are_waited_out_in_order(name, servers, monkeypatch, db_path):
    # Before: a limit under an unlisted code and the 302 of a throttled
    # robot were failures for good: those alerts were lost at the limit.
    answer, blocked = DINGTALK_LIMIT_ANSWERS[name]
    platform = PLATFORMS["dingtalk"]
    limits = [(20, 0.5)]  # a minute scaled to 0.5 s; the 10-minute block to 10 windows
    limit = RateLimit(20, 0.5, answer, penalty=10 * 0.5, blocked_answer=blocked)
    limit.shared_use = 2  # another sender used the robot's budget just before us
    server = PlatformServer(platform.check(), limits=[limit])
    servers.append(server)
    channel = build(monkeypatch, platform, server.base, limits)
    burst(db_path, channel)
    report = deliver_pending(db_path, [channel], now=_at(1))
    assert limit.refused > 0 and report.rate_limited
    assert report.failed == [] and report.deferred == []
    assert counts(db_path) == {"delivered": BURST}
    assert _brands(server, "dingtalk") == [f"品牌{i:02d}" for i in range(BURST)]  # once, in order
    assert {n.attempts for n in notifications(db_path, limit=BURST)} == {1}


@pytest.mark.timeout(60)
def test_feishu_9499_too_many_request_is_waited_out(servers, monkeypatch, db_path):
    # Before: every 9499 was a malformed request, failed for good, so the bot's own frequency
    # answer lost the alerts behind it. "Bad Request" 9499 stays permanent
    # (test_rate_limits.py::test_feishu_bad_request_is_not_retried).
    platform = PLATFORMS["feishu"]
    too_many: Answer = (200, {"code": 9499, "msg": "too many request", "data": {}}, {})
    limit = RateLimit(5, 0.5, too_many)
    limit.shared_use = 3
    server = PlatformServer(platform.check(), limits=[limit])
    servers.append(server)
    channel = build(monkeypatch, platform, server.base, [(100, 30.0), (5, 0.5)])
    burst(db_path, channel)
    report = deliver_pending(db_path, [channel], now=_at(1))
    assert limit.refused > 0 and report.failed == []
    assert counts(db_path) == {"delivered": BURST}
    assert _brands(server, "feishu") == [f"品牌{i:02d}" for i in range(BURST)]


PERMANENT = {
    # DingTalk 安全设置: the public clients' wording of the keyword refusal
    "dingtalk": (
        lambda: (
            200,
            {
                "errcode": 310000,
                "errmsg": "keywords not in content, more: [https://ding-doc.dingtalk.com/doc#/"
                "serverapi2/qf2nxq]",
            },
        ),
        "errcode 310000",
        "自定义关键词",
    ),
    "feishu": (
        lambda: (200, {"code": 19024, "msg": "Key Words Not Found"}),
        "code 19024",
        "关键词",
    ),
    "wecom": (
        lambda: (200, {"errcode": 93000, "errmsg": "invalid webhook url"}),
        "errcode 93000",
        "url_env",
    ),
    "slack": (lambda: (410, "channel_is_archived"), "HTTP 410", "archived"),
}


@pytest.mark.parametrize("name", sorted(PERMANENT))
def test_a_permanent_answer_fails_for_good_naming_channel_code_and_fix(
    name, servers, monkeypatch, db_path
):
    # Before: the row failed with only the platform's code and text ("errcode 310000: keywords
    # not in content"): not which channel, nor what to change.
    answer, code, hint = PERMANENT[name]
    server = PlatformServer(lambda q, h, b: answer())
    servers.append(server)
    channel = build(monkeypatch, PLATFORMS[name], server.base, [(20, 60.0)])
    burst_one(db_path, channel)
    report = deliver_pending(db_path, [channel], now=_at(1))
    assert len(report.failed) == 1 and report.retrying == []
    (failed,) = alerts_status(db_path)["failed"]
    assert failed["attempts"] == 1
    error = failed["last_error"]
    assert f"{name} channel {name!r}" in error and code in error and hint in error, error


def test_dingtalk_302_is_the_throttle_not_a_failure(servers, monkeypatch):
    from koubei.analysis.alerts.delivery import DeliveryError
    from tests.analysis.alerts.test_channels import payload

    server = PlatformServer(lambda q, h, b: (302, ""))
    servers.append(server)
    dingtalk = build(monkeypatch, PLATFORMS["dingtalk"], server.base, [(20, 60.0)])
    with pytest.raises(DeliveryError, match="302") as info:
        dingtalk.send(payload(), "k")
    assert info.value.rate_limited is True and info.value.retryable is True


def test_a_webhook_redirect_fails_saying_where_it_points(monkeypatch, db_path, servers):
    # koubei does not follow redirects (the signed body would go where nobody configured);
    # before, the error was "HTTP 301: " with nothing to act on.
    from koubei.analysis.alerts.channels import build_channels
    from tests.analysis.alerts.conftest import webhook_config

    server = PlatformServer(lambda q, h, b: (301, ""))
    servers.append(server)
    moved = f"{server.base}/new-hook"
    server.headers = {"Location": moved}
    channels = build_channels(webhook_config(monkeypatch, f"{server.base}/hook"))
    burst_one(db_path, channels[0])
    deliver_pending(db_path, channels, now=_at(1))
    (row,) = notifications(db_path)
    assert row.status == "failed"
    assert "webhook channel 'oncall'" in str(row.last_error)
    assert f"redirect to {moved}" in str(row.last_error)


def burst_one(db_path: Path, channel: Any, brand: str = "海底捞") -> None:
    from koubei.analysis.alerts.incidents import IncidentStore
    from tests.analysis.alerts.conftest import detection

    IncidentStore(db_path).observe(
        brand, [detection(0, brand=brand)], now=_at(1), channels=[channel]
    )


def _at(minutes: float) -> Any:
    from tests.analysis.alerts.conftest import at

    return at(minutes)


@pytest.mark.timeout(60)
def test_a_row_deferred_at_the_limit_keeps_its_place_for_the_next_run(
    servers, monkeypatch, db_path
):
    # DingTalk said "too fast" to the first of five and this run could wait no longer. The next
    # run (the monitoring clock stopped, as with KOUBEI_NOW) must send it first. Before: its
    # due time was pushed past the next run's "now", so that run sent the four behind it and
    # the first came last.
    platform = PLATFORMS["dingtalk"]
    limit = RateLimit(20, 60.0, DINGTALK_SEND_TOO_FAST)
    limit.shared_use = 1
    server = PlatformServer(platform.check(), limits=[limit])
    servers.append(server)
    channel = build(monkeypatch, platform, server.base, [(20, 60.0)])
    for i in range(5):
        burst_one(db_path, channel, brand=f"品牌{i:02d}")
    first = deliver_pending(db_path, [channel], now=_at(1), max_wait=0.1)
    assert len(first.deferred) == 1 and server.accepted == []
    second = deliver_pending(db_path, [channel], now=_at(1), max_wait=30)
    assert len(second.delivered) == 5
    assert _brands(server, "dingtalk") == [f"品牌{i:02d}" for i in range(5)]


def _webhook_check(secret: str) -> Any:
    """The signed webhook as README documents it: HMAC-SHA256 over "<timestamp>.<body>"."""
    import hashlib
    import hmac
    import json
    import time

    def check(query: Any, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        timestamp = headers.get("X-Koubei-Timestamp", "")
        mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
        given = headers.get("X-Koubei-Signature", "")
        if not hmac.compare_digest("sha256=" + mac.hexdigest(), given):
            return 401, {"code": 401}
        if abs(time.time() - float(timestamp)) > 300:
            return 401, {"code": 401}
        json.loads(body)
        return 200, {"code": 0}

    return check


@pytest.mark.parametrize("status", [307, 308])
def test_a_same_origin_307_or_308_is_followed_with_the_signed_body(
    status, monkeypatch, db_path, servers
):
    # Starlette's redirect_slashes answers POST /hook with 307 to /hook/; 307/308 keep method
    # and body (RFC 9110). Before: the alert failed for good ("HTTP 307: ").
    from koubei.analysis.alerts.channels import build_channels
    from tests.analysis.alerts.conftest import SECRET, webhook_config

    server = PlatformServer(_webhook_check(SECRET))
    servers.append(server)
    server.redirects = {"/hook": (status, "/hook/")}
    channels = build_channels(webhook_config(monkeypatch, f"{server.base}/hook"))
    burst_one(db_path, channels[0])
    report = deliver_pending(db_path, channels, now=_at(1))
    assert len(report.delivered) == 1, notifications(db_path)[0].last_error
    assert server.paths == ["/hook", "/hook/"] and len(server.accepted) == 1


def test_a_redirect_to_another_origin_is_not_followed(monkeypatch, db_path, servers):
    from koubei.analysis.alerts.channels import build_channels
    from tests.analysis.alerts.conftest import SECRET, webhook_config

    elsewhere = PlatformServer(_webhook_check(SECRET))
    server = PlatformServer(_webhook_check(SECRET))
    servers.extend([elsewhere, server])
    server.redirects = {"/hook": (307, f"{elsewhere.base}/hook")}
    channels = build_channels(webhook_config(monkeypatch, f"{server.base}/hook"))
    burst_one(db_path, channels[0])
    deliver_pending(db_path, channels, now=_at(1))
    (row,) = notifications(db_path)
    assert row.status == "failed" and f"redirect to {elsewhere.base}/hook" in str(row.last_error)
    assert elsewhere.paths == []


#: the error page a gateway in front of a chat platform answers with, in GBK (nginx/Tengine
#: pages written on a Chinese Windows machine): no JSON and not even UTF-8
GBK_PAGE = "<html><body><h1>502 网关错误</h1>请稍后再试</body></html>".encode("gbk")


@pytest.mark.parametrize("name", ["dingtalk", "feishu", "wecom"])
@pytest.mark.parametrize("status", [502, 200])
def test_a_gbk_error_page_is_retried_naming_the_channel(
    name, status, servers, monkeypatch, db_path
):
    # Before: reading its code raised UnicodeDecodeError out of send(): `koubei alerts test`
    # ended in a traceback, and the outbox's error named neither the channel nor the HTTP 502.
    from koubei.analysis.alerts.delivery import DeliveryError
    from tests.analysis.alerts.test_channels import payload

    server = PlatformServer(lambda q, h, b: (status, GBK_PAGE))
    servers.append(server)
    channel = build(monkeypatch, PLATFORMS[name], server.base, [(20, 60.0)])
    with pytest.raises(DeliveryError) as info:
        channel.send(payload(), "k")
    assert info.value.retryable is True and info.value.rate_limited is False
    expected = f"HTTP {status}" if status != 200 else "not JSON"
    assert f"{name} channel {name!r}" in str(info.value) and expected in str(info.value)
    burst_one(db_path, channel)
    report = deliver_pending(db_path, [channel], now=_at(1))
    assert len(report.retrying) == 1 and report.failed == []
    (row,) = notifications(db_path)
    assert row.status == "pending" and f"{name} channel {name!r}" in str(row.last_error)


def _retried_naming_the_channel(name, answer, servers, monkeypatch, db_path) -> str:
    """The error ``send()`` raised for a platform's 200 answer ``answer``: retryable, naming the
    channel; the outbox keeps the notification pending. Its text, for the caller's checks."""
    from koubei.analysis.alerts.delivery import DeliveryError
    from tests.analysis.alerts.test_channels import payload

    server = PlatformServer(lambda q, h, b: (200, answer))
    servers.append(server)
    channel = build(monkeypatch, PLATFORMS[name], server.base, [(20, 60.0)])
    with pytest.raises(DeliveryError) as info:
        channel.send(payload(), "k")
    assert info.value.retryable is True and info.value.rate_limited is False
    assert f"{name} channel {name!r}" in str(info.value)
    burst_one(db_path, channel)
    report = deliver_pending(db_path, [channel], now=_at(1))
    assert len(report.retrying) == 1 and report.failed == [] and report.delivered == []
    (row,) = notifications(db_path)
    assert row.status == "pending" and f"{name} channel {name!r}" in str(row.last_error)
    return str(info.value)


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("dingtalk", {"errcode": "abc", "errmsg": "bad gateway"}),
        ("wecom", {"errcode": [1], "errmsg": "?"}),
        ("feishu", {"code": "E500", "msg": "upstream"}),
    ],
)
def test_an_error_code_that_is_no_number_is_retried_naming_the_channel(
    name, answer, servers, monkeypatch, db_path
):
    # A proxy's own JSON in front of the platform: before, int(code) raised ValueError (or
    # TypeError) out of send(), a traceback in `koubei alerts test` naming no channel.
    _retried_naming_the_channel(name, answer, servers, monkeypatch, db_path)


@pytest.mark.parametrize("name", ["dingtalk", "feishu", "wecom"])
@pytest.mark.parametrize("answer", [[], "null", '"ok"', [{"errcode": 0}]])
def test_a_json_answer_that_is_no_object_is_not_taken_as_accepted(
    name, answer, servers, monkeypatch, db_path
):
    # Before: HTTP 200 with `[]` (a proxy's or a stub's answer, never the platform's documented
    # {"errcode": 0, ...} / {"code": 0, ...}) counted as delivered, and nobody was told.
    error = _retried_naming_the_channel(name, answer, servers, monkeypatch, db_path)
    shown = answer if isinstance(answer, str) else json.dumps(answer)
    assert "not the platform's answer" in error and shown in error


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("dingtalk", {}),
        ("dingtalk", {"foo": 1}),
        ("dingtalk", {"StatusCode": 0, "StatusMessage": "success"}),  # Feishu's, not DingTalk's
        ("wecom", {}),
        ("wecom", {"code": 0, "msg": "success"}),  # Feishu's shape, not WeCom's
        ("feishu", {}),
        ("feishu", {"foo": 1}),
        ("feishu", {"msg": "success", "data": {}}),
    ],
)
def test_an_object_without_the_platforms_code_is_not_taken_as_accepted(
    name, answer, servers, monkeypatch, db_path
):
    # Before: HTTP 200 with `{}` (a proxy's, a stub's or a gateway's own JSON; every success the
    # platforms document carries their code, 0) counted as delivered: a missing code read as 0.
    error = _retried_naming_the_channel(name, answer, servers, monkeypatch, db_path)
    assert "not the platform's answer" in error and json.dumps(answer) in error


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("dingtalk", {"errcode": 0, "errmsg": "ok"}),
        ("wecom", {"errcode": 0, "errmsg": "ok"}),
        ("feishu", {"code": 0, "msg": "success", "data": {}}),
        # today's answer, with the fields Feishu keeps "用于兼容存量历史逻辑"
        (
            "feishu",
            {
                "code": 0,
                "msg": "success",
                "data": {},
                "Extra": None,
                "StatusCode": 0,
                "StatusMessage": "success",
            },
        ),
        ("feishu", {"StatusCode": 0, "StatusMessage": "success"}),  # the older answer alone
    ],
)
def test_each_documented_success_answer_is_accepted(name, answer, servers, monkeypatch, db_path):
    assert_accepted_at_once(name, answer, servers, monkeypatch, db_path)


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("dingtalk", {"errcode": "0", "errmsg": "ok"}),
        ("wecom", {"errcode": "0", "errmsg": "ok"}),
        ("feishu", {"code": "0", "msg": "success", "data": {}}),
        ("feishu", {"StatusCode": "0", "StatusMessage": "success"}),
    ],
)
def test_a_code_of_zero_written_as_text_is_accepted(name, answer, servers, monkeypatch, db_path):
    # The platforms document a number (0), and a gateway or proxy that re-serialises the answer
    # may write it as text. Before: "0" is a truthy string, read as an error code: the message
    # failed for good ("errcode 0: ok", no retry), though the platform had accepted it. A code
    # is read as the number it says wherever it is read: "410100" is DingTalk's limit too.
    assert_accepted_at_once(name, answer, servers, monkeypatch, db_path)


def assert_accepted_at_once(name, answer, servers, monkeypatch, db_path, headers=None) -> None:
    """One alert to platform ``name`` whose receiver answers ``answer`` (with ``headers``):
    delivered, in one request (taken at once, not retried)."""
    server = PlatformServer(lambda q, h, b: (200, answer))
    server.headers = dict(headers or {})
    servers.append(server)
    channel = build(monkeypatch, PLATFORMS[name], server.base, [(20, 60.0)])
    burst_one(db_path, channel)
    report = deliver_pending(db_path, [channel], now=_at(1))
    assert len(report.delivered) == 1 and report.retrying == [] and report.failed == []
    assert len(server.answers) == 1


CODE_KEYS = {"dingtalk": "errcode", "wecom": "errcode", "feishu": "code"}


@pytest.mark.parametrize("name", ["dingtalk", "feishu", "wecom"])
@pytest.mark.parametrize(
    "answer",
    [
        b"[" * 100_000 + b"]" * 100_000,  # JSON nested deeper than Python reads
        "code of 5,000 digits",  # a whole number as text, past Python's 4,300-digit limit
    ],
    ids=["nested", "digits"],
)
def test_an_answer_python_cannot_read_as_json_is_retried_naming_the_channel(
    name, answer, servers, monkeypatch, db_path
):
    # Found by fuzzing a 127.0.0.1 receiver (session 36). Before: RecursionError and
    # ValueError ("Exceeds the limit (4300 digits)") out of send(): `koubei alerts test` ended in
    # a traceback, and the outbox's error named no channel.
    if answer == "code of 5,000 digits":
        answer = {CODE_KEYS[name]: "9" * 5000, "errmsg": "?"}
    error = _retried_naming_the_channel(name, answer, servers, monkeypatch, db_path)
    assert "not JSON" in error if isinstance(answer, bytes) else "999" in error


@pytest.mark.parametrize("name", ["dingtalk", "feishu", "wecom"])
def test_a_header_that_is_no_ascii_neither_fails_nor_repeats_a_taken_message(
    name, servers, monkeypatch, db_path
):
    # A proxy's header in Latin-1 (http.server sends it so). Before: rebuilding the answer
    # from its decoded headers raised UnicodeEncodeError out of send(): the message the
    # platform took counted as failed, and was sent again on the next run.
    answer = {"code": 0, "msg": "success"} if name == "feishu" else {"errcode": 0, "errmsg": "ok"}
    headers = {"Retry-After": "bientôt", "X-Served-By": "passerelle-é"}
    assert_accepted_at_once(name, answer, servers, monkeypatch, db_path, headers)


def test_a_retry_after_that_is_no_ascii_is_no_wait_given(servers, monkeypatch):
    # The platform said "too fast" and a wait no one can read: waited out as any limit without
    # a wait (the pacer's backoff), not UnicodeEncodeError out of send() (was).
    from koubei.analysis.alerts.delivery import DeliveryError
    from tests.analysis.alerts.test_channels import payload

    server = PlatformServer(lambda q, h, b: (429, {"code": 99991400, "msg": "frequency limit"}))
    server.headers = {"x-ogw-ratelimit-reset": "bientôt"}
    servers.append(server)
    channel = build(monkeypatch, PLATFORMS["feishu"], server.base, [(20, 60.0)])
    with pytest.raises(DeliveryError) as info:
        channel.send(payload(), "k")
    assert info.value.rate_limited is True and info.value.retry_after is None
    assert "feishu channel 'feishu'" in str(info.value)
