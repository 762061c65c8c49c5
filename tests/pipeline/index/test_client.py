from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from koubei import es_local
from koubei.pipeline.index.client import ESAuthError, check_cluster, client_from_env
from koubei.pipeline.index.writer import index_records

from .conftest import build_record

pytestmark = [pytest.mark.es, pytest.mark.slow]  # starts and restarts its own node


def test_right_credentials_from_env_index_on_a_secured_node(
    secure_node: es_local.LocalNode, monkeypatch: pytest.MonkeyPatch, koubei_home: str
) -> None:
    monkeypatch.setenv("KOUBEI_ES_USERNAME", secure_node.username or "")
    monkeypatch.setenv("KOUBEI_ES_PASSWORD", secure_node.password or "")
    monkeypatch.setenv("KOUBEI_ES_CA_CERTS", secure_node.ca_certs or "")
    es = client_from_env(secure_node.url)
    assert check_cluster(es)["status"] in ("green", "yellow")
    report = index_records(es, [build_record(1)], prefix="authok")
    assert report.created == 1


def test_rejected_credential_is_one_clear_error(
    secure_node: es_local.LocalNode, monkeypatch: pytest.MonkeyPatch, koubei_home: str
) -> None:
    monkeypatch.setenv("KOUBEI_ES_USERNAME", "mallory")
    monkeypatch.setenv("KOUBEI_ES_PASSWORD", "wrong")
    monkeypatch.setenv("KOUBEI_ES_CA_CERTS", secure_node.ca_certs or "")
    es = client_from_env(secure_node.url)
    with pytest.raises(ESAuthError, match=r"rejected user 'mallory' .* \(HTTP 401\)"):
        check_cluster(es)
    with pytest.raises(ESAuthError, match="HTTP 401"):
        index_records(es, [build_record(1)], prefix="authbad")


def test_cli_reports_rejected_credential_without_traceback(
    secure_node: es_local.LocalNode, koubei_home: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_ES_")}
    env["KOUBEI_ES_URL"] = secure_node.url
    env["KOUBEI_ES_CA_CERTS"] = secure_node.ca_certs or ""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "koubei"), "index", "replay", "--prefix", "authcli"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"koubei: error: Elasticsearch at {secure_node.url} rejected no credentials "
        "(set KOUBEI_ES_API_KEY or KOUBEI_ES_USERNAME/_PASSWORD) (HTTP 401)"
    ]


def test_unsecured_session_node_needs_no_credentials(es: Elasticsearch) -> None:
    assert check_cluster(es)["number_of_nodes"] == 1
