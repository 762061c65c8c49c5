"""Sentiment features: character n-grams per clause plus negation, degree and contrast marks.

Character 1–3-grams need no word segmenter (snownlp's and jieba's are the slow part of stock
scoring) and carry morphemes such as 满意 and 失望 that transfer across product domains. On top:

* **negation** — after a negator (不, 没, 别, 毫无 …) the next word, skipping degree words, gets a
  ``¬`` feature, so 不满意, 不太满意 and 一点也不满意 all share ``¬满意``;
* **degree** — after 很, 非常, 太 … the next word gets a ``+`` feature (strengthened polarity);
* **contrast** — clauses after 但是, 不过, 可是 … also emit ``›``-marked bigrams, since the part
  after the turn usually carries the verdict; 但/但是 inside a clause with no comma before it
  (位置不错但是房间很旧) starts a clause of its own;
* **emoticons, emoji and Latin-letter evaluations** (``[怒]``, 👍, ``nice``, ``yyds``) — replaced
  by a gloss word the model learned from review text (``pipeline.clean.emoticons``);
* **lexicon** (models trained with it) — clauses whose hits on a hand-written list of general
  evaluative words (``lexicon.txt``) lean positive or negative emit ``⊕``/``⊖`` (``⊕⊕``/``⊖⊖``
  for two or more such clauses; a negated hit counts for the other side). Their weights are
  learned over every word on the list, so the list carries polarity into domains whose
  vocabulary the training data never saw. No mark for a hit after a contrast: learned from
  shop reviews, where 好，就是…慢了点 is praise, ``›⊖`` weighed for the positive side (+0.47);
  without it leave-one-category-out gained (BENCHMARKS.md, "A contrast without a comma");
* **general lexicon** (models trained with it) — the same per-clause balance over HowNet's
  published positive and negative word lists (``hownet.txt``, about 13,500 words; the hand list
  wins where both list a word) emits ``⊞``/``⊟`` (``⊞⊞``/``⊟⊟`` for two or more clauses). Kept
  apart from ``⊕``/``⊖`` so that the model learns how far the bigger, noisier list can be
  trusted;
* **net balance** — positive minus negative leaning clauses, capped at three: ``Δ+1`` …
  ``Δ+3``/``Δ-1`` … ``Δ-3`` for the hand list; with the general lexicon also ``∇±n`` for
  HowNet's and ``◇±n`` for clauses judged by both lists together (the sum of their balances,
  so a clause only HowNet can read still counts). A long review with pros and cons (a
  hotel's room, front desk, breakfast and noise) emits both ``⊕⊕`` and ``⊖⊖``; only the net
  says which side most of its clauses take (measured, all-nine leave-one-category-out: mean
  +0.19 points, the farthest category +1.03; ``Δ``/``∇`` alone +0.08 and +0.10);
* **social signals** (models trained with them) — microblog cues shop reviews almost never
  show, mapped onto the lexicon-balance features whose weights the training data does teach:
  a *sarcasm marker* (呵呵, ``[doge]``, 我谢谢你 …) or *praise after a complaint* (等了三个小时，
  真棒) turns a praising clause into a negative one (its plain n-grams are left out, ``≀`` is
  added, and it counts as a negative clause); a *rhetorical question* (难道…, 凭什么, 这也叫…)
  counts as a negative clause and adds ``¿``. Platform emoticons are glossed (``[怒]`` → 气死).
"""

from __future__ import annotations

import re
from pathlib import Path

from koubei.pipeline.clean.emoticons import replace_with_gloss
from koubei.pipeline.clean.normalise import to_halfwidth

