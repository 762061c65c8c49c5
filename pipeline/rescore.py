"""Re-scoring a source's processed posts with the model sources.yaml now names for it, and
tagging them again with the aspect lexicon of the config directory.

``koubei process`` scores each post once, with the model its source had then; a source given a
new ``sentiment_model`` (``koubei sentiment adapt``) saw only its new posts scored with it, and
the history the negative-share detectors and reports compare against kept the old model's
scores: the share jumped at the change. :func:`rescore_source` redoes the model's part of the
processing (sentiment and aspects, :func:`koubei.pipeline.enrich.score_cleaned`; cleaning and
the near-duplicate clusters do not depend on the model and stay) on every processed file of the
source, rewrites the files and sends the posts it changed through the index stage's own writer
(:func:`koubei.pipeline.index.spool.index_file`: same ``_id``, an update in place; a file the
index stage has not sent is sent whole, as the cycle would). The aspects of a re-scored post
are tagged again with the lexicon given, the config directory's, as ``koubei process`` tags new
posts.

A post is up to date when it carries the model's version (``sentiment.model_version``), the
scoring rules' (``sentiment.rules_version``, :func:`koubei.pipeline.sentiment.rules.rules_version`)
and the lexicon's (``aspect_lexicon_version``, :attr:`AspectLexicon.version`). One whose model
version or rules version differs is re-scored (sentiment and aspects): a new model, or the same
model file applied with other lexicons, glosses or no-opinion rules (an upgrade of koubei), or
scored before koubei recorded the rules (no ``rules_version``). One whose only lexicon version
differs (``aspects.yaml`` edited, or tagged before koubei recorded the lexicon: no version) has
only its aspects tagged again, its sentiment left as it is (re-scoring it would give the same
figures: the model is the same). An up-to-date post is left as it is, so a re-run costs a read
of the files; a file none of whose posts changed, and whose index marker is there, is neither
written nor sent. A rewritten file sends only its posts whose sentiment or aspects came out
otherwise: an up-to-date post beside them is not sent again, its document keeps its version.
A post with no words of its own stays ``no_opinion``: ``SentimentModel.score`` applies the
rules of ``pipeline/sentiment/opinion.py`` whatever the model.

The spool holds copies of posts too (writes that met the cluster gone, for ``koubei index
replay``): the source's are re-scored alike, in place, before its files
(:func:`rescore_spool`), so a replay after the rescore sends the new scores, not the old.

The work is shared between processes by the processing stage's :class:`Enricher` (helpers
only for a file of ``PARALLEL_MIN_RECORDS`` posts to redo or more, as ``koubei process``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tqdm import tqdm

from koubei import jsonl
from koubei.cores import default_workers
from koubei.pipeline import ledger
from koubei.pipeline.aspects import AspectLexicon, tag_aspects
from koubei.pipeline.enrich import (
    BatchFailed,
    Enricher,
    file_left_as_it_was,
    prewarm,
    score_cleaned,
)
from koubei.pipeline.sentiment import SentimentModel
from koubei.pipeline.sentiment.rules import rules_version

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from koubei.pipeline.index.documents import IndexReport


@dataclass
class RescoreReport:
    """What re-scoring one processed file did."""

    file: str
    model_version: str
    aspect_lexicon_version: str
    rules_version: str = field(default_factory=rules_version)
    # sentiment and aspects (scored with another model, or under other rules or none recorded)
    rescored: int = 0
    retagged: int = 0  # aspects only (the model's, tagged with another lexicon or none known)
    # already scored with ``model_version`` under ``rules_version`` and tagged with the lexicon
    unchanged: int = 0
    labels: dict[str, int] = field(default_factory=dict)  # labels after, of every post
    # The index report of the file when it was sent (None: nothing to send), and its figures.
    index: dict[str, Any] | None = None
    # The file could not be read (a line that is not a record, permissions) or a chunk of it
    # failed to be re-scored (BatchFailed): left as it was, and so were its documents.
    error: str | None = None
    # A spool file (:func:`rescore_spool`): the source's spooled copies in it, re-scored in
    # place for the replay to send; never sent here (``index`` stays None).
    spool: bool = False


Redo = Literal["score", "aspects"]


def out_of_date(
    record: dict[str, Any], model: SentimentModel, lexicon: AspectLexicon
) -> Redo | None:
    """What of ``record`` the model and lexicon would make otherwise: ``"score"`` (sentiment
    and aspects: scored with another model, or under other scoring rules or rules not
    recorded), ``"aspects"`` (tagged with another lexicon, or with one not recorded), or None
    (up to date).

    A ``sentiment`` that is no object (a string or a list: foreign data in a processed file)
    carries no model's version, so the post is scored again, as one without ``sentiment`` is;
    its ``.get`` ended the whole run with an AttributeError."""
    sentiment = record.get("sentiment")
    if not isinstance(sentiment, dict):
        return "score"
    if sentiment.get("model_version") != model.version:
        return "score"
    if sentiment.get("rules_version") != rules_version():
        return "score"
    if record.get("aspect_lexicon_version") != lexicon.version:
        return "aspects"
    return None


def redo_chunk(
    records: list[dict[str, Any]], model: SentimentModel, lexicon: AspectLexicon
) -> list[dict[str, Any]]:
    """Bring each record up to date, in place (:func:`out_of_date`); the records. Run by
    :meth:`Enricher.iter_chunks`, here or in a helper process."""
    for record in records:
        redo = out_of_date(record, model, lexicon)
        if redo == "score":
            score_cleaned(record, model, lexicon)
        elif redo == "aspects":
            tag_aspects(record, model, lexicon)
    return records


def score_chunk(
    records: list[dict[str, Any]], model: SentimentModel, lexicon: AspectLexicon
) -> list[dict[str, Any]]:
    """Score (sentiment and aspects) every record, in place, up to date or not; the records.
    Run by :meth:`Enricher.iter_chunks` for ``rescore --all``, here or in a helper process."""
    for record in records:
        score_cleaned(record, model, lexicon)
    return records


#: What re-scoring sets on a record (``score_cleaned``, ``tag_aspects``); the rest stays.
SCORED = ("sentiment", "aspects", "aspect_lexicon_version")


def scoring(record: dict[str, Any]) -> tuple[Any, ...]:
    """The fields of ``record`` that re-scoring sets (:data:`SCORED`)."""
    return tuple(record.get(key) for key in SCORED)


def rescore_records(
    records: list[dict[str, Any]],
    enricher: Enricher,
    progress: Callable[[int], Any] | None = None,
    every: bool = False,
    changed: list[int] | None = None,
) -> dict[Redo, int]:
    """Bring the out-of-date records up to date with ``enricher``'s model and lexicon (in the
    list: a record done by a helper is replaced by its copy); how many had each redone.

    ``every``: score every record, also one that carries the model's and the rules' versions
    (``koubei sentiment rescore --all``: a change of feature code that did not bump
    ``rules.RULES_REVISION``, or posts whose processed files were edited by hand).
    ``progress(n)`` is called as ``n`` more records are done (a progress bar's ``update``).
    ``changed``: given, the positions of the records whose scoring came out otherwise than it
    was (:func:`scoring`) are appended to it, in order: the posts to send to the index.
    """
    model, lexicon = enricher.model, enricher.lexicon
    stale: list[int] = []
    counts: dict[Redo, int] = {"score": 0, "aspects": 0}
    for position, record in enumerate(records):
        redo = "score" if every else out_of_date(record, model, lexicon)
        if redo is not None:
            stale.append(position)
            counts[redo] += 1
    if progress is not None and len(records) > len(stale):
        progress(len(records) - len(stale))
    # Taken before: a chunk done in this process is changed in place.
    before = [copy.deepcopy(scoring(records[i])) for i in stale] if changed is not None else []
    task = score_chunk if every else redo_chunk
    chunks = enricher.iter_chunks([records[i] for i in stale], task, progress)
    done = [record for chunk in chunks for record in chunk]
    for position, record in zip(stale, done, strict=True):
        records[position] = record
    if changed is not None:
        changed.extend(
            i for i, was in zip(stale, before, strict=True) if scoring(records[i]) != was
        )
    return counts


def _tally(report: RescoreReport, redone: dict[Redo, int], records: list[dict[str, Any]]) -> None:
    """Set ``report``'s counts from what :func:`rescore_records` did to ``records``."""
    report.rescored, report.retagged = redone["score"], redone["aspects"]
    report.unchanged = len(records) - report.rescored - report.retagged
    for record in records:
        label = (record.get("sentiment") or {}).get("label", "unscored")
        report.labels[label] = report.labels.get(label, 0) + 1


def rescore_file(
    es: Elasticsearch,
    path: Path,
    enricher: Enricher,
    *,
    prefix: str,
    progress: bool = False,
    every: bool = False,
) -> tuple[RescoreReport, IndexReport | None]:
    """Re-score one processed file with ``enricher``'s model and lexicon, rewrite it and index
    it (see the module's docstring).

    The order is what makes a crash anywhere lose nothing. The file is what every later write
    of the index reads (the cycle's index stage, ``koubei index load``, a rebuild), so it
    changes first, and its index marker is removed before it does:

    1. marker removed: a crash here leaves the old file pending; the cycle indexes the old
       scores again (what the index holds already) and a re-run re-scores it;
    2. file replaced atomically (a reader sees the old or the new one, never half);
    3. the posts changed indexed through the writer (idempotent: same ids, updated in place;
       the whole file if it was not marked before: the index may lack any of its posts) and
       the file marked: a crash before the mark leaves the new file pending, for the cycle or
       a re-run to send whole.

    Indexing first would leave, after a crash between the two, the new scores in the index and
    the old ones in a file marked indexed: nothing would send it again, and the next ``index
    load`` of it (or a rebuild from the files) would bring the old scores back.
    """
    from koubei.pipeline.index.spool import index_file

    report = RescoreReport(
        file=str(path),
        model_version=enricher.model.version,
        aspect_lexicon_version=enricher.lexicon.version,
    )
    # All of it read and re-scored before anything is written: a line that is no record, or a
    # chunk that fails (BatchFailed, naming its records), leaves the file and its documents as
    # they were, named as `koubei process` names a landing file it leaves pending.
    changed: list[int] = []
    try:
        records = list(jsonl.read(path))
        bar = tqdm(
            total=len(records), desc=path.name, unit="doc", disable=not progress, leave=False
        )
        with bar:
            redone = rescore_records(records, enricher, bar.update, every, changed)
    except (jsonl.JsonlError, BatchFailed) as exc:
        report.error = file_left_as_it_was(path, exc, "processed file not re-scored")
        return report, None
    _tally(report, redone, records)
    # Marked: the index holds the file as it was, so only the posts changed are sent; the
    # others were sent again, each document's version moving for the same content.
    sent_before = ledger.is_indexed(path)
    if changed:
        ledger.unmark_indexed(path)
        jsonl.write_atomic(path, records)
    elif sent_before:
        return report, None
    # Not marked (a run that died before step 3, or not sent yet): the whole file is sent.
    only = {str(records[i].get("id")) for i in changed} if sent_before else None
    indexed = index_file(es, path, prefix, only=only, progress=progress)
    # Marked as the cycle's index stage marks a file: every document acknowledged, refused for
    # good (dead-lettered) or spooled for `koubei index replay`, which delivers it.
    counts = indexed.as_dict()
    report.index = {k: counts[k] for k in ("sent", "created", "updated", "failed", "spooled")}
    ledger.mark_indexed(path, report.index)
    return report, indexed


def spooled_ids(prefix: str) -> set[str]:
    """The ids of the documents the spool of ``prefix`` holds (its lines that are records)."""
    from koubei.pipeline.index.spool import spool_files

    ids: set[str] = set()
    for path in spool_files(prefix):
        try:
            lines = list(jsonl.read_lines(path))
        except jsonl.JsonlError:
            continue  # gone since it was listed (replayed), or unreadable: said below
        ids.update(item["id"] for _, item in lines if isinstance(item, dict)
                   and isinstance(item.get("id"), str))  # fmt: skip
    return ids


def source_ids(files: list[Path], among: set[str]) -> set[str]:
    """Those of ``among`` that are the ids of posts in ``files`` (a source's processed files)."""
    found: set[str] = set()
    for path in files:
        try:
            lines = jsonl.read_lines(path)
            found.update(item["id"] for _, item in lines if isinstance(item, dict)
                         and item.get("id") in among)  # fmt: skip
        except jsonl.JsonlError:
            continue  # named when its turn comes in rescore_file
    return found


def rescore_spool(
    enricher: Enricher, files: list[Path], *, prefix: str, every: bool = False
) -> Iterator[RescoreReport]:
    """Re-score in place the spooled copies of the posts of ``files`` (a source's processed
    files), as their processed files are: one report per spool file rewritten, or left as it
    was because it could not be read (``error``).

    A write that met the cluster gone was spooled as it stood, scored with the source's model
    of then. Re-scoring the files and the index left that copy behind, and the replay sent it
    over the re-scored document: the writer's "never an older crawl" rule cannot hold it back
    (the same crawl, the same ``last_seen``), and no later ``rescore`` mended it (the file was
    up to date, nothing was sent). The copy is re-scored, not dropped, nor held back at the
    replay: it may be newer content than the stored copy (an edit, a later crawl, not sent
    yet), which must still be sent; and the writer alone cannot tell which scoring is current
    (the model is the source's, named in sources.yaml). Scored the same way as its file, the
    replay sends what the processed files hold, and a re-run re-scores nothing again.

    A spooled copy without ``text_clean`` (a landing file loaded by hand) carries no score to
    undo and is left as it is. A spool file is rewritten atomically under its own name, so the
    replay's order (oldest first) stays.
    """
    from koubei.pipeline.index.spool import spool_files

    # The spool is read twice (ids first, then each file to rewrite) rather than held: after a
    # long outage it can be far bigger than memory, and most runs find it empty.
    spooled = spooled_ids(prefix)
    mine = source_ids(files, spooled) if spooled else set()
    if not mine:
        return
    for path in spool_files(prefix):
        report = RescoreReport(
            file=str(path),
            model_version=enricher.model.version,
            aspect_lexicon_version=enricher.lexicon.version,
            spool=True,
        )
        changed: list[int] = []
        try:
            records = list(jsonl.read(path))
            ours = [
                n
                for n, record in enumerate(records)
                if record.get("id") in mine and isinstance(record.get("text_clean"), str)
            ]
            subset = [records[n] for n in ours]
            redone = rescore_records(subset, enricher, None, every, changed)
        except (jsonl.JsonlError, BatchFailed) as exc:
            # Its copies would be replayed as they stand: said, and the run exits 1.
            report.error = file_left_as_it_was(path, exc, "spool file not re-scored")
            yield report
            continue
        if not changed:
            continue
        for n, record in zip(ours, subset, strict=True):
            records[n] = record
        jsonl.write_atomic(path, records)
        _tally(report, redone, subset)
        yield report


def rescore_source(
    es: Elasticsearch,
    files: list[Path],
    model: SentimentModel,
    lexicon: AspectLexicon,
    *,
    prefix: str,
    workers: int | None = None,
    model_path: Path | None = None,
    progress: bool = False,
    every: bool = False,
) -> Iterator[tuple[RescoreReport, IndexReport | None]]:
    """:func:`rescore_file` for each of ``files`` (a source's processed files), in order, each
    reported as it is done; a file that cannot be read or whose re-scoring fails is reported
    (``error``, for the caller to say), left as it was, and the others go on.

    ``workers``: processes sharing a big file's work (default: one per core, as ``koubei
    process``); ``model_path`` is the file ``model`` came from, for the helpers to load (the
    shipped model if None); ``every``: score every post, up to date or not
    (:func:`rescore_records`). One :class:`Enricher` serves every file, so helpers start at most
    once. The spooled copies of the source's posts come first (:func:`rescore_spool`), each
    spool file rewritten reported with ``spool`` set and no index report.

    The caller holds the pipeline's lock (``koubei.flows.locks.stage_lock(PIPELINE_LOCK)``, as
    ``koubei sentiment rescore`` does): a stage takes no flow-level lock itself (imports go
    one way, flows → pipeline), and a process cycle or replay writing these files or the spool
    meanwhile would race the rewrite."""
    workers = workers or default_workers()
    if workers > 1:
        prewarm(sum(path.stat().st_size for path in files if path.is_file()))
    with Enricher(model, lexicon, workers=workers, model_path=model_path) as enricher:
        # The spool first: stopped after it, the replay sends the new scores, and a re-run
        # re-scores the files (still out of date) and sends the same. The other way round, a
        # replay after a stop brought the old scores back over files up to date, for good.
        for spooled in rescore_spool(enricher, files, prefix=prefix, every=every):
            yield spooled, None
        for path in files:
            yield rescore_file(es, path, enricher, prefix=prefix, progress=progress, every=every)
