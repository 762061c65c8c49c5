"""Secrets never leave the process: a monitoring cycle with ``-v`` logging and failures (the
receiver refuses every delivery, Elasticsearch rejects a password), then every output is
scanned for the seeded secret values: zero hits.

Outputs scanned: everything written to stdout/stderr (ours, structlog) and every standard
library log record (httpx, urllib3, elastic_transport, prefect, scrapy) at DEBUG, a CLI run
against a cluster that rejects the password, every file under ``$KOUBEI_HOME`` (landing,
processed, spool, dead letters, the alert outbox SQLite database, reports), every stored
document of the run's indices, and every request body the receiver got (it logs refused ones
too).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from koubei import paths
from koubei.demo.receiver import start_receiver
from koubei.demo.site import start_demo_site
from koubei.flows.demo import demo_anchor, demo_site_port, write_demo_config
from koubei.flows.monitor import monitor
from koubei.log import configure_logging
from tests.pipeline.index.faulty_proxy import faulty_proxy

pytestmark = pytest.mark.usefixtures("prefect_server")

SECRETS = {
    "KOUBEI_WEBHOOK_SECRET": "sig-Secret-9f8e7d6c",
    "KOUBEI_ES_PASSWORD": "es-Secret-pw-24680",
    "KOUBEI_WEIBO_COOKIE": "SUB=cookie-Secret-13579",
    "KOUBEI_KIBANA_API_KEY": "kb-Secret-apikey-1122",
}
WEBHOOK_TOKEN = "hook-Secret-token-5566"


def _refusing_receiver() -> tuple[str, list[str]]:
    """A webhook endpoint that answers 503 to everything and keeps what it was sent."""
    got: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            # Headers and body; the path is the webhook URL itself, token and all.
            got.append(f"{self.headers}\n{body.decode('utf-8', 'replace')}")
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", got


def _hits(text: str, values: list[str]) -> list[str]:
    return [value for value in values if value in text]


def test_a_failing_verbose_cycle_leaks_no_secret(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("KOUBEI_ES_USERNAME", "elastic")  # the session node ignores credentials
    secrets = [*SECRETS.values(), WEBHOOK_TOKEN]

    state = paths.state_dir("demo")
    anchor = demo_anchor(state)
    received_file = Path(koubei_home) / "received.jsonl"
    site = start_demo_site(anchor=anchor, port=demo_site_port(state))
    # The receiver knows another signing secret: it refuses every delivery with 401.
    receiver = start_receiver("the-receivers-own-secret", received_file)
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", f"{receiver.url}?access_token={WEBHOOK_TOKEN}")
    refusing, got = _refusing_receiver()
    monkeypatch.setenv("KOUBEI_SLACK_URL", f"{refusing}/services/T0/B0/{WEBHOOK_TOKEN}")
    configure_logging(verbose=True)
    caplog.set_level(logging.DEBUG)
    try:
        config_dir = write_demo_config(state, site.url)
        alerts = config_dir / "alerts.yaml"  # the Slack channel too, refused by the other end
        text = alerts.read_text(encoding="utf-8")
        assert "type: slack\n    enabled: false\n" in text
        alerts.write_text(text.replace("type: slack\n    enabled: false\n", "type: slack\n"))
        summary = monitor(config_dir=config_dir, prefix=index_prefix, as_of=anchor, progress=False)
        bodies = [*receiver.records(), *got]
        assert got, "the Slack channel was never tried"
    finally:
        site.stop()
        receiver.stop()
    assert summary["detections"]["鲜牧"] > 0 and receiver.received() == []  # it did fail

    # The password rejected by the cluster (a proxy answers 401), through the CLI with -v.
    with faulty_proxy(es_url, lambda method, path, n: 401) as (url, _):
        env = {**os.environ, "KOUBEI_ES_URL": url}
        cli = subprocess.run(
            [str(Path(sys.executable).parent / "koubei"), "-v", "index", "status"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert cli.returncode == 2 and "HTTP 401" in cli.stderr

    captured = capfd.readouterr()
    outputs = {
        "stdout": captured.out,
        "stderr": captured.err,
        "log records": caplog.text,
        "cli": cli.stdout + cli.stderr,
        "receiver": json.dumps(bodies, ensure_ascii=False),
    }
    assert "HTTP Request: POST" in caplog.text  # httpx logged the refused deliveries
    for path in Path(koubei_home).rglob("*"):
        if path.is_file():
            outputs[str(path)] = path.read_bytes().decode("utf-8", "replace")
    es.indices.refresh(index=f"{index_prefix}-*")
    stored = es.search(index=f"{index_prefix}-*", size=10_000, query={"match_all": {}})
    assert stored["hits"]["hits"]
    outputs["documents"] = json.dumps(stored["hits"]["hits"], ensure_ascii=False)

    leaks = {where: _hits(text, secrets) for where, text in outputs.items()}
    assert {where: found for where, found in leaks.items() if found} == {}
