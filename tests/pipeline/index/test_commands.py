"""The ``koubei index|search|kibana`` commands, run as a user would (subprocess, real node)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from elasticsearch import Elasticsearch

from koubei.jsonl import write_atomic

MakeRecord = Callable[..., dict[str, Any]]
Koubei = Callable[..., subprocess.CompletedProcess[str]]


KOUBEI = str(Path(sys.executable).parent / "koubei")


@pytest.fixture
def cli_env(es_url: str, koubei_home: str) -> dict[str, str]:
    """The environment of a ``koubei`` command run as a user would: the test node and the
    test's home, and no other ``KOUBEI_ES_*`` setting of this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_ES_")}
    env.update(KOUBEI_ES_URL=es_url, KOUBEI_HOME=koubei_home)
    return env


@pytest.fixture
def koubei(cli_env: dict[str, str]) -> Koubei:
    """``koubei(*args)``: the command run to its end in :func:`cli_env`."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KOUBEI, *args], env=cli_env, capture_output=True, text=True, timeout=120
        )

    return run


def test_load_then_search_from_the_terminal(
    es: Elasticsearch,
    koubei: Koubei,
    index_prefix: str,
    make_record: MakeRecord,
    tmp_path: Path,
) -> None:
    landing = tmp_path / "posts.jsonl"
    write_atomic(landing, (make_record(i) for i in range(40)))
    loaded = koubei("index", "load", str(landing), "--prefix", index_prefix)
    assert loaded.returncode == 0, loaded.stderr
    report = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert (report["sent"], report["created"], report["failed"]) == (40, 40, 0)
    es.indices.refresh(index=f"{index_prefix}-posts")

    query = ["退款", "--brand", "奶茶乙", "--label", "negative", "--json", "-n", "50"]
    found = koubei("search", *query, "--prefix", index_prefix)
    assert found.returncode == 0, found.stderr
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert {h["id"] for h in hits} == {f"weibo:{i}" for i in range(40) if i % 2 and i % 3 == 0}
    assert all(h["_highlights"] for h in hits)

    # A day alone as --end includes that day: "--end 2026-11-20" was midnight at its start,
    # and with --start the same day the range was refused as empty.
    one_day = ["--start", "2026-11-20", "--end", "2026-11-20", "--json", "-n", "50"]
    found = koubei("search", *one_day, "--prefix", index_prefix)
    assert found.returncode == 0, found.stderr
    assert len(found.stdout.splitlines()) == 40

    text = koubei("search", "--brand", "奶茶甲", "-n", "3", "--prefix", index_prefix)
    assert text.returncode == 0, text.stderr
    assert "weibo.example/38" in text.stdout and text.stdout.rstrip().endswith("-- 3 post(s)")


def test_loading_unprocessed_records_says_they_carry_no_label(
    es: Elasticsearch,
    koubei: Koubei,
    index_prefix: str,
    make_record: MakeRecord,
    tmp_path: Path,
) -> None:
    """A landing file given to ``index load`` instead of its processed file (the help says
    "landing/processed") was loaded without a word: its posts were stored unscored, a stored
    copy's label dropped, and counted in no negative share. It still loads; a note names it."""
    processed = tmp_path / "processed.jsonl"
    write_atomic(processed, (make_record(i) for i in range(4)))
    landing = tmp_path / "landing.jsonl"
    write_atomic(landing, (make_record(i, sentiment=None, aspects=[]) for i in range(3)))

    loaded = koubei("index", "load", str(processed), "--prefix", index_prefix)
    assert loaded.returncode == 0, loaded.stderr
    assert "note:" not in loaded.stderr

    loaded = koubei("index", "load", str(landing), "--prefix", index_prefix)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout.splitlines()[-1])["sent"] == 3
    assert f"note: {landing}: 3 of 3 record(s) carry no sentiment" in loaded.stderr
    assert "`koubei process`" in loaded.stderr
    assert str(processed) not in loaded.stderr