# Longest first so that 一点也不 wins over 不.
NEGATORS = (
    "一点也不",
    "一点都不",
    "一点儿也不",
    "再也不",
    "根本不",
    "根本没",
    "从来不",
    "从不",
    "并不",
    "并没",
    "决不",
    "绝不",
    "毫不",
    "毫无",
    "并非",
    "绝非",
    "没有",
    "不",
    "没",
    "别",
    "未",
)
DEGREE = (
    "非常",
    "特别",
    "十分",
    "相当",
    "超级",
    "极其",
    "格外",
    "有点",
    "有些",
    "比较",
    "太",
    "很",
    "超",
    "极",
    "挺",
    "真",
    "最",
    "更",
    "巨",
)
# Words that start with (or contain) a negator but negate nothing: 不错 is praise, 特别好 is not
# "别好", 未来 is not "not come". Matched before the negators so they are skipped whole; without
# this, 不错 also emitted ¬错 and 特别好 emitted ¬好 (found by leave-one-category-out error
# analysis on book reviews, where 不错 and ¬错 were the most misleading features).
NOT_NEGATIONS = (
    "不错",
    "不过",
    "不仅",
    "不但",
    "不断",
    "不同",
    "不少",
    "不久",
    "不管",
    "不论",
    "不然",
    "不愧",
    "不禁",
    "不如",
    "不得不",
    "不得了",
    "没错",
    "没想到",
    "差不多",
    "未来",
    "别人",
    "别的",
    "特别",
    "区别",
    "分别",
    "级别",
    "类别",
    "告别",
    "个别",
)
# Words between a negator and what it negates: 不太好, 不是很好, 没那么好, 不怎么样.
_SKIP = ("是很", "是太", "那么", "怎么", "这么", "太", "很", "大", "够", "算", "是", "会", "再")
CONTRAST = ("但是", "不过", "可是", "然而", "只是", "就是", "但", "却")
NEG_WINDOW = 2
# Net clause balance is bucketed up to this many clauses (Δ+1, Δ+2, Δ+3 for three or more).
NET_CAP = 3
# Longest plain character n-gram. Trigrams are mostly product vocabulary (measured: dropping them
# raised mean leave-one-category-out accuracy and left in-domain accuracy within 0.2 points).
MAX_NGRAM = 2

_NEG_RE = re.compile("|".join(sorted(NOT_NEGATIONS, key=len, reverse=True) + list(NEGATORS)))
_NOT_NEGATIONS = frozenset(NOT_NEGATIONS)
_DEG_RE = re.compile("|".join(sorted(DEGREE, key=len, reverse=True)))
_CONTRAST_RE = re.compile("^(?:" + "|".join(CONTRAST) + ")")
_CLAUSE_SPLIT = re.compile(r"[\s,.;:!?，。；：！？、~～…\"“”'‘’()（）【】\[\]《》<>/|#]+")
# A turn written without a comma (位置不错但是房间很旧, 个头小但很甜) starts a clause too, so that
# what follows it is read as the part after a contrast. Only 但 (and so 但是), after at least two
# characters of the clause, and not in 不但, 但凡 or 但愿: counted in the labelled reviews, the
# other contrast words are mostly something else inside a clause (再好不过, 不过瘾; 你们可是;
# 自然而; 只是 "only"; 就是好), and so is 却, an adverb inside its own clause (他们却不送).
_MID_CONTRAST = re.compile(r"(?<=..)(?<!不)(?=但(?![凡愿]))")
_MENTION = re.compile(r"@[\w\u4e00-\u9fff-]{1,30}")
_SENTENCE_SPLIT = re.compile(r"(?<=[。！？!?；;\n])")


LEXICON = Path(__file__).with_name("lexicon.txt")

