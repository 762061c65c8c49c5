"""The Elasticsearch client, configured only from the environment.

``KOUBEI_ES_URL`` (default: the local node started by ``koubei es start``), and optionally
``KOUBEI_ES_API_KEY`` or ``KOUBEI_ES_USERNAME``/``KOUBEI_ES_PASSWORD``, ``KOUBEI_ES_CA_CERTS``.
The integ-test distribution has no ``GET /``, so health is checked with ``_cluster/health``.
"""

from __future__ import annotations

import os
from typing import Any

from elasticsearch import Elasticsearch

from koubei import paths


class ESConfigError(RuntimeError):
    """No cluster is configured or reachable; the message says what to set."""


def es_url() -> str:
    url = os.environ.get("KOUBEI_ES_URL")
    if url:
        return url
    from koubei.es_local import LocalNode

    node = LocalNode.load(paths.state_dir("es") / "es-node.json")
    if node and node.alive():
        return node.url
    raise ESConfigError("no Elasticsearch: set KOUBEI_ES_URL or run `koubei es start`")


def client_from_env(url: str | None = None, **overrides: Any) -> Elasticsearch:
    kwargs: dict[str, Any] = {"request_timeout": 30}
    if os.environ.get("KOUBEI_ES_API_KEY"):
        kwargs["api_key"] = os.environ["KOUBEI_ES_API_KEY"]
    elif os.environ.get("KOUBEI_ES_USERNAME"):
        kwargs["basic_auth"] = (
            os.environ["KOUBEI_ES_USERNAME"],
            os.environ.get("KOUBEI_ES_PASSWORD", ""),
        )
    if os.environ.get("KOUBEI_ES_CA_CERTS"):
        kwargs["ca_certs"] = os.environ["KOUBEI_ES_CA_CERTS"]
    kwargs.update(overrides)
    return Elasticsearch(url or es_url(), **kwargs)


def index_prefix() -> str:
    """Prefix of every index, template and alias (tests use their own to stay isolated)."""
    return os.environ.get("KOUBEI_INDEX_PREFIX", "koubei")
