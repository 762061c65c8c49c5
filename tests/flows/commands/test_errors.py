"""Ordinary mistakes end with one line naming the file, option or variable, never a traceback.

Each case runs the real ``koubei`` command line in a subprocess (as a user would), with an
isolated ``KOUBEI_HOME`` and no Elasticsearch: every mistake must be caught before one is needed.
Mistakes about the services koubei talks to (Elasticsearch, Kibana, the alerts database, the
local node) are in ``test_errors_services.py``, those with ``koubei sentiment`` in
``test_errors_sentiment.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.flows.commands.cli_run import koubei
from tests.flows.commands.cli_run import one_line as _one_line


@pytest.mark.parametrize(
    ("option", "value"),
    # --since 0m searched no time and printed nothing, as if nothing had been said
    [("--since", "7x"), ("--since", "0m"), ("--start", "last tuesday"), ("--end", "2026-13-01")],
)
def test_search_with_a_bad_time_option(tmp_path: Path, option: str, value: str) -> None:
    code, err = koubei(tmp_path, "search", "牛奶", option, value)
    _one_line(code, err, option, value)


def test_report_daily_with_a_day_that_does_not_exist(tmp_path: Path) -> None:
    code, err = koubei(tmp_path, "report", "daily", "--date", "2026-13-01")
    _one_line(code, err, "--date", "'2026-13-01' is not a day like")
    assert code == 2


@pytest.mark.parametrize(
    ("day", "words"),
    [
        # An empty brief, exit 0 (a mistyped year), and 9999-12-31 an OverflowError traceback.
        ("2026-12-06", ("is after today (2026-12-05 in Asia/Shanghai)",)),
        ("9999-12-31", ("is after today",)),
        ("0001-01-01", ("is before 0001-01-08",)),  # an OverflowError traceback too
    ],
)
def test_report_daily_of_a_day_it_cannot_brief(
    tmp_path: Path, day: str, words: tuple[str, ...]
) -> None:
    # 2026-12-05 23:59 in Shanghai is 15:59 UTC: today is the 5th there.
    now = {"KOUBEI_NOW": "2026-12-05T15:59:00+00:00"}
    code, err = koubei(tmp_path, "report", "daily", "--date", day, env=now)
    _one_line(code, err, f"--date {day}", *words)
    assert code == 2


@pytest.mark.parametrize(
    ("command", "prefix"),
    [
        # "x*-posts" matched no index: a KeyError traceback ('aggregations') out of the brief,
        # "no posts found" from spread; "*" reads every prefix's posts as one.
        (("report", "daily", "--date", "2026-11-25"), "x*"),
        (("spread", "weibo:1"), "a,b"),
        (("search", "牛奶"), "Koubei"),
        (("index", "status"), "_x"),
    ],
)
def test_a_prefix_that_names_no_single_index_is_refused(
    tmp_path: Path, command: tuple[str, ...], prefix: str
) -> None:
    code, err = koubei(tmp_path, *command, "--prefix", prefix)
    _one_line(code, err, "--prefix", f"{prefix!r} is no index prefix")
    assert code == 2


def test_a_prefix_variable_that_names_no_single_index_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from koubei.pipeline.index.client import ESConfigError, index_prefix

    monkeypatch.setenv("KOUBEI_INDEX_PREFIX", "koubei*")
    with pytest.raises(ESConfigError, match="KOUBEI_INDEX_PREFIX 'koubei\\*' is no index prefix"):
        index_prefix()
    monkeypatch.setenv("KOUBEI_INDEX_PREFIX", "鲜牧-prod.2")
    assert index_prefix() == "鲜牧-prod.2"


def test_index_load_of_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    code, err = koubei(tmp_path, "index", "load", str(missing))
    _one_line(code, err, str(missing), "no such file")


def test_index_load_of_a_pipe_is_refused_as_a_pipe(tmp_path: Path) -> None:
    """``index load`` reads its files twice (every line checked before any is sent): a pipe
    is empty the second time. It was refused as "no such file", which it is not."""
    fifo = tmp_path / "posts.jsonl"
    os.mkfifo(fifo)
    code, err = koubei(tmp_path, "index", "load", str(fifo))
    _one_line(code, err, str(fifo), "not a regular file", "save it to a file")
    assert "no such file" not in err[0]


def test_index_load_of_a_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "a"}\n{"id": \n')
    code, err = koubei(tmp_path, "index", "load", str(bad))
    _one_line(code, err, f"{bad}:2", "not JSON")
    # After a landing file, whose unscored records earn a note once every file is read: the
    # mistake is still the one line.
    landing = tmp_path / "landing.jsonl"
    landing.write_text('{"id": "weibo:1", "text_raw": "x"}\n', encoding="utf-8")
    code, err = koubei(tmp_path, "index", "load", str(landing), str(bad))
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


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("foo", ("'foo' is not like tcp://host:8786",)),
        ("tcp://127.0.0.1:99999", ("'tcp://127.0.0.1:99999' is not like",)),
        ("tcp://127.0.0.1:9", ("Dask scheduler tcp://127.0.0.1:9: nothing answers there",)),
    ],
)
def test_run_on_a_dask_scheduler_it_cannot_use(
    tmp_path: Path, address: str, words: tuple[str, ...]
) -> None:
    # "foo" failed in the task runner's start with two tracebacks, and a closed port after a
    # 30 s connect timeout: both after the run's crawl, as "run failed: ... OSError".
    landed = tmp_path / "landing" / "shop" / "r1.jsonl"
    landed.parent.mkdir(parents=True)
    landed.write_text('{"id": "shop_json:1"}\n', encoding="utf-8")
    env = {"KOUBEI_WEBHOOK_URL": "http://127.0.0.1:9/", "KOUBEI_WEBHOOK_SECRET": "s3cret"}
    code, err = koubei(tmp_path, "run", "--no-crawl", "--dask", address, env=env)
    _one_line(code, err, *words)
    assert code == 2 and not (tmp_path / "processed").exists()


@pytest.mark.parametrize("address", ["local", "tcp://127.0.0.1:9"])
@pytest.mark.parametrize("seconds", ["0", "-30", "two minutes", "nan"])
def test_run_on_dask_with_a_no_worker_window_that_is_no_duration(
    tmp_path: Path, address: str, seconds: str
) -> None:
    # KOUBEI_DASK_NO_WORKERS_S: "0" would stop a run before any worker could take a batch,
    # "nan" wait for ever; refused before any work, the cluster's address not yet asked.
    landed = tmp_path / "landing" / "shop" / "r1.jsonl"
    landed.parent.mkdir(parents=True)
    landed.write_text('{"id": "shop_json:1"}\n', encoding="utf-8")
    env = {"KOUBEI_DASK_NO_WORKERS_S": seconds, "KOUBEI_WEBHOOK_URL": "http://127.0.0.1:9/",
           "KOUBEI_WEBHOOK_SECRET": "s3cret"}  # fmt: skip
    code, err = koubei(tmp_path, "run", "--no-crawl", "--dask", address, env=env)
    _one_line(code, err, f"KOUBEI_DASK_NO_WORKERS_S={seconds!r}", "a number above 0")
    assert code == 2 and not (tmp_path / "processed").exists()


@pytest.mark.parametrize("argv", [("index", "setup"), ("run", "--no-crawl")])
@pytest.mark.parametrize("replicas", ["one", "-1"])
def test_a_replica_count_that_is_no_count(
    tmp_path: Path, argv: tuple[str, ...], replicas: str
) -> None:
    # `index setup` ended in a ValueError traceback once connected; `run` went through the
    # crawl and processing, then its index task retried the ValueError three times (65 s).
    env = {
        "KOUBEI_ES_REPLICAS": replicas,
        "KOUBEI_WEBHOOK_URL": "http://127.0.0.1:9/",
        "KOUBEI_WEBHOOK_SECRET": "s3cret",
    }
    code, err = koubei(tmp_path, *argv, env=env)
    _one_line(code, err, f"KOUBEI_ES_REPLICAS={replicas!r}", "whole number")
    assert code == 2


def _loopback_source(tmp_path: Path) -> Path:
    """A config dir whose one source points at a closed loopback port: no crawl leaves here."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n  - name: shop\n    platform: shop_json\n    base_url: http://127.0.0.1:9\n"
        '    product_ids: ["1"]\n',
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize("run_id", ["2026/11/20", "../x", ".hidden", "a b"])
def test_crawl_run_id_that_is_not_a_file_name(tmp_path: Path, run_id: str) -> None:
    # "a/b" landed in landing/<source>/a/b.jsonl, where no stage looks: the records were lost
    config = _loopback_source(tmp_path)
    code, err = koubei(tmp_path, "crawl", "shop", "--config-dir", str(config), "--run-id", run_id)
    _one_line(code, err, "--run-id", repr(run_id))
    assert not (tmp_path / "landing").exists()


