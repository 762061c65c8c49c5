"""Mistakes about the services koubei talks to end with one line naming the variable, option or
file, never a traceback: an Elasticsearch URL that is unusable or answered by another HTTP
server, a Kibana URL likewise, an alerts database that is not one, a local node's heap."""

from __future__ import annotations

import http.server
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from koubei.es_local import LocalNode
from tests.flows.commands.cli_run import koubei
from tests.flows.commands.cli_run import one_line as _one_line


@pytest.mark.parametrize(
    ("argv", "env", "words"),
    [
        (("index", "status"), {"KOUBEI_ES_URL": "garbage"}, ("KOUBEI_ES_URL", "scheme")),
        (("report", "daily"), {"KOUBEI_ES_URL": "garbage"}, ("KOUBEI_ES_URL", "scheme")),
        (
            ("search", "x"),
            {"KOUBEI_ES_URL": "https://elastic:pw-123456@127.0.0.1:99999"},
            ("KOUBEI_ES_URL", "https://***@127.0.0.1:99999"),
        ),
        (
            ("index", "status"),
            {"KOUBEI_ES_URL": "http://127.0.0.1:9", "KOUBEI_ES_CA_CERTS": "/ca.pem"},
            ("KOUBEI_ES_CA_CERTS", "https"),
        ),
    ],
)
def test_an_unusable_elasticsearch_url(
    tmp_path: Path, argv: tuple[str, ...], env: dict[str, str], words: tuple[str, ...]
) -> None:
    code, err = koubei(tmp_path, *argv, env=env)
    _one_line(code, err, *words)
    assert "pw-123456" not in err[0]


class _NotElasticsearch(http.server.BaseHTTPRequestHandler):
    """Another HTTP service where KOUBEI_ES_URL points (a Kibana, a proxy's error page, a
    web server): it answers every request, but never as Elasticsearch."""

    status = 404

    def _answer(self) -> None:
        body = b"<!DOCTYPE html><html><body><h1>Not here</h1></body></html>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Answers200(_NotElasticsearch):
    status = 200


@pytest.fixture(params=[_NotElasticsearch, _Answers200], ids=["404", "200-html"])
def not_elasticsearch(request: pytest.FixtureRequest) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "argv",
    [
        ("index", "status"),
        ("index", "replay"),
        ("search", "牛奶"),
        ("spread", "weibo:1", "--no-pictures"),
        ("report", "daily", "--date", "2026-11-20"),
        ("kibana", "check"),
        ("spikes", "backtest", "--brand", "鲜牧"),
    ],
)
def test_an_elasticsearch_url_where_another_http_server_answers(
    tmp_path: Path, not_elasticsearch: str, argv: tuple[str, ...]
) -> None:
    """Each was a traceback (``NotFoundError(404, '<!DOCTYPE HTML>...``) or a page of HTML."""
    code, err = koubei(tmp_path, *argv, env={"KOUBEI_ES_URL": not_elasticsearch})
    _one_line(code, err, not_elasticsearch, "not Elasticsearch", "KOUBEI_ES_URL")
    assert "DOCTYPE" not in err[0]
    assert code == 2


def test_a_kibana_url_where_another_http_server_answers(
    tmp_path: Path, not_elasticsearch: str
) -> None:
    """A 404 printed the server's whole HTML page; a 200 page was a JSONDecodeError traceback."""
    code, err = koubei(tmp_path, "kibana", "import", "--url", not_elasticsearch)
    _one_line(code, err, not_elasticsearch, "not Kibana", "--url")
    assert "DOCTYPE" not in err[0]
    assert code == 2


# The commands that open the alerts database (``--db``).
ALERTS_DB_COMMANDS = [
    ("alerts", "status"),
    ("alerts", "retry-failed"),
    ("alerts", "silence", "--brand", "鲜牧", "--duration", "1h"),
    ("alerts", "unsilence", "1"),
]


@pytest.mark.parametrize("what", ["a directory", "not a database", "another program's"])
@pytest.mark.parametrize("argv", ALERTS_DB_COMMANDS)
def test_an_alerts_database_that_is_no_database(
    tmp_path: Path, argv: tuple[str, ...], what: str
) -> None:
    """``--db`` (or ``$KOUBEI_HOME/alerts/alerts.db``) naming a folder or another file: it was
    a ``sqlite3.OperationalError``/``DatabaseError`` traceback. Another program's SQLite file
    got koubei's tables (and WAL mode) written into it, silently."""
    db = tmp_path / "alerts.db"
    if what == "a directory":
        db.mkdir()
    elif what == "not a database":
        db.write_text("timestamp,value\n2026-11-20T00:00:00,1\n" * 200, encoding="utf-8")
    else:
        with closing(sqlite3.connect(db)) as other:
            other.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
            other.commit()
    before = db.read_bytes() if db.is_file() else b""
    code, err = koubei(tmp_path, *argv, "--db", str(db))
    _one_line(code, err, str(db), "alerts database")
    assert code == 2
    if what == "another program's":
        assert "moz_places" in "".join(err) and db.read_bytes() == before
        assert not (tmp_path / "alerts.db-wal").exists()


