"""A pass-through proxy in front of the Elasticsearch node that can hold one request.

``hold(path_suffix, after_upstream)`` arms it: the next request whose path ends so is held,
either before it reaches the node (the run is waiting on Elasticsearch between two stages) or
after the node applied it and before the answer goes back (the run is inside a bulk write).
``held`` is set while it waits, so a test can SIGKILL the run at exactly that point; ``release``
lets it go on. When the node is down the proxy hangs up without an answer, as the node's own
closed port would look to the client after a connection was accepted.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection"}


class HoldingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.held = threading.Event()
        self.release = threading.Event()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self._armed: tuple[str, bool] | None = None
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlsplit(self.path).path
                hold_after = proxy._take(self.command, path)
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
                    self.send_response(response.status)
                    for name, value in response.getheaders():
                        if name.lower() not in _HOP_BY_HOP:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    self.close_connection = True  # the client was killed while we held it

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

    def _take(self, method: str, path: str) -> bool | None:
        with self._lock:
            self.requests.append((method, path))
            if self._armed is None or not path.endswith(self._armed[0]):
                return None
            after = self._armed[1]
            self._armed = None
            return after

    def _wait(self) -> None:
        self.held.set()
        self.release.wait(timeout=600)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