@pytest.mark.parametrize("name", ["r1.jsonl", "r1.jsonl.gz"])
def test_crawl_run_id_used_before(tmp_path: Path, name: str) -> None:
    # The crawl replaced the landed file, whose processed twin marked it done: records lost.
    # (`r1.jsonl.gz`, the same run compressed, is processed into `processed/shop/r1.jsonl` too.)
    config = _loopback_source(tmp_path)
    landed = tmp_path / "landing" / "shop" / name
    landed.parent.mkdir(parents=True)
    landed.write_text('{"id": "x"}\n', encoding="utf-8")
    code, err = koubei(tmp_path, "crawl", "shop", "--config-dir", str(config), "--run-id", "r1")
    _one_line(code, err, "--run-id", str(landed))
    assert landed.read_text(encoding="utf-8") == '{"id": "x"}\n'


@pytest.mark.parametrize(
    ("env", "words"),
    [
        (
            {"KOUBEI_SCHEDULER": "redis", "REDIS_URL": "redis://127.0.0.1:9/0"},
            ("REDIS_URL='redis://127.0.0.1:9/0'", "Redis does not answer", "Connection refused"),
        ),
        (
            {"KOUBEI_SCHEDULER": "redis", "REDIS_URL": "http://127.0.0.1:6379"},
            ("REDIS_URL='http://127.0.0.1:6379'", "redis://"),
        ),
        (
            {"KOUBEI_SCHEDULER": "redis", "REDIS_URL": "redis://u:pw-123456@127.0.0.1:9/zero"},
            ("REDIS_URL='redis://***@127.0.0.1:9/zero'", "database 'zero' is not a number"),
        ),
        (
            {"KOUBEI_SCHEDULER": "redis", "REDIS_URL": "redis://127.0.0.1:9/0",
             "KOUBEI_REDIS_IDLE_S": "ten"},
            ("KOUBEI_REDIS_IDLE_S='ten'",),
        ),
        (
            {"KOUBEI_SCHEDULER": "redis", "REDIS_URL": "redis://127.0.0.1:9/0",
             "KOUBEI_REDIS_LEASE_S": "0"},
            ("KOUBEI_REDIS_LEASE_S='0'", "1 or more"),
        ),
        ({"KOUBEI_SCHEDULER": "Redis"}, ("KOUBEI_SCHEDULER='Redis'", "'redis'")),
        (
            # Read nowhere: the crawl used the default Redis with the intended URL unused.
            {"KOUBEI_SCHEDULER": "redis", "KOUBEI_REDIS_URL": "redis://127.0.0.1:9/0"},
            ("KOUBEI_REDIS_URL is set but not read", "Redis's URL is REDIS_URL"),
        ),
    ],
    ids=["unreachable", "not-redis-scheme", "database-name", "idle", "lease", "scheduler-typo",
         "koubei-redis-url"],
)  # fmt: skip
def test_crawl_with_a_shared_queue_it_cannot_use(
    tmp_path: Path, env: dict[str, str], words: tuple[str, ...]
) -> None:
    # Redis down or REDIS_URL malformed failed inside Scrapy's engine start, which swallowed
    # it: the crawl printed status "empty" and exited 0. A misspelt KOUBEI_SCHEDULER crawled
    # with a private queue per process, so every worker fetched every page.
    config = _loopback_source(tmp_path)
    code, err = koubei(tmp_path, "crawl", "shop", "--config-dir", str(config), env=env)
    _one_line(code, err, *words)
    assert code == 2 and "pw-123456" not in err[0]
    assert not (tmp_path / "landing").exists() and not (tmp_path / "health").exists()


