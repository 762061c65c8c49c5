"""``koubei sentiment score --column FIELD`` of a JSON Lines file: one field of each record is
its text (a processed file's ``text_clean``, a Weibo card's nested ``mblog.text``), one object a
record, as ``--column`` reads a CSV's column (``koubei/jsonrecords.py``, ``read_field``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from koubei.flows.cli import main

PAGES = Path(__file__).resolve().parents[2] / "crawlers" / "spiders" / "pages"


def _score(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[list[str], list[str]]:
    assert main(["sentiment", "score", "--no-adapt", *argv]) == 0
    captured = capsys.readouterr()
    return [json.loads(x)["label"] for x in captured.out.splitlines()], captured.err.splitlines()


def _jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def test_a_processed_files_text_field_is_scored_one_object_a_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, ``--column`` read every file as a CSV: a JSONL file was refused ("no column
    'text_clean' in the header ({"id": ...)"), and without it the keys and ids were scored
    with the text. Blank lines are no records; a record without text there is no opinion,
    named on stderr, so the output still pairs with the records."""
    source = _jsonl(
        tmp_path / "run.jsonl",
        [
            {"id": "weibo:1", "text_clean": "鲜牧牛奶喝出黑色异物，太恶心了", "likes": 3},
            {"id": "weibo:2", "text_clean": "质量很好，物流也快，推荐"},
            {"id": "weibo:3", "text_clean": None},
            {"id": "weibo:4", "text_clean": ["not", "a", "text"]},
        ],
    )
    source.write_text(source.read_text().replace("\n", "\n\n", 1))  # a blank line after the first
    labels, err = _score([str(source), "--column", "text_clean"], capsys)
    assert labels == ["negative", "positive", "no_opinion", "no_opinion"]
    assert err == [
        f"koubei: warning: {source}:4: no text in field 'text_clean'; read as no text",
        f"koubei: warning: {source}:5: no text in field 'text_clean'; read as no text",
    ]


def test_a_dotted_field_reads_the_text_of_weibo_cards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cards of a committed m.weibo.cn search answer (``wb_search_p1.json``, its shape from
    public crawler code: see ``tests/crawlers/spiders/pages/README.md``), one a line: the post
    card's ``mblog.text`` (HTML, cleaned as every text is) is scored; the card group before it
    has no post and is no text, named."""
    cards = json.loads((PAGES / "wb_search_p1.json").read_text(encoding="utf-8"))["data"]["cards"]
    source = _jsonl(tmp_path / "cards.jsonl", cards)
    labels, err = _score([str(source), "--column", "mblog.text"], capsys)
    assert labels == ["no_opinion", "negative"]
    assert err == [f"koubei: warning: {source}:1: no text in field 'mblog.text'; read as no text"]


def test_a_line_that_is_no_record_or_a_field_no_record_has_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _jsonl(tmp_path / "run.jsonl", [{"id": "a", "text_raw": "很好"}, {"id": "b"}])
    with source.open("a") as handle:
        handle.write("很差，不推荐\n")
    assert main(["sentiment", "score", str(source), "--column", "text_raw"]) == 2
    err = capsys.readouterr().err
    assert err == f"koubei: error: {source}:3: not a JSON object (JSON Lines: one a line)\n"
    source = _jsonl(tmp_path / "run.jsonl", [{"id": "a", "text_raw": "很好"}])
    assert main(["sentiment", "score", str(source), "--column", "text"]) == 2
    err = capsys.readouterr().err
    has = "(the first has: id, text_raw)"
    assert err == f"koubei: error: {source}: no record has a text field 'text' {has}\n"


def test_a_gzipped_landing_file_is_read_as_its_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Landing files may be ``<run>.jsonl.gz`` (``pipeline/ledger.py``'s ``LANDING_PATTERNS``):
    before, its compressed bytes were read as a CSV ("no column 'text_clean' in the header
    (\\x1f\\x8b...)", exit 2) and, without ``--column``, scored as one text of mojibake, exit 0.
    A gzip stream is known by its first bytes, from a file or standard input; one cut off is
    one error line."""
    import gzip
    import io

    records = [
        {"id": "weibo:1", "text_clean": "鲜牧牛奶喝出黑色异物，太恶心了"},
        {"id": "weibo:2", "text_clean": "质量很好，物流也快，推荐"},
    ]
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    source = tmp_path / "run.jsonl.gz"
    source.write_bytes(gzip.compress(body))
    labels, err = _score([str(source), "--column", "text_clean"], capsys)
    assert (labels, err) == (["negative", "positive"], [])
    stdin = io.TextIOWrapper(io.BytesIO(gzip.compress(body)))
    monkeypatch.setattr("sys.stdin", stdin)
    assert _score(["-", "--column", "text_clean"], capsys) == (["negative", "positive"], [])
    source.write_bytes(gzip.compress(body)[:40])
    assert main(["sentiment", "score", str(source), "--column", "text_clean"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"koubei: error: {source}: gzip stream cut off or damaged (")


def test_a_json_array_or_objects_printed_over_lines_are_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JSON array of posts (an export, ``[{...},{...}]``, on one line or indented) and
    objects printed over several lines (``jq .``) are read one record an object: before, each
    was refused as a CSV ("no column 'text' in the header ([)"). An item that is no object is
    named by the line it starts on."""
    records = [{"id": 1, "text": "太难喝了，退货"}, {"id": 2, "text": "很好喝，推荐"}]
    for body in (
        json.dumps(records, ensure_ascii=False),
        json.dumps(records, ensure_ascii=False, indent=2),
        "".join(json.dumps(r, ensure_ascii=False, indent=2) + "\n" for r in records),
    ):
        source = tmp_path / "export.json"
        source.write_text(body, encoding="utf-8")
        assert _score([str(source), "--column", "text"], capsys) == (["negative", "positive"], [])
    source.write_text('[{"text": "很好"},\n 3]', encoding="utf-8")
    assert main(["sentiment", "score", str(source), "--column", "text"]) == 2
    err = capsys.readouterr().err
    items = "(a JSON array's items: one a record)"
    assert err == f"koubei: error: {source}:2: not a JSON object {items}\n"


def test_an_empty_or_blank_file_is_said_to_be_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A landing file of a run that found nothing (empty), or of blank lines and spaces: one
    line saying it is empty, which neither a CSV header nor a record was found in. Before, the
    spaces were read as a CSV header: "FILE:3: no column 'text_clean' in the header ()"."""
    source = tmp_path / "run.jsonl"
    for body in ("", "\n\n  \n", "\r\n \t\r\n"):
        source.write_text(body, encoding="utf-8")
        assert main(["sentiment", "score", str(source), "--column", "text_clean"]) == 2
        assert capsys.readouterr().err == (
            f"koubei: error: {source}: empty (no CSV header row naming column 'text_clean', "
            "no JSON record)\n"
        )


def test_nan_or_infinity_in_the_field_is_no_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``NaN`` and ``Infinity`` (not JSON, but Python's ``json.dumps`` writes them for such a
    float, a missing value of a data frame's column, and reads them) are no text, named as a
    ``null`` is: before, ``str(nan)`` was scored, "nan" a negative text. A number is its text."""
    source = tmp_path / "export.jsonl"
    source.write_text('{"text": NaN}\n{"text": -Infinity}\n{"text": 3}\n{"text": "很好"}\n')
    labels, err = _score([str(source), "--column", "text"], capsys)
    assert labels == ["no_opinion", "no_opinion", "no_opinion", "positive"]
    assert err == [
        f"koubei: warning: {source}:{n}: no text in field 'text'; read as no text" for n in (1, 2)
    ]