# Social signals (see the module docstring). Searched in the lower-cased, half-width raw text
# (before emoticons are glossed, so [doge] is still visible).
# 呵呵 counts only at the start of the text, where it dismisses what follows (呵呵，品控真棒);
# at the end of a shop review it is mostly a friendly laugh (…感觉比较划算。呵呵): matched
# anywhere, it marked reviews that were 60 % positive as sarcastic.
_SARCASM = re.compile(
    r"^\W*呵呵|\[doge\]|\[微笑\]\s*$|我谢谢你|谢谢你全家|真是谢谢|好棒棒|吃了个寂寞|醉了"
)
# Praise that, after a complaint, is ironic: 真棒, 服务真好, 效率真高, 太贴心了, 真是良心 …
_PRAISE = re.compile(
    r"真(?:是)?(?:棒|好|行|高|厉害|贴心|大方|值|环保|诚恳|良心|不错|优秀|给力)|太(?:棒|贴心|好)了"
    r"|好样的|一流|杠杠的|厉害厉害|良心商家|干得漂亮|好家伙"
)
_RHETORICAL = re.compile(
    r"难道|凭什么|还有没有|有没有人管|怎么能|怎么可以|谁还敢|好意思|讲不讲|是摆设|不存在的吗|这也叫"
    r"|这就是.{0,10}[?？]|有这么.{0,10}吗|说好的.{0,12}呢|给人吃的吗|不会痛吗|不该.{0,10}吗"
    r"|活该|管这叫|谁受得了|心虚了吗|在干什么[?？]|哪里来的脸|就一句.{0,6}[?？]"
)
# What a complaint before ironic praise looks like when it has no lexicon word: a wait, a
# breakage, a repeat (等了三个小时，真棒; 刚买三天就坏了，质量真好).
_COMPLAINT = re.compile(  # 小时 but not 小时候 (childhood)
    r"又|还没|还不|等了|坏|洒|凉|漏|延误|取消|不提醒|不通知|不给|不道歉|过期|涨价|发错|坑|小时(?!候)"
    r"|一个月|刚.{0,4}就|黑脸|头发|碎|没解决|用半天|空盒"
)


def load_lexicon(path: Path = LEXICON) -> dict[str, list[str]]:
    """Sections of the lexicon file (``positive``, ``negative``, ``ignore``) → their words."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif current is None:
            raise ValueError(f"{path}:{number}: word {line!r} before any [section]")
        else:
            current.append(line)
    return sections


def _lexicon_pattern(sections: dict[str, list[str]]) -> tuple[re.Pattern[str], dict[str, int]]:
    polarity = dict.fromkeys(sections.get("ignore", []), 0)
    polarity.update(dict.fromkeys(sections.get("negative", []), -1))
    polarity.update(dict.fromkeys(sections.get("positive", []), 1))
    # Longest first, so 不满意 wins over 满意 and 差不多 (ignored) over 差.
    words = sorted(polarity, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words))), polarity


_LEXICON_RE, _POLARITY = _lexicon_pattern(load_lexicon())


def has_evaluative_word(text: str) -> bool:
    """True when ``text`` holds a word of the hand lexicon with a polarity (难喝, 很好; not the
    [ignore] look-alikes such as 差不多)."""
    return any(_POLARITY.get(m.group(0)) for m in _LEXICON_RE.finditer(text))


# The published general lexicon (HowNet, ``hownet.txt``): thousands of words, so it is matched
# with a dictionary scan rather than a regex alternation. The hand-written list (and its
# [ignore] look-alikes) wins where the two overlap.
GENERAL = Path(__file__).with_name("hownet.txt")


def _general_polarity(path: Path = GENERAL) -> dict[str, int]:
    sections = load_lexicon(path)
    polarity = dict.fromkeys(sections.get("negative", []), -1)
    polarity.update(dict.fromkeys(sections.get("positive", []), 1))
    for word in _POLARITY:
        polarity.pop(word, None)
    return polarity


_GENERAL = _general_polarity()


def _lengths_by_first_bigram(words: dict[str, int]) -> dict[str, tuple[int, ...]]:
    """For each first two characters, the lengths of the words that start with them, longest
    first: trying only those finds the same longest match as trying every length. Keyed by the
    first character, the scan was a third of all scoring time; by the first two, only the
    positions where a word can start are visited."""
    lengths: dict[str, set[int]] = {}
    for word in words:
        if len(word) < 2:  # hownet.txt has none; the scan would need every position again
            raise ValueError(f"general lexicon word {word!r} of one character")
        lengths.setdefault(word[:2], set()).add(len(word))
    return {first: tuple(sorted(found, reverse=True)) for first, found in lengths.items()}


_GENERAL_LENGTHS = _lengths_by_first_bigram(_GENERAL)
_GENERAL_PAIRS = frozenset(_GENERAL_LENGTHS)


def general_balance(clause: str, bigrams: list[str] | None = None) -> int:
    """Positive minus negative HowNet hits in a clause (greedy longest match, left to right;
    a hit at most two characters after a negator counts for the other side). ``bigrams`` are
    the clause's, when the caller has them already (:func:`clause_bigrams`)."""
    balance = 0
    after = 0  # the end of the last hit: the next starts there or later
    ends: list[int] | None = None
    lengths_of = _GENERAL_LENGTHS.get
    polarity_of = _GENERAL.get
    # Where a word can start, found in C: the clause's bigrams that begin a word, then where
    # each of those occurs (most clauses have none, and most of the rest one or two).
    pairs = _GENERAL_PAIRS.intersection(clause_bigrams(clause) if bigrams is None else bigrams)
    if not pairs:
        return 0
    starts = []
    for pair in pairs:
        i = clause.find(pair)
        while i >= 0:
            starts.append(i)
            i = clause.find(pair, i + 1)
    starts.sort()
    for i in starts:
        if i < after:
            continue
        # A length past the clause's end slices the rest of it, which can only be a word whose
        # length is also listed (its first two characters are the same): the same hit.
        for length in lengths_of(clause[i : i + 2], ()):
            polarity = polarity_of(clause[i : i + length])
            if polarity:
                break
        else:
            continue
        if ends is None:
            ends = [m.end() for m in _NEG_RE.finditer(clause) if m.group() not in _NOT_NEGATIONS]
        if any(0 <= i - end <= 2 for end in ends):
            polarity = -polarity
        balance += polarity
        after = i + length
    return balance


