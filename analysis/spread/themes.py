"""Complaint themes of an incident: cluster its negative posts, name each by its top terms.

Each negative post's own words (the ``//@`` chain stripped, bare reposts skipped) become a
TF-IDF vector over its ``terms`` (filled by the processing stage; jieba if absent). Identical
texts are merged with a weight, so a copy-pasted script counts as one voice with many posts
rather than dragging every centroid. Spherical k-means (cosine, k-means++ seeding, fixed seed)
groups them; each theme is named by the highest-weight terms of its centroid and shown with the
post closest to it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

import numpy as np
from scipy import sparse

from koubei.analysis.spread.chains import DELETED_NOTICE, own_text, record_text
from koubei.analysis.spread.coordination import normalise
from koubei.pipeline.clean.normalise import remove_urls
from koubei.pipeline.clean.terms import segment_terms
from koubei.pipeline.sentiment.opinion import own_text as opinion_own_text

__all__ = ["themes", "tokens"]

_STOP = set(
    [
        "的",
        "了",
        "是",
        "我",
        "你",
        "他",
        "她",
        "它",
        "们",
        "这",
        "那",
        "就",
        "都",
        "也",
        "还",
        "又",
        "在",
        "有",
        "和",
        "与",
        "及",
        "或",
        "被",
        "把",
        "给",
        "让",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "哦",
        "一个",
        "没有",
        "什么",
        "怎么",
        "真的",
        "不是",
        "就是",
        "已经",
        "因为",
        "所以",
        "但是",
        "而且",
        "我们",
        "你们",
        "他们",
        "这个",
        "那个",
        "自己",
        "转发",
        "转发微博",
        "回复",
        "微博",
        # Words that fill every complaint and name none (seen leading themes of real reviews).
        "还有",
        "早就",
        "以后",
        "以前",
        "那么",
        "这么",
        "知道",
        "好像",
        "东西",
        "时候",
        "起来",
        "结果",
        "其实",
        "可能",
        "一直",
        "现在",
        "真是",
        "不过",
        "一点",
        "有点",
        "真心",
        "这次",
        "之后",
        "其他",
        "出来",
        "根本",
        "而已",
        "好多",
    ]
)
# A number with or without its measure word: 两个, 三次, 第一次, 100块 say how many, not what.
_COUNTED = re.compile(
    r"第?[\d一二三四五六七八九十两几半百千万]+[个次只件天年月块元斤箱瓶盒袋遍回下点]?"
)
# @handles (a handle runs to the next space or punctuation, as the platform reads it). Links go
# with cleaning's ``remove_urls``, which stops at the first non-ASCII character: a link glued to
# words (``t.cn/A6abcd变质了``) leaves the words.
_HANDLES = re.compile(r"@[\w\-·・]{1,30}")
_DELETED = DELETED_NOTICE


def tokens(record: dict[str, Any]) -> list[str]:
    """Terms of a record's own words: ``terms`` if given, else the processing stage's words.

    Own words are the text before the ``//@`` chain, without a ``回复@name:`` prefix, link
    cards (``O网页链接``, ``展开全文c``), links, ``@handles`` or the notice a deleted post leaves
    (``抱歉，此微博已被作者删除``). Left out as well: stop words, numbers with their measure word
    (``两个``, ``第一次``) and the names of the record's own ``brands``, which every post of an
    incident names and which would otherwise lead every theme.

    Examples
    --------
    >>> tokens({"terms": ["牛奶", "变质", "的"], "text_raw": "ignored"})
    ['牛奶', '变质']
    >>> tokens({"text_raw": "@鲜牧乳业 两个都变质了 网页链接", "brands": ["鲜牧"]})
    ['变质']
    """
    text = record_text(record)
    words = _words(own_text(text))
    terms = record.get("terms")
    named = record.get("brands")
    brands = [str(b).lower() for b in named if b] if isinstance(named, list) else []
    if terms and isinstance(terms, list):
        found = [str(t).strip().lower() for t in terms]
        if words != text.strip():
            # The pipeline's terms cover the whole text (chain, links and handles included):
            # keep those in the author's own words.
            lowered = words.lower()
            found = [t for t in found if t in lowered]
    else:
        found = segment_terms(words)
    return [
        t
        for t in found
        if len(t) >= 2
        and t not in _STOP
        and not t.isdigit()
        and not _COUNTED.fullmatch(t)
        and not any(t in brand or brand in t for brand in brands)
    ]


def _words(own: str) -> str:
    """The author's own words (after the chain is cut) without platform furniture."""
    if _DELETED.search(own):
        return ""
    return _HANDLES.sub(" ", remove_urls(opinion_own_text(own))).strip()


def _post_key(record: dict[str, Any]) -> tuple[str, ...]:
    fields = ("id", "created_at", "crawled_at")
    return (*(str(record.get(field)) for field in fields), record_text(record))


def _tfidf(docs: list[list[str]]) -> tuple[sparse.csr_matrix, list[str]]:
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for row, doc in enumerate(docs):
        for term, count in Counter(doc).items():
            rows.append(row)
            cols.append(vocab.setdefault(term, len(vocab)))
            vals.append(1.0 + math.log(count))
    X = sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(vocab)))
    df = np.bincount(X.indices, minlength=len(vocab))
    X = X.multiply(np.log((1 + len(docs)) / (1 + df)) + 1.0).tocsr()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ X
    terms = [""] * len(vocab)
    for term, index in vocab.items():
        terms[index] = term
    return X.tocsr(), terms


