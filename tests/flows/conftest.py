"""Prefect runs against a real temporary API server, started once per session (~20 s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        # The server's telemetry heartbeat contends for the harness's SQLite database.
        patch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        with prefect_test_harness(server_startup_timeout=120):
            yield