def prepare(text: str) -> str:
    """The text the features see: half-width, lower-case, emoticons glossed, @handles dropped."""
    return _prepare_folded(to_halfwidth(text).lower())


def _prepare_folded(text: str) -> str:
    """:func:`prepare` of text already half-width and lower-case."""
    if "@" in text:
        text = _MENTION.sub(" ", text)
    return replace_with_gloss(text)


def clauses(text: str) -> list[str]:
    """Clauses of prepared text, split on punctuation and whitespace, and before a 但 or 但是
    inside a clause (:data:`_MID_CONTRAST`)."""
    found: list[str] = []
    for clause in _CLAUSE_SPLIT.split(text):
        if "但" in clause:  # most clauses have none: no second regex for them
            found.extend(p for p in _MID_CONTRAST.split(clause) if p)
        elif clause:
            found.append(clause)
    return found


def sentences(text: str) -> list[str]:
    """Sentences of raw text (split after 。！？；and line breaks), stripped, non-empty."""
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]


def clause_bigrams(clause: str) -> list[str]:
    """The character bigrams of a clause in order, joined in C (``map`` over ``str.__add__``)
    rather than sliced one by one in Python."""
    return list(map(str.__add__, clause, clause[1:]))


# A skipped word with something after it, tried in :data:`_SKIP`'s order: one match in C
# rather than a ``startswith`` a word.
_SKIP_RE = re.compile("|".join(re.escape(skip) + "(?=.)" for skip in _SKIP), re.S)


def _after(clause: str, pos: int) -> str:
    skipped = _SKIP_RE.match(clause, pos)
    return clause[skipped.end() if skipped else pos :]


def clause_features(
    clause: str,
    out: set[str],
    contrast: bool = False,
    max_n: int = MAX_NGRAM,
    lexicon: bool = True,
    bigrams: list[str] | None = None,
) -> int:
    """Add the features of one clause to ``out`` (plain n-grams up to ``max_n`` characters;
    ``bigrams`` are the clause's, when the caller has them already).

    Returns the clause's lexicon balance: positive hits minus negative hits (negated hits count
    for the other side).
    """
    out.update(clause)
    if bigrams is None:
        bigrams = clause_bigrams(clause)
    if max_n >= 2:
        out.update(bigrams)
    if max_n >= 3:
        out.update(map(str.__add__, bigrams, clause[2:]))
    if contrast:
        out.update(["›" + bigram for bigram in bigrams])
    negation_ends = []
    for match in _NEG_RE.finditer(clause):
        if match.group() in _NOT_NEGATIONS:
            continue
        negation_ends.append(match.end())
        target = _after(clause, match.end())
        if target:
            out.add("¬" + target[:1])
            if len(target) > 1:
                out.add("¬" + target[:NEG_WINDOW])
    for match in _DEG_RE.finditer(clause):
        target = clause[match.end() : match.end() + 2]
        if target:
            out.add("+" + target[:1])
            if len(target) > 1:
                out.add("+" + target)
    return _lexicon_balance(clause, negation_ends) + _than_before(clause) if lexicon else 0