def test_a_post_of_several_lines_is_shown_on_one(
    es: Elasticsearch, koubei: Koubei, index_prefix: str, make_record: MakeRecord, tmp_path: Path
) -> None:
    """A feed article's text is its title and body on two lines: the terminal showed the body
    at the start of a line, outside the post's indented block, with and without highlights."""
    text = "蒙牛酸奶被投诉\n多名消费者投诉蒙牛酸奶变质发酸，客服态度很差。"
    processed = tmp_path / "processed.jsonl"
    write_atomic(processed, [make_record(1, text_raw=text, text_clean=text)])
    assert koubei("index", "load", str(processed), "--prefix", index_prefix).returncode == 0
    es.indices.refresh(index=f"{index_prefix}-posts")
    for query in ([], ["投诉"]):
        found = koubei("search", *query, "--prefix", index_prefix)
        assert found.returncode == 0, found.stderr
        lines = found.stdout.splitlines()
        assert len(lines) == 4, found.stdout  # header, text, url, count
        assert lines[1].startswith("    ") and "多名消费者" in lines[1]


def test_kibana_link_prints_a_discover_deep_link(koubei: Koubei) -> None:
    linked = koubei("kibana", "link", "--url", "http://kb:5601", "--brand", "奶茶甲",
                    "--label", "negative", "--start", "2026-11-20T12:00",
                    "--end", "2026-11-20T13:00")  # fmt: skip
    assert linked.returncode == 0, linked.stderr
    url = unquote(linked.stdout.strip())
    assert url.startswith("http://kb:5601/app/discover#/?_g=(time:(from:'2026-11-20T04:00")
    assert 'brands:"奶茶甲" and sentiment.label:"negative"' in url


def test_kibana_check_reads_the_mapping_of_every_data_view(
    es: Elasticsearch, koubei: Koubei, index_prefix: str
) -> None:
    """Before: the check knew the posts and alerts views only, so the cascades and accounts
    views' objects came out as "no mapping known for data view" problems (exit 1)."""
    checked = koubei("kibana", "check", "--prefix", index_prefix)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip().splitlines()[-1] == "0 problem(s)"
    # A field the live cascades index lacks is reported, not skipped: an index made before its
    # template (the check installs the template, which does not change an existing index).
    es.indices.delete(index=f"{index_prefix}-cascades")
    es.indices.delete_index_template(name=f"{index_prefix}-cascades")
    es.indices.create(index=f"{index_prefix}-cascades", mappings={"dynamic": False})
    checked = koubei("kibana", "check", "--prefix", index_prefix)
    assert checked.returncode == 1
    assert "koubei-biggest-cascades: field 'size' (column) is not mapped in koubei-cascades" in (
        checked.stdout
    )


def test_search_mistakes_are_one_line_and_query_syntax_in_text_is_plain_text(
    es: Elasticsearch,
    koubei: Koubei,
    index_prefix: str,
    make_record: MakeRecord,
    tmp_path: Path,
) -> None:
    landing = tmp_path / "posts.jsonl"
    texts = ["牛奶 AND (特价", "路径 a/b 斜杠", '引号 "半个', "反斜杠 C:\\路径"]
    write_atomic(landing, (make_record(i, text_raw=t) for i, t in enumerate(texts)))
    loaded = koubei("index", "load", str(landing), "--prefix", index_prefix)
    assert loaded.returncode == 0, loaded.stderr
    es.indices.refresh(index=f"{index_prefix}-posts")

    # Query-string operators, slashes, quotes and backslashes in TEXT are words to find.
    for i, query in enumerate(["牛奶 AND (", "a/b", '"半', "C:\\"]):
        found = koubei("search", query, "--json", "--prefix", index_prefix)
        assert found.returncode == 0, found.stderr
        assert [json.loads(line)["id"] for line in found.stdout.splitlines()] == [f"weibo:{i}"]

    # More posts than one search returns (index.max_result_window): one line naming -n.
    many = koubei("search", "-n", "100000", "--prefix", index_prefix)
    assert many.returncode == 2
    (line,) = many.stderr.strip().splitlines()
    assert "-n 100000" in line and "10000" in line and "Traceback" not in many.stderr

    # A brand that is neither configured nor indexed is most likely a typo: say so.
    typo = koubei("search", "--brand", "奶茶丙", "--prefix", index_prefix)
    assert typo.returncode == 2
    (line,) = typo.stderr.strip().splitlines()
    assert "--brand '奶茶丙'" in line and "brands.yaml" in line
    # A brand that is indexed (here: not configured) is searched as usual.
    known = koubei("search", "--brand", "奶茶甲", "--json", "--prefix", index_prefix)
    assert known.returncode == 0 and len(known.stdout.splitlines()) == 2


