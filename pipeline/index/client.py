"""The Elasticsearch client, configured only from the environment.

``KOUBEI_ES_URL`` (default: the local node started by ``koubei es start``; several nodes of a
cluster separated by commas, ``http://es1:9200,http://es2:9200``, and a request that finds one
stopped goes to the next), and optionally
``KOUBEI_ES_API_KEY`` or ``KOUBEI_ES_USERNAME``/``KOUBEI_ES_PASSWORD``, ``KOUBEI_ES_CA_CERTS``
(TLS is verified against it, or the system store, unless ``KOUBEI_ES_VERIFY_CERTS=false``).
The integ-test distribution has no ``GET /``, so health is checked with ``_cluster/health``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TlsError
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
    UnsupportedProductError,
)

from koubei.errors import KoubeiError


class ESConfigError(KoubeiError, RuntimeError):
    """No cluster is configured or reachable; the message says what to set."""


def es_url() -> str:
    url = os.environ.get("KOUBEI_ES_URL")
    if url:
        return url
    from koubei.es_local import LocalNode, node_file

    recorded = node_file()
    node = LocalNode.load(recorded)
    if node and node.alive():
        return node.url
    # `koubei es start` records its node under the KOUBEI_HOME it ran with (./var of the folder
    # it ran in, by default): run from another folder, a command found none and said only "run
    # `koubei es start`", which the user had done.
    if node:
        raise ESConfigError(
            f"no Elasticsearch: the local node recorded in {recorded} ({node.url}) is not "
            "running; `koubei es start` starts it again, or set KOUBEI_ES_URL"
        )
    raise ESConfigError(
        "no Elasticsearch: set KOUBEI_ES_URL or run `koubei es start` (no local node is "
        f"recorded in {recorded}: `koubei es start` records it under the KOUBEI_HOME it ran "
        "with, by default ./var of the folder it ran in)"
    )


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
    if os.environ.get("KOUBEI_ES_VERIFY_CERTS", "true").lower() in {"0", "false", "no"}:
        kwargs["verify_certs"] = False  # only for a self-signed dev cluster; never the default
    kwargs.update(overrides)
    url = url or es_url()
    hosts = es_hosts(url)
    # Every node gets a try before a request fails, even where the caller asked for no retries
    # (a fast health check): a stopped node is no outage while another one answers.
    kwargs["max_retries"] = max(kwargs.get("max_retries", 3), len(hosts) - 1)
    if len(hosts) > 1:  # a node that hangs (not refuses) is skipped too; writes carry their ids
        kwargs.setdefault("retry_on_timeout", True)
    try:
        return Elasticsearch(hosts if len(hosts) > 1 else hosts[0], **kwargs)
    except ValueError as exc:  # the client checks the URL (and TLS options against it) here
        tls = " with KOUBEI_ES_CA_CERTS set" if "ca_certs" in kwargs else ""
        message = f"KOUBEI_ES_URL={url!r}{tls}: {exc}"
        # not the credentials a URL may carry (the client's message repeats the URL)
        raise ESConfigError(re.sub(r"//[^/@\s]*@", "//***@", message)) from None


def es_hosts(url: str) -> list[str]:
    """The node URLs in ``KOUBEI_ES_URL``: one, or several separated by commas (or spaces)."""
    hosts = [h for h in re.split(r"[,\s]+", url.strip()) if h]
    if not hosts:
        raise ESConfigError(f"KOUBEI_ES_URL={url!r}: no URL in it (e.g. http://127.0.0.1:9200)")
    return hosts


def index_prefix() -> str:
    """Prefix of every index, template and alias (tests use their own to stay isolated)."""
    return check_prefix(os.environ.get("KOUBEI_INDEX_PREFIX", "koubei"), "KOUBEI_INDEX_PREFIX")


# What Elasticsearch refuses in an index name, and what makes a name several: "x*-posts" or
# "a,b-posts" read every index they match, or none (a KeyError traceback out of report daily).
_NOT_IN_PREFIX = frozenset('\\/*?"<>|,#: ')


def check_prefix(prefix: str, where: str) -> str:
    """``prefix`` if it can begin the name of exactly one index, else :class:`ESConfigError`
    naming ``where`` it came from (``--prefix``, ``KOUBEI_INDEX_PREFIX``).

    >>> check_prefix("koubei-test_1", "--prefix")
    'koubei-test_1'
    """
    bad = any(c in _NOT_IN_PREFIX or c.isupper() for c in prefix)
    if not prefix or bad or prefix[0] in "-_+." or len(prefix.encode()) > 200:
        raise ESConfigError(
            f"{where} {prefix!r} is no index prefix: lowercase, no spaces or any of "
            '\\ / * ? " < > | , # :, not starting with - _ + or ., at most 200 bytes'
        )
    return prefix


class ESAuthError(ESConfigError):
    """The cluster rejected the configured credentials (401) or their rights (403)."""


def auth_error(es: Elasticsearch, exc: ApiError) -> ESAuthError:
    """One clear sentence for a 401/403, naming where the credentials came from."""
    if os.environ.get("KOUBEI_ES_API_KEY"):
        source = "the API key in KOUBEI_ES_API_KEY"
    elif os.environ.get("KOUBEI_ES_USERNAME"):
        source = f"user {os.environ['KOUBEI_ES_USERNAME']!r} from KOUBEI_ES_USERNAME/_PASSWORD"
    else:
        source = "no credentials (set KOUBEI_ES_API_KEY or KOUBEI_ES_USERNAME/_PASSWORD)"
    what = "rejected" if exc.meta.status == 401 else "lacks the rights for this request with"
    message = f"Elasticsearch at {_url_of(es)} {what} {source} (HTTP {exc.meta.status})"
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    if exc.meta.status == 403 and isinstance(error, dict) and error.get("reason"):
        # Which action on which index: what the operator has to grant.
        message += f": {str(error['reason']).split(', this action is granted')[0]}"
    return ESAuthError(message)


def _url_of(es: Elasticsearch) -> str:
    nodes = list(es.transport.node_pool.all())
    return ", ".join(str(node.base_url) for node in nodes) if nodes else "?"


def check_cluster(es: Elasticsearch) -> dict[str, Any]:
    """Cluster health, or one clear error: unreachable, not answering in time, or credentials
    rejected.

    Raises
    ------
    ESAuthError
        HTTP 401/403 (wrong or missing credentials).
    ESConfigError
        The cluster cannot be reached or did not answer in time, or its TLS certificate is not
        trusted.
    """
    try:
        return dict(es.cluster.health())
    except (AuthenticationException, AuthorizationException) as exc:
        raise auth_error(es, exc) from None
    except TlsError as exc:
        raise tls_error(es, exc) from None
    except ConnectionTimeout as exc:
        # Connected, no answer: a node overloaded or still starting, not one that is not
        # there, which "cannot reach" made the operator look for.
        raise ESConfigError(
            f"Elasticsearch at {_url_of(es)} did not answer within {_timeout_of(es)}: a node "
            f"busy or still starting (try again; KOUBEI_ES_URL if it is the wrong address): "
            f"{exc}"
        ) from None
    except TransportConnectionError as exc:
        raise ESConfigError(f"cannot reach Elasticsearch at {_url_of(es)}: {exc}") from None
    except ApiError as exc:
        raise not_elasticsearch(es, exc) from None


def _timeout_of(es: Elasticsearch) -> str:
    # The client's request timeout; elasticsearch-py keeps it as a private attribute only.
    seconds = getattr(es, "_request_timeout", None)
    return f"{seconds:g} s" if isinstance(seconds, int | float) else "the client's timeout"


def not_elasticsearch(es: Elasticsearch, exc: ApiError) -> ESConfigError:
    """An answer to ``GET _cluster/health`` that no Elasticsearch gives: another HTTP server
    (a Kibana, a web page, a proxy's error page) is where ``KOUBEI_ES_URL`` points.

    Elasticsearch answers it with JSON and its ``X-Elastic-Product`` header (the client refuses
    a 2xx without it: ``UnsupportedProductError``), or with 401/403, handled before this.
    A real node's error (a 503 while no master is elected) is quoted, not an HTML page.
    """
    status = exc.meta.status
    body = exc.body if isinstance(exc.body, dict) else None
    if body is not None and not isinstance(exc, UnsupportedProductError):
        reason = str(body.get("error", body))[:200]
        return ESConfigError(
            f"Elasticsearch at {_url_of(es)} answered HTTP {status} to GET _cluster/health: "
            f"{reason} (KOUBEI_ES_URL)"
        )
    return ESConfigError(
        f"{_url_of(es)} is not Elasticsearch: it answered GET _cluster/health with HTTP "
        f"{status} and no Elasticsearch reply; set KOUBEI_ES_URL to an Elasticsearch node "
        "(http://host:9200), or unset it to use `koubei es start`'s node"
    )


def tls_error(es: Elasticsearch, exc: TlsError) -> ESConfigError:
    """One sentence for a failed TLS handshake, naming the CA file it was checked against."""
    ca = os.environ.get("KOUBEI_ES_CA_CERTS")
    against = (
        f"the CA in KOUBEI_ES_CA_CERTS ({ca})" if ca else "the system CAs (set KOUBEI_ES_CA_CERTS)"
    )
    reason = str(exc)
    found = re.search(r"certificate verify failed: ([^(\]'\"]+)", reason)
    reason = f"certificate verify failed: {found.group(1).strip()}" if found else reason
    return ESConfigError(
        f"TLS certificate of Elasticsearch at {_url_of(es)} not trusted by {against}: {reason}"
    )
