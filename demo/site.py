"""The demo fixture site: the demo scenario served in the real platforms' response formats.

``start_demo_site()`` starts a threaded HTTP server on 127.0.0.1 serving

* ``/robots.txt`` (permissive, so ``obey_robots: true`` works);
* JD-style ``/comment/productPageComments.action?productId=..&page=..&pageSize=..``;
* Tmall-style JSONP ``/list_detail_rate.htm`` (GBK), Bilibili-style ``/x/web-interface/view`` and
  ``/x/v2/reply/main``, and an RSS feed ``/news/rss.xml`` with article pages ``/news/<slug>.html``;
* Weibo mobile-API-style ``/api/container/getIndex?containerid=100103type%3D1%26q%3D..&page=..``,
  ``/api/statuses/repostTimeline?id=..&page=..`` and ``/comments/hotflow?id=..&mid=..&max_id=..``.

``demo/config/sources.yaml`` points the spiders here (``{site_url}`` is replaced by the live URL).
"""

from __future__ import annotations

import html
import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from koubei.demo.site_data import Scenario, build_scenario
from koubei.demo.site_extra import TMALL_ITEM, VIDEO_AID, build_extra

CONFIG_DIR = Path(__file__).parent / "config"
Handler = Callable[[dict[str, str]], tuple[int, str, bytes]]
_TAG = re.compile(r"<[^>]+>")


