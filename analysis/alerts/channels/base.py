"""The ``Channel`` base class and registry: one subclass per platform, picked by ``type``.

Each class declares its options as one pydantic model (``Options``); construction validates
them and reports every problem at once as a :class:`koubei.config.ConfigError` naming the file and
``channels[i].options.<name>``. Secrets are read from the environment variables the options
name (``url_env``, ``secret_env``) at construction, so a missing one, a URL httpx cannot send
to (:func:`url_problem`) or a secret with a newline or a space at an end
(:func:`secret_problem`) fails at start-up, not at 3 a.m. Sending is synchronous HTTP;
failures become :class:`DeliveryError` for the outbox.
"""

from __future__ import annotations

import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from koubei import paths
from koubei.analysis.alerts.delivery import MAX_DELAY, DeliveryError
from koubei.config import ChannelConfig, ConfigError, secret

IDEMPOTENCY_HEADER = "Idempotency-Key"
CHANNEL_TYPES: dict[str, type[Channel]] = {}


@dataclass
class Request:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class ChannelOptions(BaseModel):
    """Options every channel takes; a channel class subclasses this as its ``Options``.

    One pydantic model per class is the only validator: unknown names, wrong types and values
    outside a choice (``mention_min_severity: critcal``) are errors naming the field, never a
    silent fallback. ``*_env`` fields name environment variables holding secrets.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    url_env: str = Field(description="env var holding the endpoint URL")
    timeout: float = Field(10.0, gt=0, description="seconds for a request and its whole answer")
    rate_per_minute: int | None = Field(None, gt=0, description="override messages per minute")
    rate_limits: list[str] | None = Field(
        None, description="override the platform's limits: ['20/1m', '5/1s'], all hold"
    )
    mentions: list[str | int] = Field(default_factory=list, description="ids/mobiles to @")
    mention_all: bool = Field(False, description="@all where the platform supports it")
    mention_min_severity: Literal["info", "warning", "critical"] = Field(
        "critical", description="mention only at or above this severity"
    )
    proxy_env: str | None = Field(None, description="env var holding an HTTP proxy URL")

    @field_validator("rate_limits")
    @classmethod
    def _rates(cls, value: list[str] | None) -> list[str] | None:
        for rate in value or []:
            parse_rate(rate)
        return value


#: ``*_env`` options whose value must be an http(s) URL once read from the environment
URL_SECRETS = ("url", "proxy")


def register(cls: type[Channel]) -> type[Channel]:
    """Class decorator: make ``cls`` available as ``type: <cls.type_name>`` in alerts.yaml."""
    CHANNEL_TYPES[cls.type_name] = cls
    return cls


class Channel(ABC):
    """A notification channel built from one ``channels[i]`` entry of ``config/alerts.yaml``."""

    type_name: ClassVar[str]
    Options: ClassVar[type[ChannelOptions]] = ChannelOptions
    #: the platform's limits as (messages, per seconds); the outbox defers sends beyond them
    default_rate_limits: ClassVar[tuple[tuple[int, float], ...]] = ()
    #: request body budget in bytes for the rendered message
    max_bytes: ClassVar[int] = 20_000

    def __init__(
        self, config: ChannelConfig, *, index: int = 0, config_file: Path | str | None = None
    ) -> None:
        self.config = config
        self.name = config.name
        self.enabled = config.enabled
        self.min_severity = config.min_severity
        self.config_file = str(config_file or paths.CONFIG_DIR / "alerts.yaml")
        self.field = f"channels[{index}].options"
        self.options, self.secrets = self._validate(config.options)
        per_minute = self.options.get("rate_per_minute")
        self.rate_limits: tuple[tuple[int, float], ...] = self.default_rate_limits
        if self.options.get("rate_limits"):
            self.rate_limits = tuple(parse_rate(r) for r in self.options["rate_limits"])
        elif per_minute:
            self.rate_limits = ((int(per_minute), 60.0),)

    @property
    def timeout(self) -> float:
        return float(self.options["timeout"])

    def _validate(self, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        where = f"{self.config_file}: {self.field}"
        problems: list[str] = []
        options: dict[str, Any] = {}
        try:
            options = self.Options.model_validate(raw).model_dump()
        except ValidationError as exc:
            for error in exc.errors():
                name = ".".join(str(part) for part in error["loc"])
                message = error["msg"]
                if error["type"] == "missing":
                    field_info = self.Options.model_fields.get(str(error["loc"][0]))
                    help_text = field_info.description if field_info else ""
                    message = f"required option is missing ({help_text})"
                elif error["type"] == "extra_forbidden":
                    known = ", ".join(sorted(self.Options.model_fields))
                    message = f"unknown option for channel type {self.type_name!r} (known: {known})"
                problems.append(f"{where}.{name}: {message}")
        secrets: dict[str, str] = {}
        # Secrets are checked even when other options are wrong: every problem in one go.
        for name, value in (options or raw).items():
            if not name.endswith("_env") or not isinstance(value, str):
                continue
            key = name.removesuffix("_env")
            try:
                secrets[key] = secret(value, file=self.config_file, field=f"{self.field}.{name}")
            except ConfigError as exc:
                problems.append(str(exc))
                continue
            value_problem = url_problem if key in URL_SECRETS else secret_problem
            wrong = value_problem(secrets[key])
            if wrong:
                # Fails at start-up, naming the channel and the variable, instead of at 3 a.m.
                problems.append(
                    f"{where}.{name}: environment variable {value} of channel {self.name!r} {wrong}"
                )
        if options:
            problems += [f"{where}.{p}" for p in self.check(options)]
        if problems:
            raise ConfigError("\n".join(problems))
        return options, secrets

    def check(self, options: dict[str, Any]) -> list[str]:
        """Extra per-class checks; return ``"<option>: problem"`` strings."""
        return []

    # --- sending -------------------------------------------------------------------------------

    def pages(self, payload: dict[str, Any]) -> bool:
        """Whether this payload @-mentions anyone: at or above ``mention_min_severity``, and
        never for tests and resolves."""
        from koubei.analysis.alerts.payload import SEVERITY_RANK

        if payload.get("event") in ("resolved", "test"):
            return False
        floor = SEVERITY_RANK.get(str(self.options["mention_min_severity"]), 2)
        return SEVERITY_RANK.get(str(payload.get("severity")), 0) >= floor

    def mention_all_for(self, payload: dict[str, Any]) -> bool:
        """``mention_all`` for this payload; it needs no individual ``mentions`` beside it."""
        return bool(self.options["mention_all"]) and self.pages(payload)

    def mentions_for(self, payload: dict[str, Any]) -> list[str]:
        """The on-call ids to @-mention for this payload (none for info, tests and resolves)."""
        if not self.pages(payload):
            return []
        extra = payload.get("route_mentions") or []  # the matching route's on-call people
        return list(dict.fromkeys(str(m) for m in [*self.options["mentions"], *extra]))

    @abstractmethod
    def build_request(self, payload: dict[str, Any], idempotency_key: str) -> Request:
        """The platform's HTTP request for ``payload`` (URL, signed body and headers)."""

    def check_response(self, response: httpx.Response) -> None:
        """Raise :class:`DeliveryError` unless the platform accepted the message."""
        raise_for_http(response)

    def _http(self) -> httpx.Client:
        """One client per channel, reused: a burst of 30 messages opens one connection pool."""
        client: httpx.Client | None = getattr(self, "_client", None)
        if client is None:
            client = httpx.Client(
                timeout=self.timeout, trust_env=False, proxy=self.secrets.get("proxy")
            )
            self._client = client
        return client

    def send(
        self, payload: dict[str, Any], idempotency_key: str, *, timeout: float | None = None
    ) -> None:
        """Build, sign and POST one message; raises :class:`DeliveryError` on failure.

        A read or write timeout, or an answer not complete within the timeout
        (:func:`post_within`), means the request went out and the answer did not come back:
        the message may have arrived (``unknown_outcome``), unlike a refused connection.
        """
        request = self.build_request(valid_unicode(payload), idempotency_key)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: idempotency_key,
            **request.headers,
        }
        try:
            try:
                url = request.url
                for _ in range(MAX_REDIRECTS + 1):
                    response = post_within(
                        self._http(), url, request.body, headers, timeout or self.timeout
                    )
                    moved = same_origin_redirect(response, url)
                    if moved is None:
                        break
                    url = moved
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError) as exc:
                raise DeliveryError(
                    f"{type(exc).__name__}: {exc}", retryable=True, unknown_outcome=True
                ) from exc
            except httpx.HTTPError as exc:
                raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
            self.check_response(response)
        except DeliveryError as exc:
            # What on-call staff read in `koubei alerts status` and the log: which channel, of
            # which platform, and the platform's own code.
            raise exc.named(f"{self.type_name} channel {self.name!r}") from exc.__cause__


