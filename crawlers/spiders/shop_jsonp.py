"""Shop reviews from the marketplace rate-list JSONP API (Tmall's ``list_detail_rate.htm`` shape).

``GET {base}/list_detail_rate.htm?itemId=..&order=1&currentPage=N&callback=jsonpNNN`` returns
``jsonpNNN({"rateDetail": {"paginator": {"items": .., "lastPage": L, "page": N}, "rateList":
[{"id", "rateContent", "rateDate": "2026-11-24 10:00:00", "auctionSku": "口味:原味",
"displayUserNick": "t**1", "appendComment": {"content", "commentTime", "days"}, "reply",
"pics"}]}})``, newest first with ``order=1``, in GBK. There is no star score in the list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

from scrapy.http import Response

from koubei.crawlers.spiders.base import BaseSpider, batched

DEFAULT_BASE = "https://rate.tmall.com"
CALLBACK = "jsonp128"


class ShopJsonpSpider(BaseSpider):
    name = "shop_jsonp"

    def page_url(self, item_id: str, page: int) -> str:
        base = (self.source.base_url or DEFAULT_BASE).rstrip("/")
        query = urlencode(
            {
                "itemId": item_id,
                "order": 1,
                "currentPage": page,
                "append": 0,
                "content": 1,
                "callback": CALLBACK,
            }
        )
        return f"{base}/list_detail_rate.htm?{query}"

    async def start(self) -> AsyncIterator[Any]:
        for item_id in self.source.product_ids:
            yield self.get(
                self.page_url(item_id, 1), self.parse_page, {"item_id": item_id, "page": 1}
            )

    @batched
    def parse_page(self, response: Response, item_id: str, page: int) -> Iterator[Any]:
        data = self.load_json(response)
        if data is None:
            return
        if not isinstance(data, dict):
            self.count_error("unexpected_shape", response.url)
            return
        if data.get("url") and ("login" in str(data["url"]) or "punish" in str(data["url"])):
            # Risk control answers {"url": "https://login.taobao.com/..."} or a punish page.
            self.count_blocked("login_wall" if "login" in data["url"] else "captcha", response.url)
            return
        detail = data.get("rateDetail")
        if not isinstance(detail, dict):
            self.count_error("unexpected_shape", response.url)
            return
        rates = [r for r in detail.get("rateList") or [] if isinstance(r, dict)]
        self.count_page(len(rates))
        key = f"item:{item_id}"
        fresh = 0
        for rate in rates:
            if "id" not in rate:
                self.count_error("bad_entry", response.url)
                continue
            created = self.parse_time_or_count(rate.get("rateDate"), response.url)
            if created is None or self.known(key, rate["id"], created):
                continue
            fresh += 1
            yield from self.rate_records(rate, item_id, created, key, response.url)
        paginator = detail.get("paginator") or {}
        last = int(paginator.get("lastPage") or 0)
        if rates and fresh and page < last and page < self.source.max_pages:
            yield self.get(
                self.page_url(item_id, page + 1),
                self.parse_page,
                {"item_id": item_id, "page": page + 1},
            )

    def rate_records(
        self, rate: dict[str, Any], item_id: str, created: Any, key: str, url: str
    ) -> Iterator[dict[str, Any]]:
        sku = rate.get("auctionSku") or ""
        fields = [("text", rate.get("rateContent")), ("product", sku), self.owner_field()]
        review = self.build(
            state_key=key,
            match_fields=fields,
            native_id=rate["id"],
            kind="review",
            url=f"https://detail.tmall.com/item.htm?id={item_id}#rate-{rate['id']}",
            author={"name": rate.get("displayUserNick")},
            text_raw=rate.get("rateContent") or "",
            product_id=str(item_id),
            created_at=created,
            extra={
                "sku": sku,
                "shop_reply": rate.get("reply") or None,
                "images": len(rate.get("pics") or []),
            },
        )
        if review is None:
            return
        yield review
        append = rate.get("appendComment")
        if isinstance(append, dict) and append.get("content"):
            when = self.parse_time_or_count(append.get("commentTime"), url)
            if when is None:
                return
            followup = self.build(
                state_key=f"followup:{item_id}",
                match_fields=[("text", append["content"]), *fields[1:]],
                native_id=f"{rate['id']}-append",
                kind="review",
                url=review["url"],
                author=review["author"],
                text_raw=append["content"],
                product_id=str(item_id),
                parent_id=review["id"],
                root_id=review["id"],
                relation="reply",
                created_at=when,
                extra={"sku": sku, "followup": True, "days_after": append.get("days")},
            )
            if followup is not None:
                yield followup
