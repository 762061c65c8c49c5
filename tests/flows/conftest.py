"""Prefect runs against a real temporary API server, started once per session (~20 s)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from koubei import paths


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        # The server's telemetry heartbeat contends for the harness's SQLite database.
        patch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        with prefect_test_harness(server_startup_timeout=120):
            yield


@pytest.fixture
def config_dir(tmp_path: Path, koubei_home: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped config, its webhook channel's secret set (its URL is the test's)."""
    folder = tmp_path / "config"
    shutil.copytree(paths.CONFIG_DIR, folder)
    monkeypatch.setenv("KOUBEI_WEBHOOK_SECRET", "s3cret")
    return folder
