"""Session fixtures for the real servers the suite needs.

The Elasticsearch node is started once per session (about 15-40 s) unless ``KOUBEI_ES_URL``
points at one. There is no skip: a node that cannot start fails the tests that need it, which is
what ``CI=true`` requires.

A test whose outcome depends on the date takes the ``clock`` fixture (and is marked ``clock`` by
that alone): it states its data relative to that instant, and the code under test reads the same
instant through ``koubei.timeutil.now()``. ``.ci/run`` runs ``-m clock`` again with ``--clock``
at a month's last minute and at New Year.

Hypothesis profiles, chosen by ``KOUBEI_HYPOTHESIS_PROFILE``: ``dev`` (default, 100 examples per
property) and ``ci`` (``.ci/run``), which gives every property without its own ``max_examples``
:data:`CI_EXAMPLES` examples, so the fuzz suite in ``tests/fuzz/`` runs 100,000 cases in all
(BENCHMARKS.md/RELIABILITY.md give the measured time).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, settings

from koubei import es_local, timeutil
from koubei.stopping import ends_with_this_process

# The instant date-sensitive tests run at unless --clock names others.
DEFAULT_NOW = "2026-11-20T12:00:00+08:00"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        action="append",
        default=[],
        metavar="ISO",
        help="run each clock test at this instant (repeatable), e.g. 2027-01-31T23:59:00Z",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "clock" in metafunc.fixturenames:
        instants = metafunc.config.getoption("--clock") or [DEFAULT_NOW]
        metafunc.parametrize("clock", instants, indirect=True, ids=instants)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "clock" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.clock)


@pytest.fixture
def clock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Stop koubei's clock for this test and return the instant (in Asia/Shanghai).

    Set as ``KOUBEI_NOW`` in the environment, so ``timeutil.now()`` in this process and in a
    ``koubei`` subprocess see it; servers the suite starts (Elasticsearch, Redis) keep real time.
    """
    monkeypatch.setenv(timeutil.CLOCK_ENV, request.param)
    return timeutil.now()


# 15 fuzz properties x 7,200 = 108,000 cases (tests/fuzz/test_count.py keeps the count honest).
CI_EXAMPLES = 7_200
# No deadline: a loaded 2-core CI machine makes per-example timing meaningless; the suite's wall
# time is what is bounded (pytest-timeout and the figure in RELIABILITY.md).
settings.register_profile("dev", deadline=None)
settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,  # a failure prints the @reproduce_failure line to replay it locally
    database=None,  # CI machines are fresh; writing examples to disk only costs time
)
settings.load_profile(os.environ.get("KOUBEI_HYPOTHESIS_PROFILE", "dev"))


def ends_with_tests(node: es_local.LocalNode, folder: str | None = None) -> es_local.LocalNode:
    """``node``, also ended when this test process ends however it ends (SIGKILL, a CI job's
    timeout), and its data folder (``folder``: a cluster's, holding every node's) removed
    once its processes have: fixture teardown stops it only on a run that unwinds, and a killed
    run left the node's JVMs running (its own process group, as :func:`es_local.start` makes
    it) and then, with session 28's watcher, its data folder (``/var/tmp/koubei-es/node-*``).
    A run killed with its watcher left the folder: the next test node's start removes it
    (``es_local.remove_leftover_folders``)."""
    ends_with_this_process(node.pid, then_remove=folder or node.data)
    return node


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    if os.environ.get("KOUBEI_ES_URL"):
        yield os.environ["KOUBEI_ES_URL"]
        return
    node = ends_with_tests(es_local.start())
    try:
        yield node.url
    finally:
        es_local.stop(node)


@pytest.fixture(scope="session")
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


@pytest.fixture
def index_prefix(es: Elasticsearch) -> Iterator[str]:
    """A unique index prefix per test; its indices, templates and aliases are removed after."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield prefix
    drop_prefix(es, prefix)


def drop_prefix(es: Elasticsearch, prefix: str) -> None:
    """Remove the indices (with their aliases) and index templates whose names start ``prefix``."""
    es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True)
    templates = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}*")
    for template in templates.get("index_templates", []):
        es.indices.delete_index_template(name=template["name"])


@pytest.fixture
def koubei_home(tmp_path, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """An isolated state root (landing, spool, outbox ...) for one test."""
    home = tmp_path / "koubei-home"
    monkeypatch.setenv("KOUBEI_HOME", str(home))
    return str(home)