def test_search_shows_times_in_china_time_whatever_offset_the_file_stored(
    es: Elasticsearch,
    koubei: Koubei,
    index_prefix: str,
    make_record: MakeRecord,
    tmp_path: Path,
) -> None:
    """A foreign file with UTC times (``Z``) was shown in UTC, eight hours off China time, with
    nothing on the line to say so; the same instant stored with +08:00 showed China time."""
    landing = tmp_path / "posts.jsonl"
    utc = make_record(1, created_at="2026-11-20T04:30:00Z")
    china = make_record(2, created_at="2026-11-20T12:45:00+08:00")
    write_atomic(landing, [utc, china])
    loaded = koubei("index", "load", str(landing), "--prefix", index_prefix)
    assert loaded.returncode == 0, loaded.stderr
    es.indices.refresh(index=f"{index_prefix}-posts")
    shown = koubei("search", "--prefix", index_prefix)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0][:16] == "2026-11-20 12:45" and "weibo.example/2" in lines[2]
    assert lines[3][11:16] == "12:30", lines[3]  # was 04:30
    assert lines[3][:16] == "2026-11-20 12:30" and "weibo.example/1" in lines[5]


def test_search_edited_lists_the_posts_edited_in_the_window_with_their_edit_time(
    es: Elasticsearch,
    koubei: Koubei,
    index_prefix: str,
    make_record: MakeRecord,
    tmp_path: Path,
) -> None:
    """``koubei search`` had no way to the posts a site edited after they were stored: their
    edit time (``edited_at``, posts template 6) was in Kibana alone. ``--edited`` lists them,
    its window bounding the edit's time, and each shows when it was edited. The edit times
    are as the articles spider sets ``extra.edited_at`` (crawlers/spiders/articles.py)."""
    landing = tmp_path / "posts.jsonl"
    complaint = make_record(
        1, text_raw="更正：奶茶已退款", extra={"edited_at": "2026-11-26T12:07:00+08:00"}
    )
    earlier = make_record(3, extra={"edited_at": "2026-11-21T09:30:00+08:00"})
    same_day = make_record(2, created_at="2026-11-26T10:00:00+08:00")  # posted then, never edited
    write_atomic(landing, [complaint, earlier, same_day, make_record(4)])
    loaded = koubei("index", "load", str(landing), "--prefix", index_prefix)
    assert loaded.returncode == 0, loaded.stderr
    es.indices.refresh(index=f"{index_prefix}-posts")

    def ids(*options: str) -> list[tuple[str, str | None]]:
        found = koubei("search", *options, "--json", "--prefix", index_prefix)
        assert found.returncode == 0, found.stderr
        return [(h["id"], h.get("edited_at")) for h in map(json.loads, found.stdout.splitlines())]

    # Every edited post, latest edit first; the others have no edited_at.
    assert ids("--edited") == [
        (complaint["id"], "2026-11-26T12:07:00+08:00"),
        (earlier["id"], "2026-11-21T09:30:00+08:00"),
    ]
    # The window is the edit's: a post of the 20th edited on the 26th, not the 26th's own post.
    the_26th = ("--start", "2026-11-26", "--end", "2026-11-26")
    assert ids("--edited", *the_26th) == [(complaint["id"], "2026-11-26T12:07:00+08:00")]
    assert ids(*the_26th) == [(same_day["id"], None)]
    assert ids("退款", "--edited", "--end", "2026-11-25") == [
        (earlier["id"], "2026-11-21T09:30:00+08:00")
    ]

    shown = koubei("search", "--edited", "--prefix", index_prefix)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("2026-11-20 12:01") and lines[0].endswith(
        "  edited 2026-11-26 12:07"
    )
    assert lines[-1] == "-- 2 post(s)"
    everything = koubei("search", "--prefix", index_prefix).stdout
    assert everything.count(" edited ") == 2  # shown without --edited too


