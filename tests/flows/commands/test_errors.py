"""Ordinary mistakes end with one line naming the file, option or variable, never a traceback.

Each case runs the real ``koubei`` command line in a subprocess (as a user would), with an
isolated ``KOUBEI_HOME`` and no Elasticsearch: every mistake must be caught before one is needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def koubei(home: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("KOUBEI_", "PREFECT_API_URL"))
    }
    environ.update(KOUBEI_HOME=str(home), KOUBEI_ES_URL="http://127.0.0.1:9", **(env or {}))
    done = subprocess.run(
        [sys.executable, "-m", "koubei.flows.cli", *argv],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stderr.splitlines()


def _one_line(code: int, err: list[str], *words: str) -> None:
    assert code != 0
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    for word in words:
        assert word in err[0], err[0]


def test_sentiment_score_of_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    code, err = koubei(tmp_path, "sentiment", "score", str(missing))
    _one_line(code, err, str(missing), "no such file")


def test_sentiment_score_with_a_file_that_is_no_model(tmp_path: Path) -> None:
    texts, junk = tmp_path / "texts.txt", tmp_path / "junk.bin"
    texts.write_text("好吃\n", encoding="utf-8")
    junk.write_bytes(bytes(range(256)))
    code, err = koubei(tmp_path, "sentiment", "score", "--model", str(junk), str(texts))
    _one_line(code, err, str(junk), "not a sentiment model")
    assert code == 2


@pytest.mark.parametrize("action", ["train", "eval"])
def test_sentiment_train_and_eval_without_their_corpus(tmp_path: Path, action: str) -> None:
    missing = tmp_path / "nope.csv"
    code, err = koubei(tmp_path, "sentiment", action, str(missing))
    _one_line(code, err, f"koubei: error: {missing}", "labelled CSV")
    assert code == 2  # an ordinary mistake, like every other (it was 1)
    code, err = koubei(tmp_path, "sentiment", action, env={"KOUBEI_REVIEWS_CSV": str(missing)})
    _one_line(code, err, "KOUBEI_REVIEWS_CSV", str(missing))
    assert code == 2


@pytest.mark.parametrize(
    ("option", "value"), [("--since", "7x"), ("--start", "last tuesday"), ("--end", "2026-13-01")]
)
def test_search_with_a_bad_time_option(tmp_path: Path, option: str, value: str) -> None:
    code, err = koubei(tmp_path, "search", "牛奶", option, value)
    _one_line(code, err, option, value)


def test_report_daily_with_a_day_that_does_not_exist(tmp_path: Path) -> None:
    code, err = koubei(tmp_path, "report", "daily", "--date", "2026-13-01")
    _one_line(code, err, "--date", "'2026-13-01' is not a day like")
    assert code == 2


def test_index_load_of_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    code, err = koubei(tmp_path, "index", "load", str(missing))
    _one_line(code, err, str(missing), "no such file")


def test_index_load_of_a_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "a"}\n{"id": \n')
    code, err = koubei(tmp_path, "index", "load", str(bad))
    _one_line(code, err, f"{bad}:2", "not JSON")


def test_run_without_the_webhook_url_stops_at_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, err = koubei(home, "run", env={"KOUBEI_WEBHOOK_SECRET": "s3cret"})
    _one_line(code, err, "KOUBEI_WEBHOOK_URL", "alerts.yaml")
    # Detected before any work: nothing crawled, processed or spooled.
    assert not (home / "landing").exists() and not (home / "processed").exists()


def test_kibana_import_to_a_wrong_url(tmp_path: Path) -> None:
    code, err = koubei(tmp_path, "kibana", "import", "--url", "http://127.0.0.1:9")
    _one_line(code, err, "http://127.0.0.1:9", "Kibana")


def test_spikes_detect_names_the_config_file_it_was_given(tmp_path: Path) -> None:
    config = tmp_path / "team-config"
    config.mkdir()
    (config / "alerts.yaml").write_text(
        "detectors:\n"
        "  - name: surge\n    type: negative_volume\n    options: {z_threshold: high}\n",
        encoding="utf-8",
    )
    series = tmp_path / "s.csv"
    series.write_text("timestamp,value\n2026-03-02 00:00:00,1\n2026-03-02 00:05:00,2\n", "utf-8")
    code, err = koubei(tmp_path, "spikes", "detect", "--config", str(config), str(series))
    # the file that is wrong, not the built-in config/alerts.yaml
    _one_line(code, err, f"{config / 'alerts.yaml'}: detectors[0].options.z_threshold")


def test_process_with_a_source_that_never_landed(tmp_path: Path) -> None:
    landed = tmp_path / "landing" / "weibo-search"
    landed.mkdir(parents=True)
    (landed / "run-1.jsonl").write_text("", encoding="utf-8")
    code, err = koubei(tmp_path, "process", "--source", "weibo-serach")
    _one_line(code, err, "'weibo-serach'", "weibo-search")


@pytest.mark.parametrize(
    ("name", "why"), [("weibo-serach", "is not there"), ("off-source", "is disabled")]
)
def test_run_with_a_source_it_would_not_crawl(tmp_path: Path, name: str, why: str) -> None:
    # `koubei run --source NAME` once filtered the enabled sources by NAME: a typo or a disabled
    # source crawled nothing and the run reported success.
    config = tmp_path / "config"
    config.mkdir()
    repo_config = Path(__file__).resolve().parents[3] / "config"
    for name_ in ("brands.yaml", "alerts.yaml"):
        (config / name_).write_text((repo_config / name_).read_text("utf-8"), "utf-8")
    (config / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: weibo-search, platform: weibo}\n"
        "  - {name: off-source, platform: weibo, enabled: false}\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    env = {"KOUBEI_WEBHOOK_URL": "http://127.0.0.1:9/", "KOUBEI_WEBHOOK_SECRET": "s3cret"}
    code, err = koubei(home, "run", "--config-dir", str(config), "--source", name, env=env)
    _one_line(code, err, f"{config / 'sources.yaml'}: source {name!r} {why}", "weibo-search")
    assert code == 2
    assert not (home / "landing").exists()
