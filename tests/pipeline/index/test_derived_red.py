"""A derived index (``<prefix>-cascades``, ``<prefix>-accounts``, ``<prefix>-alerts``) or a posts
month gone red: the derived-documents writer reports the documents refused, naming the index,
instead of waiting out the client's timeout and raising. Made red for real on the limits node
(:mod:`.red`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from koubei import es_local, timeutil
from koubei.analysis.alerts.history import HistoryNotWritten, write_history
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.spread import daily
from koubei.analysis.spread.daily import index_day
from koubei.pipeline.index.answers import NO_PRIMARY
from koubei.pipeline.index.cascade_reads import (
    CascadesUnread,
    cascades_by_id,
    cascades_ending,
    cascades_of_roots,
)
from koubei.pipeline.index.derived import update_posts, write_documents
from koubei.pipeline.index.templates import ensure_templates
from koubei.pipeline.index.writer import index_records
from koubei.timeutil import DEFAULT_TZ
from tests.analysis.alerts.conftest import at, detection
from tests.analysis.spread.incident import incident
from tests.conftest import drop_prefix

from .conftest import OCTOBER, build_record
from .red import allocate_empty, lose_disk

pytestmark = [pytest.mark.es, pytest.mark.slow]

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=DEFAULT_TZ)
DAY = {"term": {"day": "2026-11-19"}}
INCIDENT_DAY = date(2026, 11, 25)  # tests.analysis.spread.incident's day


@pytest.fixture
def prefix(limits_es: Elasticsearch) -> Iterator[str]:
    """A prefix of the limits node whose indices (the red one too) and templates go after."""
    prefix = f"dred{uuid.uuid4().hex[:8]}"
    ensure_templates(limits_es, prefix, now=NOW)
    yield prefix
    drop_prefix(limits_es, f"{prefix}-")


@pytest.fixture
def client(limits_node: es_local.LocalNode) -> Iterator[Elasticsearch]:
    """A client with koubei's 30 s request timeout (``client_from_env``)."""
    client = Elasticsearch(limits_node.url, request_timeout=30)
    yield client
    client.close()


def _cascade(i: int) -> dict[str, object]:
    return {"id": f"鲜牧:weibo:{i}", "root_id": f"weibo:{i}", "brand": "鲜牧", "size": 2}


def _account(i: int) -> dict[str, object]:
    return {"id": f"a{i}", "day": "2026-11-19", "brand": "鲜牧", "rank": i}


def test_a_red_derived_index_reports_its_documents_refused_and_the_other_kinds_are_written(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, client: Elasticsearch, prefix: str
) -> None:
    """The cascades index loses its only copy. Its bulk request gave the node no ``timeout``:
    the node waited a minute for the primary, the client's 30 s timeout ran out first and
    ``write_documents`` raised ``ConnectionTimeout`` (the daily spread run with it). Now the
    node answers the items 503 ``unavailable_shards_exception`` within the bulk timeout: each
    is reported refused, naming the index, the id and that the index is red; nothing stale is
    removed, no refresh waits for it; the accounts are written as before. Once the index is
    back, writing again mends it (derived documents are rebuilt on every run)."""
    cascades = f"{prefix}-cascades"
    write_documents(limits_es, prefix, "cascades", [_cascade(0)])
    lose_disk(limits_node, limits_es, cascades)

    replace = {"term": {"brand": "鲜牧"}}
    report = write_documents(client, prefix, "cascades", [_cascade(1)], replace=replace)
    assert (report.written, report.removed, report.conflicts) == (0, 0, [])
    (error,) = report.errors
    assert error.startswith(f"{cascades}: 1 document not written (id 鲜牧:weibo:1): "), error
    assert "cluster is red" in error and "allocation/explain" in error, error
    # Nothing to write, only stale ones to remove: the search for them says the index is red.
    (error,) = write_documents(client, prefix, "cascades", [], replace=replace).errors
    assert error.startswith(f"{cascades}: ") and "cluster is red" in error, error

    accounts = write_documents(client, prefix, "accounts", [_account(0), _account(1)],
                               replace=DAY)  # fmt: skip
    assert (accounts.written, accounts.errors) == (2, [])
    assert limits_es.count(index=f"{prefix}-accounts")["count"] == 2

    allocate_empty(limits_es, cascades)
    again = write_documents(client, prefix, "cascades", [_cascade(1)], replace=replace)
    assert (again.written, again.errors) == (1, [])
    assert limits_es.count(index=cascades)["count"] == 1


