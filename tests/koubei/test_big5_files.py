"""Files saved as "ANSI" on a Taiwan or Hong Kong Windows are Big5, not GBK: each reader of a
user's file (``sentiment score``, ``spikes``, config files) tells the two apart by
:func:`koubei.cjk_charset.gb_or_big5`, as the crawler does for pages. Before, every file that was
not UTF-8 was read as GB18030, which takes most Big5 bytes without an error, into other
characters: reviews scored as mojibake, a CSV's ``時間,數量`` header not found."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from koubei.config import ConfigError, load_brands
from koubei.flows.cli import main
from tests.flows.commands.test_spikes import run

# Reviews as a Taiwan shopper writes them (traditional characters), the first two positive.
REVIEWS = [
    "品質很好，物流也快，推薦購買",
    "很好用，會再來買",
    "太差了，退貨，不會再買",
    "客服態度很差，東西是壞的",
]


def test_sentiment_score_reads_a_big5_file_and_column_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = ["positive", "positive", "negative", "negative"]
    lines = tmp_path / "reviews.txt"
    lines.write_bytes("".join(f"{r}\r\n" for r in REVIEWS).encode("big5"))
    assert main(["sentiment", "score", "--no-adapt", str(lines)]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["label"] for line in out.splitlines()] == expected
    assert err == f"koubei: warning: {lines}: not UTF-8; read as Big5\n"
    table = tmp_path / "reviews.csv"
    table.write_bytes(("評分,review\n" + "".join(f"5,{r}\n" for r in REVIEWS)).encode("big5"))
    assert main(["sentiment", "score", "--no-adapt", str(table), "--column", "review"]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["label"] for line in out.splitlines()] == expected
    assert err == f"koubei: warning: {table}: not UTF-8; read as Big5\n"
    # a GBK file is read as GB18030, as before
    lines.write_bytes("质量很好\n太差了\n".encode("gbk"))
    assert main(["sentiment", "score", "--no-adapt", str(lines)]) == 0
    assert (
        capsys.readouterr().err == f"koubei: warning: {lines}: not UTF-8; read as GB18030 (GBK)\n"
    )


def test_spikes_reads_a_big5_export_by_its_traditional_header(tmp_path: Path) -> None:
    """A Big5 export whose first column is a note (備註), then 時間 and 數量: the columns are
    found by name, and the alerts are those of the same rows as a UTF-8 ``timestamp,value``."""
    rng = np.random.default_rng(34)
    values = rng.poisson(12, 4 * 288)
    values[3 * 288 + 10 : 3 * 288 + 20] += 80
    start = datetime(2026, 3, 2)
    times = [
        (start + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(len(values))
    ]
    plain = tmp_path / "volume.csv"
    plain.write_text(
        "timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in zip(times, values, strict=True))
    )
    big5 = tmp_path / "聲量.csv"
    rows = "".join(f"聲量匯出,{t},{v}\r\n" for t, v in zip(times, values, strict=True))
    big5.write_bytes(("備註,時間,數量\r\n" + rows).encode("big5"))
    expected = run("spikes", "detect", str(plain))
    assert expected.returncode == 0 and expected.stdout, expected.stderr
    result = run("spikes", "detect", str(big5))
    assert (result.returncode, result.stderr) == (0, "")
    assert [json.loads(a)["timestamp"] for a in result.stdout.splitlines()] == [
        json.loads(a)["timestamp"] for a in expected.stdout.splitlines()
    ]


def test_a_config_file_saved_as_big5_is_said_to_be_big5(tmp_path: Path) -> None:
    (tmp_path / "brands.yaml").write_bytes("brands:\n  - name: 鮮牧乳業\n".encode("big5"))
    with pytest.raises(ConfigError) as info:
        load_brands(tmp_path)
    said = "(it reads as Big5, the ANSI encoding of a Taiwan or Hong Kong Windows)"
    assert said in str(info.value) and str(info.value).endswith("save the file as UTF-8")


def test_big5_lines_joined_to_utf8_ones_are_each_read_in_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Big5 export joined to a UTF-8 one (``cat``), half and half, and mostly Big5 around
    one UTF-8 line: before, with no one encoding reading the whole file, each Big5 line was
    "not UTF-8 ... scored without those bytes", the positive ones scored negative. Now the
    lines that are mostly no UTF-8 are read as the encoding they read as together, one
    warning naming them; a UTF-8 line cut mid-character is still named alone."""
    expected = ["positive", "positive", "negative", "negative"]
    source = tmp_path / "joined.txt"
    for big5 in ({1, 3}, {0, 1, 3}):
        lines = [r.encode("big5" if i in big5 else "utf-8") for i, r in enumerate(REVIEWS)]
        source.write_bytes(b"\r\n".join(lines) + b"\r\n")
        assert main(["sentiment", "score", "--no-adapt", str(source)]) == 0
        out, err = capsys.readouterr()
        assert [json.loads(line)["label"] for line in out.splitlines()] == expected
        numbers = ", ".join(str(i + 1) for i in sorted(big5))
        assert err == (
            f"koubei: warning: {source}: {len(big5)} lines not UTF-8 ({numbers}); read as Big5, "
            "the other lines as UTF-8\n"
        )
    cut = "太差了".encode()[:-1]
    utf8 = [r.encode() for r in REVIEWS[2:]]
    source.write_bytes(b"\n".join([REVIEWS[1].encode("big5"), cut, *utf8]) + b"\n")
    assert main(["sentiment", "score", "--no-adapt", str(source)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"koubei: warning: {source}: 1 line not UTF-8 (1); read as Big5, the other lines as UTF-8",
        f"koubei: warning: {source}:2: not UTF-8 (byte 0xe4); scored without those bytes",
    ]


def test_a_one_line_big5_review_from_stdin_is_read_as_big5(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``echo 爛透了 | koubei sentiment score -`` in a Big5 terminal (a Taiwan Windows's
    console, code page 950): its GB18030 reading ``年硓\\ue5ec`` holds as many common characters
    as the Big5 one (年, 了) and read as GB18030 before ("neutral"); a private-use character,
    which GB18030 gives Big5 bytes it has no character for, now counts against that reading."""
    import io

    for review in ("爛透了", "很爛"):
        stdin = io.TextIOWrapper(io.BytesIO(f"{review}\r\n".encode("big5")))
        monkeypatch.setattr("sys.stdin", stdin)
        assert main(["sentiment", "score", "--no-adapt", "-"]) == 0
        out, err = capsys.readouterr()
        assert json.loads(out)["label"] == "negative"
        assert err == "koubei: warning: <stdin>: not UTF-8; read as Big5\n"
