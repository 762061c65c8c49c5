"""``koubei serve`` refuses, at start-up and in one line, what would fail every scheduled run.

Each case runs the real command line in a subprocess with no Prefect server: the check comes
before any is needed, so a command that got past it would start serving (and, before the fix,
did: these cases then ran until the test's timeout). Past the checks, a SIGKILL of serve leaves
no Prefect server behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from koubei import paths
from tests.flows.commands.cli_run import one_line
from tests.processes import children, ended, prefect_servers

SERVE_TIMEOUT_S = 60  # the start-up checks take seconds; serving would run for ever


def serve(home: Path, config: Path, *argv: str, env: dict[str, str]) -> tuple[int, list[str]]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("KOUBEI_", "PREFECT_API_URL"))
    }
    environ.update({"KOUBEI_HOME": str(home), **env})
    command = [sys.executable, "-m", "koubei.flows.cli", "serve", "--config-dir", str(config)]
    with subprocess.Popen(
        [*command, *argv], env=environ, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            _, stderr = proc.communicate(timeout=SERVE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # A SIGTERM, not the SIGKILL of subprocess.run's timeout: serve then stops the
            # temporary Prefect server it started, instead of leaving it running.
            proc.terminate()
            proc.communicate(timeout=SERVE_TIMEOUT_S)
            pytest.fail(f"koubei serve started serving instead of stopping at start-up: {argv}")
    return proc.returncode, stderr.splitlines()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(paths.CONFIG_DIR, folder)
    return folder


WEBHOOK = {"KOUBEI_WEBHOOK_URL": "http://127.0.0.1:9/hook", "KOUBEI_WEBHOOK_SECRET": "s3cret"}


def test_serve_without_the_webhook_url_stops_at_start(tmp_path: Path, config: Path) -> None:
    # Before: it served, and every process run failed in its delivery task (after processing
    # and indexing) with a traceback naming the variable, every five minutes.
    code, err = serve(tmp_path, config, env={"KOUBEI_WEBHOOK_SECRET": "s3cret"})
    one_line(code, err, "KOUBEI_WEBHOOK_URL", "alerts.yaml")
    assert code == 2


def test_serve_with_a_source_tracking_an_unknown_brand(tmp_path: Path, config: Path) -> None:
    sources = config / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    sources.write_text(
        text.replace("    platform: shop_json\n", "    platform: shop_json\n    brands: [鲜目]\n"),
        encoding="utf-8",
    )
    # Before: `serve --list` listed crawl-shop-reviews as fine and `serve` served it; each of
    # its crawls failed on the brand.
    for argv in ((), ("--list",), ("--prefect-yaml",)):
        code, err = serve(tmp_path, config, *argv, env=WEBHOOK)
        one_line(code, err, f"{sources}: sources[0].brands[0]: '鲜目' is not a brand")
        assert code == 2


def test_serve_with_a_shared_queue_whose_redis_does_not_answer(
    tmp_path: Path, config: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://:hunter2pass@127.0.0.1:{port}/0"
    env = {**WEBHOOK, "KOUBEI_SCHEDULER": "redis", "REDIS_URL": url}
    # Before: served; every crawl run failed on it, one per source per tick.
    code, err = serve(tmp_path, config, env=env)
    one_line(code, err, f"REDIS_URL='redis://***@127.0.0.1:{port}/0'", "does not answer")
    assert "hunter2pass" not in err[0]
    assert code == 2


def test_serve_with_an_aspect_lexicon_that_does_not_load(tmp_path: Path, config: Path) -> None:
    (config / "aspects.yaml").write_text("aspects:\n  taste: {keywords: 3}\n", encoding="utf-8")
    code, err = serve(tmp_path, config, env=WEBHOOK)
    assert code == 2, err
    assert err and all(str(config / "aspects.yaml") in line for line in err), err
    assert not any("Traceback" in line for line in err)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_serve_killed_by_sigkill_leaves_no_prefect_server(tmp_path: Path, config: Path) -> None:
    """Past its checks, serve starts a temporary Prefect server (no ``PREFECT_API_URL``). A
    SIGKILL (the OOM killer, a service manager's last resort) left that server running for
    ever: no code of the killed process runs, so a watcher process now stops it."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("KOUBEI_", "PREFECT_API_URL"))
    }
    environ.update(
        {"KOUBEI_HOME": str(tmp_path), "PREFECT_HOME": str(tmp_path / "prefect"), **WEBHOOK}
    )
    command = [sys.executable, "-m", "koubei.flows.cli", "serve", "--config-dir", str(config)]
    servers: list[int] = []
    with subprocess.Popen(
        command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as proc:
        try:
            deadline = time.monotonic() + 120  # a bound for a loaded machine, not a speed assertion
            # until the server answers and its watcher runs (a kill while Prefect waits for
            # its new server to answer, a few seconds, still leaves it: no watcher yet)
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
                servers = prefect_servers(proc.pid)
                if servers and children(proc.pid, b"pidfd_send_signal"):
                    break
            assert servers, f"serve started no Prefect server (exit {proc.poll()})"
            proc.kill()
            proc.wait(timeout=60)
            deadline = time.monotonic() + 60
            while not all(ended(pid) for pid in servers) and time.monotonic() < deadline:
                time.sleep(0.2)
            left = [pid for pid in servers if not ended(pid)]
            assert not left, f"serve's Prefect server still running after a SIGKILL: {left}"
        finally:
            proc.kill()
            for pid in servers:  # the old code's orphan: not left behind by the test
                if not ended(pid):
                    os.kill(pid, signal.SIGTERM)
