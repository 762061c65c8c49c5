"""Which configured brands a text is about, and why.

A brand matches when one of its terms (name or alias, case-insensitive) occurs in a field and
none of its exclusion words does: ``鲜牧场`` (a resort) contains ``鲜牧`` but is off-topic.
Fields are tried in the order given, so a review matches through its product name, and a repost
or comment that does not name a brand itself matches through the post it answers (``root_text``).
Context fields only speak when the item's own fields name no brand: a comment about 鲜牧 under a
video comparing 鲜牧 with 北岭 is about 鲜牧, not both.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from koubei.config import Brand, BrandsConfig
from koubei.model import BrandMatch

# Fields that describe what an item replies to, not the item itself.
CONTEXT_FIELDS = frozenset({"root_text"})


def tracked_brands(brands: BrandsConfig, names: Sequence[str] | None) -> list[Brand]:
    """The brands a source tracks: ``names`` (its ``brands`` field) or all of them."""
    if not names:
        return list(brands.brands)
    return [brands.get(name) for name in names]


def keywords(brands: Iterable[Brand], extra: Iterable[str] = ()) -> list[str]:
    """Search keywords: every brand term plus the source's extra keywords, de-duplicated.

    Terms differing only in case (``XianMu``/``xianmu``) are searched once.
    """
    seen: set[str] = set()
    out: list[str] = []
    for term in [*(t for b in brands for t in b.terms), *extra]:
        if term.lower() not in seen:
            seen.add(term.lower())
            out.append(term)
    return out


def digest(brands: Iterable[Brand]) -> str:
    """A short hash of what matching reads of ``brands``: each one's name, aliases and
    exclusion words, in no order.

    It changes when ``brands.yaml`` changes what a text can be matched to (a brand or an alias
    added or removed, an exclusion word), not when competitors, the order or comments do: the
    crawl state keeps it per page landed, and a page matched under another digest is read
    whole and matched again (:class:`koubei.crawlers.state.Validators`).

    Examples
    --------
    >>> from koubei.config import Brand
    >>> one = [Brand(name="鲜牧", aliases=["XianMu"]), Brand(name="北岭", competitors=["鲜牧"])]
    >>> same = [Brand(name="北岭"), Brand(name="鲜牧", aliases=["XianMu"])]
    >>> digest(one) == digest(same)  # another order, no competitors
    True
    >>> digest(one) == digest([*one, Brand(name="云朵")]), len(digest(one))
    (False, 12)
    """
    said = sorted([b.name, sorted(b.aliases), sorted(b.exclude)] for b in brands)
    return hashlib.sha1(json.dumps(said, ensure_ascii=False).encode("utf-8")).hexdigest()[:12]


def match_brands(
    fields: Sequence[tuple[str, str | None]], brands: Iterable[Brand]
) -> tuple[list[str], list[BrandMatch], list[str]]:
    """Match ``(field name, text)`` pairs against brands.

    Returns
    -------
    (matched brand names, the matches saying which term in which field, brands excluded)
        A brand whose exclusion word occurs in any field is in the third list, not the first.
        Only when nothing matches is the text tried again converted to simplified script.
    """
    result = _match(fields, brands := list(brands))
    if result[0] or result[2]:
        return result
    # Traditional-script pages (鮮牧 on a Taiwan or Hong Kong site) name the brand too.
    simplified = [(name, _to_simplified(text)) for name, text in fields]
    if simplified != list(fields):
        return _match(simplified, brands)
    return result


@functools.cache
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def _to_simplified(text: str | None) -> str | None:
    if not text or text.isascii():
        return text
    return str(_converter().convert(text))


def _match(
    fields: Sequence[tuple[str, str | None]], brands: list[Brand]
) -> tuple[list[str], list[BrandMatch], list[str]]:
    lowered = [(name, (text or "").lower()) for name, text in fields]
    matched: list[str] = []
    matches: list[BrandMatch] = []
    excluded: list[str] = []
    for brand in brands:
        if any(word.lower() in text for word in brand.exclude for _, text in lowered):
            excluded.append(brand.name)
            continue
        hit = _first_hit(brand, lowered)
        if hit:
            matched.append(brand.name)
            matches.append(BrandMatch(brand=brand.name, term=hit[1], field=hit[0]))
    own = [m for m in matches if m.field not in CONTEXT_FIELDS]
    if own and len(own) < len(matches):
        matched = [m.brand for m in own]
        matches = own
    return matched, matches, excluded


def _first_hit(brand: Brand, fields: list[tuple[str, str]]) -> tuple[str, str] | None:
    for field, text in fields:
        for term in brand.terms:
            if term.lower() in text:
                return field, term
    return None
