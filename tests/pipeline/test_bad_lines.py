"""Hostile landing lines: each is set aside with its file, line and reason; nothing else stops.

Issue 22: a line with invalid UTF-8, JSON nested 10,000 deep or plain text used to abort
``koubei process`` (and every later ``koubei run``) until someone deleted the file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl, paths
from koubei.flows.cli import main
from koubei.pipeline.aspects import load_aspects
from koubei.pipeline.process import process_file
from koubei.pipeline.sentiment import load_model


def _record(n: int, source: str = "test-shop", **changes: Any) -> dict[str, Any]:
    record = {
        "id": f"shop_json:{source}-{n}",
        "platform": "shop_json",
        "source": source,
        "kind": "review",
        "native_id": f"{source}-{n}",
        "text_raw": f"<p>第{n}条评论：质量很好，物流也快</p>",
        "created_at": f"2026-11-20T08:{n:02d}:00+08:00",
        "crawled_at": "2026-11-21T08:00:00+08:00",
    }
    record.update(changes)
    return record


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


# Each hostile line, with a word its reject reason must contain.
HOSTILE: list[tuple[bytes, str]] = [
    (b'{"id": "x", "text_raw": "\xff\xfe caf\xe9"}\n', "UTF-8"),
    (b"[" * 10_000 + b"]" * 10_000 + b"\n", "nested"),
    (b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"\n", "nested"),
    ("这不是 JSON，只是一行字\n".encode(), "not JSON"),
    (b'{"id": "cut in half", "text_raw": "\n', "not JSON"),
    (b"[1, 2, 3]\n", "not a JSON object"),
    (b'{"rating": NaN}\n', "NaN"),
    (b'{"n": ' + b"9" * 5000 + b"}\n", "not JSON"),
    (_line(_record(90, created_at="2170-01-01T00:00:00+08:00")), "future"),
    (_line(_record(55, crawled_at="2170-01-01T00:00:00+08:00")), "crawled_at: 2170-01-01"),
    (_line(_record(91, created_at="1773-01-01T00:00:00+08:00")), "before 2000"),
    (_line(_record(92, created_at="2026-11-20T08:00:00+08:05:43")), "created_at"),
    (_line(_record(93, created_at="2026-11-20T08:00:00+08:05")), "offset"),
    # parses (under json's limit) but deeper than the model serializes (~250 levels)
    (_line(_record(54, extra=_nested(400))), "cannot be validated"),
]


def _landing(home: str, source: str, name: str, lines: list[bytes]) -> Path:
    path = Path(home) / "landing" / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    return path


def test_process_file_sets_aside_every_hostile_line_and_keeps_the_rest(
    koubei_home: str, tmp_path: Path
) -> None:
    lines = [_line(_record(0))]
    for hostile, _ in HOSTILE:
        lines += [hostile, _line(_record(len(lines)))]
    landing = _landing(koubei_home, "test-shop", "run1.jsonl", lines)

    report = process_file(
        landing, tmp_path / "out.jsonl", model=load_model(), lexicon=load_aspects()
    )

    assert (report.processed, report.rejected) == (len(HOSTILE) + 1, len(HOSTILE))
    rejected = list(jsonl.read(Path(report.rejected_file or "")))
    assert [r["line"] for r in rejected] == list(range(2, 2 * len(HOSTILE) + 1, 2))
    for reject, (_, word) in zip(rejected, HOSTILE, strict=True):
        assert reject["file"] == str(landing)
        assert word in reject["reason"], reject["reason"]
    assert "\\xff" in rejected[0]["raw"]  # the bad bytes kept, escaped, for whoever looks


def test_koubei_process_goes_on_past_bad_files_and_does_not_fail_again(
    koubei_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _landing(
        koubei_home,
        "aaa-shop",
        "run1.jsonl",
        [b"\xff\xfe\n", _line(_record(1, "aaa-shop")), b"[" * 10_000 + b"\n", b"plain text\n"],
    )
    _landing(koubei_home, "bbb-shop", "run1.jsonl", [_line(_record(n, "bbb-shop")) for n in (1, 2)])

    assert main(["process", "--no-progress", "--workers", "1"]) == 0
    reports = {
        Path(r["source_file"]).parent.name: r
        for r in map(json.loads, capsys.readouterr().out.splitlines())
    }
    assert (reports["aaa-shop"]["processed"], reports["aaa-shop"]["rejected"]) == (1, 3)
    assert (reports["bbb-shop"]["processed"], reports["bbb-shop"]["rejected"]) == (2, 0)
    rejected = list(jsonl.read(paths.state_dir("rejected") / "aaa-shop" / "run1.jsonl"))
    assert [(r["file"], r["line"]) for r in rejected] == [(str(bad), n) for n in (1, 3, 4)]

    # The next cycle finds nothing left to do rather than failing on the same file again.
    assert main(["process", "--no-progress", "--workers", "1"]) == 0
    assert capsys.readouterr().out.strip() == "nothing to process"


def test_a_file_landed_outside_a_sources_folder_is_named_not_skipped_in_silence(
    koubei_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``landing/run1.jsonl`` (no source folder) was never processed and nothing said so."""
    stray = paths.state_dir("landing") / "run1.jsonl"
    stray.write_bytes(_line(_record(1)))
    assert main(["process", "--no-progress", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "nothing to process"
    assert f"{stray} is not in a source's folder" in captured.err
    assert "landing/<source>/run1.jsonl" in captured.err


def test_lone_surrogate_escapes_become_replacement_characters_and_the_record_is_kept(
    koubei_home: str, tmp_path: Path
) -> None:
    """JSON may escape half of a UTF-16 pair (``"\\ud83d"``: an emoji cut by a platform's
    truncation); no UTF-8 writer can store it, so it used to stop the whole file at the write."""
    cut = _line(_record(1)).replace("物流也快".encode(), b"\\ud83d \\udc4d\\ud83d\\udc4d")
    named = _line(_record(2, author={"name": "X", "id": "Y"}))
    named = named.replace(b'"X"', b'"\\udfff"').replace(b'"Y"', b'"\\ud800"')
    landing = _landing(koubei_home, "test-shop", "run1.jsonl", [cut, named, _line(_record(3))])
    output = tmp_path / "out.jsonl"

    report = process_file(landing, output, model=load_model(), lexicon=load_aspects())

    assert (report.processed, report.rejected) == (3, 0)
    first, second, _ = jsonl.read(output)
    assert first["text_raw"].endswith("\ufffd \ufffd\U0001f44d</p>")  # the whole pair kept
    assert second["author"]["id"] == "\ufffd"  # (the name is cleaned: nothing readable is left)


def test_surrogates_written_as_bytes_are_read_like_their_json_escapes(
    koubei_home: str, tmp_path: Path
) -> None:
    """The same halves of an emoji, written as bytes (``encode("utf-8", "surrogatepass")``, a
    writer that kept a platform's ``"\\ud83d"`` with ``ensure_ascii=False``; CESU-8 from Java
    and Oracle exports). As escapes the record was kept (U+FFFD for a lone half); as bytes the
    whole line was set aside as invalid UTF-8."""
    text = "物流太慢了\ud83d\ude21 客服不理人\ud83d"
    line = json.dumps(_record(1, text_raw=text), ensure_ascii=False)
    landing = _landing(
        koubei_home, "test-shop", "run1.jsonl", [line.encode("utf-8", "surrogatepass") + b"\n"]
    )
    output = tmp_path / "out.jsonl"

    report = process_file(landing, output, model=load_model(), lexicon=load_aspects())

    assert (report.processed, report.rejected) == (1, 0)
    (record,) = jsonl.read(output)
    assert record["text_raw"] == "物流太慢了\U0001f621 客服不理人\ufffd"
    assert record["text_clean"] == "物流太慢了\U0001f621 客服不理人"


def test_numbers_elasticsearch_cannot_store_are_set_aside_by_the_process_stage(
    koubei_home: str, tmp_path: Path
) -> None:
    """``engagement`` and ``followers`` are ``long`` fields and ``rating`` a ``float`` in the
    posts template: a count past 2**63 - 1 or a rating of 1e300 passed the model, was
    processed, and only Elasticsearch refused it, far from the landing file and line."""
    lines = [
        _line(_record(1, engagement={"likes": 10**20})),
        _line(_record(2, author={"followers": -(2**70)})),
        _line(_record(3, rating=1e300)),
        _line(_record(4, engagement={"likes": 2**63 - 1}, rating=4.5)),
    ]
    landing = _landing(koubei_home, "test-shop", "run1.jsonl", lines)

    report = process_file(
        landing, tmp_path / "out.jsonl", model=load_model(), lexicon=load_aspects()
    )

    assert (report.processed, report.rejected) == (1, 3)
    rejected = list(jsonl.read(Path(report.rejected_file or "")))
    assert [(r["line"], r["reason"].split(":")[0]) for r in rejected] == [
        (1, "engagement.likes"),
        (2, "author.followers"),
        (3, "rating"),
    ]


def test_a_landing_file_that_cannot_be_read_waits_and_the_others_go_on(
    koubei_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    unreadable = Path(koubei_home) / "landing" / "aaa-shop" / "run1.jsonl"
    unreadable.mkdir(parents=True)  # a directory with a landing file's name: open() fails
    _landing(koubei_home, "bbb-shop", "run1.jsonl", [_line(_record(1, "bbb-shop"))])

    assert main(["process", "--no-progress", "--workers", "1"]) == 1
    out, err = capsys.readouterr()
    reports = {Path(r["source_file"]).parent.name: r for r in map(json.loads, out.splitlines())}
    assert reports["bbb-shop"]["processed"] == 1
    assert str(unreadable) in reports["aaa-shop"]["error"]
    assert f"{unreadable}: cannot read" in err
    # It stays pending (nothing written for it), so the next run tries it again.
    assert not (paths.state_dir("processed") / "aaa-shop").exists()
    unreadable.rmdir()
    _landing(koubei_home, "aaa-shop", "run1.jsonl", [_line(_record(1, "aaa-shop"))])
    assert main(["process", "--no-progress", "--workers", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["processed"] == 1


def test_a_landing_file_whose_batch_fails_is_said_to_have_failed_not_to_be_unreadable(
    koubei_home: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The closing line counted a file whose batch failed (``BatchFailed``: a record that
    crashes the enrichment, a model a helper cannot load) as "unreadable": it was read, and the
    operator looked for a permissions or disk problem. It now says the batch failed, why, and
    that the file is left pending, as the file's own error line and the log do."""
    from koubei.pipeline import enrich

    unreadable = Path(koubei_home) / "landing" / "aaa-shop" / "run1.jsonl"
    unreadable.mkdir(parents=True)
    _landing(koubei_home, "bbb-shop", "run1.jsonl", [_line(_record(1, "bbb-shop"))])
    _landing(koubei_home, "ccc-shop", "run1.jsonl", [_line(_record(2, "ccc-shop"))])
    enrich_chunk = enrich.enrich_chunk

    def crash_on_ccc(records: list[dict[str, Any]], model: Any, lexicon: Any) -> Any:
        if any(r["source"] == "ccc-shop" for r in records):
            raise RuntimeError("the model crashed")
        return enrich_chunk(records, model, lexicon)

    monkeypatch.setattr(enrich, "enrich_chunk", crash_on_ccc)
    assert main(["process", "--no-progress", "--workers", "1"]) == 1
    out, err = capsys.readouterr()
    reports = {Path(r["source_file"]).parent.name: r for r in map(json.loads, out.splitlines())}
    assert [reports[s]["batch_failed"] for s in ("aaa-shop", "bbb-shop", "ccc-shop")] == [
        False, False, True,
    ]  # fmt: skip
    failed = Path(koubei_home) / "landing" / "ccc-shop" / "run1.jsonl"
    ids = "shop_json:ccc-shop-2 to shop_json:ccc-shop-2"
    why = f"{failed}: records 1-1 of 1 (ids {ids}) failed in this process: "
    why += "RuntimeError: the model crashed"
    assert reports["ccc-shop"]["error"] == why
    assert f"koubei: error: landing file left pending, its batch failed: {why}" in err
    assert f"koubei: error: landing file left pending, unreadable: {unreadable}: cannot" in err
    summary = err.strip().splitlines()[-1]
    assert summary == (
        "koubei process: 3 file(s), 1 line(s) read: 1 processed, 0 rejected (in rejected/); "
        f"1 file(s) unreadable, 1 file(s) whose batch failed (left pending): {why}"
    )
    assert not (paths.state_dir("processed") / "ccc-shop").exists()


def test_a_byte_order_mark_does_not_cost_the_first_record(tmp_path: Path) -> None:
    """Tools on Windows write UTF-8 with a BOM (PowerShell 5 ``Out-File -Encoding utf8``)."""
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _line(_record(1)) + _line(_record(2)))
    assert [r["native_id"] for r in jsonl.read(path)] == ["test-shop-1", "test-shop-2"]


def test_files_joined_with_cat_keep_the_record_after_each_byte_order_mark(tmp_path: Path) -> None:
    """``cat a.jsonl b.jsonl`` of two files saved with a BOM puts the second BOM at the start of
    a line in the middle: that record was set aside as 'Unexpected UTF-8 BOM'."""
    first, second = (b"\xef\xbb\xbf" + _line(_record(n)) + _line(_record(n + 1)) for n in (1, 3))
    path = tmp_path / "joined.jsonl"
    path.write_bytes(first + second)
    assert [r["native_id"] for r in jsonl.read(path)] == [f"test-shop-{n}" for n in range(1, 5)]


def test_strict_reading_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "ours.jsonl"
    path.write_bytes(_line(_record(1)) + b"\xff\n")
    with pytest.raises(jsonl.JsonlError, match=r"ours\.jsonl:2: invalid UTF-8"):
        list(jsonl.read(path))
    with pytest.raises(jsonl.JsonlError, match=r"missing\.jsonl: cannot read"):
        list(jsonl.read(tmp_path / "missing.jsonl"))


def test_hostile_file_end_to_end_good_records_indexed_once_no_stray_index(
    koubei_home: str, tmp_path: Path, es: Elasticsearch, index_prefix: str
) -> None:
    from koubei.pipeline.index.writer import index_records

    lines = [_line(_record(0))]
    for hostile, _ in HOSTILE:
        lines += [hostile, _line(_record(len(lines)))]
    landing = _landing(koubei_home, "test-shop", "run1.jsonl", lines)
    output = tmp_path / "out.jsonl"
    process_file(landing, output, model=load_model(), lexicon=load_aspects())
    # The same file indexed twice (a re-run): every good record once, no far-future index.
    for _ in range(2):
        report = index_records(es, jsonl.read(output), prefix=index_prefix, refresh=True)
        assert (report.sent, report.failed, report.spooled) == (len(HOSTILE) + 1, 0, 0)
    assert _stray_indices(es, index_prefix) == []
    assert es.count(index=f"{index_prefix}-posts-*")["count"] == len(HOSTILE) + 1


def test_index_load_never_opens_a_far_future_index(
    koubei_home: str, tmp_path: Path, es: Elasticsearch, index_prefix: str
) -> None:
    """``index load`` reads files without the process stage: the writer's guard holds there."""
    from koubei.pipeline.index.writer import index_records

    records = [
        _record(1),
        _record(2, created_at="2170-01-01T00:00:00+08:00"),
        _record(3, created_at="1773-01-01T00:00:00+08:00"),
    ]
    report = index_records(es, iter(records), prefix=index_prefix, refresh=True)
    assert (report.sent, report.acknowledged, report.failed) == (3, 1, 2)
    assert _stray_indices(es, index_prefix) == []


def _stray_indices(es: Elasticsearch, prefix: str) -> list[str]:
    """Posts indices for the injected impossible years (templates may open this month's too)."""
    months = sorted(es.indices.get(index=f"{prefix}-posts-*"))
    return [name for name in months if name.rsplit("-", 1)[1][:4] in {"2170", "1773"}]


def test_a_run_being_compressed_is_processed_once_from_its_whole_plain_file(
    koubei_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``gzip run1.jsonl`` (an operator compressing old runs, README) writes ``run1.jsonl.gz``
    beside the plain file and removes the plain one when done. A cycle in between saw two
    pending files with one output: it processed the plain file, then the half-written ``.gz``
    over it (its cut set aside), and once gzip removed the plain file the records after the cut
    were in no output: lost, and the run counted twice."""
    import gzip

    whole = b"".join(_line(_record(n)) for n in range(1, 41))
    _landing(koubei_home, "test-shop", "run1.jsonl", [whole])
    compressed = gzip.compress(whole)
    gz = _landing(koubei_home, "test-shop", "run1.jsonl.gz", [compressed[: len(compressed) // 2]])

    assert main(["process", "--no-progress", "--workers", "1"]) == 0
    (report,) = map(json.loads, capsys.readouterr().out.splitlines())
    assert (Path(report["source_file"]).name, report["processed"], report["rejected"]) == (
        "run1.jsonl",
        40,
        0,
    )
    output = paths.state_dir("processed") / "test-shop" / "run1.jsonl"
    assert [r["native_id"] for r in jsonl.read(output)] == [f"test-shop-{n}" for n in range(1, 41)]

    gz.write_bytes(compressed)  # gzip done: the plain file goes
    (gz.parent / "run1.jsonl").unlink()
    assert main(["process", "--no-progress", "--workers", "1"]) == 0
    assert capsys.readouterr().out.strip() == "nothing to process"


def test_koubei_process_draws_its_bar_at_a_terminal_only(
    koubei_home: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """stderr no terminal (a cron job's mail, a service's log): no bar, whose redraws were
    lines of ``\\r`` clutter there; at a terminal the bar is drawn, as before."""
    _landing(koubei_home, "aaa-shop", "run1.jsonl", [_line(_record(n, "aaa-shop")) for n in (1, 2)])
    assert main(["process", "--workers", "1"]) == 0
    piped = capsys.readouterr()
    assert json.loads(piped.out)["processed"] == 2
    assert "%|" not in piped.err and "\r" not in piped.err

    _landing(koubei_home, "aaa-shop", "run2.jsonl", [_line(_record(n, "aaa-shop")) for n in (3, 4)])
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["process", "--workers", "1"]) == 0
    assert "process: " in capsys.readouterr().err  # the bar's description
