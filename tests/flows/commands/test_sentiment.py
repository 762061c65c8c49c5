"""``koubei sentiment score|train|eval`` through the real CLI entry point."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from koubei.flows.cli import main
from koubei.pipeline.sentiment import load_model
from koubei.pipeline.sentiment.rules import rules_version
from tests.data import REVIEWS_SAMPLE


def _write_csv(path: Path, rows: list[tuple[int, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cat", "label", "review"])
        for label, text in rows:
            writer.writerow(["test", label, text])
    return path


def test_score_prints_one_json_object_per_line_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["非常滿意，物流很快", "", "质量太差了，再也不买了[怒]", "<b>还行</b>"]
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["sentiment", "score", str(source)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["label"] == "positive" and out[2]["label"] == "negative"
    version = out[0]["model_version"]
    rules = out[0]["rules_version"]  # the scoring rules', beside the model file's version
    assert rules == rules_version()
    assert out[1] == {
        "score": 0.5, "label": "no_opinion", "model_version": version, "rules_version": rules,
    }  # fmt: skip
    assert all(0 <= o["score"] <= 1 for o in out)


def test_eval_prints_accuracy_per_class_and_throughput(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _write_csv(
        tmp_path / "d.csv",
        [(1, "很好用，推荐"), (1, "质量不错"), (0, "太差了"), (0, "退货，垃圾")],
    )
    assert main(["sentiment", "eval", str(data), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out).values()
    assert result["n"] == 4 and result["accuracy"] == 1.0
    assert result["positive"]["f1"] == 1.0 and result["negative"]["support"] == 2
    assert result["docs_per_second"] > 0
    assert main(["sentiment", "eval", str(data)]) == 0
    assert "accuracy 1.0000" in capsys.readouterr().out


def test_train_writes_a_model_that_score_can_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = ["质量很好", "非常满意", "物流很快", "很喜欢", "值得购买", "好用推荐"]
    bad = ["质量很差", "非常失望", "物流太慢", "不喜欢", "不值得买", "难用退货"]
    rows = [(1, f"{t}{i}") for i in range(30) for t in good]
    rows += [(0, f"{t}{i}") for i in range(30) for t in bad]
    data = _write_csv(tmp_path / "train.csv", rows)
    model_path = tmp_path / "model.json.gz"
    assert main(["sentiment", "train", str(data), "--out", str(model_path), "--epochs", "1"]) == 0
    assert model_path.exists()
    assert "held out: accuracy" in capsys.readouterr().out
    texts = tmp_path / "t.txt"
    texts.write_text("质量很好\n物流太慢\n", encoding="utf-8")
    assert main(["sentiment", "score", str(texts), "--model", str(model_path)]) == 0
    labels = [json.loads(x)["label"] for x in capsys.readouterr().out.splitlines()]
    assert labels == ["positive", "negative"]


def test_train_without_a_corpus_names_the_variable_and_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from koubei import paths

    missing = tmp_path / "nowhere" / "reviews_9cats.csv"
    monkeypatch.delenv(paths.REVIEWS_ENV, raising=False)
    monkeypatch.setattr(paths, "SHARED_REVIEWS", missing)
    assert main(["sentiment", "train"]) == 2
    (message,) = capsys.readouterr().err.splitlines()
    assert "KOUBEI_REVIEWS_CSV" in message and str(missing) in message

    named = tmp_path / "named.csv"
    monkeypatch.setenv(paths.REVIEWS_ENV, str(named))
    assert main(["sentiment", "eval"]) == 2
    (message,) = capsys.readouterr().err.splitlines()
    assert f"not found at {named} (KOUBEI_REVIEWS_CSV names it)" in message


def test_train_takes_the_corpus_from_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from koubei import paths

    monkeypatch.setenv(paths.REVIEWS_ENV, str(REVIEWS_SAMPLE))
    out = tmp_path / "m.json.gz"
    assert main(["sentiment", "train", "--epochs", "0", "--out", str(out)]) == 0
    assert out.exists()
    assert "training on 1969 texts, 492 held out" in capsys.readouterr().err


def _score(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[list[str], list[str]]:
    assert main(["sentiment", "score", *argv]) == 0
    captured = capsys.readouterr()
    return [json.loads(x)["label"] for x in captured.out.splitlines()], captured.err.splitlines()


@pytest.mark.parametrize(
    ("content", "labels"),
    [
        ("\ufeff质量很好\n太差了\n".encode(), ["positive", "negative"]),  # byte order mark
        ("质量很好\r\n太差了\r\n".encode(), ["positive", "negative"]),  # Windows line ends
        ("好极了\r\n\n \t \n差".encode(), ["positive", "no_opinion", "no_opinion", "negative"]),
        ("质量很好\x00\n太差\x00了\n".encode(), ["positive", "negative"]),  # NUL bytes
        ("质量很好\r太差了\n太差了\n".encode(), ["negative", "negative"]),  # a stray \r in a line
        ("质量很好\r太差了\r".encode(), ["positive", "negative"]),  # only \r (classic Mac)
        (b"\xff\xfe" + "质量很好\n太差了\n".encode("utf-16-le"), ["positive", "negative"]),
    ],
    ids=["bom", "crlf", "blank-lines", "nul", "stray-cr", "mac", "utf-16"],
)
def test_score_gives_one_object_per_line_of_awkward_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, labels: list[str]
) -> None:
    source = tmp_path / "texts.txt"
    source.write_bytes(content)
    assert _score([str(source)], capsys)[0] == labels


def test_score_reads_a_gbk_file_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Saved by Chinese Windows tools (Notepad's ANSI, Excel's CSV): GBK, read as GB18030.
    content = "质量很好\n太差了\n€好\n".encode("gb18030")
    source = tmp_path / "gbk.txt"
    source.write_bytes(content)
    labels, err = _score([str(source)], capsys)
    assert labels == ["positive", "negative", "positive"]
    assert err == [f"koubei: warning: {source}: not UTF-8; read as GB18030 (GBK)"]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(content)))
    labels, err = _score(["-"], capsys)
    assert labels == ["positive", "negative", "positive"]
    assert err == ["koubei: warning: <stdin>: not UTF-8; read as GB18030 (GBK)"]


def test_score_names_the_lines_whose_bytes_are_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A line cut mid-character and a lone surrogate (CESU-8 bytes) in an otherwise UTF-8 file.
    source = tmp_path / "texts.txt"
    cut = "太差了".encode()[:-1]
    source.write_bytes("质量很好\n".encode() + cut + b"\n\xed\xa0\x80\xe5\xa5\xbd\n")
    labels, err = _score([str(source)], capsys)
    assert len(labels) == 3 and labels[0] == "positive"
    assert err == [
        f"koubei: warning: {source}:2: not UTF-8 (byte 0xe4); scored without those bytes",
        f"koubei: warning: {source}:3: not UTF-8 (byte 0xed); scored without those bytes",
    ]


# A spreadsheet's export of reviews: a header row, a review quoted over two lines (a line
# break typed in a cell), a blank line, a row cut short before its review.
REVIEWS_CSV = (
    'label,review\n1,"很快，好吃，味道足"\n0,"送了两个小时\n饭都凉了，太差了"\n\n1\n0,难吃\n'
)


def test_score_reads_a_csv_column_one_object_a_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "reviews.csv"
    for encoding in ("utf-8", "gb18030"):
        source.write_bytes(REVIEWS_CSV.encode(encoding))
        labels, err = _score([str(source), "--column", "review"], capsys)
        assert labels == ["positive", "negative", "no_opinion", "negative"]
        named = [f"koubei: warning: {source}:6: no 'review' field; read as no text"]
        if encoding == "gb18030":
            named.insert(0, f"koubei: warning: {source}: not UTF-8; read as GB18030 (GBK)")
        assert err == named
    # A carriage return inside a line (copied out of a cell) stays in its row; blank lines
    # before the header and spaces around the names are no matter.
    source.write_bytes(
        b"\n\n label , review \n1,\xe5\xa5\xbd\rgood\n0," + "太差了".encode() + b"\n"
    )
    assert _score([str(source), "--column", " review"], capsys) == (["positive", "negative"], [])


def test_score_refuses_a_column_the_header_lacks_and_adapt_a_column_of_a_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "reviews.csv"
    source.write_text(REVIEWS_CSV, encoding="utf-8")
    assert main(["sentiment", "score", str(source), "--column", "text"]) == 2
    err = capsys.readouterr().err
    assert err == f"koubei: error: {source}:1: no column 'text' in the header (label, review)\n"
    # A quote opened and never closed would read the rest of the file as one review.
    source.write_text(REVIEWS_CSV.replace('"很快', '"很快"好'), encoding="utf-8")
    assert main(["sentiment", "score", str(source), "--column", "review"]) == 2
    err = capsys.readouterr().err
    assert err == f"koubei: error: {source}:2: not a CSV row (',' expected after '\"')\n"
    source.write_text(REVIEWS_CSV.replace("难吃", '"难吃'), encoding="utf-8")
    assert main(["sentiment", "score", str(source), "--column", "review"]) == 2
    err = capsys.readouterr().err
    assert err == f"koubei: error: {source}:7: not a CSV row (unexpected end of data)\n"
    source.write_text("review,label,review\n好,1,好\n", encoding="utf-8")
    assert main(["sentiment", "score", str(source), "--column", "review"]) == 2
    err = capsys.readouterr().err
    assert err == f"koubei: error: {source}:1: column 'review' is named twice (fields 1, 3)\n"
    out = tmp_path / "adapted.json.gz"
    argv = ["sentiment", "adapt", "--source", "shop", "--column", "review", "--out", str(out)]
    assert main(argv) == 2
    assert "--column names a column of FILE" in capsys.readouterr().err
    assert not out.exists()


def test_score_says_when_the_first_line_looks_like_a_csv_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Read one text a line (the contract), a CSV's header is a text and each row's label and
    category are part of its text: said once, naming the column to read instead."""
    source = tmp_path / "reviews.csv"
    source.write_text("cat,label,review\n外卖,1,很好吃\n外卖,0,太慢了\n", encoding="utf-8")
    labels, err = _score([str(source)], capsys)
    assert len(labels) == 3  # the header too: one object a line, as ever
    assert err == [
        f"koubei: warning: {source}:1 looks like a CSV header (cat,label,review): every line "
        "is read as one text, this one and each row's other fields too; --column review reads "
        "that column, one text a row"
    ]
    plain = tmp_path / "texts.txt"
    plain.write_text("很好吃,推荐,下次还来\n太慢了\n", encoding="utf-8")  # commas, no header
    assert _score([str(plain)], capsys) == (["positive", "negative"], [])