@pytest.mark.parametrize("heap", ["banana", "512", "0g", "1.5g"])
def test_es_start_with_a_heap_the_jvm_cannot_take(tmp_path: Path, heap: str) -> None:
    """It launched the node anyway: a LocalESError traceback carrying the JVM's Java stack."""
    code, err = koubei(tmp_path, "es", "start", "--heap", heap)
    _one_line(code, err, "argument --heap", repr(heap), "512m")
    assert code == 2
    assert not (tmp_path / "es").exists()


def test_local_elasticsearch_failures_are_koubei_errors() -> None:
    """A node that cannot be fetched or started (no JDK, no Maven, a crash at start) is told
    in lines the CLI prints without a traceback, exit 1: not a user's typo, not a bug."""
    from koubei.errors import KoubeiError
    from koubei.es_local import LocalESError

    assert issubclass(LocalESError, KoubeiError) and LocalESError.exit_code == 1


@pytest.mark.parametrize("argv", ALERTS_DB_COMMANDS)
def test_an_alerts_database_given_with_db_that_is_not_there(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """A misspelt ``--db`` made a new empty database: status showed "open incidents: 0" and a
    silence went where no flow reads it, both exit 0."""
    typo = tmp_path / "alert.db"
    code, err = koubei(tmp_path, *argv, "--db", str(typo))
    _one_line(code, err, str(typo), "no alerts database", "alerts/alerts.db")
    assert code == 2
    assert not typo.exists()


@pytest.mark.parametrize("argv", [("report", "incident"), ("alerts", "unsilence")])
@pytest.mark.parametrize("row", ["99999999999999999999", "0"])
def test_an_id_no_row_of_the_alerts_database_can_have(
    tmp_path: Path, argv: tuple[str, ...], row: str
) -> None:
    """An id longer than SQLite's INTEGER was an ``OverflowError`` traceback (after reaching
    Elasticsearch, for ``report incident``); ids start at 1."""
    code, err = koubei(tmp_path, *argv, row)
    _one_line(code, err, "argument id", f"{row!r} is not an id")
    assert code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "--no-crawl"),
        ("crawl",),
        ("alerts", "deliver"),
        ("report", "daily"),
        ("serve", "--list"),
        ("spikes", "backtest", "-"),
    ],
)
def test_a_config_dir_naming_a_file_is_refused_naming_the_directory(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    """``--config-dir config/alerts.yaml`` (a file of it, the common slip): `run`, `crawl`,
    `alerts` and `report` read ``alerts.yaml/sources.yaml`` and failed with "Not a
    directory"; they now say which directory to give, as `serve` and `spikes` do."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "alerts.yaml").write_text("detectors: []\n", encoding="utf-8")
    code, err = koubei(tmp_path, *argv, "--config-dir", str(config / "alerts.yaml"))
    _one_line(code, err, f"{config}/alerts.yaml is a file", f"holds it ({config})")
    assert code == 2


def test_report_incident_without_an_alerts_database_names_it_and_creates_none(
    tmp_path: Path, es_url: str
) -> None:
    """A ``KOUBEI_HOME`` with no alerts database (a wrong one, or no cycle run there yet):
    ``report incident`` made a new empty ``alerts/alerts.db`` and said only "no incident 1 in"
    it, exit 1, leaving a database no flow ever wrote for the next command to read."""
    home = tmp_path / "home"
    code, err = koubei(home, "report", "incident", "1", env={"KOUBEI_ES_URL": es_url})
    expected = home / "alerts" / "alerts.db"
    _one_line(code, err, f"no alerts database at {expected}", "KOUBEI_HOME")
    assert code == 2
    assert not home.exists()


@pytest.fixture
def listener() -> Iterator[tuple[str, list[object]]]:
    """A port that takes connections and closes them at once: its URL, and what connected."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    came: list[object] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed: the test is over
                return
            came.append(conn.getpeername())
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", came
    finally:
        server.close()


@pytest.mark.parametrize(
    "argv",
    [
        ("report", "daily", "--date", "2026-11-20"),
        ("report", "incident", "1"),
        ("spread", "weibo:1", "--no-pictures"),
        ("search", "牛奶"),
        ("spikes", "backtest", "--brand", "鲜牧"),
    ],
)
def test_a_bad_prefix_variable_is_refused_before_any_cluster_is_asked(
    tmp_path: Path, listener: tuple[str, list[object]], argv: tuple[str, ...]
) -> None:
    """These checked ``KOUBEI_INDEX_PREFIX`` only after the cluster answered: with the cluster
    down (or slow) the error named the cluster, not the prefix, and waited for it first, where
    ``index``, ``sentiment rescore`` and ``kibana`` refuse the prefix at once."""
    from koubei.analysis.alerts.db import connect

    connect(tmp_path / "alerts" / "alerts.db").close()  # for `report incident`
    url, came = listener
    env = {"KOUBEI_ES_URL": url, "KOUBEI_INDEX_PREFIX": "Koubei*"}
    code, err = koubei(tmp_path, *argv, env=env)
    _one_line(code, err, "KOUBEI_INDEX_PREFIX 'Koubei*' is no index prefix")
    assert code == 2
    assert came == []  # no request to the cluster


def test_no_local_node_for_this_home_names_where_koubei_looked(tmp_path: Path) -> None:
    """`koubei es start` records its node under the KOUBEI_HOME it ran with (./var of the folder
    it ran in): a command run from another folder said only "run `koubei es start`", which the
    user had done. It now names the file it looked for, and a recorded node that is gone."""
    home = tmp_path / "home"
    code, err = koubei(home, "search", "x", env={"KOUBEI_ES_URL": ""})
    _one_line(code, err, "`koubei es start`", str(home / "es" / "es-node.json"), "KOUBEI_HOME")
    assert code == 2

    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()  # its pid no longer runs
    LocalNode("http://127.0.0.1:9", gone.pid, "/nonexistent", "/nonexistent").save(
        home / "es" / "es-node.json"
    )
    code, err = koubei(home, "search", "x", env={"KOUBEI_ES_URL": ""})
    _one_line(code, err, "http://127.0.0.1:9", "is not running", "`koubei es start`")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE incidents SET notified_channels = '[1, 2]'",  # a row koubei never wrote
        "UPDATE incidents SET brand = x'fffe'",  # text whose bytes are no UTF-8
    ],
)
def test_report_incident_of_a_damaged_alerts_database_names_the_file(
    tmp_path: Path, es_url: str, sql: str
) -> None:
    """As the alerts commands say it (session 37's fuzzing): the error named the row only, or
    was a traceback, and not which database."""
    from koubei.analysis.alerts.incidents import IncidentStore
    from tests.analysis.alerts.conftest import at, detection

    home = tmp_path / "home"
    db = home / "alerts" / "alerts.db"
    db.parent.mkdir(parents=True)
    IncidentStore(db).observe("海底捞", [detection(0)], now=at(1), channels=["hook"])
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(sql)
    code, err = koubei(home, "report", "incident", "1", env={"KOUBEI_ES_URL": es_url})
    _one_line(code, err, f"{db}: the alerts database is damaged (", ".recover")
    assert code == 2


