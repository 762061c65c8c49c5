"""Near-duplicate clusters: copies and templated reposts share an id, across batches too."""

from __future__ import annotations

from pathlib import Path

import pytest

from koubei.pipeline.dedup import (
    RETENTION_SECONDS,
    STATE_FILE,
    DedupIndex,
    assign_duplicate_clusters,
)
from koubei.timeutil import CLOCK_ENV

COMPLAINT = "这款手机电池太不耐用了，一天要充三次电，客服也不理人，大家千万别买，真的后悔死了"
OTHER = "今天天气很好，我去公园散步了，看到很多花开了，心情很愉快，晚上还吃了顿火锅"


def _rec(doc_id: str, text: str) -> dict:
    return {"id": doc_id, "text_clean": text}


def test_copies_and_templated_reposts_share_a_cluster() -> None:
    records = [
        _rec("weibo:1", COMPLAINT),
        _rec("weibo:2", "@数码小王 " + COMPLAINT + " 订单号 88231 http://t.cn/x"),
        _rec("weibo:3", COMPLAINT.replace("三次", "两次")),
        _rec("weibo:4", OTHER),
    ]
    out = assign_duplicate_clusters(records)
    assert out is records
    clusters = [r["dup_cluster"] for r in out]
    assert clusters[0] == clusters[1] == clusters[2] == "dup:weibo:1"
    assert clusters[3] == "dup:weibo:4"
    assert len(out) == 4  # nothing is deleted


def test_later_batches_join_earlier_clusters_and_reruns_are_stable(tmp_path: Path) -> None:
    first = assign_duplicate_clusters([_rec("a:1", COMPLAINT), _rec("a:2", OTHER)], tmp_path)
    assert any(tmp_path.iterdir())  # the state was persisted
    second = assign_duplicate_clusters(
        [_rec("b:1", "转发：" + COMPLAINT), _rec("a:2", OTHER), _rec("b:2", "完全不同的一段话")],
        tmp_path,
    )
    assert second[0]["dup_cluster"] == first[0]["dup_cluster"] == "dup:a:1"
    assert second[1]["dup_cluster"] == first[1]["dup_cluster"]
    assert second[2]["dup_cluster"] == "dup:b:2"


def test_without_state_dir_batches_are_independent() -> None:
    assign_duplicate_clusters([_rec("a:1", COMPLAINT)])
    out = assign_duplicate_clusters([_rec("b:1", COMPLAINT)])
    assert out[0]["dup_cluster"] == "dup:b:1"


def test_records_without_id_or_text_get_clusters() -> None:
    out = assign_duplicate_clusters(
        [{"text_raw": COMPLAINT}, {"text_raw": COMPLAINT}, {"text_clean": ""}, {}]
    )
    assert out[0]["dup_cluster"] == out[1]["dup_cluster"]
    assert all(isinstance(r["dup_cluster"], str) for r in out)


def test_keys_older_than_the_retention_leave_the_saved_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = 86400
    monkeypatch.setenv(CLOCK_ENV, "2026-11-01T12:00:00+08:00")
    assign_duplicate_clusters([_rec("a:1", COMPLAINT), _rec("a:2", OTHER)], tmp_path)
    size_with_two = (tmp_path / STATE_FILE).stat().st_size
    # five days on: a re-run meets a:2 again (it stays), a copy of a:1 joins its cluster
    monkeypatch.setenv(CLOCK_ENV, "2026-11-06T12:00:00+08:00")
    later = assign_duplicate_clusters(
        [_rec("a:2", OTHER), _rec("b:1", "转发：" + COMPLAINT)], tmp_path
    )
    assert [r["dup_cluster"] for r in later] == ["dup:a:2", "dup:a:1"]
    # past a:1's retention but not b:1's: the cluster lives on through b:1
    monkeypatch.setenv(CLOCK_ENV, "2026-11-10T12:00:00+08:00")
    assign_duplicate_clusters([], tmp_path)
    index = DedupIndex.load(tmp_path)
    assert sorted(index.cluster_of) == ["a:2", "b:1"]
    assert "a:1" not in index.lsh and "b:1" in index.lsh
    copy = assign_duplicate_clusters([_rec("c:1", COMPLAINT + "！！")], tmp_path)
    assert copy[0]["dup_cluster"] == "dup:a:1"
    # long after everything: the state holds only what was seen within the retention
    monkeypatch.setenv(CLOCK_ENV, "2026-12-01T12:00:00+08:00")
    fresh = assign_duplicate_clusters([_rec("d:1", OTHER)], tmp_path)
    assert fresh[0]["dup_cluster"] == "dup:d:1"  # a:2 left the index, so d:1 starts anew
    assert sorted(DedupIndex.load(tmp_path).cluster_of) == ["d:1"]
    assert (tmp_path / STATE_FILE).stat().st_size < size_with_two
    assert 4 * day < RETENTION_SECONDS < 9 * day  # what the dates above assume: about a week


def test_a_state_file_from_before_the_retention_loads_with_its_keys_seen_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    monkeypatch.setenv(CLOCK_ENV, "2026-11-01T12:00:00+08:00")
    index = DedupIndex()
    index.assign_records([_rec("a:1", COMPLAINT)])
    del index.last_seen  # as pickled by the code before the retention existed
    (tmp_path / STATE_FILE).write_bytes(pickle.dumps(index))
    loaded = DedupIndex.load(tmp_path)
    assert list(loaded.last_seen) == ["a:1"]
    assert assign_duplicate_clusters([_rec("b:1", COMPLAINT)], tmp_path)[0]["dup_cluster"] == (
        "dup:a:1"
    )
