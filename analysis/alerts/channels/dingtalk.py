"""DingTalk custom robot (钉钉自定义机器人), markdown message, signed ("加签").

As DingTalk documents: ``timestamp`` is milliseconds, ``sign`` is
``urlEncode(base64(HmacSHA256(key=secret, msg="<timestamp>\\n<secret>")))``, both appended to
the webhook URL as query parameters; DingTalk rejects a timestamp more than an hour off.
@-mentions go in ``at.atMobiles`` / ``at.atUserIds`` and as ``@<id>`` in the text. Limits: 20
messages per minute per robot (每个机器人每分钟最多发送20条; beyond it errcode 410100 and
10 minutes of throttling), 20 000 bytes of request body (errcode 460101 beyond).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote_plus

import httpx
from pydantic import Field

from koubei.analysis.alerts.channels.base import (
    Channel,
    ChannelOptions,
    Request,
    dumps,
    fit_body,
    raise_for_errcode,
    register,
)
from koubei.analysis.alerts.channels.text import render_markdown
from koubei.analysis.alerts.delivery import DeliveryError

# DingTalk custom robot error codes (open.dingtalk.com, "自定义机器人发送群消息", 错误码):
# 410100 "发送速度太快而限流" (over 20 messages a minute per robot; the robot is then throttled
# for 10 minutes), 130101 "send too fast, exceed 20 times per minute" (the answer public
# clients log, with "punish":"deny"; blog.csdn.net/jialiuyang/article/details/118615052),
# Any other code whose errmsg says the same ("too fast", 限流, 太快) is taken as the limit too:
# errmsg texts change, and retrying a limit late costs less than losing the alert. -1 "系统繁忙".
RATE_LIMITED = {410100, 130101}
RATE_MESSAGES = ("too fast", "限流", "太快")
TRANSIENT = frozenset({-1})
# What a permanent code means for the operator (which setting to fix).
HINTS = {
    310000: "the robot's 安全设置 refused it: a 自定义关键词 missing from the message, "
    "the sender's IP not in the robot's IP whitelist, or a wrong 加签 secret/timestamp "
    "(check secret_env and the robot's security settings)",
    300001: "the access_token does not exist: the robot was removed or url_env holds a wrong "
    "webhook URL",
    400102: "the robot is disabled (机器人已停用)",
    460101: "the message is over 20 000 bytes",
}
# Over 20 000 bytes of request body DingTalk answers errcode 460101 "message too long, exceed
# 20000 bytes" / "body 大小不合法;请保持大小在 20000bytes 以内" (as public clients log it:
# feiyu563/PrometheusAlert#318, timonwong/prometheus-webhook-dingtalk#30); the limit is on the
# JSON body, escapes included, so the text is fitted to the body.
MAX_BODY_BYTES = 20_000


def sign(secret: str, timestamp_ms: str) -> str:
    """The URL-encoded ``sign`` query parameter for ``timestamp_ms``."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


@register
class DingTalkChannel(Channel):
    type_name = "dingtalk"

    class Options(ChannelOptions):
        secret_env: str | None = Field(None, description="env var holding the SEC... secret")

    default_rate_limits = ((20, 60.0),)
    max_bytes = 19_000

    def build_request(self, payload: dict[str, Any], idempotency_key: str) -> Request:
        mentions = self.mentions_for(payload)
        at_all = self.mention_all_for(payload)
        footer = " ".join(f"@{m}" for m in mentions) + (" @所有人" if at_all else "")

        def build(budget: int) -> dict[str, Any]:
            return {
                "msgtype": "markdown",
                "markdown": {
                    "title": str(payload.get("title", "koubei alert"))[:64],
                    "text": render_markdown(payload, budget, footer=footer.strip()),
                },
                "at": {
                    "atMobiles": [m for m in mentions if m.isdigit()],
                    "atUserIds": [m for m in mentions if not m.isdigit()],
                    "isAtAll": at_all,
                },
            }

        body = fit_body(build, self.max_bytes, MAX_BODY_BYTES)
        url = self.secrets["url"]
        if "secret" in self.secrets:
            timestamp = str(int(time.time() * 1000))
            joiner = "&" if "?" in url else "?"
            signature = sign(self.secrets["secret"], timestamp)
            url = f"{url}{joiner}timestamp={timestamp}&sign={signature}"
        return Request(url, dumps(body))

    def check_response(self, response: httpx.Response) -> None:
        if 300 <= response.status_code < 400:
            # A robot that has just gone over its limit answers "send too fast" once, and then
            # HTTP 302 to every message for the 10 minutes it is throttled ("如果超过限制，会返回
            # send too fast 错误信息，再发，就直接 302 并限制发送10分钟",
            # m.elefans.com/dongtai/1725725310a1038879.html): the limit, not a wrong URL.
            raise DeliveryError(
                f"HTTP {response.status_code}: the robot is throttled after going over 20 "
                "messages a minute (DingTalk blocks it for 10 minutes)",
                retryable=True,
                rate_limited=True,
            )
        raise_for_errcode(
            response,
            code_key="errcode",
            rate_codes=RATE_LIMITED,
            retry_codes=TRANSIENT,
            rate_messages=RATE_MESSAGES,
            hints=HINTS,
        )
