"""WeCom group robot (企业微信群机器人), markdown message.

The robot's key is part of the webhook URL (``.../webhook/send?key=KEY``), which is the only
credential WeCom uses, so ``url_env`` is the secret. Markdown content must be at most 4096 bytes
(UTF-8); @-mention is ``<@userid>`` inside markdown. Limit: 20 messages per minute per robot.
WeCom documents ``@all`` and mobile numbers only for text messages (``mentioned_list``,
``mentioned_mobile_list``); in markdown only ``<@userid>`` mentions anyone, so ``mention_all``
is refused at start-up rather than sent as a ``<@all>`` that pages nobody.
"""

from __future__ import annotations

from typing import Any

import httpx

from koubei.analysis.alerts.channels.base import (
    Channel,
    Request,
    dumps,
    raise_for_errcode,
    register,
)
from koubei.analysis.alerts.channels.text import render_markdown

# WeCom group robot (developer.work.weixin.qq.com/document/path/91770, "消息发送频率限制":
# 每个机器人发送的消息不能超过20条/分钟); over it the answer is errcode 45009 "api freq out of
# limit" (全局错误码). -1 is "系统繁忙", transient.
RATE_LIMITED = {45009}
TRANSIENT = frozenset({-1})
# What a permanent code means for the operator (全局错误码, developer.work.weixin.qq.com/
# document/path/90313; 群机器人配置说明 91770).
HINTS = {
    93000: "invalid webhook url: the robot was removed or url_env holds a wrong key",
    40058: "a field is missing or over its limit (markdown.content is at most 4096 bytes)",
}
MAX_MARKDOWN_BYTES = 4096


@register
class WeComChannel(Channel):
    type_name = "wecom"
    default_rate_limits = ((20, 60.0),)
    max_bytes = MAX_MARKDOWN_BYTES

    def build_request(self, payload: dict[str, Any], idempotency_key: str) -> Request:
        footer = " ".join(f"<@{m}>" for m in self.mentions_for(payload))
        content = render_markdown(payload, self.max_bytes, heading="## ", footer=footer)
        return Request(
            self.secrets["url"], dumps({"msgtype": "markdown", "markdown": {"content": content}})
        )

    def check(self, options: dict[str, Any]) -> list[str]:
        if options["mention_all"]:
            # developer.work.weixin.qq.com/document/path/91770: "text/markdown类型消息支持在
            # content中使用<@userid>扩展语法来@群成员"; "@all" exists only in text's lists.
            return [
                "mention_all: a WeCom markdown message cannot @ everyone, only members by "
                "userid (list them in mentions)"
            ]
        return []

    def check_response(self, response: httpx.Response) -> None:
        raise_for_errcode(
            response,
            code_key="errcode",
            rate_codes=RATE_LIMITED,
            retry_codes=TRANSIENT,
            hints=HINTS,
        )
