"""``koubei sentiment train`` and ``eval`` say which encoding a labelled CSV that is not UTF-8
was read as, in the words ``sentiment score`` uses (``koubei.textfile.decoded_as``): a Big5 CSV
(saved as "ANSI" on a Taiwan or Hong Kong Windows) was read silently, so a file read as the
wrong one of GBK and Big5 trained on mojibake without a word."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from koubei.flows.cli import main

# Reviews as a Taiwan shopper writes them (traditional characters), as in test_big5_files.py
REVIEWS = [
    (1, "品質很好，物流也快，推薦購買"),
    (1, "很好用，會再來買"),
    (0, "太差了，退貨，不會再買"),
    (0, "客服態度很差，東西是壞的"),
    (1, "包裝完整，味道不錯"),
    (0, "收到就壞了，非常失望"),
]


def _big5_csv(tmp_path: Path) -> Path:
    path = tmp_path / "評論.csv"
    rows = "".join(f"{label},{review}\r\n" for label, review in REVIEWS)
    path.write_bytes(("label,review\r\n" + rows).encode("big5"))
    return path


def test_train_and_eval_say_a_big5_csv_was_read_as_big5(
    tmp_path: Path, koubei_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _big5_csv(tmp_path)
    said = f"koubei: warning: {data}: not UTF-8; read as Big5"
    # score --column reads the same file and says so: the one wording
    assert main(["sentiment", "score", "--no-adapt", str(data), "--column", "review"]) == 0
    assert capsys.readouterr().err.splitlines() == [said]

    model = tmp_path / "model.json.gz"
    code = main(["sentiment", "train", str(data), "--out", str(model), "--holdout", "0"])
    assert code == 0
    out, err = capsys.readouterr()
    assert err.splitlines()[0] == said
    assert err.count("not UTF-8") == 1
    assert f"wrote {model}" in out

    assert main(["sentiment", "eval", str(data), "--model", str(model), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [said]
    (result,) = json.loads(out).values()
    assert result["n"] == len(REVIEWS)  # every row read, none dropped as mojibake

    # a UTF-8 file says nothing of its encoding
    plain = tmp_path / "plain.csv"
    plain.write_text(data.read_bytes().decode("big5"), encoding="utf-8")
    assert main(["sentiment", "eval", str(plain), "--model", str(model), "--json"]) == 0
    assert capsys.readouterr().err == ""