@pytest.mark.parametrize("argv", [("crawl", "shop-reviews"), ("run",)])
def test_a_crawl_log_level_scrapy_cannot_use(tmp_path: Path, argv: tuple[str, ...]) -> None:
    """It failed every crawl inside Scrapy ("crawler exited with 1", status degraded, exit 1)
    and only the crawl's log file said why."""
    env = {"KOUBEI_CRAWL_LOG_LEVEL": "LOUD", "KOUBEI_WEBHOOK_URL": "http://127.0.0.1:9/hook",
           "KOUBEI_WEBHOOK_SECRET": "not-a-real-secret"}  # fmt: skip
    code, err = koubei(tmp_path, *argv, env=env)
    _one_line(code, err, "KOUBEI_CRAWL_LOG_LEVEL='LOUD'", "DEBUG")
    assert code == 2
    assert not (tmp_path / "landing").exists() and not (tmp_path / "logs").exists()


def test_a_crawl_log_level_in_lower_case_is_taken() -> None:
    from koubei.crawlers.runner import crawl_log_level

    assert crawl_log_level({"KOUBEI_CRAWL_LOG_LEVEL": " debug "}) == "DEBUG"
    assert crawl_log_level({}) == "INFO"


def test_process_with_a_bad_koubei_now_sets_nothing_aside(tmp_path: Path) -> None:
    # Judging the record's times reads the clock: a bad one set it aside as "cannot be validated".
    landed = tmp_path / "landing" / "shop" / "r1.jsonl"
    landed.parent.mkdir(parents=True)
    record = {
        "id": "shop_json:1", "platform": "shop_json", "source": "shop", "kind": "review",
        "native_id": "1", "text_raw": "好吃", "created_at": "2026-11-20T08:00:00+08:00",
    }  # fmt: skip
    landed.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    code, err = koubei(tmp_path, "process", "--no-progress", env={"KOUBEI_NOW": "garbage"})
    _one_line(code, err, "KOUBEI_NOW='garbage'")
    assert not (tmp_path / "rejected").exists() and not (tmp_path / "processed" / "shop").exists()


