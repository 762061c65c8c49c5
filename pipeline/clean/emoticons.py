"""Microblog emoticons (``[怒]``, ``[泪]``, ``[赞]``), emoji and Latin-letter evaluations
(``nice``, ``yyds``): kept in text as sentiment cues.

Cleaning leaves them in ``text_clean``; the sentiment features replace each with a short Chinese
gloss whose polarity the model learned from review text, because labelled training text has
almost no emoticons, English words or pinyin slang while social posts are full of them.
"""

from __future__ import annotations

import re

# Weibo-style bracket emoticons: a short name in square brackets.
EMOTICON = re.compile(r"\[([\u4e00-\u9fffA-Za-z]{1,6})\]")
# Emoji: pictographs, emoticons, transport, supplemental symbols, dingbats, misc symbols.
EMOJI = re.compile(
    "[\U0001f300-\U0001f5ff\U0001f600-\U0001f64f\U0001f680-\U0001f6ff\U0001f900-\U0001f9ff"
    "\U0001fa70-\U0001faff\u2600-\u27bf\u2b50\u2b55]"
)

# Gloss phrases chosen because their words occur in the review corpus with a clear polarity
# (checked with the shipped model: negative glosses alone score below 0.4, positive ones above
# 0.6, 疑问 stays neutral).
EMOTICON_GLOSS: dict[str, str] = {
    "怒": "气死，差劲",
    "抓狂": "气死，差劲",
    "生气": "生气，差劲",
    "哼": "生气，差劲",
    "鄙视": "鄙视，差劲",
    "吐": "恶心，垃圾",
    "泪": "伤心，失望",
    "伤心": "伤心，失望",
    "悲伤": "伤心，失望",
    "失望": "失望",
    "衰": "倒霉",
    "晕": "郁闷，失望",
    "汗": "无语",
    "怒骂": "气死，差劲",
    "委屈": "委屈，失望",
    "可怜": "可怜，失望",
    "弱": "差劲",
    "差劲": "差劲",
    "拜拜": "失望",
    "崩溃": "崩溃，失望",
    "疑问": "疑问",
    "费解": "疑问",
    "黑线": "无语",
    "赞": "好评，很棒",
    "good": "好评，很棒",
    "ok": "不错",
    "哈哈": "很高兴",
    "嘻嘻": "很高兴",
    "笑哈哈": "很高兴",
    "爱你": "喜欢",
    "心": "喜欢",
    "鼓掌": "很好",
    "威武": "很棒",
    "给力": "给力",
    "很高兴": "很高兴",
    "可爱": "可爱",
    "太开心": "很高兴",
    "酷": "很棒",
    "好棒": "很棒",
    "耶": "很高兴",
    "感谢": "很好，谢谢",
    "微笑": "满意",
    "偷笑": "很高兴",
    "挤眼": "很高兴",
    "亲亲": "喜欢",
    "花心": "喜欢",
    "礼物": "喜欢",
    # Newer Weibo emoticons, common in real posts (names as in m.weibo.cn's ``<img alt=[..]>``
    # and Bilibili's ``[..]``): 裂开 "I'm falling apart", 允悲/摊手 resigned, 苦涩 bitter.
    "裂开": "崩溃，失望",
    "苦涩": "失望",
    "允悲": "无语",
    "摊手": "无语",
    "生病": "难受",
    "赞啊": "好评，很棒",
    "打call": "很棒",
    "给你小心心": "喜欢",
    "好喜欢": "喜欢",
    "作揖": "很好，谢谢",
    "馋嘴": "好吃",
    # Bilibili's official emoticons (and Weibo's of the same names), as public Bilibili reply
    # bots sort them (found with the project's code search, session 35): 星星眼 "fond",
    # 辣眼睛 "disgusted", 夸赞 [给心心][星星眼][打call][妙啊], 吐槽 [无语][嫌弃][抠鼻], 悲伤
    # [大哭][难过][哭泣]. Left out as ambiguous: 笑哭 (amused or mocking), 泪目 (moved as often
    # as sad), 酸了, 吃瓜, 捂脸, 害羞.
    "星星眼": "喜欢",
    "给心心": "喜欢",
    "爱心": "喜欢",
    "喜欢": "喜欢",
    "点赞": "好评，很棒",
    "妙啊": "很棒",
    "喜极而泣": "很高兴",
    "辣眼睛": "恶心，垃圾",
    "嫌弃": "鄙视，差劲",
    "无语": "无语",
    "抠鼻": "无语",
    "大哭": "伤心，失望",
    "难过": "伤心，失望",
    "哭泣": "伤心，失望",
}
EMOJI_GLOSS: dict[str, str] = {
    "😡": "气死，差劲",
    "😠": "生气，差劲",
    "🤬": "气死，差劲",
    "😤": "生气，差劲",
    "😭": "伤心，失望",
    "😢": "伤心，失望",
    "😞": "失望",
    "😔": "失望",
    "😩": "郁闷，失望",
    "😫": "郁闷，失望",
    "🤮": "恶心，垃圾",
    "🤢": "恶心，垃圾",
    "💔": "伤心，失望",
    "👎": "差劲",
    "😒": "无语",
    "🙄": "无语",
    "😓": "无语",
    "😰": "担心，失望",
    "👍": "好评，很棒",
    "👏": "很好",
    "😀": "很高兴",
    "😁": "很高兴",
    "😄": "很高兴",
    "😊": "满意",
    "😍": "喜欢",
    "🥰": "喜欢",
    "❤": "喜欢",
    "💕": "喜欢",
    "😘": "喜欢",
    "🎉": "很高兴",
    "😂": "哈哈",
    "🤣": "哈哈",
    "🙏": "很好，谢谢",
    "💯": "满分，很好",
    "✨": "漂亮",
    "👌": "不错",
    "🤡": "可笑，差劲",
    "💩": "恶心，垃圾",
    "😅": "无语",
    "😑": "无语",
    "🤦": "无语",
    "🥲": "无语",
    "💪": "给力",
    "😋": "好吃",
}