#: 307/308 hops followed per send (same origin only)
MAX_REDIRECTS = 3
#: the most of an answer read: platforms answer a few hundred bytes of JSON, an error page a
#: few kilobytes; the rest of a larger one is dropped unread
MAX_ANSWER_BYTES = 1 << 20
#: headers that describe the body as it came over the wire, not as it was read
_WIRE_HEADERS = (b"content-encoding", b"content-length", b"transfer-encoding")


def post_within(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], timeout: float
) -> httpx.Response:
    """POST ``body`` and read at most :data:`MAX_ANSWER_BYTES` of the answer, all within
    ``timeout`` seconds of reading it (else :class:`httpx.ReadTimeout`).

    httpx's timeout bounds each read from the socket, not the answer: a receiver or a proxy
    that trickles its answer (a byte every few seconds, keep-alive padding, a chunked stream
    that never ends) held the send, and with it the delivery run and the pipeline lock of the
    cycle, for as long as it kept trickling.
    """
    deadline = time.monotonic() + timeout
    with client.stream("POST", url, content=body, headers=headers, timeout=timeout) as answer:
        content = bytearray()
        for chunk in answer.iter_bytes():
            content += chunk
            if len(content) >= MAX_ANSWER_BYTES:
                break
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(
                    f"the answer was not complete {timeout:g} s after the request",
                    request=answer.request,
                )
        # the raw bytes: a header value that is no ASCII (a proxy's ``Retry-After: 稍后``)
        # decoded to text could not be encoded again, UnicodeEncodeError out of send()
        kept = [(k, v) for k, v in answer.headers.raw if k.lower() not in _WIRE_HEADERS]
        return httpx.Response(
            answer.status_code,
            headers=kept,
            content=bytes(content[:MAX_ANSWER_BYTES]),
            request=answer.request,
        )


