"""TLS with certificate verification, clear errors for a wrong CA or password, and the whole
index pipeline under a user holding only the least-privilege role (secure node over https)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from koubei import es_local
from koubei.jsonl import write_atomic
from koubei.pipeline.index.security import least_privilege_role

from . import tls
from .conftest import build_record

pytestmark = [pytest.mark.es, pytest.mark.slow]

PIPELINE_USER = "koubei-pipeline"
PIPELINE_PASSWORD = "pipeline-pw-4711"


def koubei(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_ES_")}
    command = [str(Path(sys.executable).parent / "koubei"), *args]
    return subprocess.run(command, env={**base, **env}, capture_output=True, text=True, timeout=180)


def _env(node: es_local.LocalNode, home: str, **extra: str) -> dict[str, str]:
    return {
        "KOUBEI_ES_URL": node.url,
        "KOUBEI_ES_CA_CERTS": node.ca_certs or "",
        "KOUBEI_ES_USERNAME": node.username or "",
        "KOUBEI_ES_PASSWORD": node.password or "",
        "KOUBEI_HOME": home,
        **extra,
    }


def test_node_answers_only_over_verified_tls(secure_node: es_local.LocalNode) -> None:
    assert secure_node.url.startswith("https://")
    plain = Elasticsearch(secure_node.url.replace("https", "http"), max_retries=0)
    with pytest.raises(Exception):  # noqa: B017 - any failure: the port speaks only TLS
        plain.cluster.health()


def test_wrong_ca_is_one_line_naming_the_ca_file(
    secure_node: es_local.LocalNode, koubei_home: str, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.crt"
    other.write_bytes(tls.make_ca("someone else's CA").pem)
    result = koubei("index", "status", "--prefix", "tlsca",
                    env=_env(secure_node, koubei_home, KOUBEI_ES_CA_CERTS=str(other)))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"koubei: error: TLS certificate of Elasticsearch at {secure_node.url} not trusted by the "
        f"CA in KOUBEI_ES_CA_CERTS ({other}): certificate verify failed: unable to get local "
        "issuer certificate"
    ]


def test_wrong_password_is_one_line_naming_the_user(
    secure_node: es_local.LocalNode, koubei_home: str
) -> None:
    env = _env(secure_node, koubei_home, KOUBEI_ES_PASSWORD="not-the-password")
    result = koubei("index", "setup", "--prefix", "tlspw", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"koubei: error: Elasticsearch at {secure_node.url} rejected user {secure_node.username!r} "
        "from KOUBEI_ES_USERNAME/_PASSWORD (HTTP 401)"
    ]
    assert "not-the-password" not in result.stdout + result.stderr


def test_pipeline_runs_as_a_user_with_only_the_least_privilege_role(
    secure_node: es_local.LocalNode, secure_es: Elasticsearch, koubei_home: str, tmp_path: Path
) -> None:
    prefix = "lp"
    role = least_privilege_role(prefix)
    es_local.add_file_user(
        secure_node, PIPELINE_USER, PIPELINE_PASSWORD, role="koubei-writer", privileges=role
    )
    as_user = Elasticsearch(secure_node.url, basic_auth=(PIPELINE_USER, PIPELINE_PASSWORD),
                            ca_certs=secure_node.ca_certs, max_retries=0)  # fmt: skip
    deadline = time.monotonic() + 90
    while True:  # the node reloads users and roles files every few seconds
        who = as_user.options(ignore_status=(401, 403)).security.authenticate()
        if who.meta.status == 200 and "koubei-writer" in who["roles"]:
            break
        assert time.monotonic() < deadline, f"user never became usable: {who}"
        time.sleep(1)
    as_user.close()
    env = _env(secure_node, koubei_home, KOUBEI_ES_USERNAME=PIPELINE_USER,
               KOUBEI_ES_PASSWORD=PIPELINE_PASSWORD)  # fmt: skip

    setup = koubei("index", "setup", "--prefix", prefix, env=env)
    assert setup.returncode == 0, setup.stderr
    assert all(json.loads(line)["current"] for line in setup.stdout.splitlines())
    landing = tmp_path / "posts.jsonl"
    write_atomic(landing, (build_record(i) for i in range(60)))
    for expected in ((60, 0), (0, 60)):  # a second load is a re-crawl: updates only
        loaded = koubei("index", "load", str(landing), "--prefix", prefix, env=env)
        assert loaded.returncode == 0, loaded.stderr
        report = json.loads(loaded.stdout.strip().splitlines()[-1])
        assert (report["created"], report["updated"]) == expected
        assert report["failed"] == report["spooled"] == 0
    secure_es.indices.refresh(index=f"{prefix}-posts")
    found = koubei("search", "退款", "--json", "-n", "100", "--prefix", prefix, env=env)
    assert found.returncode == 0, found.stderr
    assert len(found.stdout.splitlines()) == 20  # i % 3 == 0 are the negative ones

    # The role stops at its prefix: another prefix's indices are refused, with one error line
    # naming the user and the action. (Templates are not: `manage_index_templates` cannot be
    # limited by name in Elasticsearch, so the template calls before it succeed and log.)
    elsewhere = koubei("index", "setup", "--prefix", "notours", env=env)
    assert elsewhere.returncode == 2, elsewhere.stderr
    errors = [line for line in elsewhere.stderr.splitlines() if line.startswith("koubei: error:")]
    assert len(errors) == 1 and errors[0] == elsewhere.stderr.strip().splitlines()[-1]
    [line] = errors
    assert secure_es.indices.get(index="notours-*", allow_no_indices=True) == {}
    # (The refused request is a HEAD, whose 403 carries no body to name the action.)
    assert line == (
        f"koubei: error: Elasticsearch at {secure_node.url} lacks the rights for this request with "
        f"user {PIPELINE_USER!r} from KOUBEI_ES_USERNAME/_PASSWORD (HTTP 403)"
    )
