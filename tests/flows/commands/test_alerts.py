"""``koubei alerts …`` end to end: the CLI's main() with a real DB, receiver and config file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from koubei import paths
from koubei.analysis.alerts.db import default_db_path
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.silences import Matcher, add_silence
from koubei.demo.receiver import start_receiver
from koubei.flows.cli import main
from tests.analysis.alerts.conftest import SECRET, at, detection


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "alerts.yaml").write_text(
        "channels:\n"
        "  - name: hook\n    type: webhook\n    min_severity: info\n"
        "    options: {url_env: T_HOOK_URL, secret_env: T_HOOK_SECRET}\n"
        "  - name: other\n    type: slack\n    options: {url_env: T_UNSET_SLACK}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(paths, "CONFIG_DIR", folder)
    monkeypatch.delenv("T_UNSET_SLACK", raising=False)
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["alerts", *argv, "--json"])
    captured = capsys.readouterr()
    assert captured.out, captured.err
    return code, json.loads(captured.out)


def test_status_shows_open_incident_pending_and_silences(koubei_home, capsys) -> None:
    IncidentStore(default_db_path()).observe("海底捞", [detection(0)], now=at(1), channels=["hook"])
    code, out = run(
        capsys,
        "silence",
        "--brand",
        "北岭",
        "--duration",
        "2h",
        "--matcher",
        "severity=~warning|info",
    )
    assert code == 0 and out["matchers"] == ["brand=北岭", "severity=~warning|info"]
    code, status = run(capsys, "status")
    assert code == 0
    (incident,) = status["open_incidents"]
    assert incident["brand"] == "海底捞" and incident["severity"] == "warning"
    assert status["outbox"] == {"pending": 1}
    assert status["pending"][0]["channel"] == "hook" and status["failed"] == []
    assert [s["id"] for s in status["silences"]] == [out["id"]]
    code, ended = run(capsys, "unsilence", str(out["id"]))
    assert code == 0 and ended["ended"] is True
    assert run(capsys, "status")[1]["silences"] == []


def test_status_names_each_incident_by_the_id_report_incident_takes(
    koubei_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`koubei report incident ID` says "incident id (koubei alerts status)", but the status
    text showed only the incident's dedup key: the id was in ``--json`` alone."""
    IncidentStore(default_db_path()).observe("海底捞", [detection(0)], now=at(1), channels=["hook"])
    incident_id = run(capsys, "status")[1]["open_incidents"][0]["id"]
    assert main(["alerts", "status"]) == 0
    line = next(li for li in capsys.readouterr().out.splitlines() if "海底捞" in li)
    assert line.startswith(f"  #{incident_id} 海底捞 [")


def test_silence_rejects_bad_input(koubei_home, capsys) -> None:
    assert main(["alerts", "silence", "--duration", "2h"]) == 2
    assert main(["alerts", "silence", "--brand", "x", "--duration", "soon"]) == 2
    assert main(["alerts", "silence", "--matcher", "brand~x", "--duration", "1h"]) == 2
    assert main(["alerts", "silence", "--matcher", "brand=北岭", "--duration", "0s"]) == 2
    assert "--duration '0s': a silence needs a positive duration" in capsys.readouterr().err


def test_silence_by_matcher_checks_the_brand_as_brand_does(koubei_home, capsys) -> None:
    # `--matcher brand=鲜牸` (a typo) stored a silence matching nothing and exited 0.
    assert main(["alerts", "silence", "--matcher", "brand=鲜牸", "--duration", "1h"]) == 2
    assert "--matcher brand= '鲜牸' is not a brand" in capsys.readouterr().err
    assert main(["alerts", "silence", "--matcher", "brnad=鲜牧", "--duration", "1h"]) == 2
    assert "no incident has a label 'brnad'" in capsys.readouterr().err
    code, out = run(capsys, "silence", "--matcher", "brand=source:weibo", "--duration", "1h")
    assert code == 0 and out["matchers"] == ["brand=source:weibo"]
    assert [s["matchers"] for s in run(capsys, "status")[1]["silences"]] == [["brand=source:weibo"]]


def test_silence_of_every_brand_but_a_typo_is_refused(koubei_home, capsys) -> None:
    # `--matcher brand!=鲜牸` (a typo of 鲜牧) silenced every brand, 鲜牧 too, for the duration.
    assert main(["alerts", "silence", "--matcher", "brand!=鲜牸", "--duration", "1h"]) == 2
    assert "--matcher brand!= '鲜牸' is not a brand" in capsys.readouterr().err
    assert run(capsys, "status")[1]["silences"] == []
    code, out = run(capsys, "silence", "--matcher", "brand!=鲜牧", "--duration", "1h")
    assert code == 0 and out["matchers"] == ["brand!=鲜牧"]


def test_test_command_sends_through_named_channel_only(
    koubei_home, config_dir, tmp_path, monkeypatch, capsys
) -> None:
    with start_receiver(SECRET, tmp_path / "r.jsonl") as receiver:
        monkeypatch.setenv("T_HOOK_URL", receiver.url)
        monkeypatch.setenv("T_HOOK_SECRET", SECRET)
        code, out = run(capsys, "test", "--channel", "hook")
        assert code == 0 and out["ok"] is True
        (payload,) = receiver.received()
        assert payload["event"] == "test"
    assert main(["alerts", "test", "--channel", "nope"]) == 2
    # The slack channel's env var is unset: a config error naming file and field, exit 2.
    assert main(["alerts", "test", "--channel", "other"]) == 2
    err = capsys.readouterr().err
    assert "channels[1].options.url_env: environment variable T_UNSET_SLACK is not set" in err