def test_a_time_range_that_cannot_match_or_says_its_start_twice_is_refused(
    koubei: Koubei, index_prefix: str
) -> None:
    """``--start`` after ``--end`` answered "-- 0 post(s)" with exit 0, and ``--since`` given
    with ``--start`` was dropped without a word (for search and for kibana link)."""
    backwards = ["--start", "2026-11-21", "--end", "2026-11-20T12:00"]
    for command in (
        ["search", "--prefix", index_prefix],
        ["kibana", "link", "--url", "http://kb:5601"],
    ):
        refused = koubei(*command, *backwards)
        assert refused.returncode == 2, refused.stdout
        (line,) = refused.stderr.strip().splitlines()
        assert "--start 2026-11-21T00:00:00+08:00 is not before --end" in line
        twice = koubei(*command, "--since", "2h", "--start", "2026-11-20")
        assert twice.returncode == 2, twice.stdout
        assert "give one of them" in twice.stderr


def test_load_that_dead_letters_a_document_exits_1_naming_the_dead_letter_file(
    es: Elasticsearch,
    koubei: Koubei,
    index_prefix: str,
    make_record: MakeRecord,
    tmp_path: Path,
) -> None:
    """A load that indexed only part of its input is not a success (it exited 0, silent)."""
    refused = make_record(2)
    refused["id"] = "w" * 600  # Elasticsearch refuses an _id over 512 bytes: dead-lettered
    landing = tmp_path / "posts.jsonl"
    write_atomic(landing, [make_record(1), refused, make_record(3)])
    loaded = koubei("index", "load", str(landing), "--prefix", index_prefix)
    assert loaded.returncode == 1, loaded.stderr
    report = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert (report["sent"], report["created"], report["failed"]) == (3, 2, 1)
    assert report["dead_letter"]
    (line,) = [e for e in loaded.stderr.splitlines() if "dead-lettered" in e]
    assert "1 of 3" in line and report["dead_letter"] in line
    assert "Traceback" not in loaded.stderr
    # The dead letter says which file holds the refused post (a load of several files
    # named only the post's id).
    (letter,) = [json.loads(x) for x in Path(report["dead_letter"]).read_text().splitlines()]
    assert (letter["id"], letter["source"]) == (refused["id"], str(landing))

    clean = tmp_path / "clean.jsonl"
    write_atomic(clean, [make_record(4)])
    again = koubei("index", "load", str(clean), "--prefix", index_prefix)
    assert again.returncode == 0, again.stderr
    assert "dead-lettered" not in again.stderr


