"""The project's own receivers with a schedule of faults for their next requests.

The signed-webhook receiver (``koubei.demo.receiver``) and the DingTalk robot written from
DingTalk's documentation (``tests/analysis/alerts/platforms.py``) answer their next requests as
scheduled: ``refuse`` (webhook: HTTP 503; DingTalk: errcode 410100 "send too fast"), ``fail``
(webhook: HTTP 500; DingTalk: HTTP 502 from its gateway) or ``slow`` (taken, and answered
after ``SLOW`` seconds, later than the channel's timeout). Then they work again.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from koubei.demo.receiver import Receiver
from tests.analysis.alerts.platforms import (
    DINGTALK_TOO_FAST,
    Check,
    PlatformServer,
    dingtalk_check,
)

SLOW = 2.5  # seconds; the channels in the suite time out after 1 s


class ScheduledWebhook(Receiver):
    def __init__(self, secret: str, out_file: Path, schedule: list[str]) -> None:
        self.schedule = list(schedule)
        self.served: list[str] = []
        self._schedule_lock = threading.Lock()
        super().__init__(secret, out_file)

    def _accept(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._schedule_lock:
            kind = self.schedule.pop(0) if self.schedule else "ok"
            self.served.append(kind)
        self.delay = SLOW if kind == "slow" else 0.0
        if kind in ("refuse", "fail"):
            with self._lock:
                self.requests += 1
            return (503, {"error": "busy"}) if kind == "refuse" else (500, {"error": "boom"})
        return super()._accept(headers, body)


class ScheduledDingTalk(PlatformServer):
    def __init__(self, access_token: str, secret: str, schedule: list[str]) -> None:
        self.schedule = list(schedule)
        self.served: list[str] = []
        real: Check = dingtalk_check(access_token, secret)

        def check(query: dict[str, list[str]], headers: dict[str, str], body: bytes) -> Any:
            kind = self.schedule.pop(0) if self.schedule else "ok"
            self.served.append(kind)
            self.delay = SLOW if kind == "slow" else 0.0
            if kind == "refuse":
                return 200, DINGTALK_TOO_FAST[1]
            if kind == "fail":
                return 502, "<html><body>502 Bad Gateway</body></html>"
            return real(query, headers, body)

        super().__init__(check)
