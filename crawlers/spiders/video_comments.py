"""Video-site comments from the reply API (Bilibili's ``x/v2/reply/main`` shape).

* Video: ``{base}/x/web-interface/view?aid=<oid>`` (``?bvid=`` for a ``BV…`` id in ``post_ids``,
  as the site's own URLs show them; ``av123`` is aid 123) → ``data.aid``/``title``/``desc``
  (``"-"`` when the video has none)/``owner``/``pubdate``;
  emitted as the ``post`` that comments hang from, and its title lets comments that do not name
  the brand match through it (field ``root_text``).
* Comments: ``{base}/x/v2/reply/main?type=1&oid=<oid>&mode=2&next=<cursor>`` (mode 2 = newest
  first) → ``{"code": 0, "data": {"cursor": {"is_end", "next"}, "replies": [{"rpid", "root",
  "parent", "ctime" (epoch s), "like", "member": {"mid", "uname"}, "content": {"message"},
  "replies": [...nested]}]}}``. ``code`` -412/-352/-401 is risk control
  (blocked), -101 not logged in; so is ``code: 0`` whose ``data`` is only a ``v_voucher``.
* The site itself pages with the wbi-signed ``{base}/x/v2/reply/wbi/main?oid&type=1&mode=2
  &pagination_str={"offset": <next_offset>}&plat=1&web_location=1315875&wts&w_rid``, whose
  ``cursor.pagination_reply.next_offset`` is JSON inside a string, passed back verbatim. The
  signing keys are the file names of ``data.wbi_img.img_url``/``sub_url`` from
  ``{base}/x/web-interface/nav`` (given even to visitors, with ``code: -101``); without them the
  unsigned ``main`` endpoint is used, and so it is for the rest of the run once a signed page
  is refused (-403, -352 or a ``v_voucher``: the keys change daily), from the video's first page.
* ``member`` may be ``null`` (hot and top replies): the author is then the reply's own ``mid``.
  The author's region is ``reply_control.location`` (``IP属地：广东``), verification
  ``member.official_verify.type`` (-1 none); ``content.pictures`` are a reply's pictures.
  Mentions are the platform's own list, ``content.members`` (or ``content.at_name_to_mid``).
  ``top_replies``, ``hots`` and the uploader's pinned ``upper.top`` are read too, each reply once.
* Threads: a reply nests only a few of its ``rcount`` replies; the rest come from
  ``{base}/x/v2/reply/reply?oid&type=1&root=<rpid>&ps&pn`` → ``data.page.{num, size, count}``,
  ``data.replies`` (oldest first; ``parent`` may be another reply in the thread), ``data.root``.
* ``code`` -509/-799 (请求过于频繁) is rate limiting (blocked). A body of that answer followed
  by the real one (``{"code":-509,…}{"code":0,…}``, a gateway bug) is read as the real one.
* ``code`` 12002 (comments closed), -404 (no such video) and, from ``view``, 62002/62004/62012
  (a video hidden, under review, or visible to its uploader only) are counted as skipped, not
  errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

from scrapy.http import Response

from koubei.crawlers.spiders._body import json_sequence
from koubei.crawlers.spiders.base import BaseSpider, batched
from koubei.crawlers.textutil import parse_count

DEFAULT_BASE = "https://api.bilibili.com"
BLOCK_CODES = {
    -412: "platform_error_412",
    -352: "platform_error_352",
    -101: "login_required",
    -403: "platform_error_403",
    -401: "platform_error_401",  # 非法访问, with ``data.ga_data`` asking for a captcha
    # 超出限制 / 请求过于频繁，请稍后再试: public error codes of most endpoints
    # (bilibili-API-collect docs/misc/errcode.md), answered with HTTP 200.
    -509: "rate_limited",
    -799: "rate_limited",
}
RATE_LIMITED = (-509, -799)

# Documented answers that are no crawl failure: nothing is there to read (bilibili-API-collect
# docs/comment/list.md for 12002; docs/video/info.md for -404 and the 62xxx of a video that
# exists but is not shown: 稿件不可见, 稿件审核中, 仅UP主自己可见).
GONE_CODES = {
    12002: "comments_closed",
    -404: "not_found",
    62002: "video_hidden",
    62004: "video_under_review",
    62012: "video_private",
}
THREAD_PAGE_SIZE = 10


# The wbi key permutation, public in bilibili-API-collect ``docs/misc/sign/wbi.md``.
MIXIN_KEY_ENC_TAB = (
    46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19,
    29, 28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61, 26, 17, 0, 1, 60, 51, 30, 4,
    22, 25, 54, 21, 56, 59, 6, 63, 57, 62, 11, 36, 20, 34, 44, 52,
)  # fmt: skip


def _signature_refused(text: str) -> bool:
    """A signed page's answer refusing its signature: ``-403`` (wbi.md: "返回-403:非法访问"),
    ``-352`` (errcode.md: "风控校验失败 (UA 或 wbi 参数不合法)"), or ``code 0`` with only a
    ``v_voucher`` (the newer wbi.md: a missing or wrong ``w_rid`` is answered with one).

    Examples
    --------
    >>> _signature_refused('{"code":-403,"message":"访问权限不足","ttl":1}')
    True
    >>> _signature_refused('{"code":0,"data":{"replies":[]}}'), _signature_refused("<html>")
    (False, False)
    """
    try:
        answer = json.loads(text)
    except ValueError:
        return False
    if not isinstance(answer, dict):
        return False
    data = answer.get("data")
    voucher = answer.get("code") == 0 and isinstance(data, dict) and "v_voucher" in data
    return answer.get("code") in (-403, -352) or voucher


def wbi_mixin_key(img_url: str, sub_url: str) -> str:
    """The signing key from the two ``wbi_img`` URLs (their file names, permuted, 32 chars).

    Examples
    --------
    >>> wbi_mixin_key(
    ...     "https://i0.hdslb.com/bfs/wbi/7cd084941338484aae1ad9425b84077c.png",
    ...     "https://i0.hdslb.com/bfs/wbi/4932caff0ff746eab6f01bf08b70ac45.png",
    ... )
    'ea1db124af3c7062474693fa704f4ff8'
    """
    raw = "".join(url.rsplit("/", 1)[-1].split(".", 1)[0] for url in (img_url, sub_url))
    return "".join(raw[i] for i in MIXIN_KEY_ENC_TAB if i < len(raw))[:32]


def wbi_sign(params: dict[str, Any], mixin_key: str, wts: int) -> dict[str, Any]:
    """``params`` with ``wts`` and ``w_rid`` = md5(sorted query + key); ``!'()*`` dropped.

    Examples
    --------
    >>> wbi_sign({"foo": "114", "bar": "514", "zab": 1919810},
    ...          "ea1db124af3c7062474693fa704f4ff8", 1702204169)["w_rid"]
    '8f6f2b5b3d485fe1886cec6a0be8c5d4'
    """
    signed = {
        k: "".join(c for c in str(v) if c not in "!'()*")
        for k, v in sorted({**params, "wts": wts}.items())
    }
    query = urlencode(signed)
    return {**signed, "w_rid": hashlib.md5((query + mixin_key).encode()).hexdigest()}


class VideoCommentsSpider(BaseSpider):
    name = "video_comments"
    mixin_key = ""

    @property
    def base(self) -> str:
        return (self.source.base_url or DEFAULT_BASE).rstrip("/")

    def replies_url(self, oid: str, cursor: Any) -> str:
        """Page after ``cursor``: a ``next_offset`` string (wbi) or a ``next`` number."""
        if self.mixin_key:
            params = {
                "oid": oid,
                "type": 1,
                "mode": 2,
                "pagination_str": json.dumps({"offset": cursor or ""}, separators=(",", ":")),
                "plat": 1,
                "web_location": 1315875,
            }
            signed = wbi_sign(params, self.mixin_key, int(self.crawl_time.timestamp()))
            return f"{self.base}/x/v2/reply/wbi/main?{urlencode(signed)}"
        query = {"type": 1, "oid": oid, "mode": 2, "next": cursor or 0, "ps": 20}
        return f"{self.base}/x/v2/reply/main?{urlencode(query)}"

    async def start(self) -> AsyncIterator[Any]:
        yield self.get(f"{self.base}/x/web-interface/nav", self.parse_nav)

    def parse_nav(self, response: Response) -> Iterator[Any]:
        data = self.load_json(response) if response.status == 200 else None
        wbi = ((data or {}).get("data") or {}).get("wbi_img") if isinstance(data, dict) else None
        if isinstance(wbi, dict) and wbi.get("img_url") and wbi.get("sub_url"):
            self.mixin_key = wbi_mixin_key(wbi["img_url"], wbi["sub_url"])
        else:  # a fallback, not a failure: counted, and the crawl stays "ok"
            self._inc("fallback/unsigned_replies")
            self.logger.info("no wbi keys from %s: unsigned reply pages", response.url)
        for post_id in map(str, self.source.post_ids):
            if post_id[:2].lower() == "bv":  # the reply API takes the number, given by view
                query, oid = {"bvid": post_id}, None
            else:
                oid = post_id.removeprefix("av").removeprefix("AV")
                query = {"aid": oid}
            yield self.get(
                f"{self.base}/x/web-interface/view?{urlencode(query)}",
                self.parse_video,
                {"oid": oid},
            )

    def joined_answer(self, text: str, response: Response) -> Any | None:
        """``{"code":-509,"message":"请求过于频繁，请稍后再试","ttl":1}{"code":0,…}``: Bilibili's
        gateway writes its rate-limit answer and then the real one into the same body. The real
        answer is whole: it is read, and the notice counted (``fallback/rate_limit_notice``)."""
        values = json_sequence(text)
        if not values:
            return None
        *notices, answer = values
        if not (isinstance(answer, dict) and answer.get("code") == 0):
            return None
        if not all(isinstance(v, dict) and v.get("code") in RATE_LIMITED for v in notices):
            return None
        self._inc("fallback/rate_limit_notice")
        self.logger.info("rate-limit notice before the answer, answer read: %s", response.url)
        return answer

    def payload(self, response: Response, later_page: bool = False) -> Any | None:
        data = self.load_json(response)
        if data is None:
            return None
        if not isinstance(data, dict) or "code" not in data:
            self.count_error("unexpected_shape", response.url)
            self.refused(later_page)
            return None
        code = data["code"]
        if code in BLOCK_CODES:
            self.count_blocked(BLOCK_CODES[code], response.url)
            self.refused(later_page)
            return None
        if code in GONE_CODES:  # the video's comments are closed or gone: nothing to read
            self._inc(f"skipped/{GONE_CODES[code]}")
            self.logger.info("%s: %s", GONE_CODES[code], response.url)
            return None
        if code != 0:
            self.count_error(f"platform_error_{code}", response.url, str(data.get("message")))
            self.refused(later_page)
            return None
        body = data.get("data") or {}
        if isinstance(body, dict) and "v_voucher" in body:
            # Risk control answered as success: ``{"code": 0, "data": {"v_voucher": "voucher_…"}}``
            # instead of the page (a captcha to solve). Read as a page, it was an empty one.
            self.count_blocked("risk_voucher", response.url)
            self.refused(later_page)
            return None
        return body

    @batched
    def parse_video(self, response: Response, oid: str | None) -> Iterator[Any]:
        video = self.payload(response)
        if video is None:
            return
        if oid is None:  # asked by BV id
            if not str(video.get("aid") or "").isdigit():
                self.count_error("bad_entry", response.url, "no aid for the BV id")
                return
            oid = str(video["aid"])
        # "-" is the site's placeholder for a video without a description, not its text.
        desc = "" if str(video.get("desc") or "").strip() == "-" else video.get("desc") or ""
        title = f"{video.get('title') or ''} {desc}".strip()
        created = self.parse_time_or_count(video.get("pubdate") or video.get("ctime"), response.url)
        if created is not None and not self.state.seen(self.doc_id(f"av{oid}"), self.read_as_of):
            owner = video.get("owner") or {}
            stat = video.get("stat") or {}
            record = self.build(
                state_key=f"video:{oid}",
                match_fields=[("title", title)],
                native_id=f"av{oid}",
                kind="post",
                url=f"https://www.bilibili.com/video/av{oid}",
                author={
                    "id": str(owner.get("mid")) if owner.get("mid") else None,
                    "name": owner.get("name"),
                },
                title=video.get("title"),
                text_raw=desc or video.get("title") or "",
                engagement={
                    "likes": parse_count(stat.get("like")) or 0,
                    "comments": parse_count(stat.get("reply")) or 0,
                    "reposts": parse_count(stat.get("share")) or 0,
                },
                created_at=created,
            )
            if record is not None:
                yield record
        yield self.get(
            self.replies_url(oid, None), self.parse_replies, {"oid": oid, "title": title, "page": 1}
        )

    @batched
    def parse_replies(self, response: Response, oid: str, title: str, page: int) -> Iterator[Any]:
        if "/reply/wbi/" in response.url and _signature_refused(self.text(response)):
            # The wbi keys "每日都会变化" (bilibili-API-collect docs/misc/sign/wbi.md): a crawl
            # that outlives its keys is refused (-403 非法访问, -352, a v_voucher) on every signed
            # page, which was counted as a block, for every video, until the next run. The
            # unsigned endpoint still answers visitors: the video is read again from its
            # first page there, and so is every later one of this run.
            self.mixin_key = ""
            self._inc("fallback/unsigned_replies")
            self.logger.info("wbi signature refused, unsigned reply pages: %s", response.url)
            yield self.get(
                self.replies_url(oid, None),
                self.parse_replies,
                {"oid": oid, "title": title, "page": 1},
            )
            return
        data = self.payload(response, later_page=page > 1)
        if data is None:
            return
        replies = [r for r in data.get("replies") or [] if isinstance(r, dict)]
        # The uploader's pinned reply: ``upper.top`` (``x/v2/reply``), ``top.upper`` (``main``).
        uploader_top = [(data.get("upper") or {}).get("top"), (data.get("top") or {}).get("upper")]
        pinned = [
            r
            for r in [*(data.get("top_replies") or []), *(data.get("hots") or []), *uploader_top]
            if isinstance(r, dict)
        ]
        self.count_page(len(replies) + len(pinned))
        key = f"replies:{oid}"
        fresh = 0
        seen: set[str] = set()
        new_roots: set[str] = set()
        threads: set[str] = set()
        for reply in [*replies, *pinned]:
            for item in [reply, *(reply.get("replies") or [])]:
                if not isinstance(item, dict) or "rpid" not in item:
                    self.count_error("bad_entry", response.url)
                    continue
                if str(item["rpid"]) in seen:
                    continue
                seen.add(str(item["rpid"]))
                created = self.parse_time_or_count(item.get("ctime"), response.url)
                if created is None or self.known(key, item["rpid"], created):
                    continue
                if item is reply:
                    new_roots.add(str(item["rpid"]))
                    if reply not in pinned:
                        fresh += 1
                record = self.reply_record(item, oid, title, created, key)
                if record is not None:
                    yield record
            # Only a few replies of a thread come nested (``rcount`` counts them all); the rest
            # are on the thread's own pages, oldest first. A new thread is read from its first
            # page; a known one on the first page (where threads still grow) from its last page
            # backwards while pages bring new replies: one request per quiet thread per run,
            # not the whole thread again.
            rpid = str(reply.get("rpid"))
            count = _int(reply.get("rcount"))
            if rpid in threads or count <= len(reply.get("replies") or []):
                continue
            if rpid in new_roots:
                start, step = 1, 1
            elif page == 1:
                start, step = -(-count // THREAD_PAGE_SIZE), -1
            else:
                continue
            threads.add(rpid)
            yield self.get(
                self.thread_url(oid, rpid, start),
                self.parse_thread,
                {"oid": oid, "title": title, "root": rpid, "pn": start, "step": step},
            )
        cursor = data.get("cursor") or {}
        offset = (cursor.get("pagination_reply") or {}).get("next_offset")
        following = offset if self.mixin_key else cursor.get("next")
        if (
            replies
            and fresh
            and following
            and not cursor.get("is_end")
            and page < self.source.max_pages
        ):
            yield self.get(
                self.replies_url(oid, following),
                self.parse_replies,
                {"oid": oid, "title": title, "page": page + 1},
            )

    def thread_url(self, oid: str, root: str, pn: int) -> str:
        query = {"oid": oid, "type": 1, "root": root, "ps": THREAD_PAGE_SIZE, "pn": pn}
        return f"{self.base}/x/v2/reply/reply?{urlencode(query)}"

    @batched
    def parse_thread(
        self, response: Response, oid: str, title: str, root: str, pn: int, step: int
    ) -> Iterator[Any]:
        """One page of a thread (``x/v2/reply/reply``), oldest first. Forward (``step`` 1, a new
        thread): every page up to ``page.count``. Backward (-1, a known thread): earlier pages
        only while a page brings a reply not seen before. Replies are skipped only when seen
        before, since a watermark says nothing in an oldest-first list."""
        data = self.payload(response, later_page=step < 0 or pn > 1)
        if data is None:
            return
        replies = [r for r in data.get("replies") or [] if isinstance(r, dict)]
        self.count_page(len(replies))
        key = f"thread:{oid}"
        fresh = 0
        for item in replies:
            if "rpid" not in item:
                self.count_error("bad_entry", response.url)
                continue
            created = self.parse_time_or_count(item.get("ctime"), response.url)
            if created is None:
                continue
            if self.state.seen(self.doc_id(item["rpid"]), self.read_as_of):
                self._inc("known")
                continue
            fresh += 1
            record = self.reply_record(item, oid, title, created, key)
            if record is not None:
                yield record
        page = data.get("page") or {}
        size = _int(page.get("size")) or THREAD_PAGE_SIZE
        if step > 0:
            more = bool(replies) and pn * size < _int(page.get("count"))
            more = more and pn < self.source.max_pages
        else:
            more = fresh > 0 and pn > 1
        if more:
            yield self.get(
                self.thread_url(oid, root, pn + step),
                self.parse_thread,
                {"oid": oid, "title": title, "root": root, "pn": pn + step, "step": step},
            )

    def reply_record(
        self, item: dict[str, Any], oid: str, title: str, created: Any, key: str
    ) -> dict[str, Any] | None:
        content = item.get("content") or {}
        text = content.get("message") or ""
        member = item.get("member") or {}
        mid = member.get("mid") or item.get("mid")  # ``member`` is null on some hot replies
        named = [m.get("uname") for m in content.get("members") or [] if isinstance(m, dict)]
        named += list(content.get("at_name_to_mid") or {})
        video_id = self.doc_id(f"av{oid}")
        parent = item.get("parent") or 0
        control = item.get("reply_control") or {}
        # "IP属地：广东" since 2022; older replies have none.
        region = str(control.get("location") or "").replace("IP属地：", "").strip() or None
        official = member.get("official_verify")
        verified = None
        if isinstance(official, dict) and "type" in official:
            verified = _int(official["type"]) >= 0  # -1 none, 0 a person, 1 an organisation
        return self.build(
            state_key=key,
            match_fields=[("text", text), ("root_text", title)],
            native_id=item["rpid"],
            kind="comment",
            url=f"https://www.bilibili.com/video/av{oid}#reply{item['rpid']}",
            author={
                "id": str(mid) if mid else None,
                "name": member.get("uname"),
                "verified": verified,
                "region": region,
            },
            parent_id=self.doc_id(parent) if parent else video_id,
            root_id=video_id,
            relation="reply",
            text_raw=text,
            mentions=list(dict.fromkeys(n for n in named if n)),
            engagement={
                "likes": parse_count(item.get("like")) or 0,
                "comments": parse_count(item.get("rcount")) or 0,
            },
            created_at=created,
            extra={
                "thread_root": self.doc_id(item["root"]) if item.get("root") else None,
                "images": len(content.get("pictures") or []),
            },
        )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
