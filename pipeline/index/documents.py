"""What the posts index stores for a Document record, and what a write run reports.

The indexed source is the record plus index-only fields: ``@timestamp`` (= ``created_at``, for
Kibana), ``first_seen``/``last_seen`` (crawl times, the indexing time for a record without a
``crawled_at``; the writer keeps the first on re-crawls and never sends an older crawl over a
newer one),
``engagement_total`` (sort key, no scripts on the node), ``aspect_labels`` and ``edited_at``
(:func:`edit_time`, the crawler's ``extra.edited_at`` as a mapped date); and ``cascade``,
which the daily spread run writes onto stored posts (:mod:`koubei.analysis.spread.daily`).
:func:`strip_index_fields` turns a stored source back into a plain Document record.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from koubei import timeutil
from koubei.crawlers.timeparse import check_plausible, parse_iso
from koubei.model import count_from_text
from koubei.pipeline.index.templates import posts_index

INDEX_TIME_ALLOWANCE = timedelta(days=1)
# ``cascade`` too: a copy read back and indexed again (``index load`` of an export) would put the
# cascade of that moment over the one the daily run keeps current.
INDEX_ONLY_FIELDS = (
    "@timestamp", "first_seen", "last_seen", "engagement_total", "aspect_labels", "cascade",
    "edited_at",
)  # fmt: skip
_OFFSET = re.compile(r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)$")


def _with_offset(value: Any) -> tuple[datetime, Any]:
    """A stored time as koubei reads it, and the value to index.

    A time without an offset (``2026-11-01T03:00:00``, ``2026-11-01`` in a foreign file given to
    ``index load``) is Shanghai time to koubei but UTC to Elasticsearch, which would file the post
    eight hours off; it is indexed spelled out with its offset. Other values are kept as sent.
    """
    when = parse_iso(value)
    if isinstance(value, str) and not _OFFSET.search(value.strip()):
        return when, when.isoformat()
    return when, value


def prepare(record: dict[str, Any], prefix: str) -> tuple[str, dict[str, Any]]:
    """The target index and the indexed source of a record (adds the index-only fields).

    A ``created_at`` more than a day ahead of the clock or before 2000 raises TimeParseError (a
    ValueError, so the writer dead-letters the record): it would open a far-future or stray
    monthly index. ``koubei process`` judges times strictly (minutes of skew); this coarse guard
    protects the index layout for ``index load`` of other files.
    """
    created, created_at = _with_offset(record["created_at"])
    now = timeutil.now().astimezone(UTC)
    check_plausible(created, now=now + INDEX_TIME_ALLOWANCE)
    seen = _with_offset(record["crawled_at"])[1] if record.get("crawled_at") else now.isoformat()
    source = dict(record)
    source["created_at"] = created_at
    if record.get("crawled_at"):
        source["crawled_at"] = seen
    else:
        # Never observed (an export): left out, not stored as null, so an update of a crawled
        # copy keeps the crawl time it has (a partial update leaves absent fields alone).
        source.pop("crawled_at", None)
    source["@timestamp"] = created_at
    # Index-only, as @timestamp: a record's own edited_at (none of koubei's) is not sent, and
    # a re-crawl that is no edit leaves the stored one in place (a partial update).
    source.pop("edited_at", None)
    if (edited := edit_time(record)) is not None:
        source["edited_at"] = edited
    source["first_seen"] = seen
    source["last_seen"] = seen
    engagement = _engagement(record.get("engagement"))
    if engagement is not None:
        source["engagement"] = engagement
    counts = (engagement or {}).values()
    source["engagement_total"] = sum(
        v for v in counts if isinstance(v, int) and not isinstance(v, bool)
    )
    # "aspect/label" pairs: aspects is a flat object array, so a terms split on aspects.aspect
    # and aspects.label would cross-match pairs; Kibana's aspect breakdown uses this instead.
    aspects = _objects(record.get("aspects"), "aspects")
    source["aspect_labels"] = [f"{a.get('aspect')}/{a.get('label')}" for a in aspects]
    return posts_index(prefix, created), source


def edit_time(record: dict[str, Any]) -> str | None:
    """The post's ``edited_at`` as the posts index maps it (a ``date``): the crawler's
    ``extra.edited_at`` (when its site edited the post after it landed,
    :mod:`koubei.crawlers.spiders.articles`) spelled out with its offset, or None.

    ``extra`` is not mapped (``enabled: false``: any shape is stored), so this copy is what
    Kibana and range queries read, as ``@timestamp`` is ``created_at``'s. A value that is no
    ISO time (a foreign file's) is left in ``extra`` and gives none: the post is stored as
    before, not refused for it. ``koubei index reindex`` sets it on posts stored without it.

    >>> edit_time({"extra": {"edited_at": "2026-11-26T12:07:00"}})
    '2026-11-26T12:07:00+08:00'
    >>> edit_time({"extra": {"edited_at": "昨天"}}) is None
    True
    """
    extra = record.get("extra")
    value = extra.get("edited_at") if isinstance(extra, dict) else None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = parse_iso(value)
    except ValueError:
        return None
    if (when.utcoffset() or timedelta(0)) % timedelta(minutes=1):
        try:
            when = when.astimezone(UTC)  # an offset in seconds, which Elasticsearch cannot read
        except OverflowError:
            # ``0001-01-01T00:05:00+08:05:43`` is in year 0 in UTC: no edit time. Was raised out
            # of the writer, so one such record stopped a whole `koubei index load` (session 37)
            return None
    return when.isoformat()


def _shown(value: Any) -> str:
    """A foreign value in a reason, in plain words: ``a string ('12')``, ``a list``."""
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"a number ({value})"
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def _engagement(value: Any) -> dict[str, Any] | None:
    """``engagement`` (None when absent) with its counts written as text read as numbers, as
    the document model reads them in ``koubei process`` (``"12"`` is 12: Elasticsearch stores
    it so, and it counts in ``engagement_total``); ValueError naming the field when it is no
    object of counts. A count no number can be read from (``"很多"``) is sent as it is, for
    Elasticsearch's mapping to refuse naming the field."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"engagement is {_shown(value)}, not an object of counts")
    counts = dict(value)
    for name, count in value.items():
        if isinstance(count, str):
            with contextlib.suppress(ValueError):
                counts[name] = count_from_text(count)
    return counts


def _objects(value: Any, name: str) -> list[dict[str, Any]]:
    """The list of objects ``value`` must be (none when absent), else ValueError naming it."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{name} is {_shown(value)}, not a list of objects")
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValueError(f"{name}[{position}] is {_shown(item)}, not an object")
    return value


def unindexable(record: Any, exc: Exception) -> str:
    """Why ``record`` cannot be indexed (``exc``: what :func:`prepare` or the writer's id
    check raised), naming it and the field in plain words, for its dead letter (was the Python
    error's repr: ``AttributeError("'str' object has no attribute 'values'")``)."""
    doc_id = record.get("id") if isinstance(record, dict) else None
    named = "unindexable record"
    if isinstance(doc_id, str | int) and not isinstance(doc_id, bool):
        shown = str(doc_id)
        named += f" {shown!r}" if len(shown) <= 80 else f" {shown[:60]!r}…"
    if isinstance(exc, KeyError):
        why = f"no {exc.args[0]!r} field" if exc.args else "a field is missing"
    elif isinstance(exc, ValueError):  # ours (and the time parser's): a sentence already
        why = str(exc)
    else:  # a shape nothing above foresaw: the error as it is, with its kind
        why = f"{type(exc).__name__}: {exc}"
    return f"{named}: {why}"


def strip_index_fields(source: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """A stored source back to a plain Document record (drops the index-only fields but
    ``keep``)."""
    return {k: v for k, v in source.items() if k not in INDEX_ONLY_FIELDS or k in keep}


@dataclass
class IndexReport:
    """What one run did. ``created + updated + failed + spooled == sent`` always holds."""

    sent: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    spooled: int = 0
    retries: int = 0
    seconds: float = 0.0
    # Every dead-letter file written: a file of bad lines and one of refused documents for one
    # input, one of each per spool file replayed. Naming only the first hid the others.
    dead_letters: list[Path] = field(default_factory=list)
    spool_files: list[Path] = field(default_factory=list)
    # The cluster was unreachable or kept refusing (retries used up, credentials refused): what
    # was spooled was spooled for that, not only refused for the cluster's state (a closed
    # month). Not a figure: left out of ``as_dict``.
    unavailable: bool = False
    # Why the cluster would not take what was spooled, where it said so in a way the operator
    # must act on (an index made read-only for a full disk, :func:`answers.disk_block_cause`),
    # each cause once. Not a figure: left out of ``as_dict``.
    causes: list[str] = field(default_factory=list)

    @property
    def dead_letter(self) -> Path | None:
        """The first of ``dead_letters`` (what the JSON's ``dead_letter`` has always named).

        Derived, not kept: a second field set beside the list could disagree with it.
        """
        return self.dead_letters[0] if self.dead_letters else None

    @property
    def acknowledged(self) -> int:
        return self.created + self.updated

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.spooled == 0

    def add(self, other: IndexReport) -> None:
        for name in ("sent", "created", "updated", "failed", "spooled", "retries", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dead_letters += [p for p in other.dead_letters if p not in self.dead_letters]
        self.spool_files += other.spool_files
        self.unavailable = self.unavailable or other.unavailable
        self.causes += [cause for cause in other.causes if cause not in self.causes]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
            "spooled": self.spooled,
            "retries": self.retries,
            "seconds": round(self.seconds, 3),
            "dead_letter": str(self.dead_letter) if self.dead_letter else None,
            "dead_letters": [str(p) for p in self.dead_letters],
            "spool_files": [str(p) for p in self.spool_files],
        }
