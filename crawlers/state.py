"""Per-source incremental state: a watermark, a bounded set of seen ids and of last counts.

Kept in ``$KOUBEI_HOME/crawl-state/<source>.json`` and written atomically at the end of a crawl
(only then: a crawl that dies half-way re-fetches, it never skips; nor after a crawl that lost a
page, which would otherwise skip that page's items for good). A spider stops paging a
newest-first listing once a whole page is at or below the watermark or already seen. The counts
are what a counter of an item was at the last complete crawl (a Weibo comment's reply count): an
item seen before is read again when its count grew since (its new replies), not when it did not.
The missing are the pages that answered 404 Not Found, with when they first did and on how many
runs: such a page is asked again until it has answered so on ``MISSING_RUNS`` runs over at least
``MISSING_SPAN`` (a site's slip, a page being moved, comes back), then read (:meth:`note_gone`);
not on every run meanwhile, but once ``MISSING_RECHECK`` after its first 404, then once
``MISSING_SPAN`` after it (:meth:`missing_due`). One no run asked for ``MISSING_KEEP`` (its
feed no longer lists it) is forgotten at :meth:`save`. A page robots.txt refused waits so too
(:meth:`note_refused`).
The validators are what a page read last answered with (its ``ETag`` and ``Last-Modified``)
and a fingerprint of the text landed from it: a page read again (its feed dates it anew) is
asked conditionally, and one answering ``304 Not Modified`` or with the text landed before is
not landed again (:meth:`validators`). They keep the time (and its precision) the page landed
with first too: an edit landed again keeps it (:meth:`note_landed`), and the brands it landed
with and the brand configuration its text was last matched under: a page whose text is
unchanged lands again once ``brands.yaml`` changes what it names (:meth:`note_matched`).
The feeds are what each feed or sitemap answered when a complete run last read it whole
(:class:`FeedAnswer`): it is asked conditionally too, and a ``304`` says its entries are the
ones that run judged (:meth:`feed_answer`); those of feeds the source no longer configures are
dropped at :meth:`save`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from koubei import paths, timeutil
from koubei.atomicfile import atomic_write
from koubei.crawlers._feed_answer import MAX_FEED_LIST, FeedAnswer, parse_entry, unreachable
from koubei.crawlers._state_file import empty, parse_state

__all__ = ["MAX_FEED_LIST", "CrawlState", "FeedAnswer", "Validators", "page_of", "read_mark"]

MAX_SEEN = 200_000  # bounded so the file stays small; oldest ids are forgotten first
# A page answering 404 is taken as gone once it has done so on this many runs over this long:
# a page moved or unpublished for an edit usually comes back within hours, and a day of
# 5-minute runs asks a dead link 288 times at most, not for good.
MISSING_RUNS = 3
MISSING_SPAN = timedelta(days=1)
# Nor asked on every run meanwhile (288 times a day at 5-minute runs): again an hour after the
# first 404 (a slip, an article unpublished for an edit, is usually back by then), then not
# before MISSING_SPAN after it, where the last ask decides.
MISSING_RECHECK = timedelta(hours=1)
# A page asked on that plan is read or found within MISSING_SPAN of its first 404: one still
# missing a week after it was asked by no run since (its feed dropped it, or its date is below
# the watermark), and is forgotten; asked again, it starts over.
MISSING_KEEP = timedelta(days=7)
# Why a page waits under ``missing`` besides a 404: robots.txt refused it (note_refused).
ROBOTS = "robots"
# Longer validators are not kept (nor sent): a server's ETag is a hash or a version, tens of
# bytes; a hostile or broken one must not grow the state file.
MAX_VALIDATOR = 200


@dataclass(frozen=True)
class Validators:
    """What a page read last answered with, and the fingerprint of the text landed from it.

    ``etag`` and ``last_modified`` are the ``ETag`` and ``Last-Modified`` headers as sent
    ("" for none), to send back as ``If-None-Match`` and ``If-Modified-Since``; ``landed`` is
    :func:`koubei.crawlers.spiders._conditional.fingerprint` of the last record landed from it
    ("" for none); ``created`` and ``precision`` the ``created_at`` (ISO) and ``time_precision``
    of the first record landed from it ("" for none); ``matched_under`` the
    :func:`koubei.crawlers.brandmatch.digest` of the brands its text was last matched against
    ("" for none kept: read before it was, or never matched) and ``brands`` the brands the
    last record landed from it has (sorted; None when not known).

    Both of the last two, as neither alone will do. The digest is known before a page is
    asked, with no text: a page matched under another configuration is asked without
    condition (a 304 would leave no text to match again), one matched under this one keeps its
    304. The brands decide whether its unchanged text lands again: most changes to the file
    (a brand another page names, an exclusion word) leave most pages' brands as they were, and
    those stay unlanded; a digest alone would land every page read after any change, and the
    brands alone could not tell which pages to ask whole. Twenty-odd bytes a page.
    """

    etag: str = ""
    last_modified: str = ""
    landed: str = ""
    created: str = ""
    precision: str = ""
    matched_under: str = ""
    brands: tuple[str, ...] | None = None

    def worth_keeping(self) -> bool:
        """Whether there is anything to keep: validators to send, or a text landed. The
        configuration matched under alone is not (a page neither asked conditionally nor
        landed is read whole and matched anew on every ask)."""
        return bool(self.etag or self.last_modified or self.landed)


class CrawlState:
    """Watermarks (per target key, e.g. a keyword or product id) and seen ids of one source."""

    def __init__(self, source: str, path: Path | None = None) -> None:
        self.source = source
        self.path = path or paths.state_dir("crawl-state") / f"{source}.json"
        self.watermarks: dict[str, str] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        # Only what earlier runs saw decides "known": within a run, keyword searches overlap and
        # one keyword's page must not stop another keyword's paging (the pipeline de-duplicates).
        # Each item's last entry: ``<doc id>`` (read for good) or ``<doc id> @<version>``.
        self._last_before: dict[str, str] = {}
        self._new_marks: dict[str, datetime] = {}
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._new_counts: dict[str, int] = {}
        # doc id -> (first 404, runs that answered 404, why: "" or ROBOTS), and the ids found
        # again this run
        self._missing: dict[str, tuple[str, int, str]] = {}
        self._found: set[str] = set()
        self._validators: OrderedDict[str, Validators] = OrderedDict()
        self._new_validators: dict[str, Validators] = {}
        self._feeds: dict[str, FeedAnswer] = {}
        self._new_feeds: dict[str, FeedAnswer] = {}
        #: Why the saved state could not be read (it was moved aside), or "".
        self.unreadable = ""
        data = self._load()
        self.watermarks = data["watermarks"]
        self._seen = OrderedDict.fromkeys(data["seen"])
        self._last_before = {page_of(key): key for key in self._seen}
        self._counts = OrderedDict(data["counts"])
        self._missing = {k: _missing(v) for k, v in data["missing"].items()}
        self._missing_before = dict(self._missing)
        self._validators = OrderedDict(
            (doc_id, _validators(entry)) for doc_id, entry in data["validators"].items()
        )
        self._feeds = {url: parse_entry(entry) for url, entry in data["feeds"].items()}
        self._feeds_loaded = dict(self._feeds)

    def _load(self) -> dict[str, Any]:
        """The saved state, checked; a file that cannot be read as one is moved aside.

        A state file cut short (a full disk, a copy interrupted), edited by hand or written by
        something else used to stop every crawl of the source at its first line, for good.
        It is kept beside as ``<source>.json.unreadable-<pid>`` for a look, and the crawl
        starts without state: it re-reads its targets up to ``max_pages`` (the landed records
        keep their ids, so later stages update them in place).
        """
        try:
            return parse_state(self.path.read_bytes())
        except FileNotFoundError:
            return empty()
        except (OSError, ValueError) as exc:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{os.getpid()}")
            try:
                os.replace(self.path, aside)
            except OSError:
                aside = self.path
            self.unreadable = f"{self.path}: {exc}; kept as {aside.name}, crawling without state"
            return empty()

    def watermark(self, key: str) -> datetime | None:
        """The newest ``created_at`` stored for ``key`` by a previous run."""
        value = self.watermarks.get(key)
        return datetime.fromisoformat(value) if value else None

    def seen(self, doc_id: str, version: str | None = None) -> bool:
        """Landed or read by an earlier run for good (without a version); with ``version``,
        or read by one as of that version (:meth:`mark_read`).

        An item read last as of another version (its feed dates it anew: an edit) is not seen,
        landed or not; one read last without a version (landed by a spider that keeps none, or
        before versions were kept of landed items, or read as gone) is seen whatever its
        version.
        """
        last = self._last_before.get(doc_id)
        if last is None:
            return False
        return last == doc_id or (version is not None and last == _versioned(doc_id, version))

    def read_before(self, doc_id: str) -> bool:
        """Landed or read by an earlier run, as of any version or none."""
        return doc_id in self._last_before

    def is_known(
        self, key: str, doc_id: str, created_at: datetime, version: str | None = None
    ) -> bool:
        """Seen before (as of ``version``, :meth:`seen`), or not newer than the previous
        run's watermark for ``key``."""
        mark = self.watermark(key)
        return self.seen(doc_id, version) or (mark is not None and created_at <= mark)

    def record(
        self, key: str, doc_id: str, created_at: datetime, version: str | None = None
    ) -> None:
        """Note an item of this run (landed as of ``version``, see :meth:`mark_read`); the
        watermark moves at :meth:`save`."""
        self.mark_read(doc_id, version)
        current = self._new_marks.get(key)
        if current is None or created_at > current:
            self._new_marks[key] = created_at

    def mark_read(self, doc_id: str, version: str | None = None) -> None:
        """Note an item this run read (landed or not: a page dated nowhere, off the brands or
        without text): :meth:`seen` by the next runs; the watermark moves only for one landed.

        With ``version`` (a feed entry's last edit or date, as the feed writes it), it is read
        as of that version only: the item is new again once its feed dates it otherwise (an
        edit), landed or not, and is read again. Each item keeps its last entry only
        (:meth:`save`), so a feed restamping its entries does not fill ``MAX_SEEN``.
        """
        key = read_mark(doc_id, version)
        self._seen[key] = None
        self._seen.move_to_end(key)

    def note_gone(self, doc_id: str, at: datetime, permanent: bool = False) -> bool:
        """Note a page that answered 404 (or 410 Gone, ``permanent``) at ``at``; whether an
        earlier run had found it missing too.

        A 410 is read at once (RFC 9110 15.5.11: "likely to be permanent"). A 404 is read
        (:meth:`mark_read`) once it has answered so on ``MISSING_RUNS`` runs, the first at
        least ``MISSING_SPAN`` before ``at``; until then it is asked again when
        :meth:`missing_due`.
        """
        before = self._missing_before.get(doc_id)
        if permanent or self._waited(doc_id, at, ""):
            self._missing.pop(doc_id, None)
            self.mark_read(doc_id)
        return before is not None

    def note_refused(self, doc_id: str, at: datetime, version: str | None = None) -> None:
        """Note a page robots.txt refused (RFC 9309: the crawler may not ask it) at ``at``.

        It waits as a page that answered 404 does, under ``missing`` (why ``ROBOTS``): asked
        again when :meth:`missing_due` (robots.txt may have changed by then), so its feed is
        asked conditionally between its asks; refused on ``MISSING_RUNS`` runs over
        ``MISSING_SPAN``, it is read as of ``version`` (:meth:`mark_read`), not for good as a
        dead link is: its feed dating it anew (an edit) has it asked again. Was: never read,
        so its feed was read whole on every run for as long as robots.txt refused it.
        """
        if self._waited(doc_id, at, ROBOTS):
            self._missing.pop(doc_id, None)
            self.mark_read(doc_id, version)
            self._found.add(doc_id)  # settled: the merge takes no worker's entry of it back

    def _waited(self, doc_id: str, at: datetime, why: str) -> bool:
        """Whether a page not read at ``at`` (404, or refused ``why``) has been so on
        ``MISSING_RUNS`` runs over ``MISSING_SPAN``; if not, it is noted under ``missing``."""
        before = self._missing_before.get(doc_id)
        first, runs = (datetime.fromisoformat(before[0]), before[1] + 1) if before else (at, 1)
        if runs >= MISSING_RUNS and at - first >= MISSING_SPAN:
            return True
        self._missing[doc_id] = (first.isoformat(), runs, why)
        return False

    def refused_before(self, doc_id: str) -> bool:
        """Whether the page earlier runs left waiting (:meth:`awaits_ask`) was last refused
        by robots.txt (:meth:`note_refused`), not answered 404."""
        return self._missing_before.get(doc_id, ("", 0, ""))[2] == ROBOTS

    def awaits_ask(self, doc_id: str) -> bool:
        """Whether earlier runs found the page of ``doc_id`` missing (404) and have not read it
        since: it is asked again when :meth:`missing_due`, whatever a watermark says."""
        return doc_id in self._missing_before

    def missing_due(self, doc_id: str, at: datetime) -> bool:
        """Whether to ask at ``at`` for a page: False while one earlier runs found missing (404)
        waits for its next ask, ``MISSING_RECHECK`` after its first 404 and then
        ``MISSING_SPAN`` after it; True for any other page.
        """
        before = self._missing_before.get(doc_id)
        if before is None:
            return True
        wait = MISSING_RECHECK if before[1] < MISSING_RUNS - 1 else MISSING_SPAN
        return at >= datetime.fromisoformat(before[0]) + wait

    def note_found(self, doc_id: str) -> None:
        """Note a page that answered: one missing before came back, and is missing no more."""
        if self._missing.pop(doc_id, None) is not None:
            self._found.add(doc_id)

    def last_count(self, key: str) -> int | None:
        """The count noted for ``key`` (e.g. ``replies:<doc id>``) by a previous complete run,
        or None when none was (a new item, or a state written before counts were kept)."""
        return self._counts.get(key)

    def note_count(self, key: str, count: int) -> None:
        """Note a count read by this run; saved with the rest at :meth:`save`."""
        self._new_counts[key] = count

    def validators(self, doc_id: str) -> Validators:
        """What the page of ``doc_id`` answered when read last by a complete run (this run's
        answers count from the next run, as ``seen`` does); empty when none was kept."""
        return self._validators.get(doc_id) or Validators()

    def note_answer(self, doc_id: str, etag: str = "", last_modified: str = "") -> None:
        """Note the validators a page answered this run with (either "" for none: not sent
        again); the fingerprint of its text landed before is kept."""
        etag, last_modified = (v if len(v) <= MAX_VALIDATOR else "" for v in (etag, last_modified))
        before = self._new_validators.get(doc_id) or self.validators(doc_id)
        self._new_validators[doc_id] = replace(before, etag=etag, last_modified=last_modified)

    def note_landed(
        self,
        doc_id: str,
        fingerprint: str,
        created: str = "",
        precision: str | None = None,
        matched: tuple[str, tuple[str, ...]] | None = None,
    ) -> None:
        """Note the fingerprint of the text this run landed from a page, and the time it
        landed with (``created``, ISO, and its ``precision``) unless one landed before: an
        edit landed again keeps the time the page landed with first (volume and spikes count
        a post at its ``created_at``; a sitemap dating its pages by ``lastmod`` moved it to
        the edit's time, a post counted again then). ``matched``: the digest of the brands it
        was matched against and the brands it landed with (:meth:`note_matched`)."""
        before = self._new_validators.get(doc_id) or self.validators(doc_id)
        if before.created:
            created, precision = before.created, before.precision
        self._new_validators[doc_id] = replace(
            before, landed=fingerprint, created=created, precision=precision or ""
        )
        if matched is not None:
            self.note_matched(doc_id, *matched)

    def note_matched(self, doc_id: str, under: str, brands: tuple[str, ...] | None) -> None:
        """Note that a page's text was matched this run against the brands of digest
        ``under`` (:func:`koubei.crawlers.brandmatch.digest`), and the brands the record
        landed from it has (``brands``, sorted; None when not known). The rest is kept."""
        before = self._new_validators.get(doc_id) or self.validators(doc_id)
        self._new_validators[doc_id] = replace(before, matched_under=under, brands=brands)

    def feed_answer(self, url: str) -> FeedAnswer:
        """What the feed or sitemap at ``url`` answered when a complete run last read it whole
        (this run's count from the next run); empty when none was kept (a state saved before
        feeds kept theirs: the feed is asked whole, as then)."""
        return self._feeds.get(url) or FeedAnswer()

    def note_feed_answer(self, url: str, answer: FeedAnswer) -> None:
        """Note what a feed answered this run: read whole, or 304 (its validators, if it
        carries any, and the pages still :meth:`unread`)."""
        etag, last_modified = (
            v if len(v) <= MAX_VALIDATOR else "" for v in (answer.etag, answer.last_modified)
        )
        self._new_feeds[url] = replace(answer, etag=etag, last_modified=last_modified)

    def unread(self, marks: tuple[str, ...]) -> tuple[str, ...]:
        """The :func:`read_mark` of ``marks`` whose page earlier runs did not read since as of
        that version (nor for good)."""
        return tuple(
            mark
            for mark in marks
            if self._last_before.get(page := page_of(mark)) not in (mark, page)
        )

    def due(self, marks: tuple[str, ...], at: datetime) -> bool:
        """Whether a page of ``marks`` (:func:`read_mark`) is to be asked at ``at``: one not
        read since, unless it answered 404 and its next ask is not due (:meth:`missing_due`)."""
        return any(self.missing_due(page_of(mark), at) for mark in self.unread(marks))

    def save(self, at: datetime | None = None, feeds: Sequence[str] | None = None) -> list[str]:
        """Write the state (merged with what others saved since it was loaded), atomically;
        ``at`` is the run's time (default now), by which missing pages are forgotten.

        ``feeds``: the source's configured feeds; the answers kept of feeds it no longer
        reaches (a feed left the configuration, a sitemap its index no longer lists) are
        dropped, and their URLs returned (:meth:`_prune_feeds`). None keeps every answer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Workers sharing one run (KOUBEI_SCHEDULER=redis) each save this file: merge with what
        # is on disk under a lock, so one worker never drops another's watermarks, ids and counts.
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._merge_saved()
            for key, mark in self._new_marks.items():
                old = self.watermark(key)
                if old is None or mark > old:
                    self.watermarks[key] = mark.isoformat()
            self._seen = _last_versions(self._seen)
            while len(self._seen) > MAX_SEEN:
                self._seen.popitem(last=False)
            for key, count in self._new_counts.items():  # this run's reading is the newest
                self._counts[key] = count
                self._counts.move_to_end(key)
            while len(self._counts) > MAX_SEEN:
                self._counts.popitem(last=False)
            for doc_id, answer in self._new_validators.items():  # this run's are the newest
                self._validators.pop(doc_id, None)
                if answer.worth_keeping():
                    self._validators[doc_id] = answer
            while len(self._validators) > MAX_SEEN:
                self._validators.popitem(last=False)
            for url, feed in self._new_feeds.items():  # this run's are the newest
                self._feeds.pop(url, None)
                kept = feed if feed.worth_keeping() else feed.stub()
                if kept is not None:
                    self._feeds[url] = kept
            dropped = [] if feeds is None else self._prune_feeds(feeds)
            while len(self._feeds) > MAX_SEEN:
                del self._feeds[next(iter(self._feeds))]
            self._forget_unasked_missing((at or timeutil.now()) - MISSING_KEEP)
            while len(self._missing) > MAX_SEEN:
                del self._missing[next(iter(self._missing))]
            data = {
                "source": self.source,
                "watermarks": self.watermarks,
                "seen": list(self._seen),
                "counts": dict(self._counts),
                "missing": {
                    k: [first, runs, *([why] if why else [])]
                    for k, (first, runs, why) in self._missing.items()
                },
                "validators": {
                    k: [
                        v.etag,
                        v.last_modified,
                        v.landed,
                        v.created,
                        v.precision,
                        v.matched_under,
                        None if v.brands is None else list(v.brands),
                    ]
                    for k, v in self._validators.items()
                },
                "feeds": {
                    url: [f.etag, f.last_modified, f.matched_under, list(f.pending), list(f.parts)]
                    for url, f in self._feeds.items()
                },
            }
            with atomic_write(self.path) as handle:
                json.dump(data, handle, ensure_ascii=False)
        return dropped

    def _prune_feeds(self, feeds: Sequence[str]) -> list[str]:
        """Drop the answers of feeds the configured ``feeds`` no longer reach
        (:func:`koubei.crawlers._feed_answer.unreachable`); the URLs dropped.

        Judged on what is merged from the workers sharing the run, under the save's lock, so
        one worker never keeps what another dropped. What any of them noted since this state
        was loaded is live (asked this run), reached or not: a sitemap a sibling read, which
        the index listing it (read by a third, not saved yet) names on disk only once that one
        saves. Was: an answer was kept for good once its feed left the configuration.
        """
        live = set(self._new_feeds)
        live.update(u for u, f in self._feeds.items() if self._feeds_loaded.get(u) != f)
        dropped = unreachable(self._feeds, feeds, live)
        for url in dropped:
            del self._feeds[url]
        return dropped

    def _forget_unasked_missing(self, before: datetime) -> None:
        """Drop the missing pages first found so before ``before``: asked on the plan of
        :meth:`missing_due`, they would have been read or found long since.

        Kept as long as they must be: a page read as gone is in ``seen`` (never asked again,
        nor landed), not here; one forgotten here that a feed lists again is asked again, its
        404 a first one (``gone``, not ``gone_again``), and read a day later as before.
        """
        self._missing = {
            doc_id: entry
            for doc_id, entry in self._missing.items()
            if datetime.fromisoformat(entry[0]) >= before
        }

    def _merge_saved(self) -> None:
        """Take in what others saved since this state was loaded (newer marks, more ids, their
        counts; this run's counts go over them in :meth:`save`)."""
        try:
            data = parse_state(self.path.read_bytes())
        except (OSError, ValueError):  # gone, or damaged since it was loaded: ours replaces it
            return
        for key, value in data["watermarks"].items():
            mine = self.watermark(key)
            if mine is None or datetime.fromisoformat(value) > mine:
                self.watermarks[key] = value
        merged = OrderedDict.fromkeys(data["seen"])
        for doc_id in self._seen:  # ours after theirs: ours are the newest
            merged[doc_id] = None
            merged.move_to_end(doc_id)
        self._seen = merged
        self._counts.update(data["counts"])  # saved after this state was loaded: newer
        theirs = OrderedDict((k, _validators(v)) for k, v in data["validators"].items())
        self._validators = theirs  # saved after this state was loaded; this run's go over them
        self._feeds = {url: parse_entry(entry) for url, entry in data["feeds"].items()}
        for doc_id, entry in data["missing"].items():
            # theirs, unless this run found the page again or read it (gone for good)
            if doc_id in self._found or doc_id in self._seen:
                continue
            noted = self._missing.get(doc_id)
            entry = _missing(entry)
            if noted is None or entry[1] > noted[1]:
                self._missing[doc_id] = entry
        for doc_id, entry in list(self._missing.items()):
            # loaded, not noted by this run, and gone from what another saved since: that one
            # read it (a 404 as gone, a refused page as of its version), or forgot it
            if doc_id not in data["missing"] and self._missing_before.get(doc_id) == entry:
                del self._missing[doc_id]


def _versioned(doc_id: str, version: str) -> str:
    """The ``seen`` entry of ``doc_id`` read as of ``version``: ``<doc id> @<8 hex digits>``.

    Examples
    --------
    >>> _versioned("articles:1", "2026-11-24T10:00:00+08:00")
    'articles:1 @4080afdb'
    """
    return f"{doc_id}{_VERSION_MARK}{hashlib.sha1(version.encode()).hexdigest()[:8]}"


def read_mark(doc_id: str, version: str | None = None) -> str:
    """What ``seen`` holds once ``doc_id`` is read as of ``version`` (:meth:`CrawlState.mark_read`):
    a feed remembers the pages its read left for later so (:class:`FeedAnswer`)."""
    return doc_id if version is None else _versioned(doc_id, version)


_VERSION_MARK = " @"


def page_of(mark: str) -> str:
    """The page id a :func:`read_mark` (or a ``seen`` key) is of."""
    return mark.partition(_VERSION_MARK)[0]


def _last_versions(seen: OrderedDict[str, None]) -> OrderedDict[str, None]:
    """``seen`` with each item's last entry only, in order: an item read as of one version and
    then another (two workers may each have read one), or landed without a version and later
    read as of one, keeps the last.

    Examples
    --------
    >>> ids = ["a:1 @01", "a:2", "a:1 @02", "a:3 @01", "a:2 @01", "a:3"]
    >>> list(_last_versions(OrderedDict.fromkeys(ids)))
    ['a:1 @02', 'a:2 @01', 'a:3']
    """
    last = {page_of(key): key for key in seen}
    return OrderedDict.fromkeys(key for key in seen if last[page_of(key)] == key)


def _missing(entry: list[Any]) -> tuple[str, int, str]:
    """A saved missing entry: ``[first 404, runs]``, or ``[first, runs, "robots"]`` for a
    page robots.txt refused (:meth:`CrawlState.note_refused`).

    Examples
    --------
    >>> first = "2026-12-01T12:00:00+08:00"
    >>> _missing([first, 1]), _missing([first, 2, "robots"])
    (('2026-12-01T12:00:00+08:00', 1, ''), ('2026-12-01T12:00:00+08:00', 2, 'robots'))
    """
    return (entry[0], entry[1], entry[2] if len(entry) > 2 else "")


def _validators(entry: list[Any]) -> Validators:
    """A saved validators entry: of seven (the last the brands, a list or null), five (before
    the brands matched were kept) or three (before the time landed was).

    Examples
    --------
    >>> _validators(['"a"', "", "f", "", "", "0123abcd4567", ["北岭", "鲜牧"]]).brands
    ('北岭', '鲜牧')
    >>> _validators(['"a"', "", "f"]) == Validators('"a"', "", "f")
    True
    """
    if len(entry) == 7:
        brands = entry[6]
        return replace(Validators(*entry[:6]), brands=None if brands is None else tuple(brands))
    return Validators(*entry)
