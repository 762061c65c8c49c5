"""Mistakes with ``koubei sentiment`` (score, train, eval, adapt): one line naming the file,
option or row, never a traceback.

As ``test_errors.py``: the real command line in a subprocess, an isolated ``KOUBEI_HOME``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.flows.commands.cli_run import koubei
from tests.flows.commands.cli_run import one_line as _one_line


def test_sentiment_score_of_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    code, err = koubei(tmp_path, "sentiment", "score", str(missing))
    _one_line(code, err, str(missing), "no such file")


def test_sentiment_score_reads_a_pipe_the_shell_gives_it(tmp_path: Path) -> None:
    """``koubei sentiment score <(zcat reviews.txt.gz)``: the shell passes ``/dev/fd/N``, a
    pipe. It was refused as "no such file"; the file is read once, whole, so a pipe does."""
    read_end, write_end = os.pipe()
    os.write(write_end, "很好吃\n太难吃了，再也不买\n".encode())
    os.close(write_end)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_")}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "koubei.flows.cli", "sentiment", "score", f"/dev/fd/{read_end}"],
            env={**environ, "KOUBEI_HOME": str(tmp_path)},
            pass_fds=(read_end,),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        os.close(read_end)
    assert done.returncode == 0, done.stderr
    labels = [json.loads(line)["label"] for line in done.stdout.splitlines()]
    assert labels == ["positive", "negative"]


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
    ("content", "words"),
    [
        (b"text,score\n1,2\n", ("has no 'label' and 'review' columns", "text, score")),
        (b"", ("has no 'label' and 'review' columns",)),
        (b"label,review\n1,\xff\n", (":2:", "not UTF-8, GBK or Big5 (byte 0xff)")),
        # UTF-16 is read (as score and spikes read it), but not UTF-16 cut in half a character
        ("label,review\n".encode("utf-16") + b"1", (":2:", "not UTF-16", "truncated data")),
        (b'label,review\n1,"' + b"x" * 200_000 + b'"\n', (":2:", "field larger")),
        (b"label,review\n", ("no labelled rows",)),
        (b"label,review\n1,\xe5\xa5\xbd\n0, \n", (":3:", "empty review")),
        # an export with the review twice (once translated, say): DictReader kept the last,
        # so eval scored every row's other text (accuracy 0.0 on 1 text), train said "all
        # positive"
        (
            "label,review,review\n1,很好,x\n0,太差,x\n".encode(),
            (":1:", "column 'review' is named twice (fields 2, 3)"),
        ),
    ],
    ids=[
        "columns",
        "empty",
        "not-utf8",
        "utf-16-cut",
        "huge-field",
        "no-rows",
        "empty-review",
        "column-twice",
    ],
)
@pytest.mark.parametrize("action", ["train", "eval"])
def test_sentiment_on_a_csv_it_cannot_use(
    tmp_path: Path, action: str, content: bytes, words: tuple[str, ...]
) -> None:
    data = tmp_path / "reviews.csv"
    data.write_bytes(content)
    code, err = koubei(tmp_path, "sentiment", action, str(data))
    _one_line(code, err, str(data), *words)
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize("action", ["train", "eval"])
def test_sentiment_names_every_row_whose_label_is_not_0_or_1(tmp_path: Path, action: str) -> None:
    data = tmp_path / "reviews.csv"
    data.write_text(
        'label,review\n1,很好\n2,一般\npos,"不错\n真的"\n,差\n0,太差\n', encoding="utf-8"
    )
    code, err = koubei(tmp_path, "sentiment", action, str(data))
    assert code == 2
    assert err == [
        f"koubei: error: {data}:3: label '2' is not 0 or 1",
        f"koubei: error: {data}:4: label 'pos' is not 0 or 1",
        f"koubei: error: {data}:6: label '' is not 0 or 1",
    ]


@pytest.mark.parametrize(
    ("content", "options", "words"),
    [
        ("label,review\n1,好\n0,差\n", ("--exclude-category", "书籍"), ("no 'cat' column",)),
        ("cat,label,review\n书籍,1,好\n书籍,0,差\n", ("--exclude-category", "书"), ("书", "书籍")),
        ("label,review\n1,好吃\n1,好喝\n", ("--holdout", "0"), ("all positive (1)",)),
    ],
    ids=["no-cat-column", "unknown-category", "one-label"],
)
def test_sentiment_train_on_rows_it_cannot_learn_from_as_asked(
    tmp_path: Path, content: str, options: tuple[str, ...], words: tuple[str, ...]
) -> None:
    data = tmp_path / "reviews.csv"
    data.write_text(content, encoding="utf-8")
    code, err = koubei(tmp_path, "sentiment", "train", str(data), *options)
    _one_line(code, err, str(data), *words)
    assert code == 2


def test_sentiment_eval_of_a_category_in_a_csv_without_categories(tmp_path: Path) -> None:
    data = tmp_path / "reviews.csv"
    data.write_text("label,review\n1,好\n0,差\n", encoding="utf-8")
    code, err = koubei(tmp_path, "sentiment", "eval", str(data), "--category", "书籍")
    _one_line(code, err, str(data), "no 'cat' column", "--category")
    assert code == 2


def test_sentiment_train_out_that_is_a_directory(tmp_path: Path) -> None:
    data = tmp_path / "reviews.csv"
    data.write_text("label,review\n1,好\n0,差\n", encoding="utf-8")
    code, err = koubei(tmp_path, "sentiment", "train", str(data), "--out", str(tmp_path))
    _one_line(code, err, str(tmp_path), "is a directory", "--out")
    assert code == 2


def test_sentiment_adapt_out_that_is_a_directory(tmp_path: Path) -> None:
    # It adapted first, then failed naming a temp file beside the directory:
    # `koubei: error: /.tmp.9s68q1xs.tmp: Is a directory` for `--out /tmp`.
    texts = tmp_path / "texts.txt"
    texts.write_text("好吃\n难吃\n", encoding="utf-8")
    code, err = koubei(tmp_path, "sentiment", "adapt", str(texts), "--out", str(tmp_path))
    _one_line(code, err, str(tmp_path), "is a directory", "--out")
    assert code == 2


def test_sentiment_train_reads_a_csv_saved_with_a_byte_order_mark(tmp_path: Path) -> None:
    data = tmp_path / "reviews.csv"
    data.write_bytes("\ufefflabel,review\n1,好吃极了\n0,难吃极了\n".encode())
    code, err = koubei(tmp_path, "sentiment", "train", "--holdout", "0", str(data))
    assert code == 0 and err == ["training on 2 texts, 0 held out"]


def test_sentiment_train_and_eval_read_a_csv_excel_saved_as_gbk(tmp_path: Path) -> None:
    """Excel's "CSV" on a Chinese Windows is GBK: `score` and `spikes` read it, and train and
    eval stopped at its first Chinese byte ("not UTF-8 (byte 0xba)"). Since session 35 they
    say so in `score`'s words (test_sentiment_labelled_encoding.py)."""
    data = tmp_path / "reviews.csv"
    data.write_bytes("label,review\r\n1,好吃极了\r\n0,难吃极了\r\n".encode("gbk"))
    said = f"koubei: warning: {data}: not UTF-8; read as GB18030 (GBK)"
    code, err = koubei(tmp_path, "sentiment", "train", "--holdout", "0", str(data))
    assert code == 0 and err == [said, "training on 2 texts, 0 held out"]
    code, err = koubei(tmp_path, "sentiment", "eval", str(data), "--json")
    assert code == 0 and err == [said]