# English evaluations and pinyin-initial slang written in Latin letters in Chinese posts
# (yyds 永远的神 "the GOAT", nb 牛逼, awsl 啊我死了 "too cute"). The shipped model knew none: each
# scored as a text of unknown letters, about 0.35, so "鲜牧yyds" and "nice" were negative
# mentions. Only words the labelled shop reviews hardly hold (at most 7 of 52,773 each, nearly all
# on the side glossed here) are listed, so the features of the training text barely change; ``ok``
# (100 reviews, two thirds negative: 还ok, 不ok) and ``sb``/``tmd`` (learned, negative) are not.
# Phrases with "not" come first in the alternation so that "not bad" is not read as "bad".
# Left out as ambiguous in posts: like, wow, xswl (笑死我了, mocking as often as amused), best
# and cool (product names: Best Buy, cool white).
LATIN_GLOSS: dict[str, str] = {
    "not bad": "不错",
    "not good": "不好",
    "no good": "不好",
    "not worth it": "不值",
    "good": "很棒",
    "nice": "很棒",
    "great": "很棒",
    "love": "喜欢",
    "perfect": "好评，很棒",
    "excellent": "好评，很棒",
    "awesome": "好评，很棒",
    "amazing": "好评，很棒",
    "wonderful": "好评，很棒",
    "yyds": "好评，很棒",
    "nb": "很棒",
    "awsl": "喜欢",
    "thanks": "谢谢",
    "thank you": "谢谢",
    "bad": "差劲",
    "disappointed": "失望",
    "disappointing": "失望",
    "terrible": "垃圾，差劲",
    "awful": "垃圾，差劲",
    "horrible": "垃圾，差劲",
    "worst": "垃圾，差劲",
    "trash": "垃圾，差劲",
    "garbage": "垃圾，差劲",
    "rubbish": "垃圾，差劲",
    "sucks": "垃圾，差劲",
    "scam": "垃圾，差劲",
    "wtf": "气死，差劲",
}
# Whole words only (not inside another word or a model number: "nba", "goods", "nb1"), on
# lower-cased text; the spaces of "not bad" may be several.
LATIN_WORD = re.compile(
    r"(?<![a-z0-9])("
    + "|".join(
        re.escape(w).replace(r"\ ", r"\s+") for w in sorted(LATIN_GLOSS, key=len, reverse=True)
    )
    + r")(?![a-z0-9])"
)
_LATIN_LETTER = re.compile("[a-z]")


def find_emoticons(text: str) -> list[str]:
    """Bracket emoticons (as ``[名]``) and emoji in order of appearance."""
    found = [(m.start(), m.group(0)) for m in EMOTICON.finditer(text)]
    found += [(m.start(), m.group(0)) for m in EMOJI.finditer(text)]
    return [token for _, token in sorted(found)]


def gloss(token: str) -> str | None:
    """The gloss word for an emoticon or emoji token, or None if it has no known polarity."""
    if token.startswith("[") and token.endswith("]"):
        name = token[1:-1]
        return EMOTICON_GLOSS.get(name, EMOTICON_GLOSS.get(name.lower()))
    return EMOJI_GLOSS.get(token)


def replace_with_gloss(text: str) -> str:
    """Swap every emoticon and emoji with ``，gloss，`` (unknown ones are dropped), and every
    listed Latin-letter evaluation (``LATIN_GLOSS``, ``text`` lower-cased) with its gloss."""

    def sub(match: re.Match[str]) -> str:
        word = gloss(match.group(0))
        return f"，{word}，" if word else "，"

    if "[" in text:
        text = EMOTICON.sub(sub, text)
    if _LATIN_LETTER.search(text):
        text = LATIN_WORD.sub(lambda m: f"，{LATIN_GLOSS[' '.join(m.group(1).split())]}，", text)
    return EMOJI.sub(sub, text)