def same_origin_redirect(response: httpx.Response, url: str) -> str | None:
    """Where to POST again: a 307/308 to the same scheme, host and port, else None.

    307 and 308 keep the method and body (RFC 9110 15.4.8/15.4.9): a receiver that moved its
    path, or a framework adding a trailing slash (Starlette's ``redirect_slashes`` answers
    307), gets the same signed body. Another origin is not followed (the signature, a bearer
    token and the idempotency key would go to a host nobody configured), nor are 301/302/303,
    which clients turn into a GET without the body: those fail naming the Location.
    """
    if response.status_code not in (307, 308) or not response.headers.get("Location"):
        return None
    target = response.url.join(response.headers["Location"])
    origin = httpx.URL(url)
    if (target.scheme, target.host, target.port) != (origin.scheme, origin.host, origin.port):
        return None
    return str(target)


def parse_rate(text: Any) -> tuple[int, float]:
    """``"20/1m"`` → ``(20, 60.0)``: messages per period."""
    count, _, period = str(text).partition("/")
    try:
        limit, seconds = int(count), float(parse_duration_float(period))
    except ValueError:
        raise ValueError(f"{text!r} is not messages/period like '20/1m' or '5/1s'") from None
    if limit < 1 or seconds <= 0:
        raise ValueError(f"{text!r}: messages and period must be positive")
    return limit, seconds


