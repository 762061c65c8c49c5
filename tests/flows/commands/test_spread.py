"""``koubei spread``: from a landing file, and from a real Elasticsearch index."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl
from koubei.flows.cli import main
from tests.analysis.spread.incident import incident


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing.jsonl"
    jsonl.write_atomic(path, incident())
    return path


def test_file_summary_names_source_paths_and_pictures(
    landing: Path, koubei_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["spread", "weibo:5", "--file", str(landing)]) == 0
    out = capsys.readouterr().out
    assert "weibo:1  @消费者小李" in out
    assert "消费者小李 → 大V老王 → 网友A → 网友C" in out
    assert "10 posts, depth 3, max breadth 4" in out
    # The cascade of weibo:5 excludes the unrelated scripted posts: organic here.
    assert "coordination organic" in out
    pictures = sorted((Path(koubei_home) / "spread" / "weibo_5").glob("*.png"))
    assert [p.name for p in pictures] == ["cascade-weibo_1.png", "timeline.png"]


def test_an_article_without_an_author_reads_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed article (koubei crawl of an RSS source: no author, its title and body joined by a
    newline) was shown as ``@None`` with its body at the start of the next line, beneath the
    summary's columns."""
    article = {
        "id": "articles:5fdd49c97ce7a79b", "platform": "articles", "source": "dairy-news",
        "kind": "article", "native_id": "5fdd49c97ce7a79b", "title": "蒙牛酸奶被投诉",
        "text_raw": "蒙牛酸奶被投诉\n多名消费者投诉蒙牛酸奶变质发酸，客服态度很差。",
        "text_clean": "蒙牛酸奶被投诉\n多名消费者投诉蒙牛酸奶变质发酸，客服态度很差。",
        "brands": ["蒙牛"], "created_at": "2026-12-06T11:00:00+08:00",
    }  # fmt: skip
    path = tmp_path / "news.jsonl"
    jsonl.write_atomic(path, [article])
    assert main(["spread", "--file", str(path), "--no-pictures"]) == 0
    out = capsys.readouterr().out
    assert "articles:5fdd49c97ce7a79b  @?  2026-12-06" in out
    assert "@None" not in out
    assert "            蒙牛酸奶被投诉 多名消费者投诉蒙牛酸奶变质发酸" in out
    assert not any(line.startswith("多名") for line in out.splitlines())


def test_whole_file_as_json(
    landing: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["spread", "--file", str(landing), "--json", "--out", str(tmp_path / "pics")])
    assert code == 0
    evidence = json.loads(capsys.readouterr().out)
    assert evidence["posts"] == 17
    assert evidence["coordination"]["verdict"] == "likely coordinated"
    assert Path(evidence["pictures"]["timeline"]).exists()


