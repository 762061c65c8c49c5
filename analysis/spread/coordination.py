"""Coordinated posting (水军): bursts of near-duplicate text from many accounts.

Organic outrage repeats a story in many words; paid posting repeats one script. A group of
posts sharing one text (the cleaning stage's ``dup_cluster``, else the normalised own text of
the post, chain and links stripped) is suspicious when many distinct accounts posted it within a
short burst and the accounts look alike: few followers, new accounts, or machine-regular
posting intervals. Bare reposts ("转发微博") are the normal way to share and are never grouped.

:func:`coordination` gives a verdict an alert can carry ("organic" / "likely coordinated"), the
evidence per suspicious group, and the ids of the flagged posts so analysts can filter them.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from koubei.analysis.spread.cascade import parse_time, time_of_day
from koubei.analysis.spread.chains import own_text, record_text
from koubei.crawlers.textutil import parse_count
from koubei.pipeline.clean.normalise import remove_urls

__all__ = ["COORDINATED", "ORGANIC", "coordination", "normalise"]

ORGANIC = "organic"
COORDINATED = "likely coordinated"

_BARE_REPOSTS = {"", "转发微博", "转发", "轉發微博", "repost", "转", "分享图片"}
# Links (cleaning's ``remove_urls``: a link glued to words leaves the words), mentions and emoji
# codes go first: their characters would otherwise be split apart.
_MARKUP = re.compile(r"@[\w\-·]{1,30}|\[[^\]\s]{1,8}\]")
_PUNCT_DIGITS = re.compile(r"[\W_\d]+")


def normalise(text: str | None) -> str:
    """A post's own words with links, mentions, emoji codes, digits and punctuation removed.

    Examples
    --------
    >>> normalise("鲜牧 太差了！！[怒] @小王 http://t.cn/abc 123//@老李: 转发")
    '鲜牧太差了'
    """
    words = own_text(text)
    return _PUNCT_DIGITS.sub("", _MARKUP.sub("", remove_urls(words))).lower()


def _group_key(record: dict[str, Any], min_chars: int) -> str | None:
    text = normalise(record_text(record))
    if text in _BARE_REPOSTS or len(text) < min_chars:
        return None
    return f"text:{text}"


def _account_age_days(record: dict[str, Any], created: datetime | None) -> float | None:
    opened = parse_time((record.get("extra") or {}).get("author_created_at"))
    if opened is None or created is None:
        return None
    return (created - opened).total_seconds() / 86400


def _group_evidence(members: list[dict[str, Any]], low_followers: int) -> dict[str, Any]:
    stamps = sorted(t.timestamp() for m in members if (t := time_of_day(m)))
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    authors = {
        (m.get("author") or {}).get("id") or (m.get("author") or {}).get("name") for m in members
    }
    # Counts as pages write them ("1.2万") are numbers; junk counts as unknown.
    followers = [parse_count((m.get("author") or {}).get("followers")) for m in members]
    known = [f for f in followers if f is not None and f >= 0]
    ages = [
        a
        for m in members
        if (a := _account_age_days(m, parse_time(m.get("created_at")))) is not None
    ]
    mean_gap = statistics.fmean(gaps) if gaps else None
    return {
        "posts": len(members),
        "accounts": len(authors - {None}),
        "span_seconds": stamps[-1] - stamps[0] if stamps else None,
        "median_interval_seconds": statistics.median(gaps) if gaps else None,
        "interval_cv": (
            round(statistics.pstdev(gaps) / mean_gap, 3) if gaps and mean_gap else None
        ),
        "low_follower_share": (
            round(sum(f < low_followers for f in known) / len(known), 3) if known else None
        ),
        "new_account_share": round(sum(a < 30 for a in ages) / len(ages), 3) if ages else None,
        "verified_share": round(
            sum(bool((m.get("author") or {}).get("verified")) for m in members) / len(members), 3
        ),
    }


def coordination(
    records: list[dict[str, Any]],
    *,
    min_accounts: int = 5,
    burst_seconds: float = 3 * 3600,
    low_followers: int = 50,
    min_chars: int = 6,
    flagged_share: float = 0.1,
) -> dict[str, Any]:
    """Flag bursts of one text from many look-alike accounts; verdict for the whole incident.

    A group is flagged when at least ``min_accounts`` distinct accounts posted it within
    ``burst_seconds`` and at least one account signal holds: half or more of them have fewer
    than ``low_followers`` followers, half or more are under 30 days old (when
    ``extra.author_created_at`` is known), or the posting intervals are machine-regular
    (coefficient of variation below 0.5). The incident is "likely coordinated" when flagged
    posts are at least ``flagged_share`` of all posts.

    Returns
    -------
    dict
        ``verdict``, ``coordinated_share``, ``groups`` (evidence per flagged group, largest
        first, with a sample text and its ``signals``) and ``coordinated_ids``.

    Examples
    --------
    >>> script = "鲜牧牛奶喝出异物，大家千万别买"
    >>> posts = [{"id": f"w:{i}", "text_raw": script, "author": {"id": f"u{i}", "followers": 3},
    ...           "created_at": f"2026-11-25T10:{i:02d}:00+08:00"} for i in range(8)]
    >>> coordination(posts)["verdict"]
    'likely coordinated'
    >>> coordination(posts[:3])["verdict"]
    'organic'
    """
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        key = _group_key(record, min_chars)
        if key is not None:
            groups[key].append(record)
    flagged = []
    for key, members in groups.items():
        evidence = _group_evidence(members, low_followers)
        if evidence["accounts"] < min_accounts:
            continue
        if evidence["span_seconds"] is None or evidence["span_seconds"] > burst_seconds:
            continue
        signals = []
        if (evidence["low_follower_share"] or 0) >= 0.5:
            signals.append("low_followers")
        if (evidence["new_account_share"] or 0) >= 0.5:
            signals.append("new_accounts")
        if evidence["interval_cv"] is not None and evidence["interval_cv"] < 0.5:
            signals.append("regular_intervals")
        if not signals:
            continue
        evidence.update(
            key=key,
            text=record_text(members[0])[:200],
            signals=signals,
            ids=[m["id"] for m in members if m.get("id")],
        )
        flagged.append(evidence)
    flagged.sort(key=lambda g: (-g["posts"], g["key"]))
    ids = [i for g in flagged for i in g["ids"]]
    share = len(ids) / len(records) if records else 0.0
    return {
        "verdict": COORDINATED if records and share >= flagged_share else ORGANIC,
        "coordinated_share": round(share, 4),
        "groups": [{k: v for k, v in g.items() if k != "ids"} for g in flagged],
        "coordinated_ids": ids,
    }


def organic(
    records: list[dict[str, Any]], report: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The ``records`` not flagged as coordinated (by ``report``, else by :func:`coordination`
    of them): the posts complaint themes are drawn from, on the incident page and the daily
    brief alike, so that a paid script does not pose as the main complaint."""
    flagged = set((report or coordination(records))["coordinated_ids"])
    return [r for r in records if r.get("id") not in flagged]
