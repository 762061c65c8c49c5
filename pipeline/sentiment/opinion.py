"""Which part of a post carries its author's opinion, and posts that carry none.

A repost's own words are the text before the first ``//@name:`` (what follows is the chain it
reposts, already scored as the earlier posts); a reply drops its ``回复@name:`` prefix. A post
whose own words are nothing but platform boilerplate (``转发微博``, ``Repost``, ``分享图片``, a
shop's stand-in for an unwritten review such as ``评价方未及时做出评价,系统默认好评!``),
@handles, links, emoticons/emoji, topics' ``#`` marks, digits or punctuation carries no opinion:
the model labels it ``no_opinion`` (score 0.5, see ``SentimentModel.score``) and the negative
share and the detectors' series leave it out (``pipeline.index.queries.volume_series``).

Emoji-only and emoticon-only posts count as no opinion too (as issue 18 asks): a lone ``[怒]``
under a post is a reaction to someone else's words, and on the demo's viral posts such replies
would otherwise swing the share as bare reposts did. Emoticons inside words still score.

A short question asking others for their experience or advice, with no judgement of its own
(``有人喝过鲜牧吗``, ``请问门店几点开门？``), has an opinion's place but holds none: the model
labels it ``neutral`` (``asks_without_judging``), so it counts in a brand's volume and in the
share's denominator, not as negative.
"""

from __future__ import annotations

import re

from koubei.crawlers.textutil import own_text as chain_own_text
from koubei.pipeline.clean.emoticons import EMOJI, EMOTICON
from koubei.pipeline.clean.normalise import remove_urls, to_halfwidth
from koubei.pipeline.sentiment.features import clauses, evaluates, has_evaluative_word, sentences

NO_OPINION = "no_opinion"

# Platform furniture that makes up a whole post when someone reposts or shares without words.
# Matched on the residue only (see ``is_no_opinion``), so 分享 inside a sentence is harmless.
BOILERPLATE = (
    "转发微博",
    "转发",
    "轉發微博",
    "转载",
    "转",
    "repost",
    "retweet",
    "rt",
    "分享图片",
    "分享视频",
    "分享单曲",
    "分享文章",
    "分享链接",
    "分享",
    "网页链接",
    "查看图片",
    "图片评论",
    "评论配图",
    "图片",
    "视频",
    "微博视频",
    "秒拍视频",
    "展开全文",
    "全文",
    "原图",
    "来自",
    # The same furniture in traditional script (weibo.com's zh-TW pages), for text scored
    # without cleaning's traditional → simplified step (``text_raw`` when no ``text_clean``).
    "轉發",
    "轉載",
    "分享圖片",
    "分享視頻",
    "網頁鏈接",
    "查看圖片",
    "圖片",
    "視頻",
    "展開全文",
    "原圖",
    "來自",
)
# What a shop shows in place of a review the buyer never wrote (Taobao/Tmall after 15 days, JD
# for a score without words): the platform's words, not the buyer's. The model read most of them
# as negative (未, 没有). Compared whole, without punctuation or digits, so a buyer's sentence that
# quotes one (系统默认好评的都不可信) still scores. Sources: tests/crawlers/spiders/pages/README.md.
STAND_INS = (
    "此用户没有填写评价。",
    "此用户没有填写评价内容",
    "此用户未填写评价内容",
    "该用户未填写评价内容",
    "评价方未及时做出评价,系统默认好评!",
    "该用户未及时主动评价，系统默认好评",
    "系统默认评论",
    "系统默认好评",
    "15天内买家未作出评价",
    "该用户觉得商品非常好，给出好评",
    "该用户觉得商品非常好，给出5星好评",
)
_REPLY_PREFIX = re.compile(r"^\s*回复\s*@[^:：\s]{1,30}\s*[:：]\s*")
_MENTION = re.compile(r"@[\w\u4e00-\u9fff-]{1,30}")
_NOISE = re.compile(r"[\W\d_]+")  # punctuation, symbols, digits, spaces
_STAND_IN = frozenset(_NOISE.sub("", text) for text in STAND_INS)
_FURNITURE = re.compile(
    "(?:" + "|".join(sorted(map(re.escape, BOILERPLATE), key=len, reverse=True)) + ")+", re.I
)


# Text the platform writes into a post for a link card, as crawled text carries it:
# - weibo.com pages draw a link's icon as a letter, so their text reads ``O网页链接`` and, for a
#   video, ``L小王的微博视频``; a cut-off post ends ``...展开全文c``;
# - m.weibo.cn titles a video card ``小王的微博视频`` (``<span class="surl-text">``);
# - weibo.cn lists ``[组图共4张]`` after a post with pictures.
# None of it is the author's words, so it is taken out before the rest is judged or scored.
_CARD = re.compile(
    r"O?网页链接|展开全文c?|\[组图共\d{1,3}张\]"
    r"|(?<![A-Za-z0-9])L[^\s#@:：，。！？]{1,30}?的(?:微博|秒拍)视频"
    r"|(?<=[\s，。！？!?,.~])[^\s#@:：，。！？]{1,30}?的(?:微博|秒拍)视频(?=\s|$)"
)
# A post that is nothing but a video card (``小王的微博视频``). Cleaning sets m.weibo.cn's cards
# apart with a space; in plain text a card glued to words before it is told from them only by
# those words: an evaluative word (``太难喝了小王的微博视频``) means the author wrote something.
_WHOLE_CARD = re.compile(r"([^\s#@:：，。！？]{1,30})的(?:微博|秒拍)视频")


