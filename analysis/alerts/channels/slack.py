"""Slack incoming webhook with Block Kit.

Slack does not sign incoming-webhook requests: the URL is the secret (``url_env``). Limits Slack
documents: header text 150 characters, section text 3000 characters, 50 blocks per message, one
message per second per webhook (429 with ``Retry-After`` beyond it). @-mention is ``<@U123>``,
``<!subteam^S123>`` for a user group, ``<!channel>`` for everyone; ``&``, ``<`` and ``>`` in
text must be escaped.
"""

from __future__ import annotations

from typing import Any

import httpx

from koubei.analysis.alerts.channels.base import Channel, Request, dumps, raise_for_http, register
from koubei.analysis.alerts.channels.text import drop_open_markup, fit, sections
from koubei.analysis.alerts.delivery import DeliveryError

HEADER_CHARS = 150
SECTION_CHARS = 3000
MAX_BLOCKS = 50


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


URL_KEYS = {"url", "kibana_url", "report_url", "pictures"}


def escape_tree(value: Any, key: str = "") -> Any:
    """Escape every string in a payload for mrkdwn, leaving URLs (they go inside ``<…|…>``)."""
    if key in URL_KEYS:
        return value
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, list):
        return [escape_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: escape_tree(v, k) for k, v in value.items()}
    return value


def _link(text: str, url: str) -> str:
    # Slack reads &, < and > as control characters everywhere, URLs included ("Formatting
    # text for app surfaces": escape them), and | ends the URL part of <url|text>.
    return (
        f"<{escape(url.strip()).replace('|', '%7C').replace(' ', '%20')}|{text.replace('|', '¦')}>"
    )


def mention(member: str) -> str:
    """Slack's mention syntax ("Formatting text for app surfaces"): ``<@U123>`` for a member
    (ids start with U or W), ``<!subteam^S123>`` for a user group (ids start with S)."""
    return f"<!subteam^{member}>" if member.startswith("S") else f"<@{member}>"


#: what Slack's plain-text error answers mean for the operator ("Handling errors" of the
#: incoming-webhooks docs, api.slack.com/messaging/webhooks#handling_errors: 400
#: invalid_payload / user_not_found / too_many_attachments / no_service_id / no_team /
#: team_disabled, 403 action_prohibited / posting_to_general_channel_denied / invalid_token,
#: 404 channel_not_found / no_service, 410 channel_is_archived; no_text and invalid_blocks as
#: chat.postMessage names them); none is worth retrying
HINTS = {
    "invalid_payload": "Slack could not read the JSON koubei sent (a koubei bug: report it "
    "with this alert); the webhook itself is fine",
    "no_text": "the message had no text (a koubei bug: report it with this alert)",
    "invalid_blocks": "Slack refused the message's Block Kit layout (a koubei bug: report "
    "it with this alert)",
    "too_many_attachments": "the message had too many attachments (a koubei bug)",
    "user_not_found": "the webhook's user is gone from the workspace: make a new webhook",
    "no_service_id": "url_env holds an incomplete webhook URL (hooks.slack.com/services/T/B/X)",
    "no_team": "url_env holds a webhook URL whose workspace part is wrong",
    "team_disabled": "the Slack workspace was disabled",
    "channel_is_archived": "the channel was archived: unarchive it or make a new webhook",
    "channel_not_found": "the webhook's channel was deleted",
    "no_service": "the webhook was disabled, removed or its URL is wrong (url_env)",
    "invalid_token": "the webhook was revoked or its URL is wrong (url_env)",
    "action_prohibited": "a Slack admin restricted posting to this channel",
    "posting_to_general_channel_denied": "only admins may post to this channel",
}


def _cut(text: str, limit: int) -> str:
    """Plain text within ``limit`` characters; a cut never leaves half a ``&amp;`` or link."""
    return text if len(text) <= limit else drop_open_markup(text[: limit - 1]) + "…"


@register
class SlackChannel(Channel):
    type_name = "slack"
    # "Posting messages: 1 per second, short bursts allowed" (Slack API docs, Rate limits);
    # beyond it HTTP 429 with Retry-After, handled in base.raise_for_http.
    default_rate_limits = ((1, 1.0),)

    def build_request(self, payload: dict[str, Any], idempotency_key: str) -> Request:
        title = str(payload.get("title", "koubei alert"))
        blocks: list[dict[str, Any]] = [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _cut(title, HEADER_CHARS), "emoji": True},
            }
        ]
        escaped = escape_tree(payload)
        for part in sections(escaped, link=_link, bold=lambda s: f"*{s}*"):
            # Slack's limit is 3000 characters, not bytes: Chinese text gets all of it.
            text = fit([part], SECTION_CHARS, chars=True)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
        mentions = self.mentions_for(payload)
        tags = [mention(m) for m in mentions]
        if self.mention_all_for(payload):
            tags.append("<!channel>")
        blocks = blocks[: MAX_BLOCKS - 1]
        if tags:
            blocks.append(
                {"type": "context", "elements": [{"type": "mrkdwn", "text": " ".join(tags)}]}
            )
        mention_text = " " + " ".join(tags) if tags else ""
        body = {
            # the notification text: the mentions are kept whole, the title is cut before them
            "text": _cut(escape(title), 3000 - len(mention_text)) + mention_text,
            "blocks": blocks,
        }
        return Request(self.secrets["url"], dumps(body))

    def check_response(self, response: httpx.Response) -> None:
        try:
            raise_for_http(response)
        except DeliveryError as exc:
            hint = HINTS.get(response.text.strip())
            if hint is None:
                raise
            raise DeliveryError(f"{exc} — {hint}", retryable=False) from None
