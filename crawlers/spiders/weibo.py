"""Microblog posts, reposts and comments from the mobile JSON API (m.weibo.cn's shape).

* Search: ``{base}/api/container/getIndex?containerid=100103type%3D1%26q%3D<kw>&page_type=searchall
  &page=N`` → ``{"ok": 1, "data": {"cards": [{"card_type": 9, "mblog": {...}}], "cardlistInfo":
  {"page": next}}}``; ``card_type 11`` groups nest more cards. ``{"ok": 0}`` is "no results";
  ``{"ok": -100, "url": <passport>}`` is the login wall.
* Reposts: ``{base}/api/statuses/repostTimeline?id=<id>&page=N`` → ``data.data`` (mblogs),
  ``data.max`` pages. Comments: ``{base}/comments/hotflow?id=<id>&mid=<mid>&max_id_type=0``
  → ``data.data`` and a ``max_id`` cursor (0 at the end) with its ``max_id_type``, sent back as
  given. A comment's ``total_number`` is its reply count, its ``source`` (``来自 北京``) the
  commenter's IP region. Only a few replies come nested (``comments``, or ``false``); a comment
  with more, new or with more than the crawl state noted last time, is followed to
  ``{base}/comments/hotFlowChild?cid=<comment id>&max_id=0&max_id_type=0`` → ``{"ok": 1,
  "data": [replies], "rootComment": [...], "total_number", "max_id", "max_id_type"}`` at the top
  level (not under ``data``), paged by ``max_id`` until 0. A reply answering another reply names
  it in ``reply_comment`` (and opens ``回复@NAME:``); its parent is that reply, else the top
  comment, which ``extra.thread_root`` keeps.
  Its ``{"ok": 0}`` is a refusal (a lost page); Weibo's HTML ``暂无数据`` page (the thread is
  gone: a deleted comment) and an empty ``data`` end the thread. When hotflow answers ``{"ok": 0}``
  the old API is used: ``{base}/api/comments/show?id=<id>&page=N`` → ``data.data``,
  ``data.hot_data`` (hot comments, first page), ``data.max`` pages; its comments carry
  ``reply_id`` (the comment answered), ``like_counts`` and often a date-only ``created_at``.
* Search pages carry ``cardlistInfo.page``, or in the newer shape a ``since_id`` cursor.
* A listed post (``post_ids``): ``{base}/statuses/show?id=<id>`` → ``{"ok": 1, "data": mblog}``,
  emitted, and its text is the ``root_text`` its reposts and comments match through.
* ``{"ok": 0, "errno": "100005", "msg": "请求过于频繁,歇歇吧"}`` is rate limiting (blocked), not
  an empty result; ``{"ok": 0, "message": "前方有点拥堵，请登录后使用"}`` a login wall (blocked).
  ``{"ok": 0, "errno": "20101", "msg": "该微博不存在"}`` for a listed post: deleted, skipped.

An ``mblog`` has HTML ``text``, ``created_at`` like ``Tue Nov 24 10:00:00 +0800 2026``, ``user``
(``followers_count`` may read ``"12.3万"``), counts, and for a repost the root as
``retweeted_status``. A long post (``isLongText``) is cut off in ``text``; search cards carry
its full text as ``longText.longTextContent``, and for an answer without it the full text is
asked from ``statuses/extend``. The immediate parent of a repost of a repost is only in the
``//@name:`` chain of its text; ``extra.repost_chain`` keeps it and ``parent_id`` stays the root
(or the ``pid`` the platform gives, ``extra.parent_from_platform``): the cascade build
(:mod:`koubei.analysis.spread.cascade`) is the one place a chain is resolved to a post.
Mentions come from the ``<a href='/n/NAME'>@NAME</a>`` links of the HTML, never from plain text.
A date-only ``created_at`` (``11-20``) gives ``time_precision: "day"``.

The URLs, the refusal codes and pages, and the readers of an answer's parts (author, answered
comment, nested cards) are :mod:`koubei.crawlers.spiders._weibo_api`; this module is the crawl.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

from scrapy.http import Request, Response
from twisted.python.failure import Failure

from koubei.crawlers import brandmatch
from koubei.crawlers.spiders._weibo_api import (
    DELETED,
    FIRST_HOP,
    LOGIN_PROSE,
    NO_DATA_PAGE,
    RATE_LIMITED,
    answered_id,
    author,
    child_url,
    comments_url,
    flat_cards,
    inline_long_text,
    old_comments_url,
    repost_url,
    search_url,
)
from koubei.crawlers.spiders.base import BaseSpider, batched, time_precision
from koubei.crawlers.textutil import (
    comment_region,
    html_to_text,
    mentions,
    parse_count,
    reply_to,
    repost_chain,
    topics,
)

DEFAULT_BASE = "https://m.weibo.cn"
EXPAND_MIN_REPOSTS = 3  # fetch the repost timeline of posts with at least this many reposts
EXPAND_MIN_COMMENTS = 3


class WeiboSpider(BaseSpider):
    name = "weibo"

    @property
    def base(self) -> str:
        return (self.source.base_url or DEFAULT_BASE).rstrip("/")

    async def start(self) -> AsyncIterator[Any]:
        self.expanded: set[str] = set()
        self.emitted: set[str] = set()  # comments can come twice: hot list and time list
        # Reply threads (hotFlowChild) followed, each with the reply ids its pages brought.
        self.threads: dict[str, set[str]] = {}
        for keyword in brandmatch.keywords(self.tracked, self.source.keywords):
            yield self.get(
                search_url(self.base, keyword, 1),
                self.parse_search,
                {"keyword": keyword, "page": 1},
            )
        for post_id in self.source.post_ids:
            # The post itself first: it is a record too, and its text is what reposts ("转发微博")
            # and comments that never name the brand are matched through.
            yield Request(
                f"{self.base}/statuses/show?{urlencode({'id': post_id})}",
                callback=self.parse_show,
                errback=self.show_failed,
                cb_kwargs={"post_id": str(post_id)},
            )

    # --- payload checks ---------------------------------------------------------------------

    def payload(self, response: Response, later_page: bool = False) -> dict[str, Any] | None:
        data = self.load_json(response)
        if data is None:
            return None
        if not isinstance(data, dict):
            self.count_error("unexpected_shape", response.url)
            self.refused(later_page)
            return None
        ok = data.get("ok")
        if ok == 0 and str(data.get("errno")) == RATE_LIMITED:
            # {"ok": 0, "errno": "100005", "msg": "请求过于频繁,歇歇吧"}: not "no results".
            self.count_blocked("rate_limited", response.url)
            self.page_lost()
            return None
        if ok == -100 or (isinstance(data.get("url"), str) and "passport" in data["url"]):
            self.count_blocked("login_required", response.url)
            self.refused(later_page)
            return None
        said = str(data.get("msg") or data.get("message") or "")
        if ok == 0 and LOGIN_PROSE.search(said):
            # {"ok": 0, "message": "前方有点拥堵，请登录后使用"}: a login wall, not "no results".
            self.count_blocked("login_required", response.url)
            self.refused(later_page)
            return None
        if ok not in (0, 1):
            self.count_blocked(f"platform_error_{ok}", response.url)
            self.refused(later_page)
            return None
        return data

    # --- one post (post_ids) ------------------------------------------------------------------

    @batched
    def parse_show(self, response: Response, post_id: str) -> Iterator[Any]:
        """``statuses/show``: the post as a record, then its reposts and comments."""
        data = self.payload(response)
        mblog = data.get("data") if data is not None else None
        if isinstance(mblog, dict) and mblog.get("id"):
            self.count_page(1)
            yield from self.mblog_records(mblog, f"post:{post_id}", response.url, None)
            root_text = html_to_text(mblog.get("text") or "")
            mid = str(mblog.get("mid") or post_id)
        else:
            if data is not None and str(data.get("errno")) == DELETED:
                # An answer, not a failure: the post is gone (as -404 on Bilibili).
                self._inc("skipped/post_deleted")
                self.logger.info("post_deleted: %s", response.url)
            elif data is not None:  # ok 0 (a hidden post) or no mblog
                self.count_error("post_unavailable", response.url, str(data.get("msg") or ""))
            root_text, mid = "", post_id
        yield from self.expand(post_id, mid, root_text, force=True)

    def show_failed(self, failure: Failure) -> Iterator[Any]:
        """A post that could not be fetched still has its reposts and comments read."""
        self.on_error(failure)
        post_id = failure.request.cb_kwargs["post_id"]  # type: ignore[attr-defined]
        yield from self.expand(post_id, post_id, "", force=True)

    # --- search -----------------------------------------------------------------------------

    @batched
    def parse_search(self, response: Response, keyword: str, page: int) -> Iterator[Any]:
        data = self.payload(response, later_page=page > 1)
        if data is None:
            return
        body = data.get("data") or {}
        mblogs = [c["mblog"] for c in flat_cards(body.get("cards") or []) if "mblog" in c]
        self.count_page(len(mblogs))
        fresh = {"new": 0}
        for mblog in mblogs:
            yield from self.mblog_records(mblog, f"kw:{keyword}", response.url, fresh)
            yield from self.expand_from(mblog)
        info = body.get("cardlistInfo") or {}
        next_page, since_id = info.get("page"), info.get("since_id")
        # Newest first: a page with nothing new means the rest was crawled before.
        if mblogs and fresh["new"] and (next_page or since_id) and page < self.source.max_pages:
            number = parse_count(next_page) or page + 1
            yield self.get(
                search_url(self.base, keyword, number, since_id),
                self.parse_search,
                {"keyword": keyword, "page": number},
            )

    def expand_from(self, mblog: dict[str, Any]) -> Iterator[Any]:
        root = mblog.get("retweeted_status") if isinstance(mblog, dict) else None
        for post in (mblog, root):
            if not isinstance(post, dict) or post.get("retweeted_status") or "id" not in post:
                continue
            yield from self.expand(
                str(post["id"]),
                str(post.get("mid") or post["id"]),
                html_to_text(inline_long_text(post) or post.get("text") or ""),
                reposts=parse_count(post.get("reposts_count")) or 0,
                comments=parse_count(post.get("comments_count")) or 0,
            )

    def expand(
        self,
        post_id: str,
        mid: str,
        root_text: str,
        *,
        reposts: int = 0,
        comments: int = 0,
        force: bool = False,
    ) -> Iterator[Any]:
        if post_id in self.expanded:
            return
        self.expanded.add(post_id)
        ctx = {"post_id": post_id, "mid": mid, "root_text": root_text}
        if force or reposts >= EXPAND_MIN_REPOSTS:
            yield self.get(
                repost_url(self.base, post_id, 1), self.parse_reposts, {**ctx, "page": 1}
            )
        if force or comments >= EXPAND_MIN_COMMENTS:
            yield self.get(
                comments_url(self.base, post_id, mid, None), self.parse_comments, {**ctx, "page": 1}
            )

    # --- reposts and comments ---------------------------------------------------------------

    @batched
    def parse_reposts(
        self, response: Response, post_id: str, mid: str, root_text: str, page: int
    ) -> Iterator[Any]:
        data = self.payload(response, later_page=page > 1)
        if data is None:
            return
        body = data.get("data") or {}
        mblogs = [m for m in body.get("data") or [] if isinstance(m, dict)]
        self.count_page(len(mblogs))
        fresh = {"new": 0}
        for mblog in mblogs:
            mblog.setdefault("retweeted_status", {"id": post_id, "text": root_text})
            yield from self.mblog_records(
                mblog,
                f"reposts:{post_id}",
                response.url,
                fresh,
                emit_root=False,
                root_text=root_text,
            )
        last = min(parse_count(body.get("max")) or 0, self.source.max_pages)
        if mblogs and fresh["new"] and page < last:
            ctx = {"post_id": post_id, "mid": mid, "root_text": root_text, "page": page + 1}
            yield self.get(repost_url(self.base, post_id, page + 1), self.parse_reposts, ctx)

    @batched
    def parse_comments(
        self,
        response: Response,
        post_id: str,
        mid: str,
        root_text: str,
        page: int,
        old_api: bool = False,
    ) -> Iterator[Any]:
        data = self.payload(response, later_page=page > 1)
        if data is None:
            return
        ctx = {"post_id": post_id, "mid": mid, "root_text": root_text}
        body = data.get("data") or {}
        if not isinstance(body, dict):
            body = {}
        comments = [c for c in body.get("data") or [] if isinstance(c, dict)]
        hot = [c for c in body.get("hot_data") or [] if isinstance(c, dict)]
        if not comments and not hot and page == 1 and not old_api and data.get("ok") == 0:
            # hotflow refuses some posts without a login; the old comment API still answers.
            yield self.get(
                old_comments_url(self.base, post_id, 1),
                self.parse_comments,
                {**ctx, "page": 1, "old_api": True},
            )
            return
        self.count_page(len(comments) + len(hot))
        fresh = 0
        key = f"comments:{post_id}"
        for comment in [*comments, *hot]:
            nested = comment.get("comments") or []
            new_top = False
            for item in [comment, *nested]:
                if not isinstance(item, dict) or "id" not in item:
                    self.count_error("bad_entry", response.url)
                    continue
                native = f"c{item['id']}"
                if native in self.emitted:
                    continue
                created = self.parse_time_or_count(item.get("created_at"), response.url)
                if created is None or self.known(key, native, created):
                    continue
                fresh += 1
                new_top = new_top or item is comment
                self.emitted.add(native)
                record = self.comment_record(
                    item, comment, post_id, root_text, created, key, hot=comment in hot
                )
                if record is not None:
                    yield record
            # hotflow nests a few replies; ``total_number`` counts them all. The rest of a
            # comment's thread is on hotFlowChild: read for a new comment, and for one read before
            # whose count grew since (its new replies; known ones are skipped), never for one
            # whose count did not. (The old API lists replies flat, each with its reply_id.)
            if old_api or "id" not in comment:
                continue
            total = parse_count(comment.get("total_number")) or 0
            counted = "replies:" + self.doc_id(f"c{comment['id']}")
            last = self.state.last_count(counted)
            self.state.note_count(counted, total)
            grew = new_top or last is None or total > last
            if grew and total > sum(isinstance(item, dict) for item in nested):
                yield from self.follow_thread(str(comment["id"]), ctx)
        if not (comments and fresh and page < self.source.max_pages):
            return
        if old_api:
            if page < (parse_count(body.get("max")) or 0):
                url = old_comments_url(self.base, post_id, page + 1)
                yield self.get(url, self.parse_comments, {**ctx, "page": page + 1, "old_api": True})
            return
        if max_id := body.get("max_id"):
            url = comments_url(self.base, post_id, mid, max_id, body.get("max_id_type"))
            yield self.get(url, self.parse_comments, {**ctx, "page": page + 1})

    def follow_thread(self, cid: str, ctx: dict[str, Any]) -> Iterator[Any]:
        if cid in self.threads:
            return
        self.threads[cid] = set()
        yield self.get(
            child_url(self.base, cid, 0),
            self.parse_thread,
            {**ctx, "cid": cid, "page": 1, "max_id": 0},
        )

    def thread_gone(self, url: str) -> None:
        self._inc("skipped/thread_gone")
        self.logger.info("thread_gone: %s", url)

    @batched
    def parse_thread(
        self,
        response: Response,
        post_id: str,
        mid: str,
        root_text: str,
        cid: str,
        page: int,
        max_id: Any,
    ) -> Iterator[Any]:
        """One page of a comment's replies (``hotFlowChild``), linked as the nested ones are (to
        the reply each answers, else the comment: :meth:`comment_record`). Paged by ``max_id``
        until it is 0, repeats the one asked for, a page brings no reply not read before, or
        ``max_pages``."""
        html = response.status == 200 and response.body.lstrip()[:1] == b"<"
        if html and NO_DATA_PAGE.search(self.text(response)[:4000]):
            # The thread is not there (its comment was deleted): an answer, not a refusal.
            self.thread_gone(response.url)
            return
        # The comment was recorded by this run: any refusal keeps the crawl state, so the
        # next run reads the comment as new and its thread again.
        data = self.payload(response, later_page=True)
        if data is None:
            return
        if data.get("ok") != 1:
            if str(data.get("errno")) == DELETED:
                self.thread_gone(response.url)
                return
            said = str(data.get("msg") or data.get("message") or "")
            self.count_error("thread_refused", response.url, said)
            self.page_lost()
            return
        body: Any = data
        if isinstance(data.get("data"), dict):  # hotflow's nesting, read defensively
            body = data["data"]
        replies = [r for r in body.get("data") or [] if isinstance(r, dict)]
        self.count_page(len(replies))
        key = f"comments:{post_id}"
        seen = self.threads.setdefault(cid, set())
        progress = 0
        top = {"id": cid}
        for item in replies:
            if "id" not in item:
                self.count_error("bad_entry", response.url)
                continue
            native = f"c{item['id']}"
            if native not in seen:
                seen.add(native)
                progress += 1
            if native in self.emitted:  # one of the replies nested in the comment
                continue
            created = self.parse_time_or_count(item.get("created_at"), response.url)
            if created is None or self.known(key, native, created):
                continue
            self.emitted.add(native)
            record = self.comment_record(item, top, post_id, root_text, created, key)
            if record is not None:
                yield record
        following = body.get("max_id")
        again = following and str(following) != str(max_id)  # 0 ends the thread, a repeat too
        if progress and again and page < self.source.max_pages:
            ctx = {"post_id": post_id, "mid": mid, "root_text": root_text, "cid": cid}
            url = child_url(self.base, cid, following, body.get("max_id_type"))
            yield self.get(url, self.parse_thread, {**ctx, "page": page + 1, "max_id": following})

    @batched
    def parse_long_text(
        self, response: Response, mblog: dict[str, Any], key: str, root_text: str
    ) -> Iterator[Any]:
        data = self.payload(response)
        long_text = ((data or {}).get("data") or {}).get("longTextContent")
        if not long_text:  # keep the cut-off text rather than lose the post
            if data is not None:  # (a bad payload was counted already)
                self.count_error("long_text_missing", response.url)
            long_text = mblog.get("text") or ""
        full = {**mblog, "text": long_text, "_full_text": True}
        for output in self.mblog_records(
            full, key, response.url, None, emit_root=False, root_text=root_text
        ):
            if isinstance(output, dict):
                output["extra"]["long_text"] = True
            yield output

    def comment_record(
        self,
        item: dict[str, Any],
        top: dict[str, Any],
        post_id: str,
        root_text: str,
        created: Any,
        key: str,
        *,
        hot: bool = False,
    ) -> dict[str, Any] | None:
        text = item.get("text") or ""
        # The comment answered, as the answer names it (``reply_comment``, ``reply_id``), even
        # one not on the page (a later page, an earlier run; the cascade build makes an
        # uncrawled one a placeholder under ``thread_root``). One naming none hangs from it: a
        # ``回复@NAME:`` opening names a person, who may have several replies in the thread,
        # and Weibo sends none for a deleted one (``reply_comment: null``).
        answered = answered_id(item)
        if answered in (None, str(item["id"])):
            answered = None if item is top else str(top["id"])
        extra: dict[str, Any] = {"hot": True} if hot else {}
        if item is not top:
            extra["thread_root"] = self.doc_id(f"c{top['id']}")
        if name := reply_to(text):
            extra["reply_to"] = name
        return self.build(
            state_key=key,
            match_fields=[("text", html_to_text(text)), ("root_text", root_text)],
            native_id=f"c{item['id']}",
            kind="comment",
            url=f"https://m.weibo.cn/detail/{post_id}#comment-{item['id']}",
            author={
                **author(item.get("user") or {}),
                "region": comment_region(item.get("source")),
            },
            parent_id=self.doc_id(f"c{answered}" if answered else post_id),
            root_id=self.doc_id(post_id),
            relation="reply",
            text_raw=text,
            mentions=mentions(text),
            engagement={
                "likes": parse_count(item.get("like_count", item.get("like_counts"))) or 0,
                "comments": parse_count(item.get("total_number")) or 0,
            },
            created_at=created,
            time_precision=time_precision(item.get("created_at")),
            extra=extra,
        )

    # --- records ----------------------------------------------------------------------------

    def mblog_records(
        self,
        mblog: dict[str, Any],
        key: str,
        url: str,
        fresh: dict[str, int] | None,
        *,
        emit_root: bool = True,
        root_text: str = "",
    ) -> Iterator[Any]:
        """The post and, for a repost, its root post; ``fresh["new"]`` counts unseen posts.

        A long post (``isLongText``) is cut off in listings: its full text is the
        ``longText.longTextContent`` the listing carries (search cards do), else it is fetched
        from ``/statuses/extend`` first and the record is built there.
        """
        if not isinstance(mblog, dict) or "id" not in mblog:
            self.count_error("bad_entry", url)
            return
        root = mblog.get("retweeted_status")
        root = root if isinstance(root, dict) and root.get("id") else None
        if root is not None and emit_root and "created_at" in root:
            yield from self.mblog_records(root, key, url, None)
        created = self.parse_time_or_count(mblog.get("created_at"), url)
        if created is None:
            return
        # The full text of a long post comes back here; known() passed it the first time.
        if not mblog.get("_full_text") and self.known(key, mblog["id"], created):
            return
        if fresh is not None:
            fresh["new"] += 1
        extra: dict[str, Any] = {"source_app": mblog.get("source") or None}
        if mblog.get("isLongText") and not mblog.get("_full_text"):
            full_text = inline_long_text(mblog)
            if full_text is None:
                yield self.get(
                    f"{self.base}/statuses/extend?{urlencode({'id': mblog['id']})}",
                    self.parse_long_text,
                    {"mblog": mblog, "key": key, "root_text": root_text},
                )
                return
            mblog, extra["long_text"] = {**mblog, "text": full_text}, True
        text = mblog.get("text") or ""
        plain = html_to_text(text)
        region = (mblog.get("region_name") or "").replace("发布于", "").strip() or None
        root_plain = html_to_text(inline_long_text(root) or root.get("text") or "") if root else ""
        fields: dict[str, Any] = {}
        if root is not None:
            extra["repost_chain"] = repost_chain(plain)
            parent = mblog.get("pid")
            extra["parent_from_platform"] = bool(parent)
            fields = {
                "relation": "repost",
                "root_id": self.doc_id(root["id"]),
                "parent_id": self.doc_id(parent or root["id"]),
            }
        record = self.build(
            state_key=key,
            match_fields=[("text", plain), ("root_text", root_plain or root_text)],
            native_id=mblog["id"],
            kind="repost" if root is not None else "post",
            url=f"https://m.weibo.cn/detail/{mblog.get('mid') or mblog['id']}",
            author={**author(mblog.get("user") or {}), "region": region},
            text_raw=text,
            mentions=mentions(FIRST_HOP.split(text, 1)[0] if root is not None else text),
            topics=topics(plain),
            engagement={
                "likes": parse_count(mblog.get("attitudes_count")) or 0,
                "reposts": parse_count(mblog.get("reposts_count")) or 0,
                "comments": parse_count(mblog.get("comments_count")) or 0,
            },
            created_at=created,
            time_precision=time_precision(mblog.get("created_at")),
            extra=extra,
            **fields,
        )
        if record is not None:
            yield record