@contextmanager
def pipeline_lock_held(args: list[str], env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Run ``koubei ARGS`` while this process holds the pipeline lock (a cycle at work): inside
    the block it has said that it waits, naming the holder, and is still waiting; after the
    block (the lock released) the dict holds its ``returncode``, ``out`` and ``err`` lines."""
    from koubei.flows.locks import PIPELINE_LOCK, stage_lock

    held, release = threading.Event(), threading.Event()

    def other_run() -> None:  # a cycle at work on the same state, in this process
        with stage_lock(PIPELINE_LOCK):
            held.set()
            release.wait(120)

    holder = threading.Thread(target=other_run)
    holder.start()
    run: dict[str, Any] = {"err": []}
    try:
        assert held.wait(10)
        command = [KOUBEI, *args]
        proc = subprocess.Popen(command, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        assert proc.stderr is not None and proc.stdout is not None
        err = run["err"]
        reader = threading.Thread(target=lambda: err.extend(iter(proc.stderr.readline, "")))
        reader.start()
        for _ in range(600):  # until it says it waits, or it ends without waiting (the bug)
            if proc.poll() is not None or any("waiting for the 'pipeline' lock" in e for e in err):
                break
            time.sleep(0.2)
        assert proc.poll() is None, f"ran while the pipeline lock was held: {err}"
        (waiting,) = [e for e in err if "waiting for the 'pipeline' lock" in e]
        assert f"held by pid {os.getpid()}, since " in waiting
        yield run
    finally:
        release.set()
        holder.join(10)
    run["out"] = proc.stdout.read()  # stderr is the reader's
    proc.wait(120)
    reader.join(10)
    run["returncode"] = proc.returncode
    assert any("took the 'pipeline' lock after waiting" in e for e in err), err


def test_load_waits_for_the_pipeline_lock_and_names_its_holder(
    es: Elasticsearch,
    cli_env: dict[str, str],
    index_prefix: str,
    make_record: MakeRecord,
    tmp_path: Path,
) -> None:
    """`index load` took no lock: it wrote the posts, spool and dead letters while a cycle
    (``koubei run``/``serve``, ``koubei process``, ``index replay``) or another load did the
    same. Now it waits for the pipeline lock, saying who holds it, and loads once it is free."""
    landing = tmp_path / "posts.jsonl"
    write_atomic(landing, (make_record(i) for i in range(20)))
    with pipeline_lock_held(
        ["index", "load", str(landing), "--prefix", index_prefix], cli_env
    ) as run:
        templates_only = es.count(index=f"{index_prefix}-posts", ignore_unavailable=True)
        assert templates_only.get("count", 0) == 0  # nothing written while it waits
    assert run["returncode"] == 0, run["err"]
    report = json.loads(run["out"].strip().splitlines()[-1])
    assert (report["sent"], report["created"], report["failed"]) == (20, 20, 0)


def test_reindex_waits_for_the_pipeline_lock_and_names_its_holder(
    es: Elasticsearch,
    koubei: Koubei,
    cli_env: dict[str, str],
    index_prefix: str,
    make_record: MakeRecord,
    tmp_path: Path,
) -> None:
    """`index reindex` took no lock: a cycle indexing while it copied a month met the write
    block it puts on the month's index and spooled that month's documents. Now it waits for
    the pipeline lock as `index load` does, with the same line naming the holder."""
    landing = tmp_path / "posts.jsonl"
    write_atomic(landing, [make_record(1)])
    loaded = koubei("index", "load", str(landing), "--prefix", index_prefix)
    assert loaded.returncode == 0, loaded.stderr
    with pipeline_lock_held(["index", "reindex", "--prefix", index_prefix], cli_env) as run:
        pass
    assert run["returncode"] == 0, run["err"]
    *_, removed, migrated = run["out"].strip().splitlines()
    assert (removed, migrated) == (
        "0 cascade document(s) under a bare root id removed",
        "0 index(es) migrated",
    )


def test_status_counts_cascade_documents_under_a_bare_root_id_until_reindex(
    es: Elasticsearch, koubei: Koubei, index_prefix: str
) -> None:
    """Before: `index status` said every template was current while cascade documents an
    earlier release keyed by their root's id alone were still there (`index reindex` removes
    them; nothing told the operator to run it)."""
    set_up = koubei("index", "setup", "--prefix", index_prefix)
    assert set_up.returncode == 0, set_up.stderr
    index = f"{index_prefix}-cascades"
    for doc_id, root in (
        ("weibo:1", "weibo:1"),  # bare
        ("鲜牧:weibo:1", "weibo:1"),
        ("dianping:77", "dianping:77"),  # bare
    ):
        document = {"id": doc_id, "root_id": root, "brand": "鲜牧", "size": 2}
        es.index(index=index, id=doc_id, document=document)
    es.indices.refresh(index=index)

    def status() -> tuple[dict[str, dict[str, Any]], list[str]]:
        run = koubei("index", "status", "--prefix", index_prefix)
        assert run.returncode == 0, run.stderr
        lines = [json.loads(line) for line in run.stdout.splitlines()]
        return {line["kind"]: line for line in lines}, run.stderr.strip().splitlines()

    lines, notes = status()
    assert (lines["cascades"]["bare_id_documents"], lines["cascades"]["current"]) == (2, False)
    assert (lines["posts"]["bare_id_documents"], lines["posts"]["current"]) == (0, True)
    assert notes == [
        "2 cascade document(s) under a bare root id (an earlier release's ids): "
        "run `koubei index reindex` to remove them"
    ]

    reindexed = koubei("index", "reindex", "--prefix", index_prefix)
    assert reindexed.returncode == 0, reindexed.stderr
    assert "2 cascade document(s) under a bare root id removed" in reindexed.stdout.splitlines()
    lines, notes = status()
    assert all(line["current"] for line in lines.values()) and notes == []
    assert lines["cascades"]["bare_id_documents"] == 0


def test_status_names_a_month_behind_its_template_and_reindex_makes_its_edits_findable(
    es: Elasticsearch,
    koubei: Koubei,
    index_prefix: str,
    make_record: MakeRecord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A month a release before posts version 6 stored, its edit's time in ``extra.edited_at``
    alone (not indexed): `index status` said `current: false` in its JSON and nothing more.
    Now it names the month on stderr and the command to run; `index reindex` copies it and
    the edit is found by a range query on ``edited_at``."""
    from datetime import UTC, datetime

    from koubei.pipeline.index import templates

    from .conftest import older_template_dir, stored_before_edit_time

    monkeypatch.setattr(templates, "TEMPLATE_DIR",
                        older_template_dir(tmp_path, 5, without=("edited_at",)))  # fmt: skip
    templates.ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    edit = make_record(1, extra={"edited_at": "2026-11-21T09:30:00+08:00"})
    stored_before_edit_time(es, [edit, make_record(2)], index_prefix)
    month, since = f"{index_prefix}-posts-2026.11", {"range": {"edited_at": {"gte": "2026-11-21"}}}

    run = koubei("index", "status", "--prefix", index_prefix)
    assert run.returncode == 0, run.stderr
    posts = next(json.loads(line) for line in run.stdout.splitlines() if '"posts"' in line)
    assert (posts["file_version"], posts["stale_indices"], posts["current"]) == (7, [month], False)
    assert run.stderr.strip().splitlines() == [
        f"1 index(es) on an older mapping version than their template's ({month}): "
        "run `koubei index reindex` to copy them"
    ]

    reindexed = koubei("index", "reindex", "--prefix", index_prefix)
    assert reindexed.returncode == 0, reindexed.stderr
    assert reindexed.stdout.splitlines()[-1] == "1 index(es) migrated"
    es.indices.refresh(index=f"{index_prefix}-posts")
    hits = es.search(index=f"{index_prefix}-posts", query=since)["hits"]["hits"]
    assert [h["_id"] for h in hits] == [edit["id"]]
    assert es.count(index=f"{index_prefix}-posts")["count"] == 2
    again = koubei("index", "status", "--prefix", index_prefix)
    assert again.stderr == ""
    assert all(json.loads(line)["current"] for line in again.stdout.splitlines())


