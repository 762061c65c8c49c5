"""Crawled post URLs: only http(s) with a host becomes a link; the rest is shown as text."""

from __future__ import annotations

import pytest

from koubei.analysis.reports import content, render

NEVER_LINKS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\nscript:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "https:javascript:alert(1)",
    "//evil.example/x",
    "http://",
    "/detail/1",
]


@pytest.mark.parametrize("url", NEVER_LINKS)
def test_unsafe_crawled_urls_are_never_links(url: str) -> None:
    assert content.safe_url(url) is None
    row = content._post_row({"id": "weibo:1", "text_raw": "鲜牧", "url": url})
    html = render._environment().get_template("macros.html.j2").module.posts([row])  # type: ignore[attr-defined]
    assert "href" not in str(html)
    assert "<script>" not in str(html)


@pytest.mark.parametrize(
    "url", ["https://m.weibo.cn/detail/1", "HTTP://weibo.com/1/AbC", "https://x.cn/" + "a" * 300]
)
def test_web_urls_are_links(url: str) -> None:
    assert content.safe_url(url) == url
