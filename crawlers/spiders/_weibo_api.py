"""m.weibo.cn's API as the Weibo spider uses it: the URLs it asks, the codes and pages that
refuse, and the readers of the parts of a post or comment that become record fields.

Pure functions of a base URL, of the JSON or of the page text, with no spider state: the
spider (:mod:`koubei.crawlers.spiders.weibo`: what to fetch and when, the crawl state, which
record each answer makes) calls them, and its docstring describes the shapes. They live apart
so the spider file holds the crawl alone. The leading ``_`` keeps this module out of the
platforms (:func:`koubei.config.platforms`, :func:`koubei.crawlers.spiders.spider_classes`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

from koubei.crawlers.textutil import parse_count

RATE_LIMITED = "100005"  # m.weibo.cn's errno for "请求过于频繁"
DELETED = "20101"  # {"ok": 0, "errno": "20101", "msg": "该微博不存在"}: a deleted post
LOGIN_PROSE = re.compile(r"请登录|登录后")
# m.weibo.cn's "no data" page (``<title>微博-出错了</title>`` … ``暂无数据``), served as HTML in
# place of a JSON answer for a thing that is not there.
NO_DATA_PAGE = re.compile(r"<title>\s*微博-出错了\s*</title>|暂无数据")
FIRST_HOP = re.compile(r"//\s*(?:<a\b[^>]*>\s*)?@")


def search_url(base: str, keyword: str, page: int, since_id: Any = None) -> str:
    containerid = quote(f"100103type=1&q={keyword}", safe="")
    cursor = f"since_id={quote(str(since_id))}" if since_id else f"page={page}"
    return f"{base}/api/container/getIndex?containerid={containerid}&page_type=searchall&{cursor}"


def repost_url(base: str, post_id: str, page: int) -> str:
    return f"{base}/api/statuses/repostTimeline?{urlencode({'id': post_id, 'page': page})}"


def comments_url(base: str, post_id: str, mid: str, max_id: Any, max_id_type: Any = 0) -> str:
    query: dict[str, Any] = {"id": post_id, "mid": mid}
    if max_id:
        query["max_id"] = max_id
    query["max_id_type"] = max_id_type or 0
    return f"{base}/comments/hotflow?{urlencode(query)}"


def child_url(base: str, cid: str, max_id: Any, max_id_type: Any = 0) -> str:
    query = {"cid": cid, "max_id": max_id or 0, "max_id_type": max_id_type or 0}
    return f"{base}/comments/hotFlowChild?{urlencode(query)}"


def old_comments_url(base: str, post_id: str, page: int) -> str:
    return f"{base}/api/comments/show?{urlencode({'id': post_id, 'page': page})}"


def author(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(user["id"]) if user.get("id") is not None else None,
        "name": user.get("screen_name"),
        "followers": parse_count(user.get("followers_count")),
        "verified": bool(user.get("verified")) if "verified" in user else None,
    }


def answered_id(item: dict[str, Any]) -> str | None:
    """The id of the comment ``item`` answers, if the answer names one: ``reply_comment`` (the
    comment answered, on a reply answering another reply) or ``reply_id`` (the old API)."""
    answered = item.get("reply_comment")
    value = answered.get("idstr") or answered.get("id") if isinstance(answered, dict) else None
    value = value or item.get("reply_id")
    if isinstance(value, bool) or not isinstance(value, str | int):  # junk is no comment
        return None
    return str(value) if value and str(value) != "0" else None


def inline_long_text(mblog: dict[str, Any]) -> str | None:
    """The full text a listing carries with a long post, if it does: ``longText.longTextContent``.

    Search cards (``api/container/getIndex``) give it beside the cut ``text`` of an
    ``isLongText`` post; an answer without it is read from ``statuses/extend`` instead.

    Examples
    --------
    >>> inline_long_text({"isLongText": True, "longText": {"longTextContent": "全文"}})
    '全文'
    >>> inline_long_text({"isLongText": True, "text": "前半..."}) is None
    True
    """
    held = mblog.get("longText")
    text = held.get("longTextContent") if isinstance(held, dict) else None
    return text if isinstance(text, str) and text.strip() else None


def flat_cards(cards: list[Any]) -> Iterator[dict[str, Any]]:
    for card in cards:
        if not isinstance(card, dict):
            continue
        if card.get("card_group"):
            yield from flat_cards(card["card_group"])
        else:
            yield card
