"""Record factories for the index tests: valid ``Document`` records, built through the model."""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import es_local
from koubei.model import Document, make_id, to_record
from koubei.timeutil import DEFAULT_TZ
from tests.conftest import ends_with_tests

from . import tls

BASE_TIME = datetime(2026, 11, 20, 12, 0, tzinfo=DEFAULT_TZ)


def changed_template_dir(tmp_path: Path, properties: dict[str, Any]) -> tuple[Path, int]:
    """A copy of config/es whose posts template is one version newer with ``properties`` set.

    Returns the directory and the new version.
    """
    from koubei.pipeline.index import templates

    target = tmp_path / f"es-{uuid.uuid4().hex[:6]}"
    target.mkdir()
    version = 0
    for path in templates.TEMPLATE_DIR.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if path.name == "posts.json":
            version = data["_meta"]["version"] + 1
            data["version"] = data["_meta"]["version"] = version
            data["template"]["mappings"]["_meta"]["version"] = version
            data["template"]["mappings"]["properties"].update(properties)
        (target / path.name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return target, version


def older_template_dir(tmp_path: Path, version: int, *, without: tuple[str, ...]) -> Path:
    """A copy of config/es whose posts template is back at ``version``: its mapping lacks the
    fields ``without`` that later versions added (a dotted name, ``sentiment.rules_version``,
    is a sub-field) and ``reindex_below``, which version 6 set."""
    from koubei.pipeline.index import templates

    target = tmp_path / f"es-v{version}-{uuid.uuid4().hex[:6]}"
    shutil.copytree(templates.TEMPLATE_DIR, target)
    data = json.loads((target / "posts.json").read_text(encoding="utf-8"))
    mappings = data["template"]["mappings"]
    data["version"] = data["_meta"]["version"] = mappings["_meta"]["version"] = version
    data["_meta"].pop("reindex_below", None)
    for name in without:
        *parents, leaf = name.split(".")
        properties = mappings["properties"]
        for parent in parents:
            properties = properties[parent]["properties"]
        properties.pop(leaf, None)
    (target / "posts.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return target


def stored_before_edit_time(es: Elasticsearch, records: list[dict[str, Any]], prefix: str) -> None:
    """Store ``records`` as the writer did before posts version 6: every index-only field but
    ``edited_at`` (an edit said its time in ``extra.edited_at`` alone)."""
    from koubei.pipeline.index.documents import prepare

    for record in records:
        index, source = prepare(record, prefix)
        source.pop("edited_at", None)
        es.index(index=index, id=record["id"], document=source)
    es.indices.refresh(index=f"{prefix}-posts")


def build_record(i: int, **overrides: Any) -> dict[str, Any]:
    """A valid Document record; ``overrides`` replace top-level fields."""
    negative = i % 3 == 0
    fields: dict[str, Any] = {
        "id": make_id("weibo", i),
        "platform": "weibo",
        "source": "weibo-search",
        "kind": "post",
        "native_id": str(i),
        "url": f"https://weibo.example/{i}",
        "brands": ["奶茶甲"] if i % 2 == 0 else ["奶茶乙"],
        "author": {"id": f"u{i % 7}", "name": f"用户{i % 7}", "followers": 100 * (i % 7)},
        "text_raw": f"第{i}条：这家奶茶{'太难喝了，退款' if negative else '很好喝'}",
        "terms": ["奶茶", "难喝", "退款"] if negative else ["奶茶", "好喝"],
        "engagement": {"likes": i, "reposts": i % 5, "comments": 1, "helpful": 0},
        "created_at": BASE_TIME + timedelta(minutes=i),
        "crawled_at": BASE_TIME + timedelta(hours=1),
        "sentiment": {
            "score": 0.1 if negative else 0.9,
            "label": "negative" if negative else "positive",
            "model_version": "snownlp-0.12.3",
        },
        "aspects": [{"aspect": "口味", "score": 0.2, "label": "negative", "sentence": "太难喝了"}],
        "dup_cluster": f"c{i // 2}",
        "extra": {"platform_junk": {"nested": [1, 2, {"x": "y"}]}},
    }
    fields.update(overrides)
    return to_record(Document(**fields))


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    return build_record


# Holding back a new month's primary for real: with this transient setting at 0 the node's
# allocation decider answers THROTTLE ("busy with other activities... Please wait"), as a node
# still starting other primaries does. On the limits node: the setting is the cluster's, and
# the session node is shared.
NO_PRIMARY_STARTS = {"cluster.routing.allocation.node_initial_primaries_recoveries": 0}
OCTOBER = "2026-10-15T12:00:00+08:00"  # an answering month (build_record's time is November)
HELD_BACK_S = 4.0


def held_back(es: Elasticsearch, seconds: float = HELD_BACK_S) -> threading.Timer:
    """Hold back new primaries now; the returned timer (started) lets them start later."""
    es.cluster.put_settings(transient=NO_PRIMARY_STARTS)
    lift = threading.Timer(
        seconds, es.cluster.put_settings, kwargs={"transient": dict.fromkeys(NO_PRIMARY_STARTS)}
    )
    lift.start()
    return lift


LIMITS_SETTINGS = {
    # Small enough that a default chunk (1,000 documents) is refused with 413...
    "http.max_content_length": "200kb",
    # ...and one write thread with a queue of one, so concurrent bulk requests meet 429.
    "thread_pool.write.size": 1,
    "thread_pool.write.queue_size": 1,
}


def _start_secure(folder: Path) -> es_local.LocalNode:
    """Security on, basic auth over TLS with a CA made for this session, its certificate in
    ``folder`` (pytest's temporary folder, which pytest prunes: a ``mkdtemp`` of its own was
    left in ``/tmp`` by every run)."""
    ca = tls.make_ca("koubei test CA")
    ca_file = folder / "ca.crt"
    ca_file.write_bytes(ca.pem)
    node = es_local.start(
        security=True,
        settings=tls.TLS_SETTINGS,
        config_files=tls.server_files(ca),
        ca_certs=str(ca_file),
    )
    return ends_with_tests(node)


def _start_limits() -> es_local.LocalNode:
    return ends_with_tests(es_local.start(settings=LIMITS_SETTINGS, heap="384m"))


_STARTERS: dict[str, Callable[[pytest.TempPathFactory], es_local.LocalNode]] = {
    "secure_node": lambda temp: _start_secure(temp.mktemp("secure-node-ca")),
    "limits_node": lambda temp: _start_limits(),
}


@pytest.fixture(scope="session", autouse=True)
def _nodes_starting(
    request: pytest.FixtureRequest,
) -> Iterator[dict[str, Future[es_local.LocalNode]]]:
    """Start our extra nodes in the background as soon as this directory's tests begin.

    They boot while the session node boots (each takes 20-70 s on the shared machine), so the
    suite waits for one startup instead of several in a row. A node no selected test needs is
    not started at all.
    """
    wanted = [
        name
        for name in _STARTERS
        if any(name in getattr(item, "fixturenames", ()) for item in request.session.items)
    ]
    pool = ThreadPoolExecutor(max_workers=max(1, len(wanted)), thread_name_prefix="extra-es")
    temp = request.getfixturevalue("tmp_path_factory")
    futures = {name: pool.submit(_STARTERS[name], temp) for name in wanted}
    try:
        yield futures
    finally:
        pool.shutdown(wait=True)
        for future in futures.values():
            if future.exception() is None:
                es_local.stop(future.result())


@pytest.fixture(scope="session")
def secure_node(_nodes_starting: dict[str, Future[es_local.LocalNode]]) -> es_local.LocalNode:
    """A second node of our own, with security on: basic auth over TLS (``node.ca_certs``).

    Tests may pause and resume it (the session node is shared and must never be paused).
    """
    return _nodes_starting["secure_node"].result()


@pytest.fixture(scope="session")
def limits_node(_nodes_starting: dict[str, Future[es_local.LocalNode]]) -> es_local.LocalNode:
    """A node with a small ``http.max_content_length`` and a one-slot write queue."""
    return _nodes_starting["limits_node"].result()


@pytest.fixture
def limits_es(limits_node: es_local.LocalNode) -> Iterator[Elasticsearch]:
    """A client of :func:`limits_node`, patient enough for its one-slot write queue."""
    client = Elasticsearch(limits_node.url, request_timeout=60)
    yield client
    client.close()


@pytest.fixture
def secure_es(secure_node: es_local.LocalNode) -> Iterator[Elasticsearch]:
    assert secure_node.username and secure_node.password
    client = Elasticsearch(
        secure_node.url,
        basic_auth=(secure_node.username, secure_node.password),
        ca_certs=secure_node.ca_certs,
        request_timeout=10,
        max_retries=0,
    )
    yield client
    client.close()
