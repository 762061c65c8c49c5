"""Generic JSON webhook, signed against tampering and replay.

Headers: ``X-Koubei-Timestamp`` (unix seconds) and ``X-Koubei-Signature: sha256=<hex>`` where
hex is HMAC-SHA256 with the shared secret over ``"<timestamp>.<body>"`` (the Stripe/Slack
scheme), plus ``Idempotency-Key``. A receiver recomputes the HMAC over the raw body, compares in
constant time and rejects timestamps older than a few minutes (see ``demo/receiver.py``).

Answers (``base.raise_for_http``): 2xx delivered; 408, 425, 429 and 5xx retried (429 waits
``Retry-After`` and is no failed attempt); other 4xx fail for good. A 307/308 to the same
scheme, host and port is followed with the same signed body; any other redirect fails naming
its ``Location``. A read timeout, or the server closing without an answer, is an unknown
outcome: re-sent once with the same ``Idempotency-Key`` (and ``"repeat": true``); a refused or
reset connection is retried as not delivered (same key, so a receiver that did take it
de-duplicates).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from pydantic import Field

from koubei.analysis.alerts.channels.base import (
    Channel,
    ChannelOptions,
    Request,
    dumps,
    register,
)
from koubei.analysis.alerts.channels.text import truncate_utf8

TIMESTAMP_HEADER = "X-Koubei-Timestamp"
SIGNATURE_HEADER = "X-Koubei-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """Receiver side: the signature matches and the timestamp is within ``tolerance`` seconds."""
    try:
        age = abs((now or time.time()) - float(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def shrink(payload: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """Drop evidence from the end of lists until the JSON fits; mark what was cut."""
    out = dict(payload)
    order = [
        "pictures",
        "coordination",
        "detections",
        "top_posts",
        "key_accounts",
        "themes",
        "spread_path",
        "summary",
        "reasons",
    ]
    while len(dumps(out)) > max_bytes:
        key = next((k for k in order if out.get(k)), None)
        if key is None:
            break
        value = out[key]
        out[key] = value[:-1] if isinstance(value, list) and len(value) > 1 else None
        if out[key] is None:
            del out[key]
        out["truncated"] = True
    for key in ("summary", "spread_path"):
        if isinstance(out.get(key), str):
            out[key] = truncate_utf8(out[key], max_bytes // 4)
    return out


@register
class WebhookChannel(Channel):
    type_name = "webhook"

    class Options(ChannelOptions):
        secret_env: str = Field(description="env var holding the HMAC secret")
        max_bytes: int = Field(256_000, gt=1000, description="largest JSON body to send")

    def build_request(self, payload: dict[str, Any], idempotency_key: str) -> Request:
        body = dumps(
            {
                **shrink(payload, int(self.options["max_bytes"])),
                "mentions": self.mentions_for(payload),
            }
        )
        timestamp = str(int(time.time()))
        return Request(
            self.secrets["url"],
            body,
            {
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(self.secrets["secret"], timestamp, body),
            },
        )