def own_text(text: str) -> str:
    """What the author wrote: before the first ``//@name:`` hop, without a ``回复@name:`` prefix
    and without the text of link cards (``O网页链接``, ``L小王的微博视频``, see ``_CARD``).

    The hop is found by the one repost-chain rule (:func:`koubei.crawlers.textutil.own_text`),
    so scoring and the cascade builder agree on where a repost's own words end (``// @B:`` is
    a hop to both; a ``//@`` with no name and colon is text to both).
    """
    if "//" in text:
        text = chain_own_text(text)
    text = _REPLY_PREFIX.sub("", text)
    if "网页链接" in text or "视频" in text or "展开全文" in text or "组图" in text:
        text = _CARD.sub(" ", text).strip()
        whole = _WHOLE_CARD.fullmatch(text)
        if whole and not has_evaluative_word(whole.group(1)):
            return ""
    return text.strip()


def is_no_opinion(own: str) -> bool:
    """True when ``own`` (see ``own_text``) holds no words beyond platform furniture."""
    rest = remove_urls(own)  # cleaning's pattern: a link glued to words leaves the words
    rest = _MENTION.sub(" ", rest)
    rest = EMOTICON.sub(" ", rest)
    rest = EMOJI.sub(" ", rest)
    rest = _NOISE.sub("", rest)
    return not rest or rest in _STAND_IN or _FURNITURE.fullmatch(rest) is not None


# A question that asks others for their experience or advice (有人喝过鲜牧吗, 鲜牧怎么样？, 请问
# 门店几点开门) judges nothing itself: on social media it is a mention, not a complaint. Shop
# reviews taught the model that a question is a complaint (of the labelled reviews holding ？, 吗
# or 呢, two in three are negative, ``python -m bench sentiment --social``: 到底能不能解决？？？),
# so such a post scored negative (有人喝过鲜牧吗 0.15) and raised a brand's negative share. What
# asks: these cues, taken out before the rest is checked for any judgement (features.evaluates),
# so 好喝吗 is a question and not praise; none counts after 不/没 (不怎么样 judges). 有没有人管
# stays a rhetorical question (features._RHETORICAL). 能不能 is left out: in the reviews it is
# nearly always a demand. _OPENERS open an asking post, _HOW can end one without a question mark
# (_OPENS_ASKING, _ENDS_ASKING); both are asking cues too.
_OPENERS = "请问|求问|求推荐|求助|求科普"
_HOW = "怎么样|怎样|咋样|如何"
_ASKING = re.compile(
    r"(?<![不没])(?:"
    r"(?:有没有人(?!管)|(?<!没)有人|有谁)(?:知道|了解)?"
    r"|谁(?:知道|用过|喝过|吃过|买过|试过|去过|住过|点过|了解)"
    rf"|{_OPENERS}|大家(?:觉得|说说|看看)"
    rf"|(?:不知道?)?(?:{_HOW})|好不好|哪个(?:好|更)|哪家|在哪(?:里|儿)?"
    r"|推荐(?:一下)?(?=\W*$|吗|呢)|值得(?:买|入手|入|去|一试)?吗|值不值|靠不靠谱|靠谱吗"
    r"|是不是真的|好(?:喝|吃|用|住|看|玩)(?:吗|不)|(?:能|可以)[^点些]{0,8}?吗"
    r")"
)
# ... unless the asker shares a trouble or demands: a complaint seeking company or a rhetorical
# one (有人也喝出异物吗, 有人一样吗, 只有我觉得…吗, 还有人买吗, 还能用吗, 能走心点吗).
_SHARED_TROUBLE = re.compile(r"也|一样|同样|只有我|就我|还(?!是)|点吗|些吗")
_ENDS_ASKING = re.compile(rf"(?:[?？]|[吗呢么嘛][啊呀哈]?|{_HOW}|好不好|哪个)[\W_]*$")
_OPENS_ASKING = re.compile(rf"^(?:{_OPENERS})")
# Longer texts with a question in them are mostly reviews or stories whose question follows a
# report of a trouble (书页纷纷掉落了，请问怎么回事？) or is one sentence among judging ones; an
# asking post is short: one sentence of at most two clauses. On the labelled reviews
# (``python -m bench sentiment --social``) 8 of 52,725 are read as asking: seven "not used yet,
# don't know how it is", one joke.
ASKING_MAX_CHARS = 40
ASKING_MAX_CLAUSES = 2


def asks_without_judging(own: str) -> bool:
    """True when ``own`` (see ``own_text``) is a short question asking others for their
    experience or advice and holds no judgement of its own: the model labels it neutral
    (``SentimentModel.score``), so it counts as a mention but not as a negative one."""
    if len(own) > 4 * ASKING_MAX_CHARS:  # most texts: no need to look closer
        return False
    text = to_halfwidth(_MENTION.sub(" ", own)).lower().strip()
    words = EMOJI.sub("", EMOTICON.sub("", text)).strip()  # emoticons still judge, below
    if len(words) > ASKING_MAX_CHARS:
        return False
    if not (_ENDS_ASKING.search(words) or _OPENS_ASKING.match(words)):
        return False
    said = [s for s in sentences(words) if _NOISE.sub("", s)]
    if len(said) > 1 or len(clauses(words)) > ASKING_MAX_CLAUSES:
        return False
    if _ASKING.search(text) is None or _SHARED_TROUBLE.search(text):
        return False
    return not evaluates(_ASKING.sub(" ", text))
