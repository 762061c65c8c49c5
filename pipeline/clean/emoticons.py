"""Microblog emoticons (``[怒]``, ``[泪]``, ``[赞]``) and emoji: kept in text as sentiment cues.

Cleaning leaves them in ``text_clean``; the sentiment features replace each with a short Chinese
gloss whose polarity the model learned from review text, because labelled training text has
almost no emoticons while social posts are full of them.
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
    """Swap every emoticon and emoji with ``，gloss，`` (unknown ones are dropped)."""

    def sub(match: re.Match[str]) -> str:
        word = gloss(match.group(0))
        return f"，{word}，" if word else "，"

    if "[" in text:
        text = EMOTICON.sub(sub, text)
    return EMOJI.sub(sub, text)