def parse_duration_float(text: str) -> float:
    """``1m``, ``2s``, ``0.5s``, ``100ms`` → seconds (tests scale windows below a second)."""
    text = text.strip()
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in ("ms", "s", "m", "h"):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * units[suffix]
    return float(text)


def url_problem(value: str) -> str | None:
    """What keeps ``value`` from being an http(s) URL to send to, as httpx will parse it
    (None: it is one).

    A value with a line break passed a check of its stripped text and then failed every send
    (httpx: "Invalid non-printable ASCII character"): a secret written from a file keeps its
    newline (``kubectl create secret --from-file``). A port that is no number (``:abc``), and
    ``http://[::1/x``, failed the same way or raised out of the check itself.
    """
    if any(c.isspace() or not c.isprintable() for c in value):
        return (
            "does not hold an http(s) URL alone: it has a space, a line break or another "
            "control character (a value read from a file with its newline?)"
        )
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, ValueError) as exc:
        return f"does not hold an http(s) URL ({exc})"
    if url.scheme not in ("http", "https") or not url.host:
        return "does not hold an http(s) URL (http://host/path or https://host/path)"
    if url.port is not None and not 0 < url.port < 65536:
        return f"does not hold an http(s) URL (port {url.port} is not 1-65535)"
    return None


def secret_problem(value: str) -> str | None:
    """What keeps ``value`` from being a signing secret or token as given (None: it is one).

    A secret kept with a trailing newline (``kubectl create secret --from-file``, ``echo >``)
    or a space copied with it signed every message with the wrong key: DingTalk answered
    310000 and Feishu 19021 at send time, long after start-up.
    """
    if value != value.strip() or any(not c.isprintable() for c in value):
        return (
            "does not hold the secret alone: it has a space or a line break at an end, or "
            "another control character (a value read from a file with its newline?)"
        )
    return None


def raise_for_http(response: httpx.Response) -> None:
    """5xx, 408 and 429 are worth retrying; 429 is "too fast" and honours ``Retry-After``.

    Slack answers an incoming webhook over its rate (about one message a second) with HTTP 429
    and ``Retry-After`` in seconds (Slack API docs, "Rate limits"); other 4xx are not retried.
    """
    status = response.status_code
    if status < 300:
        return
    retryable = status >= 500 or status in (408, 425, 429)
    text = response.text[:200]
    if status < 400:
        # Only a 307/308 to the same origin is followed (same_origin_redirect): the signed
        # body must not go to an address nobody configured, and 301/302/303 would drop it.
        # Say where the receiver points, so the URL can be fixed.
        where = response.headers.get("Location") or "no Location header"
        text = (
            f"redirect to {where} (only a 307/308 to the same scheme, host and port is "
            "followed: configure the final URL)"
        )
    raise DeliveryError(
        f"HTTP {status}: {text}",
        retryable=retryable,
        retry_after=retry_after(response),
        rate_limited=status == 429,
    )


#: headers that say how many seconds to wait: the standard one (Slack) and Feishu's gateway
#: ("x-ogw-ratelimit-reset: 恢复 limit 周期，单位：秒", open.feishu.cn frequency-control doc)
RETRY_AFTER_HEADERS = ("Retry-After", "x-ogw-ratelimit-reset")


#: delay-seconds: digits (RFC 9110 says 1*DIGIT; fractions are taken too), never "inf"/"nan"
DELAY_SECONDS = re.compile(r"\d+(\.\d+)?")