# A comparison with an earlier time judges the change: 分量比以前少多了 and 比上次贵 complain,
# 比之前快多了 praises. The level words alone are no lexicon words (少, 小, 快 …) and their
# n-grams lean the wrong way (多了: 分量比以前少多了 scored 0.58). 不如以前 / 没以前好 is left to
# the negation of 好; counted as a complaint of its own it cost leave-one-category-out accuracy.
# Known limit: a fault that lessens (问题比以前少了, 掉发比以前少了) is read as a complaint.
_THAN_BEFORE = re.compile(
    r"比(?:以前|之前|上次|原来|以往|过去)的?[^比]{0,3}?(少|差|小|贵|慢|短|薄|淡|多|好|快|便宜|强)"
)
_WORSE_THAN_BEFORE = "少差小贵慢短薄淡"  # level words of a change for the worse


def _than_before(clause: str) -> int:
    """−1 for a clause saying something got worse than before, +1 for better, else 0."""
    match = _THAN_BEFORE.search(clause)
    if match is None:
        return 0
    return -1 if match.group(1) in _WORSE_THAN_BEFORE else 1


def _lexicon_balance(clause: str, negation_ends: list[int]) -> int:
    balance = 0
    for match in _LEXICON_RE.finditer(clause):
        polarity = _POLARITY[match.group()]
        if not polarity:
            continue
        # Negated when a negator ends at most two characters before (不是很满意, 没那么好).
        start = match.start()
        if any(0 <= start - end <= 2 for end in negation_ends):
            polarity = -polarity
        balance += polarity
    return balance


def _net_balance(out: set[str], mark: str, positive: int, negative: int) -> None:
    # Which side has more leaning clauses, capped at three: a long review with pros and cons
    # emits both ⊕⊕ and ⊖⊖, which alone cannot say where the majority (the verdict) lies.
    net = positive - negative
    if net:
        out.add(f"{mark}{'+' if net > 0 else '-'}{min(abs(net), NET_CAP)}")


# The clauses of the last text read with the social signals (as the shipped model reads) and
# what they gave: their features, hand and HowNet balances, and whether they praise; by the
# clause and whether a contrast came before it. A long text is read whole and then sentence by
# sentence (``model.scored_units``), and its sentences' clauses are its own: measured, 31 % of
# the clauses of the held-out texts are read again so. Only the last text's, so that it holds
# little; one tuple, replaced whole, so that a thread reading another text (or with other
# flags) never finds its entries under the wrong key.
_Seen = dict[tuple[str, bool], tuple[set[str], int, int, bool]]
_SEEN: tuple[tuple[int, bool, bool], str, _Seen] = ((0, False, False), "", {})
# A text inside the last one (a sentence, or a short text that happens to be) reads on from
# its table; past this many clauses the table starts again all the same.
_SEEN_MAX = 512


def _seen_clauses(prepared: str, flags: tuple[int, bool, bool]) -> _Seen:
    """The clauses already read of the text that ``prepared`` is part of (:data:`_SEEN`), or
    a new empty table for it, when it is not part of the last text or ``flags`` changed."""
    global _SEEN
    seen_flags, seen_text, seen = _SEEN
    if seen_flags != flags or prepared not in seen_text or len(seen) > _SEEN_MAX:
        seen = {}
        _SEEN = (flags, prepared, seen)
    return seen