def test_score_says_when_the_file_is_jsonl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A landing or processed file given as FILE is scored one line a text, its keys, ids and
    times with its text: of the demo incident's 202 negative posts 141 scored positive, and
    nothing said so. One object a line, as ever, and one warning naming the text field."""
    records = [
        {"id": "weibo:1", "text_raw": "鲜牧牛奶喝出黑色异物，太恶心了", "likes": 3},
        {"id": "weibo:2", "text_raw": "再也不买了，客服根本不理人", "likes": 0},
    ]
    source = tmp_path / "run.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    labels, err = _score([str(source)], capsys)
    assert len(labels) == 2
    assert err == [
        f"koubei: warning: {source}:1 is a JSON object (a JSONL file): every line is read as "
        "one text, its keys and other fields too; --column text_raw reads its 'text_raw' "
        "field, one text a record"
    ]
    # a text that only starts with a brace is a text
    plain = tmp_path / "texts.txt"
    plain.write_text('{"a": 太差了\n{很好}\n' + '{"a":' * 5000 + "1" + "}" * 5000 + "\n")
    assert _score([str(plain), "--no-adapt"], capsys)[1] == []


@pytest.mark.parametrize("sep", [";", "\t"], ids=["semicolon", "tab"])
def test_a_csv_of_semicolons_or_tabs_is_read_as_spikes_reads_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sep: str
) -> None:
    """Excel writes ``;`` between fields where the decimal mark is a comma, and tabs in its
    "Unicode Text": a header without a comma splits every row at that separator, for
    ``score --column``, its header hint and ``eval``, as ``spikes`` splits its CSV (one rule,
    ``textfile.csv_delimiter``); a comma inside a quoted review stays in it."""
    rows = [("1", "很好用，推荐"), ("1", "质量不错,物流很快"), ("0", "太差了"), ("0", "退货，垃圾")]
    lines = [["cat", "label", "review"], *(["test", label, text] for label, text in rows)]
    source = tmp_path / "reviews.csv"
    source.write_text("".join(sep.join(f'"{f}"' for f in line) + "\r\n" for line in lines))
    labels, err = _score([str(source), "--column", "review"], capsys)
    assert (labels, err) == (["positive", "positive", "negative", "negative"], [])
    labels, err = _score([str(source)], capsys)
    assert len(err) == 1 and "--column review reads that column" in err[0]
    assert main(["sentiment", "eval", str(source), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out).values()
    assert result["n"] == 4 and result["accuracy"] == 1.0


@pytest.mark.parametrize("sep", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_excels_sep_line_is_honoured_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sep: str
) -> None:
    """Excel writes ``sep=;`` as the first line when asked (it tells Excel the separator): it
    was read as the header (``no column 'review' in the header (sep=, )``, ``eval``: "has no
    'label' and 'review' columns"). Its separator is used and the line skipped, for ``score
    --column`` (``textfile.read_column``) and ``eval`` (``training.load_labelled``) alike."""
    rows = [("1", "很好用，推荐"), ("0", "太差了,退货")]
    lines = [["label", "review"], *rows]
    source = tmp_path / "reviews.csv"
    body = "".join(sep.join(f'"{f}"' for f in line) + "\r\n" for line in lines)
    source.write_text(f"sep={sep}\r\n" + body, encoding="utf-8")
    labels, err = _score([str(source), "--column", "review", "--no-adapt"], capsys)
    assert (labels, err) == (["positive", "negative"], [])
    assert main(["sentiment", "eval", str(source), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out).values()
    assert result["n"] == 2


def test_eval_adapt_measures_what_score_gives_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    """``score`` adapts to its file by default, ``eval`` measured the model as shipped: a user
    checking the model on a labelled sample of their own domain measured another model than
    the one scoring their posts. ``eval --adapt`` also measures the adapted one, and its
    accuracy is that of ``score --column review`` on the same file."""
    assert main(["sentiment", "eval", str(REVIEWS_SAMPLE), "--adapt", "--json"]) == 0
    captured = capsys.readouterr()
    results = json.loads(captured.out)
    shipped = load_model().version
    assert len(results) == 2
    first, adapted_version = results
    assert first == shipped
    assert adapted_version.startswith(shipped + "+adapted-")
    assert f"adapted {shipped} to " in captured.err
    scored = _scores([str(REVIEWS_SAMPLE), "--column", "review"], capsys)
    with open(REVIEWS_SAMPLE, encoding="utf-8", newline="") as handle:
        labels = [int(row["label"]) for row in csv.DictReader(handle)]
    assert {line["model_version"] for line in scored} == {adapted_version}
    right = sum(
        (line["score"] >= 0.5) == (label == 1) for line, label in zip(scored, labels, strict=True)
    )
    assert results[adapted_version]["n"] == len(labels) == len(scored)
    # to the four decimals eval prints: one text of the sample's 2,461 is 0.0004
    assert results[adapted_version]["accuracy"] == round(right / len(labels), 4)
    assert results[adapted_version]["accuracy"] != results[shipped]["accuracy"]


def _scores(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict]:
    assert main(["sentiment", "score", *argv]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_score_and_adapt_do_not_learn_the_config_dirs_brands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is mostly one brand's crisis: adapted with the shipped brands.yaml (which
    does not name 蒙牛) a neutral mention of 蒙牛 falls; with a config dir naming it, it stays."""
    sample = Path(__file__).parents[2] / "data" / "reviews_sample.csv"
    with open(sample, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    feed = [r["review"] for r in rows if r["cat"] == "蒙牛" and r["label"] == "0"]
    feed += [r["review"] for r in rows if r["cat"] in {"水果", "洗发水", "衣服"}]
    texts = tmp_path / "feed.txt"
    texts.write_text("\n".join([*feed, "蒙牛的新品上市了"]) + "\n", encoding="utf-8")
    config = tmp_path / "config"
    config.mkdir()
    (config / "brands.yaml").write_text(
        "brands:\n  - {name: 蒙牛, aliases: [Mengniu], competitors: [伊利]}\n  - {name: 伊利}\n",
        encoding="utf-8",
    )
    alone = _scores([str(texts), "--no-adapt"], capsys)[-1]
    shipped = _scores([str(texts)], capsys)[-1]
    held = _scores([str(texts), "--config-dir", str(config)], capsys)[-1]
    assert shipped["score"] < alone["score"] - 0.2
    assert abs(held["score"] - alone["score"]) < 0.06
    assert len({alone["model_version"], shipped["model_version"], held["model_version"]}) == 3
    out = tmp_path / "crisis.json.gz"
    assert (
        main(["sentiment", "adapt", str(texts), "--out", str(out), "--config-dir", str(config)])
        == 0
    )
    capsys.readouterr()
    model = load_model(out)
    assert model.version == held["model_version"]
    assert set(model.meta["monitored_names"]) == {"蒙牛", "mengniu", "伊利"}
    # A config dir without brands.yaml uses the shipped one, as crawl does.
    bare = tmp_path / "bare"
    bare.mkdir()
    assert _scores([str(texts), "--config-dir", str(bare)], capsys)[-1] == shipped
    # brands.yaml is read (and checked) before the texts: a broken one is a config error.
    (config / "brands.yaml").write_text("brands: []\n", encoding="utf-8")
    assert main(["sentiment", "score", str(texts), "--config-dir", str(config)]) == 2
    assert "brands.yaml" in capsys.readouterr().err


def test_an_adapted_model_is_scored_as_it_is_and_not_adapted_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``score --model ADAPTED`` adapted it again by default: the features its first adaptation
    changed that the file did not lost their correction, silently. It now scores with the model
    as it is and says so; ``--adapt`` and ``adapt --model ADAPTED`` are errors naming the file
    and the model to adapt instead."""
    from koubei.pipeline.sentiment.adaptation import adapt

    sample = Path(__file__).parents[2] / "data" / "reviews_sample.csv"
    with open(sample, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    shipped = load_model()
    adapted = adapt(shipped, [r["review"] for r in rows if r["cat"] == "书籍"])
    model_file = adapted.save(tmp_path / "books.json.gz")
    texts = tmp_path / "phones.txt"  # enough texts with an opinion to adapt on
    texts.write_text("\n".join(r["review"] for r in rows if r["cat"] == "手机") + "\n")

    assert main(["sentiment", "score", str(texts), "--model", str(model_file)]) == 0
    scored = capsys.readouterr()
    lines = [json.loads(line) for line in scored.out.splitlines()]
    assert {line["model_version"] for line in lines} == {adapted.version}
    assert f"not adapted: {model_file} is an adapted model" in scored.err
    assert f"version {shipped.version} (the shipped model: leave out --model)" in scored.err
    as_it_is = _scores([str(texts), "--model", str(model_file), "--no-adapt"], capsys)
    assert lines == as_it_is

    again = tmp_path / "again.json.gz"
    for argv in (
        ["score", str(texts), "--model", str(model_file), "--adapt"],
        ["adapt", str(texts), "--model", str(model_file), "--out", str(again)],
    ):
        assert main(["sentiment", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"koubei: error: {model_file}: an adapted model ({adapted.version})")
        assert f"version {shipped.version} (the shipped model: leave out --model)" in err
    assert not again.exists()


def test_brands_names_are_loaded_in_a_child_the_scoring_process_never_imports_the_schema(
    tmp_path: Path,
) -> None:
    """Adapting's peak memory: brands.yaml's names come from a forked child, which takes the
    config schema (pydantic, about 20 MB resident) with it when it exits, and a config error
    comes back from it as the CLI's one line; a process already running threads loads them
    itself, with the same names and the same config error. The CLI runs in a fresh interpreter
    (one thread: it forks), whatever threads this test process runs."""
    import subprocess
    import sys
    import threading

    from koubei.config import ConfigError
    from koubei.flows.commands._sentiment_inputs import monitored_names

    sample = Path(__file__).parents[2] / "data" / "reviews_sample.csv"
    with open(sample, encoding="utf-8", newline="") as handle:
        texts = [r["review"].replace("\n", " ") for r in csv.DictReader(handle)][:400]
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    config, broken = tmp_path / "config", tmp_path / "broken"
    config.mkdir()
    broken.mkdir()
    (config / "brands.yaml").write_text(
        "brands:\n  - {name: 蒙牛, aliases: [Mengniu], competitors: [伊利]}\n  - {name: 伊利}\n",
        encoding="utf-8",
    )
    (broken / "brands.yaml").write_text("brands: []\n", encoding="utf-8")
    script = (
        "import contextlib, io, sys\n"
        "from koubei.flows.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    code = main(['sentiment', 'score', sys.argv[1], '--config-dir', sys.argv[2]])\n"
        "print(code, 'adapted' in out.getvalue(), 'pydantic' in sys.modules)\n"
    )

    def score(config_dir: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", script, str(source), str(config_dir)],
                              capture_output=True, text=True, check=True)  # fmt: skip

    run = score(config)
    assert run.stdout.split() == ["0", "True", "False"], run.stderr
    failed = score(broken)
    assert failed.stdout.split()[0] == "2", failed.stderr
    assert failed.stderr.startswith("koubei: config error: ") and "brands.yaml" in failed.stderr

    busy = threading.Event()
    worker = threading.Thread(target=busy.wait)
    worker.start()
    try:
        assert threading.active_count() > 1
        assert set(monitored_names(config)) == {"蒙牛", "Mengniu", "伊利"}
        with pytest.raises(ConfigError, match=r"brands\.yaml"):
            monitored_names(broken)
    finally:
        busy.set()
        worker.join()


def test_a_long_review_read_by_column_leaves_the_csv_field_limit_of_other_readers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``score --column`` reads a 200 KB review (over csv's 128 KB default), then puts the
    process-wide field limit back: a series CSV read after it in the same process still names
    its 200 KB field as an error, as it does alone (the limit was only ever raised, so a
    Prefect worker or a test run read it after a scoring, and the tests' order decided)."""
    from koubei.analysis.detectors.series import read_csv

    before = csv.field_size_limit()
    reviews = tmp_path / "long.csv"
    reviews.write_text("label,review\n1," + "好" * 200_000 + "\n", encoding="utf-8")
    assert main(["sentiment", "score", "--no-adapt", "--column", "review", str(reviews)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert csv.field_size_limit() == before
    series = tmp_path / "hostile.csv"
    series.write_bytes(b'timestamp,value\n2026-03-02 00:00:00,"' + b"9" * 200_000 + b'"\n')
    with pytest.raises(ValueError, match=r"hostile\.csv:2: field"):
        read_csv(series)
