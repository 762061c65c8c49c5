"""An HTTP proxy in front of a real node that answers chosen requests with an error itself.

A real node does not answer 500 on demand; this proxy forwards every request to it unchanged
except those ``plan(method, path, n)`` turns into an error status (``n`` counts the requests
to that path so far).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Plan = Callable[[str, str, int], int | None]
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "content-type",
               "x-elastic-product"}  # fmt: skip


@contextmanager
def faulty_proxy(upstream: str, plan: Plan) -> Iterator[tuple[str, Counter[int]]]:
    """Yields the proxy's URL and a counter of the error statuses it injected."""
    target = urlsplit(upstream)
    seen: Counter[str] = Counter()
    injected: Counter[int] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urlsplit(self.path).path
            with lock:
                seen[path] += 1
                status = plan(self.command, path, seen[path])
                if status is not None:
                    injected[status] += 1
            if status is not None:
                error = {"type": "injected_fault", "reason": f"injected HTTP {status}"}
                self._reply(status, json.dumps({"error": error, "status": status}).encode(), {})
                return
            upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            upstream_conn.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream_conn.getresponse()
            payload = response.read()
            upstream_conn.close()
            self._reply(response.status, payload, dict(response.getheaders()))

        def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            lower = {name.lower(): value for name, value in headers.items()}
            for name, value in lower.items():
                if name not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Type", lower.get("content-type", "application/json"))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", injected
    finally:
        server.shutdown()
        server.server_close()
