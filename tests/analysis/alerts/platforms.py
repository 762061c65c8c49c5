"""Real HTTP servers on 127.0.0.1 that check requests the way each chat platform documents.

They are written from the platforms' documentation, not from our channel code: DingTalk's Java
sample (``URLEncoder.encode(Base64(HmacSHA256(secret, ts + "\\n" + secret)))``, timestamp in ms
within one hour, request body at most 20 000 bytes), Feishu's
(``Base64(HmacSHA256(key=ts + "\\n" + secret, data=""))`` in the body, seconds within one hour,
body at most 20 KB), WeCom's ``key`` query parameter and 4096-byte markdown, and
Slack's Block Kit limits. Each answers like the platform (``errcode``/``code`` bodies).

Rate-limit answers: DingTalk errcode 410100/130101 ("每个机器人每分钟最多发送20条...限流10分钟",
open.dingtalk.com "自定义机器人发送群消息"); WeCom 45009 (developer.work.weixin.qq.com/document/
path/91770); Feishu 11232 for the bot's own 100/min and 5/s ("自定义机器人使用指南"), and, from
Feishu's gateway, HTTP 429 with ``{"code": 99991400, "msg": "request trigger frequency limit"}``
and ``x-ogw-ratelimit-reset`` = seconds to wait (open.feishu.cn/document/server-docs/
api-call-guide/frequency-control: "超过限制阈值时，飞书会返回 HTTP 状态码 429"; older APIs answer
HTTP 400 with the same body); Slack HTTP 429 with ``Retry-After`` (api.slack.com rate limits).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Check = Callable[[dict[str, list[str]], dict[str, str], bytes], tuple[int, Any]]
Answer = tuple[int, Any, dict[str, str]]


class RateLimit:
    """A platform's sliding-window limit: ``limit`` messages per ``per`` seconds per robot.

    Over it the platform answers ``answer`` (and DingTalk keeps refusing for ``penalty``
    seconds: "如果超过20条,会限流10分钟"). Tests scale ``per`` and ``penalty`` down together.
    """

    def __init__(
        self,
        limit: int,
        per: float,
        answer: Answer,
        *,
        penalty: float = 0.0,
        blocked_answer: Answer | None = None,
    ) -> None:
        self.limit, self.per, self.answer, self.penalty = limit, per, answer, penalty
        #: what the platform answers while a penalty runs, if not ``answer`` (DingTalk: 302)
        self.blocked_answer = blocked_answer
        self.accepted_at: list[float] = []
        self.blocked_until = 0.0
        self.refused = 0
        #: requests to refuse whatever the window says (another sender used the budget)
        self.shared_use = 0
        self._lock = threading.Lock()

    def admit(self) -> Answer | None:
        """None if this request may pass (and counts it), else the rate-limit answer."""
        with self._lock:
            now = time.monotonic()
            recent = [t for t in self.accepted_at if t > now - self.per]
            shared = self.shared_use > 0
            self.shared_use -= 1 if shared else 0
            if shared or now < self.blocked_until or len(recent) >= self.limit:
                answer = self.answer
                if now < self.blocked_until and self.blocked_answer is not None:
                    answer = self.blocked_answer
                if now >= self.blocked_until and self.penalty:
                    self.blocked_until = now + self.penalty
                self.refused += 1
                status, body, headers = answer
                # Slack's Retry-After, Feishu's x-ogw-ratelimit-reset: seconds until it frees
                for name in set(headers) & {"Retry-After", "x-ogw-ratelimit-reset"}:
                    wait = max(self.blocked_until, (recent[0] + self.per) if recent else now) - now
                    headers = {**headers, name: f"{max(wait, 0.001):.3f}"}
                return status, body, headers
            self.accepted_at.append(now)
            return None


DINGTALK_TOO_FAST: Answer = (
    200,
    {"errcode": 410100, "errmsg": "send too fast, exceed 20 times per minute"},
    {},
)
# The answer public clients log (blog.csdn.net/jialiuyang/article/details/118615052), and the
# HTTP 302 a throttled robot answers for the next 10 minutes ("如果超过限制，会返回 send too
# fast 错误信息，再发，就直接 302 并限制发送10分钟", m.elefans.com/dongtai/1725725310a1038879.html).
DINGTALK_SEND_TOO_FAST: Answer = (
    200,
    {
        "status": 1111,
        "wait": 5,
        "source": "x5",
        "punish": "deny",
        "errcode": 130101,
        "errmsg": "send too fast, exceed 20 times per minute",
    },
    {},
)
DINGTALK_BLOCKED: Answer = (302, "", {"Location": "https://www.dingtalk.com/"})
WECOM_TOO_FAST: Answer = (200, {"errcode": 45009, "errmsg": "api freq out of limit"}, {})
FEISHU_TOO_FAST: Answer = (200, {"code": 11232, "msg": "frequency limited psm"}, {})
FEISHU_GATEWAY_TOO_FAST: Answer = (
    429,
    {"code": 99991400, "msg": "request trigger frequency limit"},
    {"x-ogw-ratelimit-limit": "100", "x-ogw-ratelimit-reset": "52"},
)
SLACK_TOO_FAST: Answer = (429, "rate_limited", {"Retry-After": "1"})


class PlatformServer:
    def __init__(
        self, check: Check, *, limits: list[RateLimit] | None = None, delay: float = 0.0
    ) -> None:
        self.check = check
        self.limits = list(limits or [])
        self.delay = delay
        self.accepted: list[dict[str, Any]] = []
        self.answers: list[Any] = []
        #: headers sent with every answer (a redirect's Location)
        self.headers: dict[str, str] = {}
        #: path → (status, Location): answered before any check, as a moved receiver does
        self.redirects: dict[str, tuple[int, str]] = {}
        self.paths: list[str] = []
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server_self.paths.append(self.path)
                moved = server_self.redirects.get(urlsplit(self.path).path)
                if moved is not None:
                    self.send_response(moved[0])
                    self.send_header("Location", moved[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                query = parse_qs(urlsplit(self.path).query)
                status, answer = server_self.check(query, dict(self.headers), body)
                extra: dict[str, str] = {}
                if (status == 200 and answer in ("ok", {"errcode": 0, "errmsg": "ok"})) or (
                    isinstance(answer, dict) and answer.get("code") == 0
                ):
                    for limit in server_self.limits:
                        refused = limit.admit()
                        if refused is not None:
                            status, answer, extra = refused
                            break
                server_self.answers.append(answer)
                ok = (status == 200 and answer in ("ok", {"errcode": 0, "errmsg": "ok"})) or (
                    isinstance(answer, dict) and answer.get("code") == 0
                )
                if ok:
                    server_self.accepted.append(json.loads(body))
                if server_self.delay:
                    time.sleep(server_self.delay)  # taken, but answered after the client gave up
                if isinstance(answer, bytes):
                    data = answer  # as they are: a gateway's error page in GBK
                else:
                    data = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
                try:
                    self.send_response(status)
                    for name, value in {**server_self.headers, **extra}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: the message was taken all the same

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def dingtalk_check(access_token: str, secret: str) -> Check:
    def check(query: dict[str, list[str]], headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if query.get("access_token") != [access_token]:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        timestamp = query.get("timestamp", [""])[0]
        given = query.get("sign", [""])[0]  # parse_qs already URL-decoded it
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600_000:
            return 200, {"errcode": 310000, "errmsg": "sign not match, timestamp is invalid"}
        mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
        if not hmac.compare_digest(base64.b64encode(mac.digest()).decode(), given):
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        message = json.loads(body)
        if message.get("msgtype") != "markdown" or not message["markdown"].get("title"):
            return 200, {"errcode": 40035, "errmsg": "missing parameter"}
        if len(body) > 20_000:
            # The answer public clients log (feiyu563/PrometheusAlert#318, timonwong/
            # prometheus-webhook-dingtalk#30): "body 大小不合法;请保持大小在 20000bytes 以内".
            return 200, {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    return check


def feishu_check(secret: str) -> Check:
    def check(query: dict[str, list[str]], headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        message = json.loads(body)
        timestamp = str(message.get("timestamp", ""))
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 3600:
            return 200, {
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour",
            }
        mac = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256)
        if base64.b64encode(mac.digest()).decode() != message.get("sign"):
            return 200, {
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour",
            }
        if len(body) > 20 * 1024:
            return 200, {"code": 9499, "msg": "request body too large"}
        return 200, {"code": 0, "msg": "success", "data": {}}

    return check


def wecom_check(key: str) -> Check:
    def check(query: dict[str, list[str]], headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if query.get("key") != [key]:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        message = json.loads(body)
        content = message.get("markdown", {}).get("content", "")
        if len(content.encode("utf-8")) > 4096:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    return check


def slack_check(path_token: str) -> Check:
    def check(query: dict[str, list[str]], headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        message = json.loads(body)
        blocks = message.get("blocks", [])
        if not message.get("text") or len(blocks) > 50:
            return 400, "invalid_blocks"
        for block in blocks:
            text = block.get("text", {}).get("text", "")
            limit = 150 if block["type"] == "header" else 3000
            if len(text) > limit:
                return 400, "invalid_blocks"
        return 200, "ok"

    return check
