"""Second sweep: what each platform's public documentation says, against real receivers.

Sources, per test:

- ``Retry-After`` is delay-seconds *or* an HTTP-date (RFC 9110 section 10.2.3, example
  ``Retry-After: Fri, 31 Dec 1999 23:59:59 GMT``); Slack answers 429 with it
  (api.slack.com "Rate limits"), and proxies in front of a receiver send the date form.
- Slack incoming webhooks, "Handling errors" (api.slack.com/messaging/webhooks): plain-text
  bodies ``invalid_payload`` / ``no_text`` (400), ``no_service`` (404), ...; Block Kit section
  text is at most 3000 characters; ``&``, ``<``, ``>`` are escaped as ``&amp;`` ``&lt;``
  ``&gt;`` and links are ``<url|text>`` ("Formatting text for app surfaces").
- Feishu custom bot: a wrong hook token is answered ``{"code": 19001, "msg": "param invalid:
  incoming webhook access token invalid"}`` (as public clients log it: sansan0/TrendRadar#278).
- Alertmanager API v2: ``POST /api/v2/alerts`` (api/v2/openapi.yaml); the real
  ``prometheus-alertmanager`` answers.
- Crawled JSON may hold half a surrogate pair (``"\\ud83d"``, an emoji cut by the site), which
  UTF-8 cannot encode; every platform takes UTF-8 JSON.
"""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from koubei.analysis.alerts.channels.text import TRUNCATED, fit, truncate_utf8
from koubei.analysis.alerts.delivery import DeliveryError
from tests.analysis.alerts.conftest import am_channels
from tests.analysis.alerts.platforms import (
    dingtalk_check,
    feishu_check,
    slack_check,
    wecom_check,
)
from tests.analysis.alerts.test_channels import channel, payload, serve

#: an unclosed markdown link or Slack <url|text>, or half an HTML entity, at a cut
HALF_LINK = re.compile(r"\[[^\[\]]*\]\([^)]*$|<https?://[^<>]*$|&[a-z]{0,3}$")


def test_slack_retry_after_as_an_http_date_is_waited(servers, monkeypatch):
    # Before: only delay-seconds was read; the date form gave retry_after None, so the
    # outbox retried after its own short backoff, straight into the limit again.
    until = formatdate(time.time() + 30, usegmt=True)
    server = serve(servers, lambda q, h, b: (429, "rate_limited"))
    server.headers = {"Retry-After": until}
    slack = channel(monkeypatch, "slack", f"{server.base}/services/T/B/X")
    with pytest.raises(DeliveryError) as info:
        slack.send(payload(), "k1")
    assert info.value.rate_limited and info.value.retryable
    assert info.value.retry_after is not None and 25 <= info.value.retry_after <= 31


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e400", "soon"])
def test_a_retry_after_that_is_no_number_or_date_is_ignored(value):
    # Before: float("inf") held the channel forever (pacer.hold(now + inf)); "nan" read as 0.
    from koubei.analysis.alerts.channels.base import retry_after

    response = httpx.Response(429, headers={"Retry-After": value})
    assert retry_after(response) is None


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2099 07:28:00 GMT", "31536000"])
def test_a_retry_after_years_ahead_holds_the_channel_an_hour_at_most(
    value, servers, monkeypatch, db_path
):
    # A gateway with a wrong clock (a date years ahead) or a mistyped number. Before: the
    # pacer held the channel until then, and every later run deferred its alerts: an hour of
    # real time on, and a day on, the alert was still pending and nothing else could go out.
    from koubei.analysis.alerts.delivery import MAX_DELAY, deliver_pending
    from koubei.analysis.alerts.outbox import notifications
    from tests.analysis.alerts.test_platform_answers import _at, burst_one

    answers = iter([(429, "rate_limited")])
    server = serve(servers, lambda q, h, b: next(answers, (200, "ok")))
    server.headers = {"Retry-After": value}
    slack = channel(monkeypatch, "slack", f"{server.base}/services/T/B/X")
    burst_one(db_path, slack)
    first = deliver_pending(db_path, [slack], now=_at(1), max_wait=1)
    assert len(first.rate_limited) == 1 and len(first.deferred) == 1
    server.headers = {}
    later = time.time() + MAX_DELAY + 60  # the pacer counts real time: an hour and a minute on
    second = deliver_pending(db_path, [slack], now=_at(62), max_wait=1, clock=lambda: later)
    assert len(second.delivered) == 1, notifications(db_path)[0].last_error
    assert len(server.accepted) == 1


CHECKS: dict[str, Any] = {
    "dingtalk": (lambda: dingtalk_check("tok", "SECabc"), "/robot/send?access_token=tok", "SECabc"),
    "feishu": (lambda: feishu_check("fs"), "/open-apis/bot/v2/hook/x", "fs"),
    "wecom": (lambda: wecom_check("K"), "/cgi-bin/webhook/send?key=K", None),
    "slack": (lambda: slack_check("x"), "/services/T/B/X", None),
}