def extract(
    text: str,
    max_n: int = MAX_NGRAM,
    lexicon: bool = True,
    social: bool = False,
    general: bool = False,
) -> set[str]:
    """The feature set of one text (already cleaned or raw; both work).

    ``max_n`` is the longest plain character n-gram, ``lexicon`` adds the lexicon features and
    ``social`` the social signals; a model scores with the values it was trained with.

    Examples
    --------
    >>> sorted(f for f in extract("不太满意") if f[0] in "¬+§")
    ['+满', '+满意', '§3', '¬满', '¬满意']
    >>> sorted(f for f in extract("等了三个小时，真棒", social=True) if f[0] in "≀⊕⊖")
    ['≀', '⊖']
    """
    out: set[str] = set()
    turned = False
    size = positive = negative = 0
    folded = to_halfwidth(text).lower()
    prepared = _prepare_folded(folded)
    # The social signals are carried by the lexicon-balance marks, so they need the lexicon.
    social = social and lexicon
    sarcastic = social and _SARCASM.search(folded) is not None
    complained = False
    # A clause is part of the text, so a pattern found in no clause is not found in it either:
    # most texts have neither praise nor a complaint, and their clauses are not searched.
    praising = social and _PRAISE.search(prepared) is not None
    complaining = social and _COMPLAINT.search(prepared) is not None
    general = general and lexicon
    g_positive = g_negative = 0
    both_positive = both_negative = 0  # clauses by the sum of both lists' balances
    seen = _seen_clauses(prepared, (max_n, lexicon, general)) if social else {}
    for clause in clauses(prepared):
        if not turned and _CONTRAST_RE.match(clause):
            turned = True
        if not social:
            bigrams = clause_bigrams(clause)  # for both passes
            g_balance = general_balance(clause, bigrams) if general else 0
            balance = clause_features(clause, out, turned, max_n, lexicon, bigrams)
        else:
            found = seen.get((clause, turned))
            if found is None:
                bigrams = clause_bigrams(clause)  # for both passes
                g_balance = general_balance(clause, bigrams) if general else 0
                part: set[str] = set()
                balance = clause_features(clause, part, turned, max_n, lexicon, bigrams)
                praise = praising and _PRAISE.search(clause) is not None
                seen[clause, turned] = part, balance, g_balance, praise
            else:
                part, balance, g_balance, praise = found
            if (sarcastic and (balance > 0 or g_balance > 0 or praise)) or (complained and praise):
                # Irony: the praise words mean their opposite, so they are left out.
                out.add("≀")
                balance = -max(1, abs(balance))
                g_balance = -abs(g_balance)
            else:
                out.update(part)
            complained = (
                complained or balance < 0 or (complaining and _COMPLAINT.search(clause) is not None)
            )
        positive += balance > 0
        negative += balance < 0
        both_positive += balance + g_balance > 0
        both_negative += balance + g_balance < 0
        g_positive += g_balance > 0
        g_negative += g_balance < 0
        size += len(clause)
    if sarcastic:
        out.add("≀")
    if social and _RHETORICAL.search(prepared):
        # Matched on the whole text: the question mark is split off with the clauses.
        out.add("¿")
        negative += 1
    _net_balance(out, "Δ", positive, negative)
    if positive:
        out.add("⊕" if positive == 1 else "⊕⊕")
    if negative:
        out.add("⊖" if negative == 1 else "⊖⊖")
    if general:
        if g_positive:
            out.add("⊞" if g_positive == 1 else "⊞⊞")
        if g_negative:
            out.add("⊟" if g_negative == 1 else "⊟⊟")
        _net_balance(out, "∇", g_positive, g_negative)
        _net_balance(out, "◇", both_positive, both_negative)
    # The number of features grows with length, so the offset a text starts from must too:
    # one length-bucket feature lets "满意" alone be judged against other two-character texts.
    out.add(f"§{min(size.bit_length(), 8)}")
    return out


# The marks by which ``extract`` says a text judges something: a word of either lexicon (an
# emoticon's gloss included), irony, a rhetorical question.
_JUDGING_MARKS = "⊕⊖⊞⊟≀¿"


def evaluates(text: str) -> bool:
    """Whether ``text`` holds any sign of a judgement the scorer reads: a word of the hand or
    the general lexicon (an emoticon's gloss too), a sarcasm marker, a rhetorical question, or a
    complaint told without such words (a wait, a breakage: :data:`_COMPLAINT`)."""
    if _COMPLAINT.search(to_halfwidth(text).lower()):
        return True
    return any(f[0] in _JUDGING_MARKS for f in extract(text, social=True, general=True))
