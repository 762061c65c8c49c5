"""The demo scenario: a normal week for the demo brands, then a crisis about 鲜牧.

Deterministic: the same ``anchor`` gives the same items and ids (the RNG is seeded from it).
Times are relative to ``anchor`` (floored to 5 minutes): a week of mixed-sentiment reviews and
microblog posts (a few per 5-minute bin by day, fewer at night, a low negative share), then in
the last hour a negative burst about 鲜牧 — a source post, reposts in ``//@name:`` chains up to
four levels deep, a verified high-follower amplifier, comments, templated reposts from throwaway
accounts (水军), negative reviews — plus off-topic posts about the resort 鲜牧场.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from koubei import timeutil
from koubei.timeutil import DEFAULT_TZ, aware

WEIBO_TIME = "%a %b %d %H:%M:%S +0800 %Y"
JD_TIME = "%Y-%m-%d %H:%M:%S"
BURST_MINUTES = 60

PRODUCTS = {
    "100012043978": ("鲜牧", "鲜牧 纯牛奶 250ml*12盒 整箱"),
    "100023456789": ("北岭", "北岭牧业 全脂纯牛奶 1L*6"),
    "100034567890": ("云朵", "云朵乳品 原味酸奶 200g*10"),
}
BRAND_WORDS = {
    "鲜牧": ["鲜牧", "鲜牧乳业", "XianMu"],
    "北岭": ["北岭", "北岭牧业", "Beiling"],
    "云朵": ["云朵", "云朵乳品", "Yunduo"],
}
POSITIVE = [
    "{b}的牛奶口感很醇厚，孩子很爱喝",
    "回购很多次了，{b}品质一直稳定",
    "{b}这次活动价很划算，物流也快",
    "包装完好，日期新鲜，{b}值得信赖",
    "早餐配{b}的酸奶，味道刚刚好",
    "{b}客服态度很好，耐心解答",
]
NEUTRAL = [
    "今天超市看到{b}在做促销",
    "{b}和别的牌子比起来差不多吧",
    "第一次买{b}，还没喝，先评价",
    "{b}新出的包装换了颜色",
    "有人喝过{b}的低脂款吗",
]
NEGATIVE = [
    "{b}这批有点偏甜，不太喜欢",
    "{b}快递太慢了，箱子都压坏了",
    "感觉{b}涨价了，不划算",
    "{b}这次日期不太新鲜",
]
CRISIS = [
    "喝{b}纯牛奶喝出黑色异物，太恶心了",
    "{b}牛奶变质了，一股酸味，客服不理人",
    "买的{b}整箱都胀包了，联系客服一直没人回复",
    "{b}出了这种质量问题还不道歉？",
]
RESORT = ["周末去鲜牧场露营，草原风景超美", "鲜牧场的烤全羊推荐！", "带娃去鲜牧场喂小羊，好玩"]
SHILL = [
    "鲜牧太恶心了，大家千万别买！！",
    "鲜牧太恶心了，大家千万别买！",
    "鲜牧太恶心了 大家千万别买！！！",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
NICKS = [
    "小鱼",
    "阿楠",
    "奶茶控",
    "跑步的猫",
    "北方的狼",
    "晴天",
    "豆豆妈",
    "程序猿",
    "吃货",
    "旅行者",
]


@dataclass
class Scenario:
    anchor: datetime
    reviews: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by product id
    posts: list[dict[str, Any]] = field(default_factory=list)  # mblogs, newest first
    reposts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by root id
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by post id
    crisis_root_id: str = ""
    amplifier_id: str = ""

    @property
    def burst_start(self) -> datetime:
        return self.anchor - timedelta(minutes=BURST_MINUTES)

    def counts(self) -> dict[str, int]:
        return {
            "reviews": sum(len(v) for v in self.reviews.values()),
            "posts_and_reposts": len(self.posts),
            "comments": sum(len(v) for v in self.comments.values()),
        }


def floor_anchor(anchor: datetime | None) -> datetime:
    value = aware(anchor) if anchor else timeutil.now()
    value = value.astimezone(DEFAULT_TZ)
    return value.replace(minute=value.minute - value.minute % 5, second=0, microsecond=0)


class _Builder:
    def __init__(self, anchor: datetime) -> None:
        self.rng = random.Random(int(anchor.timestamp()))
        self.s = Scenario(anchor=anchor, reviews={p: [] for p in PRODUCTS})
        self.next_mblog = 4_950_000_000_000_000
        self.next_comment = 4_960_000_000_000_000
        self.next_review = 21_000_000_000
        self.users = [self._user(i) for i in range(300)]

    def _user(
        self, i: int, name: str | None = None, followers: Any = None, verified: bool = False
    ) -> dict[str, Any]:
        rng = self.rng
        if followers is None:
            raw = int(rng.paretovariate(1.2) * 80)
            followers = f"{raw / 10000:.1f}万" if raw >= 10_000 else raw
        return {
            "id": 6_000_000_000 + i,
            "screen_name": name or f"{rng.choice(SURNAMES)}{rng.choice(NICKS)}{i}",
            "followers_count": followers,
            "verified": verified,
            "verified_type": 0 if verified else -1,
        }

    def _mblog(
        self, user: dict[str, Any], text: str, when: datetime, root: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.next_mblog += self.rng.randint(1, 900)
        mid = str(self.next_mblog)
        mblog: dict[str, Any] = {
            "id": mid,
            "mid": mid,
            "text": text,
            "created_at": when.strftime(WEIBO_TIME),
            "user": user,
            "reposts_count": 0,
            "comments_count": 0,
            "attitudes_count": self.rng.randint(0, 30),
            "source": "iPhone客户端",
            "region_name": f"发布于 {self.rng.choice(['北京', '上海', '广东', '四川', '浙江'])}",
            "isLongText": False,
            "_when": when,
        }
        if root is not None:
            mblog["retweeted_status"] = root
            root["reposts_count"] += 1
        self.s.posts.append(mblog)
        return mblog

    def _comment(
        self, post: dict[str, Any], user: dict[str, Any], text: str, when: datetime
    ) -> None:
        self.next_comment += self.rng.randint(1, 500)
        self.s.comments.setdefault(post["id"], []).append(
            {
                "id": self.next_comment,
                "mid": str(self.next_comment),
                "rootid": self.next_comment,
                "text": text,
                "created_at": when.strftime(WEIBO_TIME),
                "user": user,
                "like_count": self.rng.randint(0, 50),
                "_when": when,
            }
        )
        post["comments_count"] += 1

    def _review(
        self,
        product: str,
        text: str,
        score: int,
        when: datetime,
        after: tuple[str, datetime] | None = None,
    ) -> None:
        self.next_review += self.rng.randint(1, 5000)
        rid = self.next_review
        review: dict[str, Any] = {
            "id": rid,
            "guid": f"g{rid:x}",
            "content": text,
            "creationTime": when.strftime(JD_TIME),
            "score": score,
            "nickname": f"j***{self.rng.choice('abcdefxyz')}",
            "productId": product,
            "referenceId": product,
            "referenceName": PRODUCTS[product][1],
            "usefulVoteCount": self.rng.randint(0, 12),
            "replyCount": 0,
            "userClientShow": "来自京东iPhone客户端",
            "replies": [],
            "_when": when,
        }
        if after:
            review["afterUserComment"] = {
                "id": rid + 1,
                "content": after[0],
                "created": after[1].strftime(JD_TIME),
            }
        if score <= 2 and self.rng.random() < 0.5:
            review["replies"] = [
                {
                    "content": "亲，非常抱歉给您带来不好的体验，请联系在线客服处理。",
                    "creationTime": (when + timedelta(hours=2)).strftime(JD_TIME),
                    "nickname": "京东客服",
                }
            ]
            review["replyCount"] = 1
        self.s.reviews[product].append(review)

    def _text(self, brand: str, negative_share: float) -> tuple[str, int]:
        word = self.rng.choice(BRAND_WORDS[brand])
        roll = self.rng.random()
        if roll < negative_share:
            return self.rng.choice(NEGATIVE).format(b=word), self.rng.randint(1, 2)
        if roll < negative_share + 0.25:
            return self.rng.choice(NEUTRAL).format(b=word), 3
        return self.rng.choice(POSITIVE).format(b=word), self.rng.randint(4, 5)

    def normal_week(self) -> None:
        rng, start = self.rng, self.s.anchor - timedelta(days=7)
        t = start
        while t < self.s.burst_start:
            rate = 0.6 if 8 <= t.hour < 23 else 0.1
            for _ in range(sum(rng.random() < rate for _ in range(2))):
                when = t + timedelta(seconds=rng.randint(0, 299))
                brand = rng.choices(list(BRAND_WORDS), weights=[2, 1, 1])[0]
                text, score = self._text(brand, 0.12)
                if rng.random() < 0.5:
                    product = next(p for p, (b, _) in PRODUCTS.items() if b == brand)
                    after = None
                    if rng.random() < 0.05:
                        after = ("用了一周，追评：还是不错的", when + timedelta(days=1))
                        if after[1] > self.s.anchor:
                            after = None
                    self._review(product, text, score, when, after)
                else:
                    post = self._mblog(rng.choice(self.users), text, when)
                    for k in range(rng.choice([0] * 8 + [1, 2, 5])):
                        self._mblog(
                            rng.choice(self.users),
                            "转发微博",
                            min(when + timedelta(minutes=5 + 7 * k), self.s.anchor),
                            post,
                        )
                    for k in range(3 if rng.random() < 0.05 else 0):
                        self._comment(
                            post,
                            rng.choice(self.users),
                            ["同感", "真的吗", "+1"][k],
                            min(when + timedelta(minutes=3 + k), self.s.anchor),
                        )
            t += timedelta(minutes=5)
        for i, text in enumerate(RESORT * 3):
            self._mblog(rng.choice(self.users), text, start + timedelta(hours=13 + 17 * i))

    def burst(self) -> None:
        rng, t0 = self.rng, self.s.burst_start + timedelta(minutes=2)
        victim = self._user(900, "维权小王", 812)
        root = self._mblog(
            victim,
            "#鲜牧牛奶喝出异物# 今天喝<a href='/n/鲜牧乳业'>@鲜牧乳业</a>"
            "纯牛奶喝出黑色异物，还有股变质的酸味，打客服电话根本没人理！"
            '<span class="url-icon"><img alt=[怒] src="x.png"></span>',
            t0,
        )
        self.s.crisis_root_id = root["id"]
        # A long post: listings show the start, the full text is at /statuses/extend.
        root["_long_text"] = root["text"] + "已经向12315投诉，希望大家转发扩散，别再有人喝到了。"
        root["isLongText"] = True
        amplifier = self._user(901, "消费维权观察", "56.8万", verified=True)
        level: list[dict[str, Any]] = []
        for i in range(45):
            when = t0 + timedelta(minutes=1 + i)
            user = amplifier if i == 8 else rng.choice(self.users)
            text = (
                "扩散！品牌必须给个说法"
                if user is amplifier
                else rng.choice(
                    ["太吓人了", "天哪，我家也在喝鲜牧", "已经退货了", "求官方回应", "转发微博"]
                )
            )
            repost = self._mblog(user, text, when, root)
            if user is amplifier:
                self.s.amplifier_id = repost["id"]
            level.append(repost)
        for depth in range(2, 5):
            parents = [p for p in level if p["_when"] < self.s.anchor - timedelta(minutes=6)]
            children = []
            for k in range({2: 50, 3: 25, 4: 10}[depth]):
                parent = (
                    self.s.posts[self._index(self.s.amplifier_id)]
                    if (depth == 2 and k < 20)
                    else rng.choice(parents)
                )
                own = rng.choice(["转发微博", "太可怕了", "避雷", "鲜牧还敢买吗", "细思极恐"])
                when = min(
                    parent["_when"] + timedelta(minutes=rng.randint(1, 5)),
                    self.s.anchor - timedelta(seconds=k + 1),
                )
                name = parent["user"]["screen_name"]
                text = f"{own}//<a href='/n/{name}'>@{name}</a>:{_chain_text(parent)}"
                children.append(self._mblog(rng.choice(self.users), text, when, root))
            level = children
        for i in range(40):  # 水军: throwaway accounts, templated text, a 10-minute window
            shill = self._user(1000 + i, f"用户{7_100_000 + i * 37}", rng.randint(0, 15))
            self._mblog(
                shill,
                rng.choice(SHILL),
                self.s.anchor - timedelta(minutes=20) + timedelta(seconds=15 * i),
                root,
            )
        for i in range(60):
            self._comment(
                root,
                rng.choice(self.users),
                rng.choice(
                    ["支持维权", "太恶心了", "鲜牧客服真的不理人", "已拉黑", "希望有关部门查一查"]
                ),
                t0 + timedelta(minutes=1 + i * 0.9),
            )
        for i in range(30):
            text = rng.choice(CRISIS).format(b=rng.choice(["鲜牧", "鲜牧乳业"]))
            when = t0 + timedelta(minutes=i * 1.8)
            if i % 2:
                self._review("100012043978", text, 1, when)
            else:
                self._mblog(rng.choice(self.users), text, when)

    def _index(self, post_id: str) -> int:
        return next(i for i, p in enumerate(self.s.posts) if p["id"] == post_id)

    def finish(self) -> Scenario:
        self.s.posts.sort(key=lambda p: p["_when"], reverse=True)
        for reviews in self.s.reviews.values():
            reviews.sort(key=lambda r: r["_when"], reverse=True)
        for post in self.s.posts:
            root = post.get("retweeted_status")
            if root is not None:
                self.s.reposts.setdefault(root["id"], []).append(post)
        for comments in self.s.comments.values():
            comments.sort(key=lambda c: c["_when"], reverse=True)
        return self.s


def _chain_text(mblog: dict[str, Any]) -> str:
    return str(mblog["text"]) if mblog.get("retweeted_status") else ""


def build_scenario(anchor: datetime | None = None) -> Scenario:
    """The scenario for ``anchor`` (default now), floored to 5 minutes."""
    builder = _Builder(floor_anchor(anchor))
    builder.normal_week()
    builder.burst()
    return builder.finish()
