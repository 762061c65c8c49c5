"""Serve the reports folder over HTTP on loopback (stdlib ``http.server``; pages are static).

Alerts link to ``reports_url`` in ``alerts.yaml``; point it at this server, or at any web server
or object store that publishes ``$KOUBEI_HOME/reports`` to where on-call phones can reach it.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from koubei.analysis.reports.render import reports_dir

__all__ = ["ReportServer", "serve_reports"]


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        # Pages are self-contained and run no script; say so to the browser as well.
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:",
        )
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # access logs would name every page opened; not ours to keep


@dataclass
class ReportServer:
    server: ThreadingHTTPServer
    thread: threading.Thread
    directory: Path

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_reports(
    *, host: str = "127.0.0.1", port: int = 8780, directory: Path | None = None
) -> ReportServer:
    """Start serving ``directory`` (default: the reports folder) in a background thread."""
    root = directory or reports_dir()
    handler = functools.partial(_Handler, directory=str(root))
    server = ThreadingHTTPServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, name="reports", daemon=True)
    thread.start()
    return ReportServer(server, thread, root)
