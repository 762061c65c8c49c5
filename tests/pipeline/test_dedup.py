"""Near-duplicate clusters: copies and templated reposts share an id, across batches too."""

from __future__ import annotations

from pathlib import Path

from koubei.pipeline.dedup import assign_duplicate_clusters

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
