"""Write documents derived from the posts (``<prefix>-cascades``, ``<prefix>-accounts``) by id.

Posts have their own writer (:mod:`koubei.pipeline.index.writer`: months, upserts, spool);
derived documents are rebuilt from the posts on every run, so each is an ``index`` of its
whole body under its own ``id``: a re-run overwrites, never duplicates, and a run that failed
is mended by running it again (nothing to spool). Refused items are reported once per index
and reason (:class:`Refusals`): how many, the first one's id and the cluster's reason, each
document at debug level; a red index refuses every document of a run with the same reason, and
a line each (17 for a brand's accounts) said it 17 times. A writer that
read the documents first (the daily spread run, its cascades) writes over exactly what it read:
``if_seq_no`` + ``if_primary_term``, or ``create`` for one it found absent, and a document
another run wrote since comes back as a conflict, left as that run wrote it, for the caller to
judge (:attr:`DerivedReport.conflicts`).

An index with no active primary shard (red: its node or disk lost) answers each item 503
``unavailable_shards_exception`` within :data:`~koubei.pipeline.index.allocation.BULK_TIMEOUT`
(every bulk request here carries it as its ``timeout``), reported refused saying the index is
red; no refresh waits for it (:func:`~koubei.pipeline.index.allocation.refresh_answering`).
Before, the node waited a minute for the primary, the client's 30 s timeout ran out first and
the write raised ``ConnectionTimeout`` out of the daily spread run, the other brands' and kinds'
documents unwritten.

:func:`update_posts` writes what is derived onto the stored posts themselves (their ``cascade``):
a partial ``update`` of the field alone, refused ones reported. The daily spread run sends only
the posts whose value changed (it reads the stored one with the posts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, Elasticsearch, helpers

from koubei.log import get_logger
from koubei.pipeline.index.allocation import BULK_TIMEOUT, failed_indices, refresh_answering
from koubei.pipeline.index.answers import NO_PRIMARY, describe_error, item_answer
from koubei.pipeline.index.templates import kind_index, month_name

__all__ = ["DerivedReport", "Refusals", "update_posts", "write_documents"]

log = get_logger(__name__)

#: Most documents one ``replace`` set may leave behind (a brand's day holds the top 50 accounts).
REPLACE_MAX = 10_000


@dataclass
class Refusals:
    """Documents refused, by index and the cluster's reason: their ids, in the order refused."""

    by: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by)

    def add(self, index: str, doc_id: str, reason: str) -> None:
        self.by.setdefault((index, reason), []).append(doc_id)

    def update(self, other: Refusals) -> None:
        """Add ``other``'s (another call's: a brand's, a round's) to these."""
        for (index, reason), ids in other.by.items():
            self.by.setdefault((index, reason), []).extend(ids)

    def lines(self, what: str = "{n} document{s}") -> list[str]:
        """One line per index and reason: ``"<index>: <what> not written (e.g. <id>): <reason>"``,
        ``what`` with ``{n}`` the count and ``{s}`` its plural's s (``"cascade field of {n}
        post{s}"``)."""
        return [
            f"{index}: {what.format(n=len(ids), s='' if len(ids) == 1 else 's')} not written "
            f"({'id' if len(ids) == 1 else 'e.g.'} {ids[0]}): {reason}"
            for (index, reason), ids in self.by.items()
        ]

    def log(self) -> None:
        """An error log line per index and reason (each document was logged at debug level)."""
        for (index, reason), ids in self.by.items():
            log.error("derived documents not indexed", index=index, count=len(ids),
                      first=ids[0], reason=reason)  # fmt: skip


@dataclass
class DerivedReport:
    """What :func:`write_documents` did: documents written, and the refused ones."""

    written: int = 0
    removed: int = 0
    # the documents the cluster refused, by index and reason
    refused: Refusals = field(default_factory=Refusals)
    # "<index>: documents it replaces not removed: <reason>" (the search for them failed)
    unsearched: list[str] = field(default_factory=list)
    # ids of the documents not written because another writer changed them after they were
    # read (a conditional write's version conflict, 409): not refused, and not retried here
    conflicts: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """A line per index and reason of the refused documents, then the failed searches."""
        return self.refused.lines() + self.unsearched