def _public(value: Any) -> Any:
    """Drop the scenario's private ``_`` keys (e.g. ``_when``) from a payload."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _json(payload: Any, status: int = 200) -> tuple[int, str, bytes]:
    body = json.dumps(_public(payload), ensure_ascii=False).encode("utf-8")
    return status, "application/json; charset=utf-8", body


class DemoApp:
    """The routes of the demo site over one :class:`Scenario`."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.extra = build_extra(scenario.anchor)
        self.base_url = ""  # set once the server is bound; feeds need absolute links
        self.plain = {p["id"]: _TAG.sub("", p["text"]).lower() for p in scenario.posts}
        self.routes: dict[str, Handler] = {
            "/robots.txt": lambda q: (200, "text/plain", b"User-agent: *\nAllow: /\n"),
            "/comment/productPageComments.action": self.jd_comments,
            "/api/container/getIndex": self.weibo_search,
            "/api/statuses/repostTimeline": self.weibo_reposts,
            "/comments/hotflow": self.weibo_comments,
            "/statuses/extend": self.weibo_long_text,
            "/list_detail_rate.htm": self.tmall_rates,
            "/x/web-interface/view": self.bili_view,
            "/x/v2/reply/main": self.bili_replies,
            "/news/rss.xml": self.news_feed,
        }

    def handle(self, path: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        route = self.routes.get(path)
        if route is None and path.startswith("/news/") and path.endswith(".html"):
            return self.news_article(path[len("/news/") : -len(".html")])
        if route is None:
            return 404, "text/plain", b"not found"
        return route(query)

    def jd_comments(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        reviews = self.scenario.reviews.get(q.get("productId", ""), [])
        size = max(1, min(int(q.get("pageSize", 10)), 30))
        page = int(q.get("page", 0))
        bad = sum(1 for r in reviews if r["score"] <= 2)
        return _json(
            {
                "productAttr": None,
                "productCommentSummary": {
                    "commentCount": len(reviews),
                    "poorCount": bad,
                    "goodRate": round(1 - bad / len(reviews), 3) if reviews else 0,
                },
                "hotCommentTagStatistics": [],
                "maxPage": math.ceil(len(reviews) / size),
                "comments": reviews[page * size : (page + 1) * size],
            }
        )

    def weibo_search(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        inner = {k: v[0] for k, v in parse_qs(q.get("containerid", "")).items()}
        keyword = (inner.get("q") or q.get("q") or "").lower()
        page = int(q.get("page", 1))
        hits = [p for p in self.scenario.posts if keyword and keyword in self.plain[p["id"]]]
        chunk = hits[(page - 1) * 10 : page * 10]
        if not chunk:
            return _json({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}})
        cards: list[dict[str, Any]] = [{"card_type": 9, "mblog": m} for m in chunk]
        if page == 1:  # the first page nests results in a card group, as the real one does
            cards = [{"card_type": 11, "card_group": cards}]
        more = page * 10 < len(hits)
        return _json(
            {
                "ok": 1,
                "data": {
                    "cardlistInfo": {
                        "containerid": q.get("containerid"),
                        "page": page + 1 if more else None,
                        "total": len(hits),
                    },
                    "cards": cards,
                },
            }
        )

    def weibo_long_text(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        post = next((p for p in self.scenario.posts if p["id"] == q.get("id")), None)
        if post is None:
            return _json({"ok": 0, "msg": "微博不存在"})
        text = post.get("_long_text") or post["text"]
        return _json({"ok": 1, "data": {"ok": 1, "longTextContent": text}})

    def weibo_reposts(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        reposts = self.scenario.reposts.get(q.get("id", ""), [])
        page = int(q.get("page", 1))
        chunk = [
            {k: v for k, v in m.items() if k != "retweeted_status"}
            for m in reposts[(page - 1) * 10 : page * 10]
        ]
        return _json(
            {
                "ok": 1,
                "data": {
                    "data": chunk,
                    "total_number": len(reposts),
                    "hot_total_number": 0,
                    "max": math.ceil(len(reposts) / 10),
                },
            }
        )

    def weibo_comments(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        comments = self.scenario.comments.get(q.get("id", ""), [])
        offset = int(q.get("max_id") or 0)
        chunk = comments[offset : offset + 20]
        if not chunk:
            return _json({"ok": 0, "msg": "快来发表你的评论吧"})
        next_offset = offset + 20 if offset + 20 < len(comments) else 0
        return _json(
            {
                "ok": 1,
                "data": {
                    "data": chunk,
                    "total_number": len(comments),
                    "max_id": next_offset,
                    "max_id_type": 0,
                },
            }
        )

    # --- marketplace, video, news (demo/site_extra.py) -----------------------------------------

    def tmall_rates(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        rates = self.extra.rates if q.get("itemId") == TMALL_ITEM else []
        page = int(q.get("currentPage", 1))
        payload = {
            "rateDetail": {
                "rateCount": {"total": len(rates)},
                "paginator": {
                    "items": len(rates),
                    "lastPage": math.ceil(len(rates) / 20),
                    "page": page,
                },
                "rateList": rates[(page - 1) * 20 : page * 20],
            }
        }
        text = json.dumps(_public(payload), ensure_ascii=False)
        # The marketplace answers JSONP in GBK.
        body = f"{q.get('callback', 'jsonp128')}({text})".encode("gbk")
        return 200, "application/javascript; charset=GBK", body

    def bili_view(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        if q.get("aid") != VIDEO_AID:
            return _json({"code": -404, "message": "啥都木有", "ttl": 1})
        return _json({"code": 0, "message": "0", "ttl": 1, "data": self.extra.video})

    def bili_replies(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        replies = self.extra.replies if q.get("oid") == VIDEO_AID else []
        page = max(1, int(q.get("next") or 1))
        chunk = replies[(page - 1) * 20 : page * 20]
        end = page * 20 >= len(replies)
        cursor = {
            "is_begin": page == 1,
            "is_end": end,
            "next": page + 1,
            "prev": page,
            "all_count": len(replies),
        }
        return _json(
            {"code": 0, "message": "0", "ttl": 1, "data": {"cursor": cursor, "replies": chunk}}
        )

    def news_feed(self, q: dict[str, str]) -> tuple[int, str, bytes]:
        items = "".join(
            f"<item><title>{html.escape(a['title'])}</title>"
            f"<link>{self.base_url}/news/{a['slug']}.html</link>"
            f"<pubDate>{format_datetime(a['_when'])}</pubDate>"
            f"<author>{a['author']}</author></item>"
            for a in self.extra.articles
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>乳业快讯</title><link>{self.base_url}/news/</link>{items}"
            "</channel></rss>"
        )
        return 200, "application/rss+xml; charset=utf-8", body.encode("utf-8")

    def news_article(self, slug: str) -> tuple[int, str, bytes]:
        article = next((a for a in self.extra.articles if a["slug"] == slug), None)
        if article is None:
            return 404, "text/plain", b"not found"
        paragraphs = "".join(f"<p>{article['body']}</p>" for _ in range(3))
        body = (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{article["title"]}'
            f' - 乳业快讯</title><meta name="author" content="{article["author"]}"></head>'
            f'<body><nav><a href="/">首页</a> | <a href="/news/">快讯</a></nav><article>'
            f"<h1>{article['title']}</h1>{paragraphs}</article>"
            "<footer>版权所有 乳业快讯</footer></body></html>"
        )
        return 200, "text/html; charset=utf-8", body.encode("utf-8")


def _handler_class(app: DemoApp) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            status, content_type, body = app.handle(parts.path, query)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return _Handler


@dataclass
class DemoSite:
    """A running demo site; ``url`` has no trailing slash."""

    url: str
    scenario: Scenario
    server: ThreadingHTTPServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> DemoSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_demo_site(
    anchor: datetime | None = None, host: str = "127.0.0.1", port: int = 0
) -> DemoSite:
    """Start the demo site in a daemon thread; ``port=0`` picks a free port.

    Parameters
    ----------
    anchor
        The scenario's "now" (floored to 5 minutes); the burst is the hour before it.
    """
    app = DemoApp(build_scenario(anchor))
    server = ThreadingHTTPServer((host, port), _handler_class(app))
    server.daemon_threads = True
    app.base_url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    return DemoSite(
        url=f"http://{host}:{server.server_address[1]}",
        scenario=app.scenario,
        server=server,
        thread=thread,
    )


def render_config(
    site_url: str, template_dir: Path = CONFIG_DIR, out_dir: Path | None = None
) -> Path:
    """Copy the demo config with ``{site_url}`` replaced; returns the directory written."""
    import tempfile

    target = out_dir or Path(tempfile.mkdtemp(prefix="koubei-demo-config-"))
    target.mkdir(parents=True, exist_ok=True)
    for path in template_dir.glob("*.yaml"):
        text = path.read_text(encoding="utf-8").replace("{site_url}", site_url)
        (target / path.name).write_text(text, encoding="utf-8")
    return target