@pytest.mark.parametrize("action", ["train", "eval"])
def test_sentiment_reads_a_header_typed_with_spaces(tmp_path: Path, action: str) -> None:
    """``label, review`` (a space after the comma, as typed by hand) was refused: "has no
    'label' and 'review' columns (found: label,  review)". Its names are read stripped, as
    ``score --column`` and ``spikes`` read a header's."""
    data = tmp_path / "reviews.csv"
    rows = "".join(f"{i % 2}, {'很好喝' if i % 2 else '太难喝了'}{i}\n" for i in range(20))
    data.write_text("label , review\n" + rows, encoding="utf-8")
    out = tmp_path / "model.json.gz"
    argv = ("--out", str(out), "--holdout", "0.2") if action == "train" else ()
    code, err = koubei(tmp_path, "sentiment", action, str(data), *argv)
    assert code == 0, err


@pytest.mark.parametrize(
    ("text", "encoding", "column"),
    [
        ("good quality\nbad\n", "utf-16-le", None),  # read as UTF-8: a third line, '\x00'
        ("很好\n太差了\n", "utf-16-le", None),  # read as GBK: two lines of another language
        ("很好\n太差了\n", "utf-16-be", None),
        ("review\n很好 good\n", "utf-16-le", "review"),  # "no column 'review' (r e v ...)"
    ],
    ids=["latin-le", "chinese-le", "chinese-be", "csv-column"],
)
def test_sentiment_score_refuses_utf16_without_its_byte_order_mark(
    tmp_path: Path, text: str, encoding: str, column: str | None
) -> None:
    """README, "Sentiment": UTF-16 without its byte order mark is refused, saying what to save
    it as. ``score`` read it as UTF-8 (a 0 byte is valid there) or, Chinese alone, as GBK, and
    printed scores of another text, exit 0."""
    data = tmp_path / "texts.txt"
    data.write_bytes(text.encode(encoding))
    options = ["--column", column] if column else []
    code, err = koubei(tmp_path, "sentiment", "score", *options, str(data))
    _one_line(code, err, f"{data}:1: UTF-16 without its byte order mark", "save it as UTF-8")
    assert code == 2
