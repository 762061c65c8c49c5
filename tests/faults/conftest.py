"""The fault suite shares the flows' Prefect test server (one per session)."""

from tests.flows.conftest import prefect_server  # noqa: F401 - a fixture, used by name