@pytest.mark.parametrize("type_", sorted(CHECKS))
def test_half_an_emoji_in_a_post_still_reaches_every_chat_platform(servers, monkeypatch, type_):
    # Before: UnicodeEncodeError while rendering, on every attempt: the alert never went out.
    make_check, path, secret = CHECKS[type_]
    server = serve(servers, make_check())
    chat = channel(monkeypatch, type_, f"{server.base}{path}", secret)
    posts = [{"text": "汤底有异物\ud83d", "url": "https://weibo.example/1", "author": "用户\udc00"}]
    chat.send(payload(evidence_extra={"top_posts": posts}), "k1")
    (message,) = server.accepted
    assert "汤底有异物\ufffd" in str(message)


def test_slack_long_post_list_loses_posts_not_half_a_link(servers, monkeypatch):
    # Before: a section over 3000 characters was cut by characters: mid <url|text>, mid
    # &amp;, with "已截断" where the last posts were; a 120-character post cut mid-entity.
    server = serve(servers, slack_check("x"))
    slack = channel(monkeypatch, "slack", f"{server.base}/services/T/B/X")
    posts = [
        {"text": "差评&" * 40, "url": f"https://weibo.example/{i}?q=" + "x" * 150}
        for i in range(20)
    ]
    raw = {"title": "海底捞", "severity": "critical", "event": "firing", "top_posts": posts}
    slack.send(raw, "k1")
    texts = [b["text"]["text"] for b in server.accepted[0]["blocks"] if b["type"] == "section"]
    (section,) = [t for t in texts if "weibo.example" in t]
    assert "已截断" not in section and section.count("<https://") == section.count("|")
    assert section.count("<") == section.count(">")
    assert not re.search(r"&(?!amp;|lt;|gt;)", section), section
    assert "https://weibo.example/0?" in section  # the first posts are kept whole


@pytest.mark.parametrize("budget", range(40, 140, 3))
def test_a_cut_never_leaves_half_a_link(budget):
    # Before: truncate_utf8 / fit cut on a character boundary only: "[Kibana](http://ki"
    # rendered as raw brackets with a dead link, "<http://…|te" as raw Slack markup.
    text = "告警 [在 Kibana 中查看](http://kibana.example/app/discover#/?q=abc) 之后 " * 3
    cut = truncate_utf8(text, budget).removesuffix(TRUNCATED)
    assert not HALF_LINK.search(cut), cut
    slack = "帖子 <https://weibo.example/1|差评&amp;差评> 之后 " * 3
    cut = fit([[slack]], budget // 2, chars=True).removesuffix(TRUNCATED)
    assert not HALF_LINK.search(cut), cut


@pytest.mark.parametrize(
    ("status", "answer", "fix"),
    [
        (400, "invalid_payload", "koubei bug"),
        (400, "no_text", "koubei bug"),
        (400, "no_service_id", "url_env"),
    ],
)
def test_slack_permanent_answers_say_what_to_fix(servers, monkeypatch, status, answer, fix):
    # Before: "HTTP 400: invalid_payload" with nothing on what to do about it.
    server = serve(servers, lambda q, h, b: (status, answer))
    slack = channel(monkeypatch, "slack", f"{server.base}/services/T/B/X")
    with pytest.raises(DeliveryError) as info:
        slack.send(payload(), "k1")
    assert info.value.retryable is False
    assert "slack channel 'slack'" in str(info.value) and fix in str(info.value)


def test_feishu_invalid_hook_token_says_what_to_fix(servers, monkeypatch):
    # Before: "code 19001: param invalid: ..." without saying the URL is what is wrong.
    answer = {
        "code": 19001,
        "data": {},
        "msg": "param invalid: incoming webhook access token invalid",
    }
    server = serve(servers, lambda q, h, b: (200, answer))
    feishu = channel(monkeypatch, "feishu", f"{server.base}/open-apis/bot/v2/hook/wrong")
    with pytest.raises(DeliveryError) as info:
        feishu.send(payload(), "k1")
    assert info.value.retryable is False
    assert "feishu channel 'feishu'" in str(info.value) and "url_env" in str(info.value)


@pytest.mark.timeout(90)
def test_alertmanager_url_given_with_the_api_path_delivers(
    alertmanager: str, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: ".../api/v2/alerts" + "/api/v2/alerts": 404, not retried, every alert lost.
    (am,) = am_channels(monkeypatch, f"{alertmanager}/api/v2/alerts")
    am.send(payload(), "k1")
    (wrong,) = am_channels(monkeypatch, f"{alertmanager}/not-alertmanager")
    with pytest.raises(DeliveryError) as info:
        wrong.send(payload(), "k2")
    assert info.value.retryable is False
    assert "alertmanager channel" in str(info.value) and "base URL" in str(info.value)
