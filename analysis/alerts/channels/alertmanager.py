"""Prometheus Alertmanager, API v2: ``POST <url>/api/v2/alerts``.

An alert is identified by its label set, so labels hold only what is stable for an incident
(``alertname``, ``brand``, ``group``, ``severity``, ``incident`` = the dedup key); everything
else goes into annotations. A firing alert gets ``endsAt`` = now + ``ttl`` (re-notify keeps it
alive); a resolved one gets ``endsAt`` = resolve time, which resolves it in Alertmanager. When the
severity went up, the alert with the old severity label is ended in the same request.
``startsAt`` is never after ``endsAt`` (the API answers 400 to the whole request otherwise).
Alertmanager routes and @-mentions itself, so ``mentions`` are not used here.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

import httpx
from pydantic import Field, field_validator

from koubei.analysis.alerts.channels.base import (
    Channel,
    ChannelOptions,
    Request,
    dumps,
    raise_for_http,
    register,
)
from koubei.analysis.alerts.delivery import DeliveryError
from koubei.analysis.alerts.payload import SEVERITY_RANK, iso
from koubei.config import parse_duration, positive_duration
from koubei.crawlers.timeparse import parse_iso

API_PATH = "/api/v2/alerts"
#: label names Alertmanager accepts (prometheus.io/docs/concepts/data_model: "Label names ...
#: must match the regex [a-zA-Z_][a-zA-Z0-9_]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
#: labels every alert gets from the incident; a static label cannot override them
OWN_LABELS = frozenset({"alertname", "brand", "group", "severity", "incident"})
TEST_TTL = 300


@register
class AlertmanagerChannel(Channel):
    type_name = "alertmanager"

    class Options(ChannelOptions):
        alertname: str = Field("KoubeiBrandCrisis", description="the alertname label")
        ttl: str | int = Field("24h", description="endsAt of a firing alert is now + ttl")
        labels: dict[str, str] = Field(default_factory=dict, description="static labels")
        secret_env: str | None = Field(None, description="env var holding a bearer token")

        @field_validator("ttl")
        @classmethod
        def _ttl(cls, value: str | int) -> str | int:
            # endsAt = now + ttl: at 0 (or -60, a bare number once taken) every alert had
            # ended as it was sent, and Alertmanager showed it resolved
            positive_duration(value, "would end every alert as it is sent", "24h")
            return value

        @field_validator("labels")
        @classmethod
        def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
            # Alertmanager answers 400 "invalid label set: invalid name" to every alert whose
            # label name is not [a-zA-Z_][a-zA-Z0-9_]* (Prometheus data model), and a 400 is
            # not retried: refuse it at start-up rather than lose every alert at send time.
            for name in value:
                if not LABEL_NAME.fullmatch(name):
                    raise ValueError(
                        f"label name {name!r} is not letters, digits and _ "
                        "(not starting with a digit), which Alertmanager requires"
                    )
                if name in OWN_LABELS:
                    raise ValueError(f"label {name!r} is set by koubei for each alert")
            return value

    def _labels(self, payload: dict[str, Any], severity: str) -> dict[str, str]:
        labels = {str(k): str(v) for k, v in self.options["labels"].items()}
        labels.update(
            alertname=str(self.options["alertname"]),
            brand=str(payload.get("brand")),
            group=str(payload.get("group", "crisis")),
            severity=severity,
            incident=str(payload.get("dedup_key")),
        )
        return labels

    def build_request(self, payload: dict[str, Any], idempotency_key: str) -> Request:
        # The wall clock, not koubei's (KOUBEI_NOW may stop it): Alertmanager compares endsAt
        # with its own clock.
        now = time.time()
        annotations = {
            "summary": str(payload.get("title", "")),
            "description": "; ".join(payload.get("reasons") or []) or str(payload.get("title")),
        }
        for key in (
            "observed",
            "expected",
            "negative_share",
            "score",
            "kibana_url",
            "report_url",
            "resumed_after",  # a reopened incident: when it was said to be over
        ):
            if payload.get(key) is not None:
                annotations[key] = str(payload[key])
        for key in ("negative_share_window", "observed_window"):  # what each figure covers
            span = payload.get(key) or {}
            if span.get("start") and span.get("end"):
                annotations[key] = f"{span['start']}/{span['end']}"
        if payload.get("observed_counts"):
            annotations["observed_counts"] = str(payload["observed_counts"])
        if payload.get("top_posts"):
            first = payload["top_posts"][0]
            annotations["top_post"] = str(first.get("url") or first.get("text", ""))[:500]
        if payload.get("event") == "resolved" or payload.get("status") == "resolved":
            # Never in the future: Alertmanager would keep it active until then.
            resolved = payload.get("resolved_at")
            ends = resolved if resolved and parse_time(resolved).timestamp() <= now else iso(now)
        elif payload.get("event") == "test":
            ends = iso(now + TEST_TTL)  # a test shows up, then goes away by itself
        else:
            ends = iso(now + parse_duration(self.options["ttl"]))
        starts = payload.get("started_at") or iso(now)
        alert: dict[str, Any] = {
            "labels": self._labels(payload, str(payload.get("severity"))),
            "annotations": annotations,
            "startsAt": starts,
            "endsAt": ends,
        }
        kibana = str(payload.get("kibana_url", ""))
        if kibana.startswith(("http://", "https://")):
            alert["generatorURL"] = kibana
        alerts = [alert]
        previous = payload.get("previous_severity")
        if alert["endsAt"] == ends and payload.get("event") == "resolved":
            # The severity is a label, and the update that moved it may have been superseded
            # while Alertmanager was unreachable: end the alert under every severity it could
            # carry, or a stale one stays active until its TTL. Ending an unknown alert is a
            # no-op for Alertmanager (a resolved alert that never fired notifies nobody).
            for other in SEVERITY_RANK:
                if other != payload.get("severity"):
                    alerts.append({**alert, "labels": self._labels(payload, other)})
        elif previous and previous != payload.get("severity"):
            alerts.append(
                {
                    "labels": self._labels(payload, str(previous)),
                    "annotations": annotations,
                    "startsAt": starts,
                    "endsAt": iso(now),
                }
            )
        for each in alerts:
            each["startsAt"] = not_after(each["startsAt"], each["endsAt"])
        headers = {}
        if "secret" in self.secrets:
            headers["Authorization"] = f"Bearer {self.secrets['secret']}"
        return Request(alerts_url(self.secrets["url"]), dumps(alerts), headers)

    def check_response(self, response: httpx.Response) -> None:
        try:
            raise_for_http(response)
        except DeliveryError as exc:
            hint = HINTS.get(response.status_code)
            if hint is None or exc.retryable:
                raise
            raise DeliveryError(f"{exc} — {hint}", retryable=False) from None


#: what a permanent answer of ``POST /api/v2/alerts`` means for the operator (Alertmanager's
#: OpenAPI spec, api/v2/openapi.yaml: 200 "Create alerts response", 400 "Bad request" with the
#: reason as a JSON string; 401/403 from an authenticating proxy in front of it)
HINTS = {
    400: "Alertmanager refused the alert (the reason above)",
    401: "the proxy in front of Alertmanager wants credentials: check secret_env",
    403: "the proxy in front of Alertmanager refused the credentials: check secret_env",
    404: "no Alertmanager API at this address: url_env must be Alertmanager's base URL "
    "(http://host:9093, or its --web.route-prefix)",
    405: "no Alertmanager API at this address: url_env must be Alertmanager's base URL "
    "(http://host:9093, or its --web.route-prefix)",
}


def alerts_url(base: str) -> str:
    """``<base>/api/v2/alerts``; a ``url_env`` that already ends in the API path is kept.

    Alertmanager's docs and most examples give the full ``http://host:9093/api/v2/alerts``:
    appending the path again posted to ``/api/v2/alerts/api/v2/alerts``, answered 404 and not
    retried, so every alert was lost.
    """
    url = httpx.URL(base.strip())
    path = url.path.rstrip("/")
    if path.endswith(API_PATH):
        path = path[: -len(API_PATH)]
    return str(url.copy_with(path=path + API_PATH))


def not_after(starts: str, ends: str) -> str:
    """``starts``, or ``ends`` if that is earlier.

    Alertmanager refuses a whole request holding an alert that ends before it starts (API v2:
    HTTP 400 "start time must be before end time"), and a 400 is not retried. The onset is
    data time (a site's clock, a replay) and may be ahead of the wall clock that sets endsAt.
    """
    return ends if parse_time(ends) < parse_time(starts) else starts


def parse_time(text: str) -> datetime:
    """Alertmanager's RFC 3339 times (``Z`` or offset, up to nanoseconds) as aware datetimes."""
    return parse_iso(text)