def retry_after(response: httpx.Response, *, now: float | None = None) -> float | None:
    """Seconds the platform asked us to wait, if it said, at most :data:`MAX_DELAY`.

    ``Retry-After`` is either delay-seconds or an HTTP-date (RFC 9110 10.2.3:
    ``Retry-After: Fri, 31 Dec 1999 23:59:59 GMT``); proxies and gateways in front of a
    receiver send the date form, which was read as "no wait given". The wait is capped at the
    outbox's longest backoff: the pacer holds the channel for it, and a date years ahead (a
    gateway with a wrong clock) or a mistyped number held every alert of the channel for years.
    """
    for name in RETRY_AFTER_HEADERS:
        value = response.headers.get(name, "").strip()
        if not value:
            continue
        if DELAY_SECONDS.fullmatch(value):
            return min(MAX_DELAY, float(value))
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            continue
        if when.tzinfo is None:  # RFC 9110 5.6.7: an HTTP-date is always GMT
            when = when.replace(tzinfo=UTC)
        wait = when.timestamp() - (time.time() if now is None else now)
        return min(MAX_DELAY, max(0.0, wait))
    return None


_WHOLE_NUMBER = re.compile(r"[+-]?\d+")


def code_number(code: Any) -> int | None:
    """The number a platform's code in an answer says, else None (``"E500"``, a list, a bool).

    The platforms document their codes as JSON numbers (``"errcode":0``); a gateway or proxy
    that re-serialises the answer may write one as text, ``"0"`` or ``"410100"``, which says
    the same number: ``"0"``, a non-empty string, read as an error, and an accepted message
    failed for good as ``errcode 0: ok``.

    >>> code_number(0), code_number("0"), code_number(" 410100 "), code_number(0.0)
    (0, 0, 410100, 0)
    >>> code_number("E500"), code_number(False), code_number([0]), code_number("")
    (None, None, None, None)
    """
    if isinstance(code, bool):  # JSON true/false: no code, and False is no 0
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, float):
        return int(code) if code.is_integer() else None
    if isinstance(code, str) and _WHOLE_NUMBER.fullmatch(code.strip()):
        try:
            return int(code.strip())
        except ValueError:  # more digits than Python converts (4,300): no platform's code
            return None
    return None


