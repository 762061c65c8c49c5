"""Shop reviews from the marketplace rate-list JSONP API (Tmall's ``list_detail_rate.htm`` shape).

``GET {base}/list_detail_rate.htm?itemId=..&order=1&currentPage=N&callback=jsonpNNN`` returns
``jsonpNNN({"rateDetail": {"paginator": {"items": .., "lastPage": L, "page": N}, "rateList":
[{"id", "rateContent", "rateDate": "2026-11-24 10:00:00", "auctionSku": "口味:原味",
"displayUserNick": "t**1", "appendComment": {"content", "commentTime", "days"}, "reply",
"pics"}]}})``, newest first with ``order=1``, in GBK. There is no star score in the list.

A ``base_url`` on the mtop gateway (path ending in ``/h5``: ``https://h5api.m.taobao.com/h5``)
selects Taobao's mtop rate API instead: ``GET {base}/mtop.taobao.rate.detaillist.get/6.0/
?appKey&t&sign&api&v=6.0&type=jsonp&callback=mtopjsonp1&data={"auctionNumId", "pageNo",
"pageSize", "orderType"}`` answers ``mtopjsonp1({"api", "v", "ret": ["SUCCESS::调用成功"],
"data": {"rateList": [{"id", "feedback", "feedbackDate": "2026-11-24" (a day, no time),
"userNick", "skuValueStr" or "skuMap", "reply", "rateType", "feedPicList", "appendedFeed":
{"appendedFeedback", "intervalDay"}}], "total", "totalPage"}})`` (counts as strings; a page
past ``totalPage`` is not asked for). The first call has no token: it answers
``FAIL_SYS_TOKEN_EMPTY`` and sets the ``_m_h5_tk`` cookie, whose first part signs every later
call (``sign = md5(token&t&appKey&data)``).

A ``base_url`` naming the API after ``/h5`` (``https://h5api.m.tmall.com/h5/mtop.alibaba.review.
list.for.new.pc.detail``) selects that API instead: the rate API of today's Taobao and Tmall PC
item pages, signed the same way, ``v=1.0``, ``data={"itemId", "bizCode": "ali.china.tmall",
"channel": "pc_detail", "pageSize": 20, "pageNum"}``, answering ``data.module.{hasNext: "true",
reviewVOList: [{"id", "reviewWordContent", "reviewDate" (a day), "userNick", "skuText": {name:
value}, "reviewPicPathList", "videoVOList", "interactionVO": {"likeCount"}, "reply",
"reviewAppendVO": {"appendedWordContent", "intervalDay", "reviewPicPathList"}}]}`` (as
``NanmiCoder/MediaCrawler`` ``media_platform/taobao/client.py`` reads it). Either answer shape is
read whichever API was asked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from scrapy.http import Response

from koubei.crawlers.spiders.base import BaseSpider, batched, time_precision
from koubei.crawlers.textutil import parse_count

DEFAULT_BASE = "https://rate.tmall.com"
CALLBACK = "jsonp128"
MTOP_API = "mtop.taobao.rate.detaillist.get"
MTOP_PC_API = "mtop.alibaba.review.list.for.new.pc.detail"
MTOP_VERSIONS = {MTOP_API: "6.0", MTOP_PC_API: "1.0"}
MTOP_APP_KEY = "12574478"  # the public app key of Taobao's H5 pages
MTOP_CALLBACK = "mtopjsonp1"
MTOP_PAGE_SIZE = 20
# ``ret`` codes of risk control and logins; token codes are handled by re-signing.
MTOP_BLOCKED = {
    "RGV587_ERROR": "captcha",
    "FAIL_SYS_USER_VALIDATE": "captcha",
    "FAIL_SYS_SESSION_EXPIRED": "login_wall",  # a logged-out or expired cookie
    "FAIL_SYS_TRAFFIC_LIMIT": "rate_limited",  # 哎哟喂,被挤爆啦
}
MTOP_TOKEN = ("FAIL_SYS_TOKEN_EMPTY", "FAIL_SYS_TOKEN_EXOIRED", "FAIL_SYS_ILLEGAL_ACCESS")


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

    @property
    def mtop(self) -> bool:
        path = urlsplit(self.source.base_url or "").path.rstrip("/")
        return path.endswith("/h5") or path.rsplit("/", 1)[-1] in MTOP_VERSIONS

    @property
    def mtop_api(self) -> str:
        """The mtop API the base URL names after ``/h5``; the rate detail list by default."""
        last = (self.source.base_url or "").rstrip("/").rsplit("/", 1)[-1]
        return last if last in MTOP_VERSIONS else MTOP_API

    def mtop_data(self, item_id: str, page: int) -> dict[str, Any]:
        if self.mtop_api == MTOP_PC_API:
            return {
                "itemId": str(item_id),
                "bizCode": "ali.china.tmall",
                "channel": "pc_detail",
                "pageSize": MTOP_PAGE_SIZE,
                "pageNum": page,
            }
        return {
            "auctionNumId": str(item_id),
            "pageNo": page,
            "pageSize": MTOP_PAGE_SIZE,
            "orderType": "feedbackdate",
        }

    def mtop_url(self, item_id: str, page: int, token: str, stamp: int) -> str:
        api, version = self.mtop_api, MTOP_VERSIONS[self.mtop_api]
        data = json.dumps(self.mtop_data(item_id, page), separators=(",", ":"))
        sign = hashlib.md5(f"{token}&{stamp}&{MTOP_APP_KEY}&{data}".encode()).hexdigest()
        query = urlencode(
            {
                "jsv": "2.7.2",
                "appKey": MTOP_APP_KEY,
                "t": stamp,
                "sign": sign,
                "api": api,
                "v": version,
                "type": "jsonp",
                "dataType": "jsonp",
                "callback": MTOP_CALLBACK,
                "data": data,
            }
        )
        base = (self.source.base_url or "").rstrip("/")
        if base.rsplit("/", 1)[-1] in MTOP_VERSIONS:
            base = base.rsplit("/", 1)[0]
        return f"{base}/{api}/{version}/?{query}"

    def mtop_request(self, item_id: str, page: int, token: str = "", retried: bool = False) -> Any:
        stamp = int(self.crawl_time.timestamp() * 1000)
        return self.get(
            self.mtop_url(item_id, page, token, stamp),
            self.parse_mtop,
            {"item_id": item_id, "page": page, "token": token, "retried": retried},
            dont_filter=retried,
        )

    async def start(self) -> AsyncIterator[Any]:
        for item_id in self.source.product_ids:
            if self.mtop:
                yield self.mtop_request(item_id, 1)
                continue
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
            self.refused(later_page=page > 1)
            return
        blocked = _risk_control(data)
        if blocked:
            self.count_blocked(blocked, response.url)
            self.refused(later_page=page > 1)
            return
        detail = data.get("rateDetail")
        if not isinstance(detail, dict):
            self.count_error("unexpected_shape", response.url)
            self.refused(later_page=page > 1)
            return
        rates = [r for r in detail.get("rateList") or [] if isinstance(r, dict)]
        key = f"item:{item_id}"
        fresh = yield from self.new_rates(
            rates,
            key,
            "rateDate",
            response.url,
            lambda rate, created: self.rate_records(rate, item_id, created, key, response.url),
        )
        paginator = detail.get("paginator") or {}
        last = parse_count(paginator.get("lastPage")) or 0
        if rates and fresh and page < last and page < self.source.max_pages:
            yield self.get(
                self.page_url(item_id, page + 1),
                self.parse_page,
                {"item_id": item_id, "page": page + 1},
            )

    def new_rates(
        self,
        rates: list[dict[str, Any]],
        key: str,
        time_field: str,
        url: str,
        records: Callable[[dict[str, Any], Any], Iterator[dict[str, Any]]],
    ) -> Generator[dict[str, Any], None, int]:
        """The records of the rates not seen before; returns how many were new (the page's
        entries are counted in the crawl stats here too).

        One loop for both API shapes (``rateDate`` on the rate list, ``feedbackDate`` on mtop):
        an entry without an id is counted as bad, never guessed at.
        """
        self.count_page(len(rates))
        fresh = 0
        for rate in rates:
            if not rate.get("id"):
                self.count_error("bad_entry", url)
                continue
            created = self.parse_time_or_count(rate.get(time_field), url)
            if created is None or self.known(key, rate["id"], created):
                continue
            fresh += 1
            yield from records(rate, created)
        return fresh

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
            yield from self._followup(
                review, rate, item_id, fields, append["content"], when, sku, append.get("days")
            )

    # --- the mtop rate API ------------------------------------------------------------------

    @batched
    def parse_mtop(
        self, response: Response, item_id: str, page: int, token: str, retried: bool
    ) -> Iterator[Any]:
        answer = self.load_json(response)
        if answer is None:
            return
        if not isinstance(answer, dict):
            self.count_error("unexpected_shape", response.url)
            self.refused(later_page=page > 1)
            return
        ret = " ".join(str(r) for r in answer.get("ret") or [])
        if any(code in ret for code in MTOP_TOKEN):
            fresh_token = _cookie_token(response)
            if retried or not fresh_token:
                self.count_blocked("token_refused", response.url)
                self.refused(later_page=page > 1)
                return
            yield self.mtop_request(item_id, page, fresh_token, retried=True)
            return
        for code, reason in MTOP_BLOCKED.items():
            if code in ret:
                self.count_blocked(reason, response.url)
                self.refused(later_page=page > 1)
                return
        if "SUCCESS" not in ret:
            self.count_error("platform_error", response.url, ret[:120])
            self.refused(later_page=page > 1)
            return
        data = answer.get("data")
        module = data.get("module") if isinstance(data, dict) else None
        if isinstance(module, dict) and "reviewVOList" in module:
            yield from self.parse_pc_reviews(module, response, item_id, page, token)
            return
        if not isinstance(data, dict) or not isinstance(data.get("rateList", []), list):
            self.count_error("unexpected_shape", response.url)
            self.refused(later_page=page > 1)
            return
        rates = [r for r in data.get("rateList") or [] if isinstance(r, dict)]
        key = f"item:{item_id}"
        fresh = yield from self.new_rates(
            rates,
            key,
            "feedbackDate",
            response.url,
            lambda rate, created: self.mtop_records(rate, item_id, created, key),
        )
        last = _int(data.get("totalPage"))
        more = last is None or page < last  # no totalPage: stop on an empty or all-known page
        if rates and fresh and more and page < self.source.max_pages:
            yield self.mtop_request(item_id, page + 1, token)

    def mtop_records(
        self, rate: dict[str, Any], item_id: str, created: Any, key: str
    ) -> Iterator[dict[str, Any]]:
        sku = rate.get("skuValueStr") or ";".join(
            f"{k}:{v}" for k, v in (rate.get("skuMap") or {}).items()
        )
        text = rate.get("feedback") or ""
        fields = [("text", text), ("product", sku), self.owner_field()]
        review = self.build(
            state_key=key,
            match_fields=fields,
            native_id=rate["id"],
            kind="review",
            url=f"https://item.taobao.com/item.htm?id={item_id}#rate-{rate['id']}",
            author={"name": rate.get("userNick")},
            text_raw=text,
            product_id=str(item_id),
            created_at=created,
            time_precision=time_precision(rate.get("feedbackDate")),
            extra={
                "sku": sku,
                "shop_reply": rate.get("reply") or None,
                "images": len(rate.get("feedPicList") or rate.get("feedPicPathList") or []),
                "rate_type": rate.get("rateType"),
                "user_star": rate.get("userStar"),
                "video": bool(rate.get("video")),
            },
        )
        if review is None:
            return
        yield review
        append = rate.get("appendedFeed")
        yield from self._interval_followup(
            review, rate, item_id, fields, created, sku, append, text_key="appendedFeedback"
        )

    def parse_pc_reviews(
        self, module: dict[str, Any], response: Response, item_id: str, page: int, token: str
    ) -> Iterator[Any]:
        """``data.module`` of ``mtop.alibaba.review.list.for.new.pc.detail``."""
        reviews = module.get("reviewVOList")
        if not isinstance(reviews, list):
            self.count_error("unexpected_shape", response.url)
            self.refused(later_page=page > 1)
            return
        rates = [r for r in reviews if isinstance(r, dict)]
        key = f"item:{item_id}"
        fresh = yield from self.new_rates(
            rates,
            key,
            "reviewDate",
            response.url,
            lambda rate, created: self.pc_records(rate, item_id, created, key),
        )
        more = str(module.get("hasNext")).lower() == "true"
        if rates and fresh and more and page < self.source.max_pages:
            yield self.mtop_request(item_id, page + 1, token)

    def pc_records(
        self, rate: dict[str, Any], item_id: str, created: Any, key: str
    ) -> Iterator[dict[str, Any]]:
        sku_text = rate.get("skuText")
        sku = (
            ";".join(f"{k}:{v}" for k, v in sku_text.items())
            if isinstance(sku_text, dict)
            else str(sku_text or "")
        )
        text = rate.get("reviewWordContent") or ""
        fields = [("text", text), ("product", sku), self.owner_field()]
        interaction = rate.get("interactionVO")
        likes = _int(interaction.get("likeCount")) if isinstance(interaction, dict) else None
        review = self.build(
            state_key=key,
            match_fields=fields,
            native_id=rate["id"],
            kind="review",
            url=f"https://detail.tmall.com/item.htm?id={item_id}#rate-{rate['id']}",
            author={"name": rate.get("userNick")},
            text_raw=text,
            product_id=str(item_id),
            created_at=created,
            time_precision=time_precision(rate.get("reviewDate")),
            engagement={"likes": likes or 0},
            extra={
                "sku": sku,
                "shop_reply": rate.get("reply") or None,
                "images": len(rate.get("reviewPicPathList") or []),
                "video": bool(rate.get("videoVOList")),
            },
        )
        if review is None:
            return
        yield review
        append = rate.get("reviewAppendVO")
        yield from self._interval_followup(
            review, rate, item_id, fields, created, sku, append, text_key="appendedWordContent"
        )

    def _interval_followup(
        self,
        review: dict[str, Any],
        rate: dict[str, Any],
        item_id: Any,
        fields: list[tuple[str, Any]],
        created: Any,
        sku: Any,
        append: Any,
        text_key: str,
    ) -> Iterator[dict[str, Any]]:
        """The follow-up of both mtop shapes: its text under ``text_key``, dated by an interval."""
        if not isinstance(append, dict) or not append.get(text_key):
            return
        days = _int(append.get("intervalDay"))
        # The append has no date of its own: the review's day plus the interval.
        when = created + timedelta(days=days or 0)
        yield from self._followup(
            review, rate, item_id, fields, append[text_key], when, sku, days, time_precision="day"
        )

    def _followup(
        self,
        review: dict[str, Any],
        rate: dict[str, Any],
        item_id: Any,
        fields: list[tuple[str, Any]],
        text: str,
        when: Any,
        sku: Any,
        days: Any,
        **extra_fields: Any,
    ) -> Iterator[dict[str, Any]]:
        """A buyer's follow-up review ("追评"), a reply to the first one, in both API shapes."""
        followup = self.build(
            state_key=f"followup:{item_id}",
            match_fields=[("text", text), *fields[1:]],
            native_id=f"{rate['id']}-append",
            kind="review",
            url=review["url"],
            author=review["author"],
            text_raw=text,
            product_id=str(item_id),
            parent_id=review["id"],
            root_id=review["id"],
            relation="reply",
            created_at=when,
            extra={"sku": sku, "followup": True, "days_after": days},
            **extra_fields,
        )
        if followup is not None:
            yield followup


