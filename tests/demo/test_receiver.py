"""The demo webhook receiver: signature and replay checks, idempotency across restarts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from koubei.analysis.alerts.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from koubei.demo.receiver import start_receiver

SECRET = "receiver-secret"


def signed_headers(
    body: bytes, *, secret: str = SECRET, timestamp: float | None = None, key: str = "k-1"
) -> dict[str, str]:
    """Signed as the webhook contract documents, independently of the channel code."""
    import hashlib
    import hmac

    stamp = str(int(timestamp if timestamp is not None else time.time()))
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: f"sha256={mac}", "Idempotency-Key": key}


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, trust_env=False, timeout=5)


def test_accepts_valid_and_rejects_tampered_stale_or_unsigned(tmp_path: Path) -> None:
    body = json.dumps({"brand": "海底捞"}, ensure_ascii=False).encode()
    with start_receiver(SECRET, tmp_path / "r.jsonl") as receiver:
        assert post(receiver.url, body, signed_headers(body)).status_code == 200
        tampered = body.replace("海底捞".encode(), "蜜雪冰城".encode())
        assert post(receiver.url, tampered, signed_headers(body, key="k-2")).status_code == 401
        stale = signed_headers(body, timestamp=time.time() - 3600, key="k-3")
        assert post(receiver.url, body, stale).status_code == 401
        wrong = signed_headers(body, secret="other", key="k-4")
        assert post(receiver.url, body, wrong).status_code == 401
        assert post(receiver.url, body, {"Idempotency-Key": "k-5"}).status_code == 401
        assert receiver.received() == [{"brand": "海底捞"}]
        assert len(receiver.rejected) == 4


def test_same_idempotency_key_is_stored_once_even_after_restart(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    body = b'{"n": 1}'
    with start_receiver(SECRET, out) as receiver:
        assert post(receiver.url, body, signed_headers(body)).json() == {"ok": True}
        again = post(receiver.url, body, signed_headers(body)).json()
        assert again == {"ok": True, "duplicate": True}
    with start_receiver(SECRET, out) as restarted:
        assert post(restarted.url, body, signed_headers(body)).json()["duplicate"] is True
        assert restarted.received() == [{"n": 1}]


def test_fail_first_answers_503_then_accepts(tmp_path: Path) -> None:
    body = b"{}"
    with start_receiver(SECRET, tmp_path / "r.jsonl", fail_first=2) as receiver:
        codes = [post(receiver.url, body, signed_headers(body)).status_code for _ in range(3)]
        assert codes == [503, 503, 200]
        assert receiver.requests == 3 and receiver.received() == [{}]