def raise_for_errcode(
    response: httpx.Response,
    *,
    code_key: str,
    rate_codes: set[int],
    retry_codes: frozenset[int] = frozenset(),
    message_key: str = "errmsg",
    rate_messages: tuple[str, ...] = (),
    hints: Mapping[int, str] | None = None,
    older_code_keys: tuple[str, ...] = (),
) -> None:
    """Chat platforms answer with an error code in the body; 0 means accepted.

    ``rate_codes`` mean "too fast" (retried with backoff, never a failure); ``retry_codes``
    are other transient errors (system busy); any other code is a bad request, not retried.
    HTTP 429 is "too fast" whatever code the body carries (Feishu's gateway answers 429 with
    code 99991400, a code our lists need not know), and so is a message holding one of
    ``rate_messages`` (lower case) whatever its code: a limit answered under a code our list
    does not know yet is waited out, not lost. ``hints`` say what a permanent code means for
    the operator (which setting to fix). ``older_code_keys`` are the code fields of an older
    answer of the platform's, read when ``code_key`` is not there (Feishu's ``StatusCode``).

    A 2xx answer is accepted only when it carries one of those codes, 0 (the number, or the
    text ``"0"``: :func:`code_number`): every success answer the platforms document does (see
    below). One that is JSON but no object (``[]``, ``null``,
    ``"ok"``) or an object without the code (``{}``, ``{"foo": 1}``: a proxy's, a stub's or a
    gateway's own JSON) is retried, naming what came back; a missing code used to read as 0,
    and such an answer counted as delivered with nobody told.
    """
    # The success answers, each with its code:
    # - DingTalk custom robot: {"errcode":0,"errmsg":"ok"}: DingTalk's OAPI answers carry
    #   errcode and errmsg (jaq-doc.alibaba.com/docs/api.htm?apiId=42230, "响应参数"), and the
    #   robot's clients take errcode == 0 as sent (the Java sample in blog.csdn.net/zww1984774346/
    #   article/details/88193650);
    # - WeCom group robot: {"errcode":0,"errmsg":"ok"} (developer.work.weixin.qq.com/document/
    #   path/91770; WeCom answers every call with errcode, 0 for success);
    # - Feishu custom bot: "请求成功，返回体为" {"code":0,"msg":"success","data":{}} with
    #   "StatusCode":0 and "StatusMessage":"success" beside it, kept "用于兼容存量历史逻辑"
    #   (open.larkoffice.com/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN, 自定义机器人使用指南):
    #   the older answer, {"StatusCode":0,"StatusMessage":"success"}, has a code too
    #   (older_code_keys), and so is still accepted.
    # None of them lacks its code, so an answer without one is not taken as one.
    readable = True
    try:
        body = response.json()
    except (ValueError, RecursionError):  # not JSON, or not even UTF-8: a gateway's GBK
        # error page, no code; or JSON nested deeper than Python reads (``[[[...]]]``)
        body, readable = None, False
    found = [
        (key, body[key])
        for key in (code_key, *older_code_keys)
        if isinstance(body, dict) and body.get(key) is not None
    ]
    named, code = found[0] if found else (code_key, 0)
    number = code_number(code)
    if number != 0:
        # The code says more than the HTTP status (Feishu answers some errors with 4xx + code).
        # A code that is no number ("abc", a list: a proxy's own JSON, not the platform's)
        # raised out of send(); it is unreadable like a page that is not JSON, so retried.
        assert isinstance(body, dict)
        message = body.get(message_key) or body.get("msg") or body
        limited = (
            number in rate_codes
            or response.status_code == 429
            or any(m in str(message).lower() for m in rate_messages)
        )
        hint = (hints or {}).get(number) if number is not None and not limited else None
        raise DeliveryError(
            f"{named} {code}: {message}" + (f" — {hint}" if hint else ""),
            # a 5xx is the platform failing, whatever code its body carries: worth retrying
            retryable=limited
            or number is None
            or number in retry_codes
            or response.status_code >= 500,
            retry_after=retry_after(response) if limited else None,
            rate_limited=limited,
        )
    raise_for_http(response)
    if not readable:
        raise DeliveryError(f"not JSON: {response.text[:200]}", retryable=True)
    if not found:  # no object, or one without the code (see above)
        raise DeliveryError(
            f"not the platform's answer (a JSON object with {code_key} 0): {response.text[:200]}",
            retryable=True,
        )


SURROGATE = re.compile("[\ud800-\udfff]")


def valid_unicode(value: Any) -> Any:
    """``value`` with lone UTF-16 surrogates replaced by U+FFFD, at any depth.

    Crawled JSON can hold half an emoji (``"\\ud83d"`` cut by a site's own truncation), which
    Python keeps as a lone surrogate that UTF-8 cannot encode: the message failed to render on
    every attempt (``UnicodeEncodeError``) and the alert never reached anyone.
    """
    if isinstance(value, str):
        return SURROGATE.sub("\ufffd", value)
    if isinstance(value, list | tuple):
        return [valid_unicode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: valid_unicode(v) for k, v in value.items()}
    return value


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fit_body(build: Callable[[int], Any], budget: int, limit: int, *, floor: int = 1000) -> Any:
    """``build(text_budget)`` with the largest budget whose JSON body is at most ``limit`` bytes.

    Platforms cap the request body (DingTalk 20 000 bytes, Feishu 20 KB), where JSON escapes
    (``\\n``, ``\\"``) and the fields around the text add bytes the text budget does not see.
    """
    while True:
        body = build(budget)
        excess = len(dumps(body)) - limit
        if excess <= 0 or budget <= floor:
            return body
        budget = max(floor, budget - excess)
