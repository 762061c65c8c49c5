"""Fixtures for crawler tests: a brands config, fast crawl settings, a fixture-site factory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from koubei.config import BrandsConfig
from tests.crawlers.fixture_site import FixtureSite, Route

# No AutoThrottle delays and near-zero backoff: tests measure behaviour, not politeness timing.
FAST: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "KOUBEI_RETRY_BACKOFF_BASE": 0.01,
    "RETRY_TIMES": 2,
    "DOWNLOAD_TIMEOUT": 5,
    "LOG_LEVEL": "INFO",
}


@pytest.fixture
def brands() -> BrandsConfig:
    return BrandsConfig.model_validate(
        {
            "brands": [
                {
                    "name": "鲜牧",
                    "aliases": ["XianMu"],
                    "competitors": ["北岭"],
                    "exclude": ["鲜牧场"],
                },
                {"name": "北岭", "aliases": [], "exclude": ["北岭山"]},
            ]
        }
    )


@pytest.fixture
def fixture_site() -> Iterator[Any]:
    """``fixture_site(routes)`` starts a :class:`FixtureSite`; all are stopped after the test."""
    sites: list[FixtureSite] = []

    def start(routes: dict[str, Route], **kwargs: Any) -> FixtureSite:
        site = FixtureSite(routes, **kwargs)
        sites.append(site)
        return site

    yield start
    for site in sites:
        site.stop()