def test_deliver_and_failed_deliveries_show_in_status(
    koubei_home, config_dir, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("T_HOOK_SECRET", "wrong-secret")
    monkeypatch.setenv("T_UNSET_SLACK", "http://127.0.0.1:9/unused")
    IncidentStore(default_db_path()).observe("海底捞", [detection(0)], now=at(1), channels=["hook"])
    with start_receiver(SECRET, tmp_path / "r.jsonl") as receiver:
        monkeypatch.setenv("T_HOOK_URL", receiver.url)
        code, report = run(capsys, "deliver")
        assert code == 1 and report["failed"] == 1
        code, status = run(capsys, "status")
        (failed,) = status["failed"]
        assert "401" in failed["last_error"]
        monkeypatch.setenv("T_HOOK_SECRET", SECRET)
        assert run(capsys, "retry-failed")[1] == {"requeued": 1}
        code, report = run(capsys, "deliver")
        assert code == 0 and report["delivered"] == 1
        assert len(receiver.received()) == 1


def test_test_command_reads_the_channels_of_config_dir(
    koubei_home, config_dir, tmp_path, monkeypatch, capsys
) -> None:
    """``--config-dir`` names the channels, as for the ``run`` that queued the notifications;
    the default (here the folder above) does not know this channel."""
    other = tmp_path / "other-config"
    other.mkdir()
    (other / "alerts.yaml").write_text(
        "channels:\n  - name: ops\n    type: webhook\n    min_severity: info\n"
        "    options: {url_env: T_HOOK_URL, secret_env: T_HOOK_SECRET}\n",
        encoding="utf-8",
    )
    assert main(["alerts", "test", "--channel", "ops"]) == 2  # not in the default config
    capsys.readouterr()
    with start_receiver(SECRET, tmp_path / "r.jsonl") as receiver:
        monkeypatch.setenv("T_HOOK_URL", receiver.url)
        monkeypatch.setenv("T_HOOK_SECRET", SECRET)
        code, out = run(capsys, "test", "--channel", "ops", "--config-dir", str(other))
        assert code == 0 and out["ok"] is True
        assert len(receiver.received()) == 1


# Damage found by session 37's fuzzing of the alerts commands with damaged copies of a database
# (a byte changed on disk, a hand edit with the sqlite3 shell): each was a traceback.
DAMAGE = {
    "payload not JSON": "UPDATE outbox SET payload = '{'",
    "payload JSON but no object": "UPDATE outbox SET payload = '[1]'",
    "payload bytes not UTF-8": "UPDATE outbox SET payload = CAST(x'7b22ff227d' AS TEXT)",
    "time out of range": "UPDATE outbox SET next_attempt_at = 1e300",
    "time as text": "UPDATE outbox SET next_attempt_at = 'soon'",
    "channels not names": "UPDATE incidents SET notified_channels = '[1, 2]'",
    "matchers not JSON": "UPDATE silences SET matchers = '{'",
    "brand a BLOB": "UPDATE incidents SET brand = x'fffe'",
    "a column gone": "ALTER TABLE incidents DROP COLUMN evidence",
}


@pytest.mark.parametrize("sql", DAMAGE.values(), ids=DAMAGE.keys())
@pytest.mark.parametrize("action", [["status"], ["status", "--json"], ["deliver"]])
def test_a_damaged_alerts_database_is_one_line_naming_it(
    koubei_home, config_dir, capsys, monkeypatch, sql, action
) -> None:
    import sqlite3

    _no_receiver(monkeypatch)
    db = default_db_path()
    IncidentStore(db).observe("海底捞", [detection(0)], now=at(1), channels=["hook"])
    add_silence(db, [Matcher("brand", "=", "北岭")], duration_seconds=7200)
    with sqlite3.connect(db) as conn:
        conn.execute(sql)
    capsys.readouterr()
    code = main(["alerts", *action])
    err = capsys.readouterr().err.strip()
    if action == ["deliver"] and "payload" not in sql:
        # it reads only the outbox rows due (a time of 1e300 or text is never due), no incident
        # and no silence (incidents are silenced when they are recorded)
        assert code == 0
        return
    assert code == 2
    assert err.startswith(f"koubei: error: {db}: the alerts database is damaged (")
    assert "\n" not in err


def _no_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config's channels at a port nothing listens on: a delivery fails, nothing is sent."""
    monkeypatch.setenv("T_HOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("T_HOOK_SECRET", SECRET)
    monkeypatch.setenv("T_UNSET_SLACK", "http://127.0.0.1:9/slack")


def test_a_damaged_page_of_the_alerts_database_is_one_line_naming_it(
    koubei_home, config_dir, capsys, monkeypatch
) -> None:
    """A byte of the file header changed (the reserved space per page: every page reads as
    damaged): the open succeeds, the first write fails with ``database disk image is
    malformed``."""
    import sqlite3

    db = default_db_path()
    IncidentStore(db).observe("海底捞", [detection(0)], now=at(1), channels=["hook"])
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    data[20] ^= 0xFF
    db.write_bytes(bytes(data))
    _no_receiver(monkeypatch)
    code = main(["alerts", "deliver"])
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the delivery's warnings
    assert code == 2
    assert err.startswith(f"koubei: error: {db}: the alerts database is damaged (")
