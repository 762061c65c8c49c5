"""The demo site (``koubei.demo.site``) with scheduled faults, as a struggling real site gives.

A :class:`Fault` names a page (path and query values) and what its first answers are: a 429
with ``Retry-After``, a 500, a JSON body cut short, a transfer cut off before ``Content-Length``
bytes, GBK bytes declared ``charset=utf-8``, or a captcha page. After its scheduled answers
the page recovers and serves its real content, as a site does once the trouble passes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from koubei.demo.site import DemoApp
from koubei.demo.site_data import build_scenario

CAPTCHA_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>安全验证</title></head><body>"
    "<form action='/verify' method='post'><p>请完成下方验证后继续访问</p>"
    "<div class='nc-container'>拖动滑块完成验证</div></form></body></html>"
).encode()

#: the kinds of answer a :class:`Fault` schedules
KINDS = ("429", "500", "truncated_json", "cut_transfer", "gbk_as_utf8", "captcha")


@dataclass
class Fault:
    path: str
    query: dict[str, str]
    answers: list[str]  # one kind per request, in order; then the real page
    served: list[str] = field(default_factory=list)  # what was answered, in order

    def matches(self, path: str, query: dict[str, str]) -> bool:
        return path == self.path and all(query.get(k) == v for k, v in self.query.items())


class HostileSite:
    """A running site; ``faults`` may be added between cycles (a new outage)."""

    def __init__(self, anchor: datetime, port: int = 0) -> None:
        self.app = DemoApp(build_scenario(anchor))
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                status, content_type, body = site.app.handle(parts.path, query)
                kind = site._next_fault(parts.path, query)
                headers: dict[str, str] = {}
                if kind == "429":
                    status, content_type, body = 429, "application/json", b'{"code":429}'
                    headers["Retry-After"] = "1"
                elif kind == "500":
                    status, content_type, body = 500, "text/html", b"<h1>500 Internal Error</h1>"
                elif kind == "truncated_json":
                    body = body[: len(body) // 2]  # a complete answer of half a document
                elif kind == "gbk_as_utf8":
                    text = body.decode("utf-8")
                    body = text.encode("gb18030")  # the header keeps saying utf-8
                elif kind == "captcha":
                    status, content_type, body = 200, "text/html; charset=utf-8", CAPTCHA_PAGE
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                if kind == "cut_transfer":  # promise the whole body, send a third, hang up
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.app.base_url = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _next_fault(self, path: str, query: dict[str, str]) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(path, query) and len(fault.served) < len(fault.answers):
                    kind = fault.answers[len(fault.served)]
                    fault.served.append(kind)
                    return kind
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def hostile_site(anchor: datetime, port: int = 0) -> Iterator[HostileSite]:
    site = HostileSite(anchor, port)
    try:
        yield site
    finally:
        site.stop()
