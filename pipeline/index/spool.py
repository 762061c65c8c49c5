"""Local disk for documents Elasticsearch did not take: the spool and the dead letters.

* The **spool** (``$KOUBEI_HOME/spool/index-<prefix>/``) holds documents that could not be sent
  because the cluster was unreachable or kept refusing. They are replayed later as they are
  (but for ``koubei sentiment rescore``, which re-scores the copies of its source's posts in
  place: :func:`koubei.pipeline.rescore.rescore_spool`); the writer's deterministic ``_id``
  makes a replay of an already-acknowledged document harmless.
* **Dead letters** (``$KOUBEI_HOME/dead-letter/index-<prefix>-*.jsonl``) hold documents the
  cluster rejected for good (mapping conflict, oversized field), each with the reason, so an
  engineer can fix and re-send them. Retrying those would fail forever, so they leave the flow.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from koubei import jsonl, paths
from koubei.log import get_logger
from koubei.pipeline.index.client import ESAuthError

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from koubei.pipeline.index.documents import IndexReport

log = get_logger(__name__)


class SpooledAuthError(ESAuthError):
    """The cluster refused the credentials mid-run, raised once every document of the input was
    acknowledged, dead-lettered or spooled (``report`` says how many of each): the input file
    is accounted for. Keeping it as well added a full copy to the spool at every retry."""

    def __init__(self, message: str, report: IndexReport) -> None:
        super().__init__(message)
        self.report = report


def spool_dir(prefix: str) -> Path:
    return paths.state_dir("spool") / f"index-{prefix}"


def dead_letter_dir() -> Path:
    return paths.state_dir("dead-letter")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def write_spool(prefix: str, records: Iterable[dict[str, Any]]) -> tuple[Path | None, int]:
    """Write records to a new spool file atomically; returns (path, count), (None, 0) if empty."""
    path = spool_dir(prefix) / f"{_stamp()}-{uuid.uuid4().hex[:8]}.jsonl"
    count = jsonl.write_atomic(path, records)
    if count == 0:
        path.unlink(missing_ok=True)
        return None, 0
    return path, count


def spool_files(prefix: str) -> list[Path]:
    """Spool files oldest first (names start with a UTC timestamp)."""
    return sorted(spool_dir(prefix).glob("*.jsonl"))


def spooled_count(prefix: str) -> int:
    total = 0
    for path in spool_files(prefix):
        with open(path, "rb") as handle:
            total += sum(1 for line in handle if line.strip())
    return total


class DeadLetters:
    """Append-only JSONL of rejected documents; the file is created on the first rejection.

    ``source``: the file the documents were read from (a processed or spool file), written on
    each line, so that a load of several files says which one holds a refused post."""

    def __init__(self, prefix: str, source: str | None = None) -> None:
        self.prefix = prefix
        self.source = source
        self.path: Path | None = None
        self._handle: IO[str] | None = None
        self.count = 0

    def add(
        self, record: dict[str, Any], *, reason: str, status: int | None, error: Any = None
    ) -> None:
        if self._handle is None:
            name = f"index-{self.prefix}-{_stamp()}-{os.getpid()}.jsonl"
            self.path = dead_letter_dir() / name
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        line = {
            "at": datetime.now(UTC).isoformat(),
            "prefix": self.prefix,
            "source": self.source,
            "id": record.get("id") if isinstance(record, dict) else None,
            "status": status,
            "reason": reason,
            "error": error,
            "record": record,
        }
        self._handle.write(jsonl.dumps_line(line))
        # Flushed per line: a crash after a rejection must not lose the rejected document.
        self._handle.flush()
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def readable_records(path: Path, dead: DeadLetters) -> Iterator[dict[str, Any]]:
    """The records of one of our JSONL files (processed, spooled) for the writer; a line that is
    not a record (the file damaged on disk, cut by a full disk, edited by hand) goes to the dead
    letters with its file and line, and the rest of the file goes on."""
    for number, item in jsonl.read_lines(path):
        if isinstance(item, jsonl.BadLine):
            reason = f"{path}:{number}: {item.reason}"
            line = {"file": str(path), "line": number, "raw": item.raw}
            dead.add(line, reason=reason, status=None)
            continue
        yield item


def index_file(
    es: Elasticsearch,
    path: Path,
    prefix: str,
    *,
    only: Collection[str] | None = None,
    **options: Any,
) -> IndexReport:
    """``index_records`` over one of our JSONL files, one bad line never stopping it.

    A line that is not a record is dead-lettered with ``file:line`` and counted as sent and
    failed; the rest is indexed (with ``only``, the records whose ``id`` is in it: ``koubei
    sentiment rescore`` sends the posts it changed, not their file's others). Raises
    :class:`koubei.jsonl.JsonlError` before sending anything if the file cannot be opened (a
    directory by its name, permissions), so the caller can name it, keep it and go on with the
    next file.
    """
    from koubei.pipeline.index.writer import index_records  # the writer imports this module

    try:
        path.open("rb").close()
    except OSError as exc:
        raise jsonl.JsonlError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    dead = DeadLetters(prefix, source=str(path))

    def count_bad_lines(report: IndexReport) -> None:
        report.sent += dead.count
        report.failed += dead.count
        if dead.path is not None and dead.path not in report.dead_letters:
            report.dead_letters.append(dead.path)

    try:
        records = readable_records(path, dead)
        if only is not None:
            wanted = frozenset(only)
            records = (r for r in records if isinstance(r.get("id"), str) and r["id"] in wanted)
        report = index_records(es, records, prefix=prefix, source=str(path), **options)
    except SpooledAuthError as exc:
        dead.close()
        count_bad_lines(exc.report)
        raise
    finally:
        dead.close()
    count_bad_lines(report)
    return report


#: How many files a notice names before it counts the rest ("and 4 more in <folder>").
NAMED_FILES = 3


def name_files(files: Iterable[Path | str], folder: Path) -> str:
    """The files, each once, in order: all of them up to :data:`NAMED_FILES`, else the first
    ones and how many more there are in ``folder``; ``folder`` itself when there are none."""
    unique = list(dict.fromkeys(str(f) for f in files))
    if not unique:
        return str(folder)
    named = ", ".join(unique[:NAMED_FILES])
    more = len(unique) - NAMED_FILES
    return f"{named} and {more} more in {folder}" if more > 0 else named


def dead_letter_notice(command: str, failed: int, sent: int, files: Iterable[Path | str]) -> str:
    """The line a command ends with when documents were dead-lettered (it then exits 1):
    ``koubei index load|replay`` and ``koubei run`` say it alike, naming the files."""
    return (
        f"{command}: {failed} of {sent} document(s) dead-lettered: Elasticsearch refused them "
        f"(each with its reason in {name_files(files, dead_letter_dir())}); "
        "fix those records and load them again"
    )


def spool_notice(
    command: str,
    spooled: int,
    sent: int,
    files: Iterable[Path | str],
    prefix: str | None = None,
    causes: Iterable[str] = (),
) -> str:
    """The line a command ends with when documents were spooled (it then exits 1): nothing is
    lost, but they are not indexed yet. ``koubei index load|replay`` and ``koubei run`` say it
    alike, naming the spool files, and why where the cluster said what the operator must mend
    (``IndexReport.causes``: a disk full)."""
    folder = spool_dir(prefix) if prefix else paths.state_dir("spool")
    notice = (
        f"{command}: {spooled} of {sent} document(s) spooled, not indexed: Elasticsearch did "
        f"not take them now (kept in {name_files(files, folder)}); the next cycle "
        "or `koubei index replay` sends them"
    )
    return "; ".join([notice, *causes])


def read_dead_letters(path: Path) -> list[dict[str, Any]]:
    return list(jsonl.read(path))


def replay_spool(es: Elasticsearch, prefix: str, **options: Any) -> IndexReport:
    """Send every spooled file of ``prefix`` again, oldest first, until acknowledged.

    A file is deleted only after its documents were acknowledged, dead-lettered or re-spooled
    into a newer file (written atomically first), so a crash at any point loses nothing (a line
    that is not a record is dead-lettered with its file and line; a file that cannot be opened
    is kept and logged); a document sent twice is harmless because its ``_id`` is
    deterministic. Stops at the first file that meets the cluster unavailable (its rest is
    re-spooled); a file of which only some documents are refused for the cluster's state (a
    closed month) is re-spooled with those and the replay goes on: it used to stop there too,
    so a backlog whose files each held such a post was delivered one file per cycle.
    """
    from koubei.pipeline.index.documents import IndexReport

    total = IndexReport()
    for path in spool_files(prefix):
        # A damaged line is dead-lettered and a file that cannot be opened is kept and named:
        # either used to raise here, and every later cycle stopped at its replay, before
        # indexing anything new.
        try:
            report = index_file(es, path, prefix, **options)
        except jsonl.JsonlError as exc:
            log.error("spool file not replayed, kept", error=str(exc))
            continue
        except SpooledAuthError:
            # What was not acknowledged is in a newer spool file now: keeping this one too
            # added a full copy of it at every refused replay (each retry, each cycle).
            path.unlink()
            raise
        total.add(report)
        path.unlink()
        if report.unavailable:
            # The rest of the spool stays for the next replay; the re-spooled file is newer
            # than every remaining one, so order is kept up to the resend.
            break
    return total