def test_a_whole_file_shows_its_stages_at_a_terminal_and_nothing_in_a_pipe(
    landing: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """100k posts took about 28 s (8 s reading, then cascades, key accounts and pictures)
    without a word; a person at a terminal now sees which stage runs, a cron job's mail
    gets nothing."""
    args = ["spread", "--file", str(landing), "--out", str(tmp_path / "pics")]
    assert main(args) == 0
    assert "spread:" not in capsys.readouterr().err  # captured: not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(args) == 0
    err = capsys.readouterr().err
    for shown in (
        "spread: read landing.jsonl",
        "spread: cascades (17 posts)",
        "spread: themes",
        "spread: key accounts",
        "spread: pictures",
    ):
        assert shown in err, (shown, err)


def test_unknown_post_and_missing_arguments(
    landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["spread", "weibo:404", "--file", str(landing), "--no-pictures"]) == 1
    assert main(["spread"]) == 2
    assert "POST_ID" in capsys.readouterr().err


@pytest.fixture
def indexed_incident(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The incident's ten posts indexed, and the command pointed at them."""
    from koubei.pipeline.index.writer import index_records

    index_records(es, incident(), prefix=index_prefix, refresh=True)
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("KOUBEI_INDEX_PREFIX", index_prefix)


@pytest.mark.es
@pytest.mark.usefixtures("indexed_incident")
def test_from_elasticsearch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Ask by an intermediate repost: the command finds the root and the whole cascade.
    assert main(["spread", "weibo:3", "--json", "--out", str(tmp_path)]) == 0
    evidence = json.loads(capsys.readouterr().out)
    assert evidence["posts"] == 9
    assert evidence["source"]["id"] == "weibo:1"
    assert evidence["spread_path"][0] == ["消费者小李", "大V老王", "网友A", "网友C"]
    assert evidence["summary"]["size"] == 10
    assert (tmp_path / "cascade-weibo_1.png").exists()


@pytest.mark.es
@pytest.mark.usefixtures("indexed_incident")
def test_a_cascade_bigger_than_the_cap_is_said_to_be_cut(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from koubei.pipeline.index import cascade_reads

    capsys.readouterr()  # the index writer's log
    # (raising=False: a cap of 50,000 was a literal, a bigger cascade shown cut and not said)
    monkeypatch.setattr(cascade_reads, "CASCADE_MAX_POSTS", 4, raising=False)  # it has 9 posts
    assert main(["spread", "weibo:3", "--json", "--no-pictures"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["posts"] == 4
    assert "the cascade of weibo:3 has more than 4 posts: shown are its 4 oldest" in captured.err
    monkeypatch.setattr(cascade_reads, "CASCADE_MAX_POSTS", 9)  # exactly its size: no note
    assert main(["spread", "weibo:3", "--json", "--no-pictures"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["posts"] == 9 and "more than" not in captured.err


@pytest.mark.es
def test_a_post_placed_in_the_cascade_only_by_the_daily_run_is_found(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A comment on a repost: Weibo gives it the repost as its ``root_id`` and ``parent_id``,
    and only the daily run's ``cascade.root_id`` says whose cascade it is in. Before, the
    lookup read ``id``, ``root_id`` and ``parent_id`` alone: ``spread weibo:1`` left the
    comment out, and ``spread`` of the comment showed the repost and it as a cascade of two."""
    from datetime import date

    from koubei.analysis.spread.daily import index_day
    from koubei.pipeline.index.templates import posts_alias
    from koubei.pipeline.index.writer import index_records
    from tests.analysis.spread.incident import _doc

    comment = _doc("c1", "网友H", 45, "转发的这位说得对，退款太难", kind="comment",
                   relation="reply", parent="w:3")  # fmt: skip
    comment["root_id"] = "weibo:3"  # the post it comments on: a repost of weibo:1
    index_records(es, [*incident(), comment], prefix=index_prefix, refresh=True)
    assert index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25)).errors == []
    es.indices.refresh(index=posts_alias(index_prefix))
    hit = es.search(index=posts_alias(index_prefix), query={"ids": {"values": ["weibo:c1"]}})
    assert hit["hits"]["hits"][0]["_source"]["cascade"]["root_id"] == "weibo:1"
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("KOUBEI_INDEX_PREFIX", index_prefix)
    for asked in ("weibo:1", "weibo:c1"):
        capsys.readouterr()
        assert main(["spread", asked, "--json", "--no-pictures"]) == 0
        evidence = json.loads(capsys.readouterr().out)
        assert evidence["source"]["id"] == "weibo:1", asked
        assert evidence["posts"] == 10, asked  # the cascade's nine (above) and the comment


def test_file_with_numeric_ids_finds_the_cascade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # JSON numbers as ids: the graph names posts by their text, "1" (was "no posts found").
    path = tmp_path / "numeric.jsonl"
    records = [
        {"id": 1, "author": {"name": "A"}, "created_at": "2026-11-25T10:00:00+08:00"},
        {
            "id": 2,
            "author": {"name": "B"},
            "parent_id": 1,
            "root_id": 1,
            "relation": "repost",
            "created_at": "2026-11-25T10:01:00+08:00",
        },
    ]
    jsonl.write_atomic(path, records)
    assert main(["spread", "2", "--file", str(path), "--no-pictures"]) == 0
    assert "2 posts, depth 1" in capsys.readouterr().out


def test_file_with_follower_counts_as_weibo_writes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # m.weibo.cn's followers_count reads "1.2万" above ten thousand; a landing file keeps what
    # the page said. It was a TypeError traceback ('>' between str and int).
    path = tmp_path / "followers.jsonl"
    records = incident()
    for record, count in zip(records, ["1.2万", "10万+", "856", None, "很多"], strict=False):
        record["author"]["followers"] = count
    jsonl.write_atomic(path, records)
    assert main(["spread", "--file", str(path), "--no-pictures", "--json"]) == 0
    evidence = json.loads(capsys.readouterr().out)
    assert evidence["summary"]["max_followers"] >= 100_000
    assert all(isinstance(a["followers"], int) for a in evidence["key_accounts"])


def test_file_with_an_all_digit_author_name_as_a_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Weibo allows all-digit names ("12345678"); a JSON writer may keep one as a number. The
    # spread paths were a TypeError traceback (join of an int), and the //@12345678: hop of
    # the repost below did not find the root's author (a text name), inventing an uncrawled
    # repost of 12345678 between them.
    path = tmp_path / "digits.jsonl"
    records = [
        {"id": "w:0", "author": {"name": 12345678}, "created_at": "2026-11-25T10:00:00+08:00"},
        {
            "id": "w:1",
            "author": {"name": "网友B"},
            "parent_id": "w:0",
            "root_id": "w:0",
            "relation": "repost",
            "kind": "repost",
            "text_raw": "转发//@12345678:原文",
            "created_at": "2026-11-25T10:01:00+08:00",
        },
        {
            "id": "w:2",
            "author": {"name": "网友C"},
            "parent_id": "w:0",
            "root_id": "w:0",
            "relation": "repost",
            "kind": "repost",
            "text_raw": "天哪//@网友B:转发//@12345678:原文",
            "created_at": "2026-11-25T10:02:00+08:00",
        },
    ]
    jsonl.write_atomic(path, records)
    assert main(["spread", "--file", str(path), "--no-pictures"]) == 0
    out = capsys.readouterr().out
    assert "12345678 → 网友B → 网友C" in out
    assert "3 posts, depth 2" in out


def test_whole_files_draw_into_a_folder_of_their_own(
    landing: Path, tmp_path: Path, koubei_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every whole --file drew into ``spread/file``: the second file's pictures replaced the
    first's. Each file has its folder, named after it and its folder (a name's odd characters
    as ``_``): two sources' landing files of one time have the same name."""
    other = tmp_path / "other day:1.jsonl"
    other.write_bytes(landing.read_bytes())
    (tmp_path / "xhs").mkdir()
    same_name = tmp_path / "xhs" / landing.name
    same_name.write_bytes(landing.read_bytes())
    for path in (landing, other, same_name):
        assert main(["spread", "--file", str(path)]) == 0
    folder = tmp_path.name
    assert f"file-{folder}-other_day_1" in capsys.readouterr().out
    spread = Path(koubei_home) / "spread"
    assert sorted(p.name for p in spread.iterdir()) == sorted(
        [f"file-{folder}-landing", f"file-{folder}-other_day_1", "file-xhs-landing"]
    )
    for folder in spread.iterdir():
        assert (folder / "timeline.png").exists()


def test_a_created_at_that_is_no_time_is_said_not_read_as_unknown_in_silence(
    landing: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A root post's ``created_at`` of ``yesterday`` (a foreign export) was read as unknown
    without a word: the source's time printed None and the timing left it out (the 鲜牧 demo
    cascade turned from ACCELERATING to not accelerating). It is still read as unknown, and
    one stderr note names the first such line and counts the others."""
    records = list(jsonl.read(landing))
    records[0]["created_at"] = "yesterday"
    records[3]["created_at"] = "9999-12-31T23:00:00Z"  # year 10000 in Asia/Shanghai
    odd = tmp_path / "odd.jsonl"
    jsonl.write_atomic(odd, records)
    assert main(["spread", "--file", str(landing), "--no-pictures"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["spread", "--file", str(odd), "--no-pictures"]) == 0
    assert capsys.readouterr().err == (
        f"note: {odd}:1: created_at 'yesterday' is no time (and 1 more): read as unknown, "
        "left out of the timing and the source's time\n"
    )