def _spherical_kmeans(
    X: sparse.csr_matrix, weights: np.ndarray, k: int, seed: int, iterations: int = 25
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    # k-means++ on cosine distance, heavier texts likelier as seeds.
    centres = [int(rng.choice(n, p=weights / weights.sum()))]
    closest = 1.0 - (X @ X[centres[0]].T).toarray().ravel()
    for _ in range(1, k):
        p = np.maximum(closest, 0) * weights
        if p.sum() <= 0:
            break
        centres.append(int(rng.choice(n, p=p / p.sum())))
        closest = np.minimum(closest, 1.0 - (X @ X[centres[-1]].T).toarray().ravel())
    C = X[centres].toarray()
    labels = np.full(n, -1)
    for _ in range(iterations):
        new = np.asarray((X @ C.T).argmax(axis=1)).ravel()
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(C.shape[0]):
            members = labels == j
            if members.any():
                centre = np.asarray(X[members].T @ weights[members]).ravel()
                C[j] = centre / max(np.linalg.norm(centre), 1e-12)
    return labels


def _merge_similar(
    X: sparse.csr_matrix, weights: np.ndarray, labels: np.ndarray, threshold: float
) -> np.ndarray:
    """Relabel so clusters whose centres have cosine >= ``threshold`` become one."""
    ids = sorted(set(labels.tolist()))
    centres = []
    for j in ids:
        members = labels == j
        centre = np.asarray(X[members].T @ weights[members]).ravel()
        centres.append(centre / max(np.linalg.norm(centre), 1e-12))
    similar = np.array(centres) @ np.array(centres).T
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            if similar[a, b] >= threshold:
                parent[find(b)] = find(a)
    mapping = {j: ids[find(i)] for i, j in enumerate(ids)}
    return np.array([mapping[j] for j in labels.tolist()])


def themes(
    records: list[dict[str, Any]],
    *,
    max_themes: int = 5,
    top_terms: int = 5,
    negative_only: bool = True,
    merge_similarity: float = 0.5,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Cluster an incident's negative posts into named themes, biggest first.

    Returns
    -------
    list of dict
        Per theme: ``terms`` (top terms), ``name`` (the first three joined by ``/``), ``posts``
        (how many posts), ``share`` of the clustered posts, ``representative`` (id and text of
        the post closest to the centre) and ``ids`` of up to 50 member posts. The answer does
        not depend on the order of ``records``: texts are clustered in a fixed order and each
        text's posts are taken by id (ties between themes of one size: by name).

    Examples
    --------
    >>> neg = {"label": "negative"}
    >>> recs = [{"id": i, "sentiment": neg, "terms": t.split(), "text_raw": t} for i, t in
    ...         enumerate(["牛奶 变质 发酸", "牛奶 发酸 变质 退货", "客服 不理 退款",
    ...                    "客服 退款 拖延", "变质 牛奶 发酸"])]
    >>> found = themes(recs, max_themes=2)
    >>> [t["posts"] for t in found], sorted(found[1]["terms"][:2])
    ([3, 2], ['客服', '退款'])
    """
    chosen = [
        r
        for r in records
        if not negative_only or (r.get("sentiment") or {}).get("label") == "negative"
    ]
    merged: dict[str, list[dict[str, Any]]] = {}
    for record in chosen:
        key = normalise(record_text(record))
        if key:
            merged.setdefault(key, []).append(record)
    # Texts in a fixed order, and each text's posts by id: k-means++ seeds by row, so the order
    # records came in (ES hits, a shuffled file) changed the themes, their names and the
    # representative post.
    groups = [
        (members, tokens(members[0]))
        for _key, members in sorted(
            (key, sorted(members, key=_post_key)) for key, members in merged.items()
        )
    ]
    groups = [(members, toks) for members, toks in groups if toks]
    if not groups:
        return []
    X, vocab = _tfidf([toks for _members, toks in groups])
    weights = np.array([len(members) for members, _toks in groups], dtype=float)
    # Ask for max_themes clusters, then merge clusters whose centres say the same thing, so
    # one complaint told many ways does not come back as five themes.
    labels = _spherical_kmeans(X, weights, min(max_themes, len(groups)), seed)
    labels = _merge_similar(X, weights, labels, merge_similarity)
    total = float(weights.sum())
    result: list[dict[str, Any]] = []
    for j in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == j)
        centre = np.asarray(X[idx].T @ weights[idx]).ravel()
        order = np.argsort(-centre, kind="stable")[:top_terms]
        names = [vocab[i] for i in order if centre[i] > 0]
        best = idx[int(np.argmax((X[idx] @ centre).ravel()))]
        rep = groups[best][0][0]
        members = [m for i in idx for m in groups[i][0]]
        result.append(
            {
                "name": " / ".join(names[:3]),
                "terms": names,
                "posts": len(members),
                "share": round(len(members) / total, 4),
                "representative": {
                    "id": rep.get("id"),
                    "text": own_text(record_text(rep))[:300],
                },
                "ids": [m.get("id") for m in members[:50]],
            }
        )
    result.sort(key=lambda t: (-t["posts"], t["name"]))
    return result
