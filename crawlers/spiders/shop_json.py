"""Shop reviews from the product-comment JSON API big B2C shops use (JD's shape).

``GET {base}/comment/productPageComments.action?productId=..&score=0&sortType=6&page=N&pageSize=10``
returns ``{"productCommentSummary": {...}, "maxPage": M, "comments": [...]}``, newest first
(``sortType=6``). Each comment has ``id``, ``content``, ``creationTime`` (China time, no offset),
``score`` 1-5, ``nickname``, ``referenceId``/``referenceName`` (sku), ``usefulVoteCount``,
``replyCount``, ``afterUserComment`` (the buyer's follow-up) and ``replies`` (the shop's).
The API answers GBK when it likes; the base decodes by the declared charset. It answers ``{}``
when it withholds the reviews (counted blocked, ``empty_answer``); an answer without
``comments`` is no page either.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

from scrapy.http import Response

from koubei.crawlers.spiders.base import BaseSpider, batched
from koubei.crawlers.textutil import parse_count

DEFAULT_BASE = "https://club.jd.com"
PAGE_SIZE = 10


class ShopJsonSpider(BaseSpider):
    name = "shop_json"

    def page_url(self, product_id: str, page: int) -> str:
        base = (self.source.base_url or DEFAULT_BASE).rstrip("/")
        query = urlencode(
            {
                "productId": product_id,
                "score": 0,
                "sortType": 6,
                "page": page,
                "pageSize": PAGE_SIZE,
                "isShadowSku": 0,
                "fold": 1,
            }
        )
        return f"{base}/comment/productPageComments.action?{query}"

    async def start(self) -> AsyncIterator[Any]:
        for product_id in self.source.product_ids:
            yield self.get(
                self.page_url(product_id, 0), self.parse_page, {"product_id": product_id, "page": 0}
            )

    @batched
    def parse_page(
        self, response: Response, product_id: str, page: int, fanned: bool = False
    ) -> Iterator[Any]:
        data = self.load_json(response)
        if data is None:
            return
        if data == {}:
            # ``{}`` in place of the page: JD withholding its reviews (as public crawlers meet it
            # without a login cookie), not a product without any. Read as an empty page, it
            # ended the listing there and a later run never went past it.
            self.count_blocked("empty_answer", response.url)
            self.refused(later_page=page > 0)
            return
        if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
            self.count_error("unexpected_shape", response.url)
            self.refused(later_page=page > 0)
            return
        comments = data.get("comments") or []
        self.count_page(len(comments))
        key = f"product:{product_id}"
        fresh = 0
        for comment in comments:
            if not isinstance(comment, dict) or "id" not in comment:
                self.count_error("bad_entry", response.url)
                continue
            created = self.parse_time_or_count(comment.get("creationTime"), response.url)
            if created is None:
                continue
            if self.known(key, comment["id"], created):
                continue
            fresh += 1
            yield from self.review_records(comment, product_id, created, key, response.url)
        max_page = min((parse_count(data.get("maxPage")) or 0), self.source.max_pages)
        if page == 0 and fresh and self.state.watermark(key) is None:
            # First crawl of this product (a backfill): nothing can be known, so fetch the
            # remaining pages in parallel instead of one after another.
            for later in range(1, max_page):
                yield self.get(
                    self.page_url(product_id, later),
                    self.parse_page,
                    {"product_id": product_id, "page": later, "fanned": True},
                )
            return
        more = page + 1 < max_page and comments
        # Newest first: a page with nothing new means the rest was crawled before.
        if more and fresh and not fanned:
            yield self.get(
                self.page_url(product_id, page + 1),
                self.parse_page,
                {"product_id": product_id, "page": page + 1},
            )

    def review_records(
        self, comment: dict[str, Any], product_id: str, created: Any, key: str, url: str
    ) -> Iterator[dict[str, Any]]:
        sku = comment.get("referenceName") or ""
        pid = str(comment.get("referenceId") or comment.get("productId") or product_id)
        shop_replies = [
            {
                "text": r.get("content", ""),
                "created": r.get("creationTime"),
                "name": r.get("nickname"),
            }
            for r in comment.get("replies") or []
            if isinstance(r, dict)
        ]
        after = comment.get("afterUserComment") or {}
        if isinstance(after, dict) and "hAfterUserComment" in after:
            # The text sits one level down; ``hAfterUserComment`` may be null (public readers
            # guard it), which is a follow-up with no text, not a broken page.
            held = after["hAfterUserComment"]
            after = {**after, "content": held.get("content") if isinstance(held, dict) else None}
        match_fields = [("text", comment.get("content")), ("product", sku), self.owner_field()]
        review = self.build(
            state_key=key,
            match_fields=match_fields,
            native_id=comment["id"],
            kind="review",
            url=f"https://item.jd.com/{pid}.html#comment-{comment['id']}",
            author={"id": comment.get("guid"), "name": comment.get("nickname")},
            text_raw=comment.get("content") or "",
            title=comment.get("title") or None,
            product_id=pid,
            rating=_rating(comment.get("score")),
            engagement={
                "helpful": parse_count(comment.get("usefulVoteCount")) or 0,
                "comments": parse_count(comment.get("replyCount")) or 0,
            },
            created_at=created,
            extra={
                "sku": sku,
                "shop_replies": shop_replies,
                "images": len(comment.get("images") or []),
            },
        )
        if review is None:
            return
        yield review
        if isinstance(after, dict) and after.get("content"):
            after_time = self.parse_time_or_count(after.get("created"), url)
            if after_time is None:
                return
            followup = self.build(
                # Its own key: a late follow-up must not lift the reviews' watermark.
                state_key=f"followup:{pid}",
                match_fields=[("text", after["content"]), *match_fields[1:]],
                native_id=f"{comment['id']}-after",
                kind="review",
                url=review["url"],
                author=review["author"],
                text_raw=after["content"],
                product_id=pid,
                parent_id=review["id"],
                root_id=review["id"],
                relation="reply",
                created_at=after_time,
                extra={"sku": sku, "followup": True, "days_after": comment.get("afterDays")},
            )
            if followup is not None:
                yield followup


def _rating(value: Any) -> float | None:
    """A 1-5 star score (``5``, ``"5"``); anything else (``"好评"``, ``""``) is no score."""
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if 0 <= score <= 5 else None
