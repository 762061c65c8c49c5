"""An HTTP proxy in front of a real node that injects the faults a real node will not on demand.

A real node does not answer 500 on demand, nor pause at a chosen request. The proxy forwards
every request unchanged, except that

- ``plan(method, path, n)`` may turn a request into an error status the proxy answers itself
  (``n`` counts the requests to that path so far);
- ``hold(path_suffix, after_upstream=...)`` holds the next request whose path ends so, either
  before it reaches the node (the client is waiting between two stages) or after the node
  applied it and before the answer goes back (the client is inside a bulk write). ``held`` is
  set while it waits, so a test can SIGKILL the client at exactly that point; ``release`` lets
  it go on.

When the node is down the proxy hangs up without an answer, as the node's own closed port would
look to a client whose connection was accepted. (Written here rather than taken from a library:
nothing small on PyPI both injects statuses by request count and holds one request mid-flight.)
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


class NodeProxy:
    def __init__(self, upstream: str, plan: Plan | None = None) -> None:
        self.upstream = urlsplit(upstream)
        self.plan = plan
        self.injected: Counter[int] = Counter()  # error statuses answered by the proxy
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.held = threading.Event()
        self.release = threading.Event()
        self._seen: Counter[str] = Counter()
        self._armed: tuple[str, bool] | None = None
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, hold_after = proxy._take(self.command, urlsplit(self.path).path)
                if status is not None:
                    error = {"type": "injected_fault", "reason": f"injected HTTP {status}"}
                    self._reply(status, json.dumps({"error": error, "status": status}).encode(), {})
                    return
                if hold_after is False:
                    proxy._wait()
                try:
                    upstream = http.client.HTTPConnection(
                        proxy.upstream.hostname, proxy.upstream.port, timeout=120
                    )
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    upstream.close()
                except OSError:
                    self.close_connection = True  # the node is down: hang up, answer nothing
                    return
                if hold_after is True:
                    proxy._wait()
                try:
                    self._reply(response.status, payload, dict(response.getheaders()))
                except OSError:
                    self.close_connection = True  # the client was killed while we held it

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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def hold(self, path_suffix: str, *, after_upstream: bool) -> None:
        """Hold the next request whose path ends with ``path_suffix`` ("" for any)."""
        with self._lock:
            self.held.clear()
            self.release.clear()
            self._armed = (path_suffix, after_upstream)

    def _take(self, method: str, path: str) -> tuple[int | None, bool | None]:
        """The status to inject (or None), and whether to hold after the node (None: no hold)."""
        with self._lock:
            self.requests.append((method, path))
            self._seen[path] += 1
            status = self.plan(method, path, self._seen[path]) if self.plan else None
            if status is not None:
                self.injected[status] += 1
                return status, None
            if self._armed is None or not path.endswith(self._armed[0]):
                return None, None
            after = self._armed[1]
            self._armed = None
            return None, after

    def _wait(self) -> None:
        self.held.set()
        self.release.wait(timeout=600)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def faulty_proxy(upstream: str, plan: Plan) -> Iterator[tuple[str, Counter[int]]]:
    """Yields the proxy's URL and a counter of the error statuses it injected."""
    proxy = NodeProxy(upstream, plan)
    try:
        yield proxy.url, proxy.injected
    finally:
        proxy.stop()