@pytest.mark.parametrize("row", ["5", "#5"])
def test_report_incident_of_an_id_not_there_says_so_before_any_cluster_is_asked(
    tmp_path: Path, listener: tuple[str, list[object]], row: str
) -> None:
    """An id the alerts database does not hold was looked for only after the cluster: with no
    node it said the node's error, sending the operator to start one for nothing. And ``#5``,
    as ``koubei alerts status`` shows an incident (and the README calls its id), was refused
    as no id."""
    from koubei.analysis.alerts.incidents import IncidentStore
    from tests.analysis.alerts.conftest import at, detection

    db = tmp_path / "alerts" / "alerts.db"
    db.parent.mkdir(parents=True)
    IncidentStore(db).observe("海底捞", [detection(0)], now=at(1), channels=["hook"])
    url, came = listener
    code, err = koubei(tmp_path, "report", "incident", row, env={"KOUBEI_ES_URL": url})
    _one_line(code, err, f"no incident 5 in {db}")
    assert code == 1
    assert came == []  # no request to the cluster


def test_alerts_unsilence_takes_the_id_as_status_shows_it(tmp_path: Path) -> None:
    """``koubei alerts status`` lists silences as ``#3``; ``unsilence '#3'`` was refused as
    no id."""
    code, err = koubei(tmp_path, "alerts", "unsilence", "#3")
    _one_line(code, err, "no running silence #3")
    assert code == 1
