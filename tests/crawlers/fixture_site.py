"""A threaded HTTP server on 127.0.0.1 whose routes are plain functions; records every request.

Used by the crawler tests to serve platform-format fixture pages (see ``spiders/pages/``).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGES = Path(__file__).parent / "spiders" / "pages"


@dataclass
class Reply:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def page(
        cls, name: str, content_type: str = "application/json; charset=utf-8", status: int = 200
    ) -> Reply:
        return cls((PAGES / name).read_bytes(), status, content_type)


# A route takes the query, or the query and the request's headers (a conditional request's
# ``If-None-Match``), and answers a Reply; a 304's body is left out, as HTTP has none.
Route = Callable[[dict[str, str]], Reply] | Callable[[dict[str, str], dict[str, str]], Reply]


def _takes_headers(route: Route) -> bool:
    """Whether ``route`` takes the request's headers: a second parameter without a default
    (``lambda q, ct=ct:`` binds a loop's value, it takes none)."""
    required = [
        p
        for p in inspect.signature(route).parameters.values()
        if p.default is inspect.Parameter.empty
    ]
    return len(required) == 2


class FixtureSite:
    def __init__(self, routes: dict[str, Route], robots: str = "User-agent: *\nAllow: /\n") -> None:
        self.routes = {"/robots.txt": lambda q: Reply(robots, 200, "text/plain"), **routes}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.headers: list[dict[str, str]] = []  # request headers, in arrival order
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                site.requests.append((parts.path, query))
                site.headers.append(dict(self.headers.items()))
                route = site.routes.get(parts.path)
                if route is None:
                    reply = Reply(b"not found", 404, "text/plain")
                elif _takes_headers(route):
                    reply = route(query, dict(self.headers.items()))  # type: ignore[call-arg]
                else:
                    reply = route(query)  # type: ignore[call-arg]
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                body = b"" if reply.status == 304 else body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def hits(self, path: str) -> list[dict[str, str]]:
        return [q for p, q in self.requests if p == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
