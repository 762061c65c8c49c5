"""One spider per platform; :func:`spider_classes` maps a source's ``platform`` to its spider
class. A module whose name starts with ``_`` holds helpers of a spider (``_weibo_api``), not a
platform."""

from __future__ import annotations

import importlib
import pkgutil

from koubei.crawlers.spiders.base import BaseSpider


def spider_classes() -> dict[str, type[BaseSpider]]:
    """Every spider under this package, keyed by ``name`` (= the config's ``platform``)."""
    found: dict[str, type[BaseSpider]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseSpider)
                and value is not BaseSpider
                and value.__module__ == module.__name__
            ):
                found[value.name] = value
    return found


def get_spider(platform: str) -> type[BaseSpider]:
    spiders = spider_classes()
    if platform not in spiders:
        raise KeyError(f"no spider for platform {platform!r}; known: {sorted(spiders)}")
    return spiders[platform]