def test_a_koubei_home_that_cannot_be_a_directory(tmp_path: Path) -> None:
    in_the_way = tmp_path / "home"
    in_the_way.write_text("not a folder", encoding="utf-8")
    code, err = koubei(in_the_way, "alerts", "status")
    _one_line(code, err, str(in_the_way), "KOUBEI_HOME")
    assert code == 2


@pytest.mark.parametrize("argv", [("alerts", "status"), ("process",), ("report", "serve")])
def test_a_koubei_home_that_cannot_be_made(argv: tuple[str, ...]) -> None:
    """A folder that cannot be created (here inside /proc, which refuses even root): the error
    said only "/proc/koubei-home: No such file or directory", not that it is KOUBEI_HOME."""
    home = Path("/proc/koubei-home")
    code, err = koubei(home, *argv)
    _one_line(code, err, str(home), "KOUBEI_HOME", "writable")
    assert code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ("kibana", "import", "--url", "http://[::1"),
        ("sentiment", "score", "-", "--processes", "0"),
        ("sentiment", "train", "--holdout", "1.5"),
        ("sentiment", "train", "--holdout", "-0.5"),
        ("sentiment", "train", "--holdout", "nan"),
        ("process", "--workers", "-3"),
        ("search", "牛奶", "-n", "0"),
        ("search", "牛奶", "--platform", "weibo-search"),
        ("kibana", "link", "--platform", "tmall"),
        ("report", "serve", "--port", "99999"),  # was an OverflowError traceback from bind()
        ("report", "serve", "--port", "-1"),
        ("spikes", "evaluate", "--days", "5"),  # was numpy's "low >= high" traceback
        ("spikes", "evaluate", "--seed", "-1"),  # was numpy's "expected non-negative integer"
        ("spread", "--top", "-1"),  # was every key account but the last (a slice)
    ],
)
def test_option_values_that_cannot_work(tmp_path: Path, argv: tuple[str, ...]) -> None:
    code, err = koubei(tmp_path, *argv)
    _one_line(code, err, f"argument {argv[-2]}", repr(argv[-1]))
    assert code == 2


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00", "9999-12-31T23:50:00", "99999999999999"])
def test_spikes_detect_with_a_time_no_series_can_have(tmp_path: Path, stamp: str) -> None:
    series = tmp_path / "series.csv"
    series.write_text(f"timestamp,value\n{stamp},5\n{stamp},6\n", encoding="utf-8")
    code, err = koubei(tmp_path, "spikes", "detect", str(series))
    _one_line(code, err, f"{series}:2")
    assert code == 2


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('{"id": "w:2", "author": "A"}', ("field 'author' must be an object, got str",)),
        ('{"id": "w:2", "parent_id": ["w:1"]}', ("field 'parent_id' must be str or int",)),
        ("[1, 2]", ("not a JSON object",)),
        ('{"author": {"name": "B"}}', ("no 'id'",)),  # shown as an empty cascade, exit 0
        ('{"id": "", "parent_id": "w:1"}', ("no 'id'",)),
        # Nested and list fields the spread code hashes or compares: each was a TypeError
        # traceback ("unhashable type: 'list'") out of the cascade, accounts or sources.
        ('{"id": "w:2", "author": {"name": ["A"]}}', ("field 'author.name' must be str or int",)),
        ('{"id": "w:2", "author": {"id": {"uid": 1}}}', ("field 'author.id'", "got dict")),
        ('{"id": "w:2", "mentions": [{"name": "X"}]}', ("items of 'mentions' must be str",)),
        ('{"id": "w:2", "parent_id": "w:1", "relation": {"r": 1}}', ("field 'relation'",)),
        ('{"id": "w:2", "platform": ["weibo"]}', ("field 'platform' must be str, got list",)),
        ('{"id": "w:2", "brands": "鲜牧"}', ("field 'brands' must be a list, got str",)),
    ],
)
def test_spread_file_with_a_record_of_the_wrong_shape(
    tmp_path: Path, line: str, words: tuple[str, ...]
) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"id": "w:1", "author": {"name": "A"}}\n' + line + "\n", encoding="utf-8")
    code, err = koubei(tmp_path, "spread", "--file", str(posts), "--no-pictures")
    _one_line(code, err, f"{posts}:2", *words)
    assert code == 2


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"id": "w:2", "text_raw": "a\x01b"}', "Invalid control character at column 29"),
        ('{"id": "w:2", "text_raw": "ab', "Unterminated string starting at column 27"),
    ],
)
def test_spread_file_with_a_line_that_is_no_json(tmp_path: Path, line: str, reason: str) -> None:
    """The reason said "at at column 29": json's message ends with "at" itself. (The last line,
    cut off by a killed writer, has no line end: one would be the control character.)"""
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"id": "w:1", "author": {"name": "A"}}\n' + line, encoding="utf-8")
    code, err = koubei(tmp_path, "spread", "--file", str(posts), "--no-pictures")
    assert (code, err) == (2, [f"koubei: error: {posts}:2: not JSON ({reason})"])


