"""A real webhook receiver on 127.0.0.1 for tests and the demo.

It does what a careful production receiver does with the generic webhook: recomputes the
``X-Koubei-Signature`` HMAC over the raw body, rejects stale or future timestamps (replay),
de-duplicates on ``Idempotency-Key`` (also across restarts, from its JSONL file) and appends
each accepted payload to that file. ``fail_first`` answers the first N requests with 503 and
``delay`` answers late (after storing), to exercise retries and timeouts.

Run standalone: ``python -m koubei.demo.receiver --out var/receiver.jsonl --port 8765`` with the
secret in ``$KOUBEI_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from koubei.analysis.alerts.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

IDEMPOTENCY_HEADER = "Idempotency-Key"


class Receiver:
    """A running receiver; ``url`` to post to, ``received()`` for what it accepted."""

    def __init__(
        self,
        secret: str,
        out_file: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        fail_first: int = 0,
        delay: float = 0.0,
        tolerance: float = 300.0,
    ) -> None:
        self.secret = secret
        self.host = host
        self.out_file = Path(out_file)
        self.fail_first = fail_first
        self.delay = delay
        self.tolerance = tolerance
        self.requests = 0  # every POST, including rejected and failed ones
        self.rejected: list[str] = []  # reasons for 401s
        self.duplicates = 0
        self._lock = threading.Lock()
        self._seen = {r["idempotency_key"] for r in self.records()}
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def records(self) -> list[dict[str, Any]]:
        """Accepted deliveries: ``{"idempotency_key", "received_at", "payload"}``."""
        if not self.out_file.exists():
            return []
        with open(self.out_file, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def received(self) -> list[dict[str, Any]]:
        """The accepted payloads, in arrival order, each once."""
        return [r["payload"] for r in self.records()]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            if self.requests <= self.fail_first:
                return 503, {"error": "failing on purpose"}
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not verify(self.secret, timestamp, body, signature, tolerance=self.tolerance):
            with self._lock:
                self.rejected.append("bad signature or stale timestamp")
            return 401, {"error": "bad signature or stale timestamp"}
        key = headers.get(IDEMPOTENCY_HEADER)
        if not key:
            return 400, {"error": f"missing {IDEMPOTENCY_HEADER}"}
        with self._lock:
            if key in self._seen:
                self.duplicates += 1
                return 200, {"ok": True, "duplicate": True}
            record = {
                "idempotency_key": key,
                "received_at": time.time(),
                "payload": json.loads(body),
            }
            self.out_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.out_file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            self._seen.add(key)
        return 200, {"ok": True}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = receiver._accept(self.headers, body)
                if receiver.delay:
                    time.sleep(receiver.delay)  # stored, but the answer comes late
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting; it will retry with the same key

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def start_receiver(
    secret: str,
    out_file: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    fail_first: int = 0,
    delay: float = 0.0,
    tolerance: float = 300.0,
) -> Receiver:
    """Start a receiver in a background thread; ``port=0`` picks a free port."""
    return Receiver(secret, out_file, host, port, fail_first, delay, tolerance)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret-env", default="KOUBEI_WEBHOOK_SECRET")
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args(argv)
    secret = os.environ.get(args.secret_env)
    if not secret:
        print(f"set {args.secret_env} to the webhook secret", file=sys.stderr)
        return 2
    receiver = start_receiver(secret, args.out, port=args.port, fail_first=args.fail_first)
    print(receiver.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