def _cookie_token(response: Response) -> str:
    """The signing token: the part of the ``_m_h5_tk`` cookie before ``_``."""
    for header in response.headers.getlist(b"Set-Cookie"):
        name, _, rest = header.decode("latin-1").partition("=")
        if name.strip() == "_m_h5_tk":
            return rest.split(";", 1)[0].split("_", 1)[0]
    return ""


def _risk_control(data: dict[str, Any]) -> str | None:
    """The block reason when the rate list answered with risk control instead of rates.

    ``{"url": "https://login.taobao.com/..."}`` is a login wall; ``{"rgv587_flag": "sm", "url":
    "https://sec.taobao.com/query.htm?action=QueryAction&event_submit_do_login=ok&..."}`` (the
    security check, whose URL also says "login") and a ``punish`` URL are a captcha.

    Examples
    --------
    >>> _risk_control({"url": "https://login.taobao.com/member/login.jhtml?redirectURL=x"})
    'login_wall'
    >>> _risk_control({"rgv587_flag": "sm", "url": "//sec.taobao.com/query.htm?action=Q"})
    'captcha'
    >>> _risk_control({"rateDetail": {}}) is None
    True
    """
    url = str(data.get("url") or "")
    if data.get("rgv587_flag") or "punish" in url or "sec.taobao.com" in url:
        return "captcha"
    if "login" in url:
        return "login_wall"
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