def test_spikes_backtest_given_neither_a_file_nor_a_brand(tmp_path: Path) -> None:
    """It said "give either FILE.csv or --brand NAME, not both" when neither was given."""
    code, err = koubei(tmp_path, "spikes", "backtest")
    _one_line(code, err, "FILE.csv or --brand NAME, one of them")
    assert code == 2


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("spread",), "give a POST_ID, or --file"),
        (("crawl",), "name a SOURCE or use --all"),
        (("process", "--source", "nosrc"), "no landing files for source 'nosrc'"),
        (("alerts", "silence", "--duration", "2h"), "give --brand and/or --matcher"),
        (
            ("alerts", "silence", "--matcher", "brand", "--duration", "2h"),
            "'brand' is not a matcher",
        ),
        (("alerts", "test", "--channel", "nope"), "no channel 'nope'; configured: ["),
    ],
)
def test_a_missing_or_wrong_argument_is_a_koubei_error(
    tmp_path: Path, argv: tuple[str, ...], words: str
) -> None:
    """These printed their line without the `koubei: error:` every other mistake starts with."""
    code, err = koubei(tmp_path, *argv)
    _one_line(code, err, words)
    assert code == 2
    assert err[0].startswith("koubei: error: "), err[0]


def test_alerts_unsilence_of_no_running_silence(tmp_path: Path) -> None:
    """It printed "no such running silence" on stdout, naming neither the id nor where to look."""
    code, err = koubei(tmp_path, "alerts", "unsilence", "99")
    _one_line(code, err, "#99", "koubei alerts status")
    assert code == 1


@pytest.mark.parametrize(
    "argv",
    [("alerts", "silence", "--duration", "1h"), ("spikes", "backtest")],
    ids=["alerts silence", "spikes backtest"],
)
def test_a_brand_brands_yaml_does_not_have(tmp_path: Path, argv: tuple[str, ...]) -> None:
    """Unchecked: `alerts silence` added a silence that matched nothing, exit 0; `spikes
    backtest` went to the cluster and said it had no posts of it (exit 1). Now the brand is
    checked against brands.yaml as `search --brand` checks it, before any cluster."""
    code, err = koubei(tmp_path, *argv, "--brand", "不存在")
    _one_line(code, err, "--brand '不存在'", "brands.yaml", "鲜牧")
    assert code == 2
    assert not (tmp_path / "alerts" / "alerts.db").exists()  # no silence added


