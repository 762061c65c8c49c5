"""Feishu / Lark custom bot (飞书自定义机器人), interactive card, signed ("签名校验").

As Feishu documents: ``timestamp`` is seconds and ``sign`` is
``base64(HmacSHA256(key="<timestamp>\\n<secret>", msg=""))``, both in the JSON body; Feishu
rejects timestamps more than an hour off. @-mention in card markdown is ``<at id=ou_xxx></at>``
(open_id or user_id), ``<at email=name@example.com></at>`` by e-mail address, and
``<at id=all></at>`` for everyone (Feishu bot FAQ, card markdown at tags). Limits: request
body 20 KB, 100 messages per minute and 5 per second per bot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

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

# Feishu custom bot (open.feishu.cn, "自定义机器人使用指南", 常见问题): 100 requests a minute
# and 5 a second per bot; over it the answer is code 11232 "frequency limited" (11233 for the
# group's limit). 9499 "Bad Request" is a malformed message (e.g. body over 20 KB): retrying
# the same body cannot help, so it is not retried. Feishu's API gateway limits with HTTP 429
# (older APIs: HTTP 400) and code 99991400 "request trigger frequency limit", saying how long
# to wait in x-ogw-ratelimit-reset (open.feishu.cn/document/server-docs/api-call-guide/
# frequency-control).
RATE_LIMITED = {11232, 11233, 99991400}
# 9499 is Feishu's generic answer: "Bad Request" for a malformed message (not retried), and
# "too many request" when the bot is over its 100/min or 5/s: that one is the limit (public
# clients retry it: kubesphere/notification-manager#126).
RATE_MESSAGES = ("too many request", "frequency limit")
# What a permanent code means for the operator ("自定义机器人使用指南", 常见问题 / 安全设置).
HINTS = {
    # {"code":19001,"data":{},"msg":"param invalid: incoming webhook access token invalid"}, the
    # answer recorded in jianghushinian/blog-go-example (test/http, a Feishu webhook client's
    # tests) and logged by sansan0/TrendRadar#278: the token in url_env is wrong, or the bot
    # was removed
    19001: "the webhook's token is invalid: the bot was removed or url_env holds a wrong "
    "webhook URL",
    19021: "sign match fail or timestamp not within one hour: check secret_env (签名校验) "
    "and this host's clock",
    19022: "the sender's IP is not in the bot's IP whitelist (IP 白名单)",
    19024: "the message holds none of the bot's 自定义关键词 (Key Words Not Found)",
    9499: "Feishu could not read the message (malformed JSON or a body over 20 KB)",
}
MAX_BODY_BYTES = 20 * 1024
TEMPLATES = {"critical": "red", "warning": "orange", "info": "blue"}


def sign(secret: str, timestamp: str) -> str:
    """The body's ``sign`` for ``timestamp`` (seconds)."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


@register
class FeishuChannel(Channel):
    type_name = "feishu"

    class Options(ChannelOptions):
        secret_env: str | None = Field(None, description="env var holding the signing secret")

    default_rate_limits = ((100, 60.0), (5, 1.0))
    max_bytes = 18_000  # leaves room for the card's JSON around the markdown

    def build_request(self, payload: dict[str, Any], idempotency_key: str) -> Request:
        mentions = self.mentions_for(payload)
        tags = [f"<at email={m}></at>" if "@" in m else f"<at id={m}></at>" for m in mentions]
        if self.mention_all_for(payload):
            tags.append("<at id=all></at>")
        resolved = payload.get("event") == "resolved"
        template = "green" if resolved else TEMPLATES.get(str(payload.get("severity")), "blue")

        def build(budget: int) -> dict[str, Any]:
            content = render_markdown(payload, budget, heading="", footer=" ".join(tags))
            return {
                "msg_type": "interactive",
                "card": {
                    "config": {"wide_screen_mode": True},
                    "header": {
                        "template": template,
                        "title": {
                            "tag": "plain_text",
                            "content": str(payload.get("title", ""))[:200],
                        },
                    },
                    "elements": [{"tag": "markdown", "content": content}],
                },
            }

        # The 20 KB limit is on the JSON body, where escaping (newlines, quotes) adds bytes;
        # 200 bytes are left for timestamp and sign.
        body = fit_body(build, self.max_bytes, MAX_BODY_BYTES - 200)
        if "secret" in self.secrets:
            timestamp = str(int(time.time()))
            body = {"timestamp": timestamp, "sign": sign(self.secrets["secret"], timestamp), **body}
        return Request(self.secrets["url"], dumps(body))

    def check_response(self, response: httpx.Response) -> None:
        raise_for_errcode(
            response,
            code_key="code",
            older_code_keys=("StatusCode",),  # the older answer's ({"StatusCode": 0, ...})
            rate_codes=RATE_LIMITED,
            message_key="msg",
            rate_messages=RATE_MESSAGES,
            hints=HINTS,
        )
