"""Run the Examples sections of the crawler text and signing helpers as doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "koubei.crawlers.brandmatch",
    "koubei.crawlers.textutil",
    "koubei.crawlers.timeparse",
    "koubei.crawlers._rfc822",
    "koubei.crawlers.health",
    "koubei.crawlers.state",
    "koubei.cjk_charset",  # the pages' GB18030-or-Big5 choice, which user files share
    "koubei.crawlers.spiders._body",
    "koubei.crawlers.spiders._conditional",
    "koubei.crawlers.spiders._feed_xml",
    "koubei.crawlers.spiders._weibo_api",
    "koubei.crawlers.spiders.base",
    "koubei.crawlers.spiders.shop_jsonp",
    "koubei.crawlers.spiders.video_comments",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