def test_alerts_silence_of_an_operational_incident_is_taken(tmp_path: Path) -> None:
    """A source's or a failed run's incident is silenced by its series, not a brand's name."""
    for series in ("source:shop-reviews", "run:koubei-monitor"):
        code, err = koubei(tmp_path, "alerts", "silence", "--brand", series, "--duration", "1h")
        assert code == 0, err


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_spread_out_that_cannot_be_a_directory(tmp_path: Path, where: str) -> None:
    """It drew the pictures into a FileExistsError/NotADirectoryError traceback."""
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        '{"id": "w:1", "author": {"name": "A"}, "text_raw": "鲜牧不好"}\n'
        '{"id": "w:2", "author": {"name": "B"}, "parent_id": "w:1"}\n',
        encoding="utf-8",
    )
    taken = tmp_path / "pictures"
    taken.write_text("a file", encoding="utf-8")
    out = taken if where == "a file" else taken / "sub"
    code, err = koubei(tmp_path, "spread", "--file", str(posts), "--out", str(out))
    _one_line(code, err, "argument --out", str(out), "directory")
    assert code == 2


def test_crawl_of_a_source_sources_yaml_lacks_is_an_argument_mistake(tmp_path: Path) -> None:
    # Was "koubei: config error: unknown source 'nosuch'": the config was right, the argument
    # was not. Every unknown name at once, and the sources the file has.
    config = _loopback_source(tmp_path)
    code, err = koubei(tmp_path, "crawl", "shop", "nosuch", "--config-dir", str(config))
    _one_line(code, err, "koubei: error: unknown source 'nosuch'; ", "has: shop")
    assert code == 2
    code, err = koubei(tmp_path, "crawl", "nosuch", "shopp", "--config-dir", str(config))
    _one_line(code, err, f"unknown sources 'nosuch', 'shopp'; {config / 'sources.yaml'} has: shop")
    assert not (tmp_path / "landing").exists()


@pytest.mark.parametrize(
    "argv",
    [("run",), ("serve",), ("alerts", "deliver"), ("report", "daily")],
    ids=lambda argv: " ".join(argv),
)
def test_an_empty_alerts_yaml_is_refused_naming_it(tmp_path: Path, argv: tuple[str, ...]) -> None:
    # It was all defaults: no channel, no route, nothing delivered and nothing said.
    config = tmp_path / "config"
    config.mkdir()
    repo_config = Path(__file__).resolve().parents[3] / "config"
    for name in ("brands.yaml", "sources.yaml"):
        (config / name).write_text((repo_config / name).read_text("utf-8"), "utf-8")
    (config / "alerts.yaml").write_text("# every setting commented out\n\n", "utf-8")
    code, err = koubei(tmp_path, *argv, "--config-dir", str(config))
    _one_line(code, err, f"{config / 'alerts.yaml'}: the file is empty", "configure nothing")
    assert code == 2


def test_alerts_deliver_with_no_channel_enabled_warns(tmp_path: Path) -> None:
    # Legitimate (detect and record for Kibana alone; the tests' own configs), but never silent.
    config = tmp_path / "config"
    config.mkdir()
    (config / "alerts.yaml").write_text(
        "channels:\n  - {name: hook, type: webhook, enabled: false, options: {url_env: X_URL}}\n",
        "utf-8",
    )
    code, err = koubei(tmp_path, "alerts", "deliver", "--config-dir", str(config))
    assert code == 0
    assert err == [
        f"koubei: warning: {config / 'alerts.yaml'} disables every alert channel: incidents are "
        "detected and recorded, but no alert reaches anyone (enable one under `channels:`; "
        "`koubei alerts test NAME` checks it)"
    ]


def test_spread_of_posts_with_no_opinion_says_why_it_has_no_negative_share(
    tmp_path: Path,
) -> None:
    """A cascade none of whose posts carries an opinion label (unscored, or bare reposts)
    printed ``negative share None``."""
    import subprocess
    import sys

    posts = tmp_path / "posts.jsonl"
    lines = [
        {"id": "w:1", "author": {"name": "A"}, "text_raw": "鲜牧新品"},
        {"id": "w:2", "parent_id": "w:1", "author": {"name": "B"}, "text_raw": "转发微博",
         "sentiment": {"label": "no_opinion", "score": 0.5}},
    ]  # fmt: skip
    posts.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_")}
    done = subprocess.run(
        [sys.executable, "-m", "koubei.flows.cli", "spread", "--file", str(posts), "--no-pictures"],
        env={**env, "KOUBEI_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "negative share n/a (no post with an opinion)" in done.stdout
    assert "None" not in done.stdout
