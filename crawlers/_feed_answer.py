"""What a feed or sitemap answered when a complete run last read it whole
(:class:`FeedAnswer`), kept in the crawl state's ``feeds`` (:mod:`koubei.crawlers.state`), and
which of those entries a source's configuration still reaches (:func:`unreachable`).

The leading ``_`` marks it as the state's own, as ``_state_file``: spiders read and note
feed answers through :class:`koubei.crawlers.state.CrawlState`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# A feed keeps the pages its last whole read left for later, and a sitemap index the sitemaps
# it lists (to read them again when it answers 304); one with more (a first read of a big
# sitemap, an index of up to sitemaps.org's 50,000) keeps no answer and is asked whole.
MAX_FEED_LIST = 1_000


@dataclass(frozen=True)
class FeedAnswer:
    """What a feed or sitemap answered when a complete run last read it whole, to ask it with
    (its ``ETag`` as ``If-None-Match``, its ``Last-Modified`` as ``If-Modified-Since``), and
    what that read left for later runs, so a ``304`` skips only what it may.

    A 304 says the feed lists what that read judged: every entry it read stays read
    (``seen``), the watermark moves only for records landed, none. The rest is kept here, and
    the feed is asked whole (without condition) while any of it is due (:meth:`CrawlState.due`):

    ``pending``: the pages its pass asked for or left waiting, as :func:`read_mark` says them.
    One not read since as of that mark (blocked, a wall, an empty body, a status not retried,
    a 304 without a condition) is asked again by the next run, as before; one that answered
    404, or that robots.txt refused, when its next ask is due
    (:meth:`CrawlState.missing_due`), as only the feed's pass asks it. Derived from ``seen``
    and ``missing`` when the feed is asked, not noted by the page's answer: workers sharing a
    run (Redis) fetch a feed and its pages apart, and those two are merged across them.
    ``matched_under``: the brands digest of that run
    (:func:`koubei.crawlers.brandmatch.digest`): a forum entry built from the feed's own text
    that named no brand is not read, and is matched again on every whole read; under other
    brands the feed is read whole once, or a brand added would wait for the feed to change.
    ``parts``: the sitemaps a sitemap index lists, each asked with its own answer when the
    index answers 304.
    """

    etag: str = ""
    last_modified: str = ""
    matched_under: str = ""
    pending: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()

    def worth_keeping(self) -> bool:
        """Whether it can be asked with: a validator to send, and its lists short enough to
        keep (``MAX_FEED_LIST``)."""
        short = max(len(self.pending), len(self.parts)) <= MAX_FEED_LIST
        return bool(self.etag or self.last_modified) and short

    def stub(self) -> FeedAnswer | None:
        """What is kept of an answer not worth keeping (:meth:`worth_keeping`): the sitemaps
        it lists (none for a feed), so :func:`unreachable` knows what the feed reaches, and
        nothing to ask with (it is asked whole, as with no answer). None for an index listing
        over ``MAX_FEED_LIST``: its sitemaps are not known, and none is pruned meanwhile."""
        return FeedAnswer(parts=self.parts) if len(self.parts) <= MAX_FEED_LIST else None


def parse_entry(entry: list[Any]) -> FeedAnswer:
    """A saved feeds entry: ``[ETag, Last-Modified, brands digest, [pending], [sitemap, ...]]``.

    Examples
    --------
    >>> parse_entry(['"v1"', "", "0123abcd", ["a:1 @4080afdb"], ["https://x.cn/s-1.xml"]])
    ... # doctest: +NORMALIZE_WHITESPACE
    FeedAnswer(etag='"v1"', last_modified='', matched_under='0123abcd',
               pending=('a:1 @4080afdb',), parts=('https://x.cn/s-1.xml',))
    """
    etag, last_modified, matched_under, pending, parts = entry
    return FeedAnswer(etag, last_modified, matched_under, tuple(pending), tuple(parts))


def unreachable(
    kept: Mapping[str, FeedAnswer],
    feeds: Iterable[str],
    live: Iterable[str] = (),
) -> list[str]:
    """The URLs of ``kept`` that neither a configured feed (``feeds``) nor an answer noted
    since the state was loaded (``live``: asked this run, by this worker or another) reaches
    through the sitemaps an index lists (``parts``); none while a configured feed has no
    answer kept (not read whole yet, failed, or an index listing over ``MAX_FEED_LIST``
    sitemaps: what it lists is not known).

    Examples
    --------
    >>> index = FeedAnswer('"i"', parts=("https://x.cn/s-1.xml",))
    >>> kept = {"https://x.cn/index.xml": index, "https://x.cn/s-1.xml": FeedAnswer('"1"'),
    ...         "https://x.cn/s-2.xml": FeedAnswer('"2"'), "https://x.cn/rss": FeedAnswer('"r"')}
    >>> unreachable(kept, ["https://x.cn/index.xml"])
    ['https://x.cn/s-2.xml', 'https://x.cn/rss']
    >>> unreachable(kept, ["https://x.cn/index.xml"], live=["https://x.cn/s-2.xml"])
    ['https://x.cn/rss']
    >>> unreachable(kept, ["https://x.cn/index.xml", "https://x.cn/atom.xml"])
    []
    """
    feeds = list(feeds)
    if any(url not in kept for url in feeds):
        return []
    reached: set[str] = set()
    todo = [*feeds, *live]
    while todo:
        url = todo.pop()
        if url not in reached:
            reached.add(url)
            answer = kept.get(url)
            todo.extend(answer.parts if answer else ())
    return [url for url in kept if url not in reached]
