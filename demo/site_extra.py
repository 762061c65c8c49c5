"""The demo scenario's smaller platforms: a marketplace rate list, a video's comments, news.

Same anchor, same rules as :mod:`koubei.demo.site_data` (seeded, relative to the anchor): a week of
ordinary traffic, then in the burst hour complaints about 鲜牧 on the video and a news article.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

TMALL_TIME = "%Y-%m-%d %H:%M:%S"
TMALL_ITEM = "600001"
VIDEO_AID = "880001"
RATES = [
    "云朵奶酪棒孩子很喜欢",
    "奶香浓郁，会回购",
    "物流快，冷链包装很好",
    "日期很新鲜",
    "有点甜，一般般",
    "云朵的奶酪棒比超市便宜",
    "包装有点瘪，味道还行",
]
APPENDS = ["追评：吃完一箱了，还是不错", "追评：第二箱有两根破了"]
VIDEO_NORMAL = [
    "up主测评很用心",
    "鲜牧的奶确实香",
    "我更喜欢北岭",
    "求链接",
    "同款在喝",
    "蹲一个优惠券",
]
VIDEO_CRISIS = [
    "看到热搜了，鲜牧喝出异物是真的吗",
    "鲜牧客服真的不理人，我也遇到过",
    "up主快出个后续",
    "已经不敢给孩子喝鲜牧了",
    "鲜牧变质那条微博都转疯了",
]
NEWS = [
    (
        "鲜牧乳业发布年度可持续发展报告",
        "鲜牧乳业今日发布年度可持续发展报告，介绍了牧场减排与包装回收的进展。",
        6,
    ),
    (
        "北岭牧业新工厂投产",
        "北岭牧业位于内蒙古的新工厂正式投产，年产能提升三成，主打低温鲜奶产品线。",
        4,
    ),
    (
        "云朵乳品推出儿童奶酪棒新口味",
        "云朵乳品推出两款儿童奶酪棒新口味，宣称减糖百分之三十，首批在电商平台上架。",
        2,
    ),
    (
        "周末去鲜牧场露营攻略",
        "鲜牧场位于城郊草原，适合亲子露营，烤全羊与喂小羊是最受欢迎的项目。",
        3,
    ),
]
CRISIS_NEWS = (
    "鲜牧纯牛奶被曝喝出异物 客服回应迟缓",
    "多名消费者在社交平台反映，购买的鲜牧纯牛奶中喝出黑色异物，部分产品有变质酸味。"
    "消费者称多次联系客服未获回应。截至发稿，鲜牧乳业尚未发布正式声明。",
)


@dataclass
class ExtraScenario:
    rates: list[dict[str, Any]] = field(default_factory=list)  # newest first
    video: dict[str, Any] = field(default_factory=dict)
    replies: list[dict[str, Any]] = field(default_factory=list)  # top-level, newest first
    articles: list[dict[str, Any]] = field(default_factory=list)  # newest first

    def counts(self) -> dict[str, int]:
        nested = sum(len(r["replies"] or []) for r in self.replies)
        return {
            "rates": len(self.rates),
            "video_replies": len(self.replies) + nested,
            "articles": len(self.articles),
        }


def build_extra(anchor: datetime) -> ExtraScenario:
    """The extra platforms' data for an already floored ``anchor``."""
    rng = random.Random(int(anchor.timestamp()) + 7)
    out = ExtraScenario()
    burst = anchor - timedelta(minutes=55)
    for i in range(60):
        when = anchor - timedelta(days=7) + timedelta(minutes=i * 163 + rng.randint(0, 60))
        rate: dict[str, Any] = {
            "id": 3_100_000_000 + i * 17,
            "rateContent": rng.choice(RATES),
            "rateDate": when.strftime(TMALL_TIME),
            "auctionSku": "口味:原味;规格:20根装",
            "displayUserNick": f"t**{i % 10}",
            "reply": "",
            "pics": [],
            "_when": when,
        }
        if i % 9 == 0 and when + timedelta(days=2) < anchor:
            rate["appendComment"] = {
                "content": rng.choice(APPENDS),
                "days": 2,
                "commentTime": (when + timedelta(days=2)).strftime(TMALL_TIME),
            }
        out.rates.append(rate)
    out.rates.sort(key=lambda r: r["_when"], reverse=True)

    published = anchor - timedelta(days=3)
    out.video = {
        "aid": int(VIDEO_AID),
        "bvid": "BV1demo",
        "title": "鲜牧纯牛奶开箱测评",
        "desc": "鲜牧、北岭两款纯牛奶对比",
        "pubdate": int(published.timestamp()),
        "owner": {"mid": 77, "name": "奶品测评君"},
        "stat": {"like": 3200, "share": 45},
    }
    rpid = 7_700_000
    for i in range(50):
        crisis = i >= 35
        when = (
            burst + timedelta(minutes=(i - 35) * 3)
            if crisis
            else (published + timedelta(minutes=i * 97 + rng.randint(0, 50)))
        )
        rpid += rng.randint(1, 40)
        reply = _reply(rpid, 0, 0, when, rng.choice(VIDEO_CRISIS if crisis else VIDEO_NORMAL), i)
        if i % 6 == 0:
            sub = []
            for k in range(2):
                rpid += 1
                sub.append(
                    _reply(
                        rpid,
                        reply["rpid"],
                        reply["rpid"],
                        min(when + timedelta(minutes=2 + k), anchor),
                        f"回复 @用户{i} :{'同感' if k == 0 else '确实'}",
                        100 + i + k,
                    )
                )
            reply["replies"], reply["rcount"] = sub, len(sub)
        out.replies.append(reply)
    out.replies.sort(key=lambda r: r["_when"], reverse=True)
    out.video["stat"]["reply"] = len(out.replies)

    for i, (title, body, days) in enumerate(NEWS):
        out.articles.append(_article(f"n{i + 1}", title, body, anchor - timedelta(days=days), i))
    out.articles.append(_article("n-crisis", *CRISIS_NEWS, anchor - timedelta(minutes=20), 9))
    out.articles.sort(key=lambda a: a["_when"], reverse=True)
    return out


def _reply(
    rpid: int, root: int, parent: int, when: datetime, text: str, user: int
) -> dict[str, Any]:
    return {
        "rpid": rpid,
        "oid": int(VIDEO_AID),
        "type": 1,
        "root": root,
        "parent": parent,
        "ctime": int(when.timestamp()),
        "like": user % 13,
        "rcount": 0,
        "member": {"mid": str(90_000 + user), "uname": f"用户{user}"},
        "content": {"message": text},
        "replies": None,
        "_when": when,
    }


def _article(slug: str, title: str, body: str, when: datetime, n: int) -> dict[str, Any]:
    return {
        "slug": slug,
        "title": title,
        "body": body,
        "author": ["李记者", "王编辑"][n % 2],
        "_when": when,
    }
