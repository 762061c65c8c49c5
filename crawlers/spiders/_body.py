"""How a response body is read, apart from the spider that reads it: which wall (a captcha,
a login page) an HTML page is, which charset its bytes are really in when the label lies, and
the JSON inside a JSONP wrapper or in a body of JSON values one after another.

Pure functions and patterns of a body's text or bytes, with no spider state:
:class:`koubei.crawlers.spiders.base.BaseSpider` calls them from ``check``, ``text`` and
``load_json``, which count what they find. The leading ``_`` keeps this module out of the
platforms (:func:`koubei.crawlers.spiders.spider_classes`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from koubei.cjk_charset import gb_or_big5

CAPTCHA = re.compile(
    r"验证码|captcha|滑块|安全验证|人机验证|访问验证|访问被拒绝|verify you are human", re.I
)
# ``Sina Visitor System``: Weibo's visitor-cookie page, served with HTTP 200 in place of the
# answer to a client without the cookie (it runs a script to get one): a wall, not a bad answer.
LOGIN = re.compile(
    r"passport\.|login\.|请登录|登录后|扫码登录|sign in to continue|sina visitor system"
    # A login page's own title, whole or beside the site's name (京东's passport page is
    # "京东-欢迎登录", a forum's "用户登录 - 论坛名"); never inside a headline (会员登录异常).
    r"|(?:^|[-_|–—·\s])(?:欢迎|用户|会员|账号|帐号)?登录(?:$|[-_|–—·\s])",
    re.I,
)
# A JSONP body: ``cb({...})``, optionally led by the ``/**/`` that Express, WordPress and Baidu's
# APIs put first (against Rosetta Flash) and Express's ``typeof cb === 'function' && ``, and
# followed by ``;``, whitespace or a ``//`` / ``/* */`` comment.
JSONP = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*"
    r"(?:typeof\s+[\w$.]+\s*===?\s*(?P<q>['\"])function(?P=q)\s*&&\s*)?"
    r"[\w$.]+\s*\(\s*(?P<body>.*?)\s*\)\s*;?\s*(?://[^\n]*|/\*.*?\*/\s*)*\s*$",
    re.S,
)
# Alibaba's risk-control page (Taobao, Tmall, 1688): served in place of an answer, as HTML whose
# script config says ``action=deny``/``captcha`` and carries ``x5secdata`` and a ``punish`` URL
# (``_____tmd_____/punish``, ``bixi.alicdn.com/punish``), titled 访问被拒绝 or 验证码拦截.
PUNISH = re.compile(r"x5secdata|_____tmd_____/punish|bixi\.alicdn\.com/punish", re.I)


def html_wall(head: str) -> str | None:
    """What wall an HTML page's head is: ``captcha``, ``login_wall``, or None for none.

    Examples
    --------
    >>> html_wall("<html><head><title>Sina Visitor System</title>"), html_wall("<p>hi</p>")
    ('login_wall', None)
    >>> [html_wall(f"<title>{t}</title>") for t in ("京东-欢迎登录", " 用户登录 - 乳品论坛")]
    ['login_wall', 'login_wall']
    >>> html_wall("<title>鲜牧会员登录异常，客服称正在修复 - 财经快讯</title>") is None
    True
    """
    title = re.search(r"<title[^>]*>(.*?)</title>", head, re.S | re.I)
    title_text = title.group(1) if title else ""
    if CAPTCHA.search(title_text) or ("captcha" in head.lower() and "<form" in head):
        return "captcha"
    if PUNISH.search(head):
        return "captcha"
    if LOGIN.search(title_text):
        return "login_wall"
    return None


def utf8_behind_label(body: bytes, encoding: str) -> bool:
    """Whether a body labelled GB2312/GBK/GB18030 or UTF-16/UTF-32 is UTF-8 after all.

    GB18030 decodes most UTF-8 byte strings without an error, into other characters
    (``云朵`` → ``浜戞湹``), so a UTF-8 page still labelled GB2312 from before a migration would
    parse, match no brand and be dropped. Chinese text in GBK is practically never valid UTF-8
    (its lead bytes B0-F7 are UTF-8 continuation bytes), so a body that is valid UTF-8 with
    non-ASCII bytes is read as UTF-8.

    UTF-16 decodes any even number of bytes, into nonsense: .NET's XmlWriter over a
    StringBuilder declares ``encoding="utf-16"`` on what is then sent as UTF-8. Markup in
    UTF-16 or UTF-32 is full of NUL bytes (``<`` is ``3C 00``), so a body without one that is
    valid UTF-8 is read as UTF-8.

    Examples
    --------
    >>> label = utf8_behind_label
    >>> label("云朵".encode(), "gb18030"), label("云朵".encode("gbk"), "gbk")
    (True, False)
    >>> label(b"<rss/>", "utf-16"), label("<rss/>".encode("utf-16"), "utf-16")
    (True, False)
    """
    label = encoding.lower().replace("-", "").replace("_", "")
    if label.startswith(("utf16", "utf32")):
        if b"\x00" in body:
            return False
    elif label not in {"gb18030", "gbk", "gb2312"} or body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def mostly_utf8(body: bytes, encoding: str) -> bool:
    """Whether a body labelled UTF-8 that does not decode is UTF-8 with a few bad bytes.

    GBK served as ``charset=utf-8`` (common on Chinese sites) fails at nearly every character:
    its lead bytes B0-F7 start no UTF-8 sequence. UTF-8 with a cut character fails once among
    many characters that decode. Twenty good characters a bad one tell them apart.

    Examples
    --------
    >>> text = "鲜牧纯牛奶喝出黑色异物"
    >>> cut = text.encode() + text.encode()[:2] + text.encode()
    >>> mostly_utf8(cut, "utf-8"), mostly_utf8(text.encode("gbk"), "utf-8")
    (True, False)
    """
    if encoding.lower().replace("-", "").replace("_", "") != "utf8":
        return False
    decoded = body.decode("utf-8", errors="replace")
    bad = decoded.count("\ufffd")
    good = sum(1 for c in decoded if c > "\x7f") - bad
    return 0 < bad * 20 <= good


def chinese_label_lies(body: bytes, encoding: str) -> str | None:
    """The other of GB18030 and Big5 when a body labelled one of them (GB2312, GBK, GB18030,
    Big5, Big5-HKSCS) reads as more common characters in the other (:func:`gb_or_big5`), else
    None. A template copied from a mainland site keeps its ``charset=gb2312`` over Big5 text; a
    Big5 label over GBK text is the same mistake the other way round.

    Examples
    --------
    >>> lies = chinese_label_lies
    >>> lies("數據診斷".encode("big5"), "gbk"), lies("推荐阅读".encode("gbk"), "big5")
    ('big5hkscs', 'gb18030')
    >>> lies("數據診斷".encode("big5"), "big5hkscs"), lies(b"<p>", "gbk")
    (None, None)
    """
    label = encoding.lower().replace("-", "").replace("_", "")
    family = (
        "gb18030"
        if label in {"gb18030", "gbk", "gb2312", "cp936"}
        else "big5hkscs"
        if label in {"big5", "big5hkscs", "cp950"}
        else None
    )
    if family is None or body.isascii():
        return None
    other = gb_or_big5(body, prefer=family)
    return other if other is not None and other != family else None


def json_sequence(text: str, limit: int = 4) -> list[Any] | None:
    """The values of a body holding several JSON values one after another (``{…}{…}``), or
    None when it holds one, more than ``limit``, or anything that is not JSON between them.

    Examples
    --------
    >>> json_sequence('{"code": -509} {"code": 0, "data": {}}')
    [{'code': -509}, {'code': 0, 'data': {}}]
    >>> json_sequence('{"code": 0}'), json_sequence('{"a": 1} junk')
    (None, None)
    """
    decoder, at = json.JSONDecoder(), 0
    values: list[Any] = []
    try:
        while at < len(text) and len(values) <= limit:
            value, at = decoder.raw_decode(text, at)
            values.append(value)
            while at < len(text) and text[at].isspace():
                at += 1
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return None
    return values if 1 < len(values) <= limit and at >= len(text) else None
