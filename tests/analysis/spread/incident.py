"""A hand-built Weibo incident with known answers, as Document records.

Root post by 消费者小李 (w:1). Reposts arrive with ``parent_id = root_id = w:1`` as Weibo's API
gives them; the real hops are only in the ``//@`` chains. Shape (authors):

    小李 ─┬─ 大V老王 ─┬─ 网友A ── 网友C
          │           ├─ 网友B
          │           └─ (老王 reposts himself: chain names 老王 again, parent stays 老王's post)
          ├─ 网友D
          └─ comment by 网友E (reply)
    Plus: 网友F reposts through 未抓取的G (never crawled) -> placeholder hop.
    Plus: 8 copies of one script from low-follower accounts within minutes (水军).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from koubei.model import Author, Document, Sentiment, to_record

T0 = datetime.fromisoformat("2026-11-25T09:00:00+08:00")
SCRIPT = "鲜牧牛奶喝出异物，大家千万别买，已经有人住院了"


def _doc(
    native: str,
    name: str,
    minutes: float,
    text: str,
    *,
    followers: int = 100,
    kind: str = "repost",
    relation: str | None = "repost",
    parent: str | None = "w:1",
    label: str = "negative",
    terms: list[str] | None = None,
) -> dict[str, Any]:
    return to_record(
        Document(
            id=f"weibo:{native}",
            platform="weibo",
            source="weibo_search",
            kind=kind,  # type: ignore[arg-type]
            native_id=native,
            url=f"https://weibo.com/{native}",
            brands=["鲜牧"],
            author=Author(id=f"u-{name}", name=name, followers=followers),
            parent_id=f"weibo:{parent[2:]}" if parent else None,
            root_id="weibo:1" if parent else None,
            relation=relation,  # type: ignore[arg-type]
            text_raw=text,
            terms=terms or [],
            created_at=T0 + timedelta(minutes=minutes),
            sentiment=Sentiment(
                score=0.1 if label == "negative" else 0.9,
                label=label,  # type: ignore[arg-type]
                model_version="test",
            ),
        )
    )


def incident() -> list[dict[str, Any]]:
    """The incident's records (unsorted on purpose: the builder must sort by time)."""
    records = [
        _doc(
            "5",
            "网友C",
            40,
            "呕//@网友A: 可怕//@大V老王: 大家注意//@消费者小李: 鲜牧牛奶变质",
            terms=["可怕"],
        ),
        _doc(
            "1",
            "消费者小李",
            0,
            "鲜牧牛奶变质，孩子喝了拉肚子，客服不理",
            kind="post",
            relation=None,
            parent=None,
            followers=300,
            terms=["牛奶", "变质", "客服", "不理"],
        ),
        _doc(
            "2",
            "大V老王",
            10,
            "大家注意//@消费者小李: 鲜牧牛奶变质",
            followers=2_000_000,
            terms=["注意"],
        ),
        _doc("3", "网友A", 20, "可怕//@大V老王: 大家注意", terms=["可怕"]),
        _doc("4", "网友B", 25, "转发微博//@大V老王: 大家注意", label="neutral"),
        _doc("6", "网友D", 30, "牛奶变质退款难", terms=["牛奶", "变质", "退款"]),
        _doc(
            "7",
            "网友E",
            35,
            "客服一直不理人，退款拖了一周",
            kind="comment",
            relation="reply",
            terms=["客服", "不理", "退款", "拖延"],
        ),
        _doc("8", "大V老王", 50, "再转一次//@大V老王: 大家注意", followers=2_000_000),
        _doc("9", "网友F", 60, "真的假的//@未抓取的G: 转发微博", terms=["真假"]),
    ]
    for i in range(8):
        records.append(
            _doc(
                f"s{i}",
                f"水军{i}",
                70 + i * 0.5,
                SCRIPT,
                followers=2,
                kind="post",
                relation=None,
                parent=None,
                terms=["牛奶", "异物", "住院"],
            )
        )
    return records
