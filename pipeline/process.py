"""The processing stage: landing records → cleaned, scored, aspect-tagged, de-duplicated records.

A plain function over records, composed of the pipeline's pure stages. A landing line that is
not a record (invalid UTF-8, not JSON, nested too deeply, not an object) or a record that does not
fit the document model (or whose text is longer than cleaning takes, ``MAX_CHARS``) is set aside
in ``rejected/`` with its file, line and reason, never dropped silently and never allowed to stop
the file, the batch or a later cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from koubei import jsonl, paths
from koubei.cores import default_workers
from koubei.crawlers.timeparse import TimeParseError, check_plausible
from koubei.log import get_logger
from koubei.model import Document, from_record, to_record
from koubei.pipeline import ledger
from koubei.pipeline.aspects import AspectLexicon
from koubei.pipeline.clean import MAX_CHARS
from koubei.pipeline.dedup import DedupIndex
from koubei.pipeline.enrich import BatchFailed, Enricher, file_left_as_it_was, prewarm
from koubei.pipeline.sentiment import SentimentModel, load_model

log = get_logger(__name__)

Record = dict[str, Any]


@dataclass
class ProcessReport:
    source_file: str
    output_file: str
    processed: int = 0
    rejected: int = 0
    rejected_file: str | None = None
    labels: dict[str, int] = field(default_factory=dict)
    # The file could not be read (e.g. permissions), or a batch of its records failed to be
    # enriched (``batch_failed``: BatchFailed, the error naming the records and why): nothing
    # written, it stays pending.
    error: str | None = None
    batch_failed: bool = False


def validate(
    lines: Iterable[tuple[int, Record | jsonl.BadLine] | Record],
    source: str = "",
    now: datetime | None = None,
) -> tuple[list[Record], list[Record]]:
    """Split lines into valid records (normalised by the model) and rejects with their reason.

    ``lines`` are ``(line number, record or BadLine)`` pairs from :func:`koubei.jsonl.read_lines`
    (plain records are numbered from 1). Each reject names ``source`` (the file), the line and the
    reason; a bad line keeps its text as ``raw``. A ``created_at`` or ``crawled_at`` after ``now``
    (default the clock) plus the skew allowance, or before 2000, is a reject: it would open a
    far-future or stray monthly index (``koubei.crawlers.timeparse.check_plausible``).
    """
    valid: list[Record] = []
    rejected: list[Record] = []
    for position, item in enumerate(lines, start=1):
        number, entry = item if isinstance(item, tuple) else (position, item)
        if isinstance(entry, jsonl.BadLine):
            reject = {"file": source, "line": number, "reason": entry.reason, "raw": entry.raw}
            rejected.append(reject)
            continue
        try:
            document = from_record(entry)
            record = to_record(document)  # raises too: nesting deeper than it serializes
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            rejected.append({"file": source, "line": number, "reason": problems, "record": entry})
            continue
        except (RecursionError, ValueError) as exc:  # hostile nesting or values the model trips on
            reason = f"cannot be validated ({type(exc).__name__})"
            rejected.append({"file": source, "line": number, "reason": reason, "record": None})
            continue
        problem = _implausible_time(document, now) or _overlong(record)
        if problem:
            rejected.append({"file": source, "line": number, "reason": problem, "record": entry})
            continue
        valid.append(record)
    return valid, rejected


def _overlong(record: Record) -> str | None:
    """A text longer than cleaning takes (``MAX_CHARS``) is a page dump or junk, not a post: it
    used to be cut there silently and its first part scored as one post, seconds of work for
    one record (a 5 MB line); it is set aside instead, where it can be seen."""
    length = len(record.get("text_raw") or "")
    if length > MAX_CHARS:
        return f"text_raw: {length:,} characters, more than the {MAX_CHARS:,} one record may hold"
    return None


def _implausible_time(document: Document, now: datetime | None) -> str | None:
    for name in ("created_at", "crawled_at"):
        when = getattr(document, name)
        if when is None:  # no crawl time: never observed, nothing to judge
            continue
        try:
            check_plausible(when, now)
        except TimeParseError as exc:
            return f"{name}: {exc}"
    return None


def process_records(
    records: list[Record],
    *,
    model: SentimentModel,
    lexicon: AspectLexicon,
    dedup_state_dir: Path | None = None,
    progress: bool = False,
    enricher: Enricher | None = None,
) -> list[Record]:
    """clean → sentiment → aspects (``lexicon``), then near-duplicate clusters, in input order.

    ``enricher`` spreads the per-record work over several processes (see
    ``koubei.pipeline.enrich``);
    without one it all runs here. The clusters are assigned here, in order: their LSH state spans
    batches.
    """
    enricher = enricher or Enricher(model, lexicon)
    if enricher.model.version != model.version:
        raise ValueError(
            f"enricher scores with model {enricher.model.version}, not {model.version}"
        )
    if enricher.lexicon.aspects != lexicon.aspects:
        raise ValueError("enricher tags with another aspect lexicon than the one given")
    index = DedupIndex.load(dedup_state_dir)
    processed: list[Record] = []
    bar = tqdm(total=len(records), desc="process", unit="doc", disable=not progress, leave=False)
    with bar:
        for part, signatures in enricher.iter_enriched(records, bar.update):
            index.assign_records(part, signatures)
            processed.extend(part)
        # tqdm draws at most every 0.1 s, and closing a bar that does not stay (leave=False)
        # clears it without drawing: batches that came back within 0.1 s of the last drawing
        # (Dask futures collected in order, the later ones long done) left the count short of
        # the total in a log of the run. The final count is drawn before the bar is cleared.
        bar.refresh()
    if dedup_state_dir is not None:
        index.save(dedup_state_dir)
    return processed


def process_file(
    landing: Path,
    output: Path,
    *,
    model: SentimentModel,
    lexicon: AspectLexicon,
    progress: bool = False,
    enricher: Enricher | None = None,
) -> ProcessReport:
    """Process one landing file into ``output`` (atomically); rejects go to ``rejected/``.
    ``lexicon``: the aspect lexicon of the run (see ``process_records``)."""
    valid, rejected = validate(jsonl.read_lines(landing), source=str(landing))
    report = ProcessReport(source_file=str(landing), output_file=str(output))
    if rejected:
        reject_file = (
            paths.state_dir("rejected") / landing.parent.name / ledger.processed_name(landing)
        )
        jsonl.write_atomic(reject_file, rejected)
        report.rejected, report.rejected_file = len(rejected), str(reject_file)
    processed = process_records(
        valid,
        model=model,
        lexicon=lexicon,
        dedup_state_dir=paths.state_dir("dedup"),
        progress=progress,
        enricher=enricher,
    )
    report.processed = jsonl.write_atomic(output, processed)
    for record in processed:
        label = (record.get("sentiment") or {}).get("label", "unscored")
        report.labels[label] = report.labels.get(label, 0) + 1
    return report


def process_pending_files(
    landing_files: list[Path],
    *,
    lexicon: AspectLexicon,
    workers: int | None = None,
    progress: bool = False,
    models: Mapping[str, Path] | None = None,
    make_enricher: Callable[[SentimentModel, Path | None, AspectLexicon], Any] | None = None,
) -> Iterator[ProcessReport]:
    """Process each landing file into its ``ledger.processed_path``, reporting as each is done.

    ``models`` maps a source's name (a landing file's folder) to the sentiment model file its
    texts are scored with (sources.yaml's ``sentiment_model``, e.g. a model adapted to that
    source's domain with ``koubei sentiment adapt``); other sources get the shipped model. Every
    model is loaded before the first file, so a bad file stops the run before any work.
    ``lexicon`` tags the aspects of every file: the run's, loaded once by the caller from the
    config directory in use (``load_aspects(aspects_file(config_dir))``).

    One enricher per model serves its files, so helper processes start at most once per model;
    ``workers`` is the number of processes sharing big files (default: one per core).
    ``make_enricher(model, model_file, lexicon)`` replaces the local enricher with any context
    manager offering ``model``, ``lexicon`` and ``iter_enriched`` (records enriched elsewhere,
    e.g. in batches on a Dask cluster: ``koubei.flows.dask_process``); the near-duplicate
    clusters are still assigned here, in the files' order, so the documents are the same.
    """
    if not landing_files:
        return
    models = models or {}
    chosen = [models.get(path.parent.name) for path in landing_files]
    loaded = {file: load_model(file) for file in dict.fromkeys(chosen)}
    if make_enricher is None:
        local_workers = workers or default_workers()
        if local_workers > 1:
            sizes = (path.stat().st_size for path in landing_files if path.is_file())
            prewarm(sum(sizes))  # overlaps reading the files

        def make_enricher(model: SentimentModel, file: Path | None, lexicon: AspectLexicon) -> Any:
            return Enricher(model, lexicon, workers=local_workers, model_path=file)

    with ExitStack() as stack:
        enrichers: dict[Path | None, Any] = {}
        for path, file in zip(landing_files, chosen, strict=True):
            if file not in enrichers:
                enrichers[file] = stack.enter_context(make_enricher(loaded[file], file, lexicon))
            enricher = enrichers[file]
            yield _process_readable(
                path, model=enricher.model, lexicon=lexicon, progress=progress, enricher=enricher
            )


def _process_readable(
    path: Path, *, model: SentimentModel, lexicon: AspectLexicon, progress: bool, enricher: Any
) -> ProcessReport:
    """``process_file`` into the ledger's path; a file that cannot be opened (permissions, a
    directory or dangling link by that name), or whose records came back from the enricher as
    :class:`BatchFailed`, is reported, not raised: the other files go on and it stays pending,
    to be tried again once it is fixed."""
    output = ledger.processed_path(path)
    try:
        return process_file(
            path, output, model=model, lexicon=lexicon, progress=progress, enricher=enricher
        )
    except (jsonl.JsonlError, BatchFailed) as exc:  # nothing written: it stays pending, named
        error = file_left_as_it_was(path, exc, "landing file not processed")
        return ProcessReport(
            source_file=str(path),
            output_file=str(output),
            error=error,
            batch_failed=isinstance(exc, BatchFailed),
        )
