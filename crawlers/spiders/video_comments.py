"""Video-site comments from the reply API (Bilibili's ``x/v2/reply/main`` shape).

* Video: ``{base}/x/web-interface/view?aid=<oid>`` → ``data.title``/``desc``/``owner``/``pubdate``;
  emitted as the ``post`` that comments hang from, and its title lets comments that do not name
  the brand match through it (field ``root_text``).
* Comments: ``{base}/x/v2/reply/main?type=1&oid=<oid>&mode=2&next=<cursor>`` (mode 2 = newest
  first) → ``{"code": 0, "data": {"cursor": {"is_end", "next"}, "replies": [{"rpid", "root",
  "parent", "ctime" (epoch s), "like", "member": {"mid", "uname"}, "content": {"message"},
  "replies": [...nested]}]}}``. ``code`` -412/-352 is risk control (blocked), -101 not logged in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

from scrapy.http import Response

from koubei.crawlers.spiders.base import BaseSpider, batched
from koubei.crawlers.textutil import mentions

DEFAULT_BASE = "https://api.bilibili.com"
BLOCK_CODES = {
    -412: "platform_error_412",
    -352: "platform_error_352",
    -101: "login_required",
    -403: "platform_error_403",
}


class VideoCommentsSpider(BaseSpider):
    name = "video_comments"

    @property
    def base(self) -> str:
        return (self.source.base_url or DEFAULT_BASE).rstrip("/")

    def replies_url(self, oid: str, cursor: int) -> str:
        query = {"type": 1, "oid": oid, "mode": 2, "next": cursor, "ps": 20}
        return f"{self.base}/x/v2/reply/main?{urlencode(query)}"

    async def start(self) -> AsyncIterator[Any]:
        for oid in self.source.post_ids:
            yield self.get(
                f"{self.base}/x/web-interface/view?aid={oid}", self.parse_video, {"oid": str(oid)}
            )

    def payload(self, response: Response) -> Any | None:
        data = self.load_json(response)
        if data is None:
            return None
        if not isinstance(data, dict) or "code" not in data:
            self.count_error("unexpected_shape", response.url)
            return None
        code = data["code"]
        if code in BLOCK_CODES:
            self.count_blocked(BLOCK_CODES[code], response.url)
            return None
        if code != 0:
            self.count_error(f"platform_error_{code}", response.url, str(data.get("message")))
            return None
        return data.get("data") or {}

    @batched
    def parse_video(self, response: Response, oid: str) -> Iterator[Any]:
        video = self.payload(response)
        if video is None:
            return
        title = f"{video.get('title') or ''} {video.get('desc') or ''}".strip()
        created = self.parse_time_or_count(video.get("pubdate") or video.get("ctime"), response.url)
        if created is not None and not self.state.seen(self.doc_id(f"av{oid}")):
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
                text_raw=video.get("desc") or video.get("title") or "",
                engagement={
                    "likes": int(stat.get("like") or 0),
                    "comments": int(stat.get("reply") or 0),
                    "reposts": int(stat.get("share") or 0),
                },
                created_at=created,
            )
            if record is not None:
                yield record
        yield self.get(
            self.replies_url(oid, 0), self.parse_replies, {"oid": oid, "title": title, "page": 1}
        )

    @batched
    def parse_replies(self, response: Response, oid: str, title: str, page: int) -> Iterator[Any]:
        data = self.payload(response)
        if data is None:
            return
        replies = [r for r in data.get("replies") or [] if isinstance(r, dict)]
        self.count_page(len(replies))
        key = f"replies:{oid}"
        fresh = 0
        for reply in replies:
            for item in [reply, *(reply.get("replies") or [])]:
                if not isinstance(item, dict) or "rpid" not in item:
                    self.count_error("bad_entry", response.url)
                    continue
                created = self.parse_time_or_count(item.get("ctime"), response.url)
                if created is None or self.known(key, item["rpid"], created):
                    continue
                if item is reply:
                    fresh += 1
                record = self.reply_record(item, oid, title, created, key)
                if record is not None:
                    yield record
        cursor = data.get("cursor") or {}
        if replies and fresh and not cursor.get("is_end") and page < self.source.max_pages:
            yield self.get(
                self.replies_url(oid, int(cursor.get("next") or 0)),
                self.parse_replies,
                {"oid": oid, "title": title, "page": page + 1},
            )

    def reply_record(
        self, item: dict[str, Any], oid: str, title: str, created: Any, key: str
    ) -> dict[str, Any] | None:
        text = (item.get("content") or {}).get("message") or ""
        member = item.get("member") or {}
        video_id = self.doc_id(f"av{oid}")
        parent = item.get("parent") or 0
        return self.build(
            state_key=key,
            match_fields=[("text", text), ("root_text", title)],
            native_id=item["rpid"],
            kind="comment",
            url=f"https://www.bilibili.com/video/av{oid}#reply{item['rpid']}",
            author={
                "id": str(member.get("mid")) if member.get("mid") else None,
                "name": member.get("uname"),
            },
            parent_id=self.doc_id(parent) if parent else video_id,
            root_id=video_id,
            relation="reply",
            text_raw=text,
            mentions=mentions(text),
            engagement={
                "likes": int(item.get("like") or 0),
                "comments": int(item.get("rcount") or 0),
            },
            created_at=created,
            extra={"thread_root": self.doc_id(item["root"]) if item.get("root") else None},
        )