def test_a_red_month_reports_its_posts_cascade_refused_and_the_other_months_are_updated(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, client: Elasticsearch,
    prefix: str, koubei_home: str,
) -> None:  # fmt: skip
    """``update_posts`` into a November gone red and an answering October: November's post is
    reported refused (its month, its id, the index red), October's updated, nothing raised."""
    index_records(limits_es, [build_record(1), build_record(2, created_at=OCTOBER)],
                  prefix=prefix, refresh=True)  # fmt: skip
    november, october = f"{prefix}-posts-2026.11", f"{prefix}-posts-2026.10"
    lose_disk(limits_node, limits_es, november)
    cascade = {"cascade": {"root_id": "weibo:9", "depth": 1}}
    fields = {"weibo:1": cascade, "weibo:2": cascade}
    report = update_posts(client, fields, {"weibo:1": {november}, "weibo:2": {october}})
    assert report.written == 1
    (error,) = report.errors
    assert error.startswith(f"{november}: 1 document not written (id weibo:1): "), error
    assert "cluster is red" in error, error
    stored = limits_es.get(index=october, id="weibo:2")["_source"]["cascade"]
    assert stored == cascade["cascade"]


@pytest.mark.parametrize("kind", ["accounts", "cascades"])
def test_the_daily_spread_run_with_a_red_derived_index_names_it_and_writes_the_other_kind(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, client: Elasticsearch,
    prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch, kind: str,
) -> None:  # fmt: skip
    """The 鲜牧 incident's day (17 accounts, 1 cascade) run again with one derived index red.
    Accounts red: it raised ``ConnectionTimeout`` after 30 s, no cascade written; now the 17
    refused accounts are one error naming the index, the count, an id and the reason once
    (session 28 made it a line per account, 17 alike), the cascade written. Cascades red: its first
    read raised ``ApiError(503, 'search_phase_execution_exception')``, naming no index, before
    any account was written; now one error names the index, the accounts are written, the
    cascades and the posts' ``cascade`` field are left as they are."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-26T09:00:00+08:00")
    assert index_records(limits_es, incident(), prefix=prefix, refresh=True).failed == 0
    first = index_day(limits_es, prefix, ["鲜牧"], INCIDENT_DAY)
    assert (first.written, first.errors) == ({"accounts": 17, "cascades": 1}, [])
    red = f"{prefix}-{kind}"
    lose_disk(limits_node, limits_es, red)
    report = index_day(client, prefix, ["鲜牧"], INCIDENT_DAY)
    assert report.errors and all(e.startswith(f"{red}") for e in report.errors), report.errors
    assert all("cluster is red" in error for error in report.errors), report.errors
    if kind == "accounts":
        (error,) = report.errors
        assert error.startswith(f"{red}: 17 documents not written (e.g. "), error
        assert error.count("cluster is red") == 1, error
        assert report.written == {"accounts": 0, "cascades": 1}
    else:
        assert report.errors == [
            f"{red}: no cascade document written, nor any post's cascade field: {NO_PRIMARY}"
        ]
        assert report.written == {"accounts": 17, "cascades": 0}
        assert (report.posts, report.cleared) == (0, 0)


def test_alert_history_into_a_red_alerts_index_names_it_and_is_written_once_it_is_back(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, client: Elasticsearch,
    prefix: str, tmp_path: Path,
) -> None:  # fmt: skip
    """The delivery task writes the alert history after delivering. Into a red ``-alerts`` it
    waited out the client's 30 s (the node a minute) and raised ``ConnectionTimeout``, naming
    no index; now it raises at once saying which index, how many events and that the index is
    red. The watermark stays: the events are written once the index is back, none twice."""
    db_path = tmp_path / "alerts.db"
    store = IncidentStore(db_path, interval_seconds=300, resolve_after=3)
    store.observe("鲜牧", [detection(0, "critical")], now=at(1), channels=["oncall"])
    alerts = f"{prefix}-alerts"
    lose_disk(limits_node, limits_es, alerts)
    with pytest.raises(HistoryNotWritten) as info:
        write_history(client, prefix, db_path)
    message = str(info.value)
    assert message.startswith(f"{alerts}: 1 of 1 alert events not written (written next cycle): ")
    assert NO_PRIMARY in message, message
    allocate_empty(limits_es, alerts)
    assert write_history(client, prefix, db_path) == 1
    # not delivered yet, so written again next cycle (with its delivery status), as one document
    assert write_history(client, prefix, db_path) == 1
    limits_es.indices.refresh(index=alerts)
    assert limits_es.count(index=alerts)["count"] == 1


def test_the_cascades_index_gone_red_after_the_daily_runs_check_is_the_same_named_error(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, client: Elasticsearch,
    prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The run's check finds the cascades index answering, then it loses its only copy before
    the run reads it. Its read raised ``ApiError(503, 'search_phase_execution_exception')``
    out of the run, naming no index, no account written; now it is the check's error, the
    accounts are written, the cascades and the posts' ``cascade`` field left as stored."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-26T09:00:00+08:00")
    assert index_records(limits_es, incident(), prefix=prefix, refresh=True).failed == 0
    assert index_day(limits_es, prefix, ["鲜牧"], INCIDENT_DAY).errors == []
    cascades = f"{prefix}-cascades"
    check = daily._cascades_red

    def check_then_red(es: Elasticsearch, prefix: str, report: daily.SpreadReport) -> bool:
        answer = check(es, prefix, report)
        assert answer is False  # the check saw it answering
        lose_disk(limits_node, limits_es, cascades)
        return answer

    monkeypatch.setattr(daily, "_cascades_red", check_then_red)
    report = index_day(client, prefix, ["鲜牧"], INCIDENT_DAY)
    assert report.errors == [
        f"{cascades}: no cascade document written, nor any post's cascade field: {NO_PRIMARY}"
    ]
    assert report.written == {"accounts": 17, "cascades": 0}
    assert (report.posts, report.cleared, report.kept) == (0, 0, 0)


def test_each_read_of_a_red_cascades_index_names_it(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, client: Elasticsearch, prefix: str
) -> None:
    """The daily run's three reads of ``<prefix>-cascades`` (the brand's cascades ending in the
    days rebuilt, those of its roots, those a conditional write met changed) on a red index:
    each raises :class:`CascadesUnread` naming it and saying it is red (the searches raised a
    bare ``ApiError`` 503)."""
    cascades = f"{prefix}-cascades"
    write_documents(limits_es, prefix, "cascades", [_cascade(0)])
    lose_disk(limits_node, limits_es, cascades)
    start, end = datetime(2026, 11, 19, tzinfo=DEFAULT_TZ), NOW
    reads = [
        lambda: cascades_ending(client, prefix, "鲜牧", start, end),
        lambda: cascades_of_roots(client, prefix, ["weibo:0"], brand="鲜牧", end=end),
        lambda: cascades_by_id(client, prefix, ["鲜牧:weibo:0"]),
    ]
    for read in reads:
        with pytest.raises(CascadesUnread) as info:
            read()
        assert str(info.value) == f"{cascades}: {NO_PRIMARY}"