def test_a_config_dir_of_yaml_files_alone_uses_the_shipped_templates(
    es: Elasticsearch, cli_env: dict[str, str], index_prefix: str, tmp_path: Path
) -> None:
    """``KOUBEI_CONFIG_DIR`` at a folder of the YAML files a user edits (as ``demo/config``),
    no ``es/`` or ``kibana/`` copied: ``index setup`` stopped at ``<dir>/es/analyzers.json: No
    such file or directory`` (and so did every cycle's index stage), though a directory without
    ``aspects.yaml`` or ``brands.yaml`` uses the shipped one, and ``--config-dir`` with the same
    folder read the shipped templates."""
    own = tmp_path / "my-config"
    own.mkdir()
    shipped = Path(__file__).parents[3] / "config"
    for name in ("brands.yaml", "sources.yaml", "alerts.yaml"):
        (own / name).write_bytes((shipped / name).read_bytes())
    env = {**cli_env, "KOUBEI_CONFIG_DIR": str(own)}
    for args in (("index", "setup"), ("index", "status"), ("kibana", "check")):
        done = subprocess.run(
            [KOUBEI, *args, "--prefix", index_prefix],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (args, done.stderr)
    assert es.indices.get_index_template(name=f"{index_prefix}-posts")["index_templates"]


def test_reads_of_a_prefix_with_no_index_say_so_in_one_line(
    koubei: Koubei, index_prefix: str
) -> None:
    """A mistyped ``--prefix`` (or ``KOUBEI_INDEX_PREFIX``), or a search before anything was
    indexed: ``search`` ended in a ``NotFoundError`` traceback (exit 1) and ``spread`` said
    ``cannot read posts: NotFoundError(404, 'index_not_found_exception', ...)``; now both say
    what ``report daily`` and ``spikes backtest --brand`` say."""
    for argv in (("search", "牛奶"), ("spread", "weibo:1", "--no-pictures")):
        done = koubei(*argv, "--prefix", index_prefix)
        assert (done.returncode, done.stderr) == (
            2,
            f"koubei: error: no index {index_prefix}-posts (is --prefix right? nothing "
            "indexed yet: `koubei run`)\n",
        ), argv