def write_documents(
    es: Elasticsearch,
    prefix: str,
    kind: str,
    docs: list[dict[str, Any]],
    *,
    replace: dict[str, Any] | None = None,
    read: Mapping[str, tuple[int, int]] | None = None,
) -> DerivedReport:
    """Index ``docs`` into ``<prefix>-<kind>``, ``_id = doc["id"]``, and refresh it.

    ``replace``: a query covering the set these documents replace (one brand's accounts of one
    day); the documents it matches that are not among ``docs`` are deleted, so an account that
    left the day's ranking on a re-run (late posts) does not stay in it. Nothing is deleted when
    a document was refused (the old copy is better than none), nor one written again since the
    search that found it (each delete is conditional on the ``_seq_no`` that search saw).

    ``read``: the ``(seq_no, primary_term)`` of each stored document the caller read before
    building ``docs``, by id. Given, every write is conditional: over the copy read
    (``if_seq_no`` + ``if_primary_term``), or ``create`` for a document not in ``read`` (found
    absent); one another writer changed in between goes to ``conflicts``, unwritten.
    """
    index = kind_index(prefix, kind)
    actions = [_write_action(index, d, read) for d in docs]
    report = DerivedReport()
    if actions:
        written, failed = helpers.bulk(
            es, actions, raise_on_error=False, stats_only=False, timeout=BULK_TIMEOUT
        )
        report.written = int(written)
        for item in failed if isinstance(failed, list) else []:
            if read is not None and item_answer(item).get("status") == 409:
                report.conflicts.append(str(item_answer(item).get("_id")))
            else:
                _refused(report, item)
        report.refused.log()
    if replace is not None and not report.refused:
        kept = {"ids": {"values": [str(d["id"]) for d in docs]}}
        stale = {"bool": {"filter": [replace], "must_not": [kept]}}
        hits = _stale(es, index, stale, report)
        gone = [
            {"_op_type": "delete", "_index": index, "_id": h["_id"]} | _as_read(h) for h in hits
        ]
        if gone:
            # A conflict (rewritten since the search) or a miss (deleted since) is left alone.
            removed, _left = helpers.bulk(es, gone, raise_on_error=False, timeout=BULK_TIMEOUT)
            report.removed = int(removed)
    refresh_answering(es, index)
    return report


def _stale(
    es: Elasticsearch, index: str, query: dict[str, Any], report: DerivedReport
) -> list[dict[str, Any]]:
    """The documents of ``index`` that ``query`` finds, as seen (``_seq_no``), to delete by id
    (the bundled node has no reindex module: no ``_delete_by_query``). None, reported in
    ``unsearched``, when the index has no active primary (red): the search failed on its only
    shard, 503 ``all shards failed`` (it raised out of the daily spread run, for a brand with
    no accounts to write that day)."""
    try:
        answer = es.search(index=index, query=query, size=REPLACE_MAX, source=False,
                           seq_no_primary_term=True)  # fmt: skip
    except ApiError as exc:
        if not failed_indices(exc):
            raise
        log.error("documents a derived set replaces not searched: not removed", index=index,
                  reason=NO_PRIMARY)  # fmt: skip
        report.unsearched.append(f"{index}: documents it replaces not removed: {NO_PRIMARY}")
        return []
    hits: list[dict[str, Any]] = answer["hits"]["hits"]
    return hits


def _write_action(
    index: str, doc: dict[str, Any], read: Mapping[str, tuple[int, int]] | None
) -> dict[str, Any]:
    """The bulk action writing ``doc``: a plain ``index``, or conditional on ``read``."""
    action: dict[str, Any] = {"_index": index, "_id": doc["id"], "_source": doc}
    if read is None:
        return {"_op_type": "index", **action}
    if str(doc["id"]) not in read:
        return {"_op_type": "create", **action}
    seq_no, primary_term = read[str(doc["id"])]
    return {"_op_type": "index", **action, "if_seq_no": seq_no, "if_primary_term": primary_term}


def _as_read(hit: dict[str, Any]) -> dict[str, Any]:
    """The condition of an action on the copy a search ``hit`` (``seq_no_primary_term``) saw."""
    return {"if_seq_no": hit["_seq_no"], "if_primary_term": hit["_primary_term"]}


def _refused(report: DerivedReport, item: dict[str, Any]) -> None:
    answer = item_answer(item)
    index, doc_id = str(answer.get("_index")), str(answer.get("_id"))
    reason = describe_error(answer.get("error"), answer.get("status"))
    log.debug("derived document not indexed", index=index, id=doc_id, reason=reason)
    report.refused.add(index, doc_id, reason)


def update_posts(
    es: Elasticsearch, fields: dict[str, dict[str, Any]], where: dict[str, set[str]]
) -> DerivedReport:
    """Set the fields of ``fields[post id]`` on each stored post, in each index ``where`` names.

    ``where``: the concrete indices a search found the post in (``_index``); the update goes to
    the month's name (:func:`~koubei.pipeline.index.templates.month_name`), which is what
    writers write to, so a ``koubei index reindex`` in between does not lose it. A partial
    ``update`` (``doc``), no script (the node has no painless): the rest of the post stays, and
    a post whose fields are already these is a no-op (its ``_version`` stays; not counted in
    ``written``). A post the crawl writer updates at the same moment is retried, as it does.
    """
    actions = [
        {"_op_type": "update", "_index": month, "_id": post, "doc": doc, "retry_on_conflict": 3}
        for post, doc in sorted(fields.items())
        for month in sorted({month_name(index) for index in where.get(post, ())})
    ]
    months = sorted({str(action["_index"]) for action in actions})
    report = DerivedReport()
    for ok, item in helpers.streaming_bulk(
        es, actions, raise_on_error=False, chunk_size=500, timeout=BULK_TIMEOUT
    ):
        if not ok:
            _refused(report, item)
        elif item_answer(item).get("result") == "updated":
            report.written += 1
    report.refused.log()
    if months:
        refresh_answering(es, ",".join(months))
    return report
