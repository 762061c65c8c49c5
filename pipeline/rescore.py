"""Re-scoring a source's processed posts with the model sources.yaml now names for it.

``koubei process`` scores each post once, with the model its source had then; a source given a
new ``sentiment_model`` (``koubei sentiment adapt``) saw only its new posts scored with it, and
the history the negative-share detectors and reports compare against kept the old model's
scores: the share jumped at the change. :func:`rescore_source` redoes the model's part of the
processing (sentiment and aspects, :func:`koubei.pipeline.enrich.score_cleaned`; cleaning and
the near-duplicate clusters do not depend on the model and stay) on every processed file of the
source, rewrites the files and sends them through the index stage's own writer
(:func:`koubei.pipeline.index.spool.index_file`: same ``_id``, an update in place). The aspects
of a re-scored post are tagged again with the lexicon given, the config directory's, as
``koubei process`` tags new posts.

A post already carrying the model's version is left as it is, so a re-run costs a read of the
files; a file none of whose posts changed, and whose index marker is there, is neither written
nor sent. A post with no words of its own stays ``no_opinion``: ``SentimentModel.score`` applies
the rules of ``pipeline/sentiment/opinion.py`` whatever the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from koubei import jsonl
from koubei.pipeline import ledger
from koubei.pipeline.aspects import AspectLexicon
from koubei.pipeline.enrich import score_cleaned
from koubei.pipeline.sentiment import SentimentModel

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from koubei.pipeline.index.documents import IndexReport


@dataclass
class RescoreReport:
    """What re-scoring one processed file did."""

    file: str
    model_version: str
    rescored: int = 0
    unchanged: int = 0  # already scored with ``model_version``
    labels: dict[str, int] = field(default_factory=dict)  # labels after, of every post
    # The index report of the file when it was sent (None: nothing to send), and its figures.
    index: dict[str, Any] | None = None
    # The file could not be read (a line that is not a record, permissions): left as it was.
    error: str | None = None


def rescore_records(
    records: list[dict[str, Any]],
    model: SentimentModel,
    lexicon: AspectLexicon,
    progress: Callable[[int], Any] | None = None,
) -> int:
    """Re-score, in place, the records not scored with ``model`` (their aspects tagged again
    with ``lexicon``); returns how many were.

    ``progress(1)`` is called as each record is done (a progress bar's ``update``).
    """
    changed = 0
    for record in records:
        if (record.get("sentiment") or {}).get("model_version") != model.version:
            score_cleaned(record, model, lexicon)
            changed += 1
        if progress is not None:
            progress(1)
    return changed


def rescore_file(
    es: Elasticsearch,
    path: Path,
    model: SentimentModel,
    lexicon: AspectLexicon,
    *,
    prefix: str,
    progress: bool = False,
) -> tuple[RescoreReport, IndexReport | None]:
    """Re-score one processed file, rewrite it and index it (see the module's docstring).

    The order is what makes a crash anywhere lose nothing. The file is what every later write
    of the index reads (the cycle's index stage, ``koubei index load``, a rebuild), so it
    changes first, and its index marker is removed before it does:

    1. marker removed: a crash here leaves the old file pending; the cycle indexes the old
       scores again (what the index holds already) and a re-run re-scores it;
    2. file replaced atomically (a reader sees the old or the new one, never half);
    3. file indexed through the writer (idempotent: same ids, updated in place) and marked:
       a crash before the mark leaves the new file pending, for the cycle or a re-run to send.

    Indexing first would leave, after a crash between the two, the new scores in the index and
    the old ones in a file marked indexed: nothing would send it again, and the next ``index
    load`` of it (or a rebuild from the files) would bring the old scores back.
    """
    from koubei.pipeline.index.spool import index_file

    report = RescoreReport(file=str(path), model_version=model.version)
    try:
        records = list(jsonl.read(path))  # all of it first: a bad line leaves the file alone
    except jsonl.JsonlError as exc:
        report.error = str(exc)
        return report, None
    bar = tqdm(total=len(records), desc=path.name, unit="doc", disable=not progress, leave=False)
    with bar:
        report.rescored = rescore_records(records, model, lexicon, bar.update)
    report.unchanged = len(records) - report.rescored
    for record in records:
        label = (record.get("sentiment") or {}).get("label", "unscored")
        report.labels[label] = report.labels.get(label, 0) + 1
    if report.rescored:
        ledger.unmark_indexed(path)
        jsonl.write_atomic(path, records)
    elif ledger.is_indexed(path):
        return report, None
    # else unchanged but not indexed (a run that died before step 3, or not sent yet): send it
    indexed = index_file(es, path, prefix, progress=progress)
    # Marked as the cycle's index stage marks a file: every document acknowledged, refused for
    # good (dead-lettered) or spooled for `koubei index replay`, which delivers it.
    counts = indexed.as_dict()
    report.index = {k: counts[k] for k in ("sent", "created", "updated", "failed", "spooled")}
    ledger.mark_indexed(path, report.index)
    return report, indexed


def rescore_source(
    es: Elasticsearch,
    files: list[Path],
    model: SentimentModel,
    lexicon: AspectLexicon,
    *,
    prefix: str,
    progress: bool = False,
) -> Iterator[tuple[RescoreReport, IndexReport | None]]:
    """:func:`rescore_file` for each of ``files`` (a source's processed files), in order, each
    reported as it is done; a file that cannot be read is reported (``error``, for the caller
    to say) and the others go on."""
    for path in files:
        yield rescore_file(es, path, model, lexicon, prefix=prefix, progress=progress)
