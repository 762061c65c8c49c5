"""``koubei index setup|status|load|replay|reindex``: the posts indices and their templates."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from koubei.errors import KoubeiError
    from koubei.pipeline.index.documents import IndexReport

from koubei.flows import options
from koubei.flows.options import existing_file


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = subparsers.add_parser("index", help="Elasticsearch templates, loading, spool replay")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    setup = actions.add_parser("setup", help="install/upgrade templates (analyzer preflight)")
    setup.add_argument(
        "--analyzer", help="standard | smartcn | ik (default $KOUBEI_ES_ANALYZER, else standard)"
    )
    actions.add_parser(
        "status",
        help="template versions, indices on an older mapping, cascade documents under a bare "
        "root id",
    )
    load = actions.add_parser("load", help="index Document JSONL files (landing/processed)")
    load.add_argument(
        "files", nargs="+", type=existing_file, metavar="FILE", help="JSONL of Document records"
    )
    load.add_argument("--progress", action="store_true", help="show a progress bar")
    actions.add_parser("replay", help="send spooled documents until acknowledged")
    actions.add_parser(
        "reindex",
        help="migrate posts indices to the current template version, "
        "remove cascade documents under a bare root id",
    )
    for sub in actions.choices.values():
        options.add_prefix(sub)
    parser.set_defaults(func=run)


def _records(files: list[Path]) -> Iterator[dict[str, Any]]:
    from koubei import jsonl

    for path in files:
        yield from jsonl.read(path)


def _check_readable(files: list[Path]) -> None:
    """Read every line first: a malformed file is one error naming file:line, nothing sent.

    A file whose records carry no ``sentiment`` (a landing file, not what ``koubei process``
    wrote) is loaded as asked, with a note naming it: its posts are stored without a label (over
    a processed copy's), in no negative share, and nothing else said so."""
    from koubei import jsonl

    notes = []
    for path in files:
        records = unscored = 0
        for record in jsonl.read(path):  # raises JsonlError (shown as one line by the CLI)
            records += 1
            unscored += not record.get("sentiment")
        if unscored:
            notes.append(
                f"koubei index load: note: {path}: {unscored} of {records} record(s) carry no "
                "sentiment (not processed: `koubei process` scores a landing file into "
                "processed/); they are indexed without a label (a stored copy's is dropped), "
                "in no negative share"
            )
    for note in notes:  # once every file is read: a mistake in a later one stays one line
        print(note, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _run(args))


def guarded(action: Callable[[], int]) -> int:
    """Run a command body; cluster and template errors become one line on stderr, exit 2
    (a :class:`~koubei.errors.KoubeiError`, which the CLI prints).

    The transport's per-attempt retry warnings are silenced by ``koubei.log`` unless ``-v``.
    """
    from koubei.errors import KoubeiError
    from koubei.pipeline.index.client import ESConfigError
    from koubei.pipeline.index.migrate import MigrationError
    from koubei.pipeline.index.templates import AnalyzerMissingError

    try:
        return action()
    except (ESConfigError, AnalyzerMissingError, MigrationError) as exc:
        # The CLI prints it as every other error (``koubei: error: ...``, redacted), exit 2.
        raise KoubeiError(str(exc)) from None


def no_index(prefix: str) -> KoubeiError:
    """The error of a read whose ``<prefix>-posts`` does not exist: a mistyped ``--prefix`` or
    ``KOUBEI_INDEX_PREFIX``, or nothing indexed yet."""
    from koubei.errors import KoubeiError
    from koubei.pipeline.index.templates import posts_alias

    return KoubeiError(
        f"no index {posts_alias(prefix)} (is --prefix right? nothing indexed yet: `koubei run`)"
    )


def _run(args: argparse.Namespace) -> int:
    from elasticsearch import AuthenticationException, AuthorizationException

    from koubei.pipeline.index.client import (
        auth_error,
        check_cluster,
        client_from_env,
        index_prefix,
    )

    if args.action == "load":
        _check_readable(args.files)  # before connecting: a file mistake needs no cluster
    if args.action == "setup":
        from koubei.pipeline.index.templates import replica_count

        replica_count()  # KOUBEI_ES_REPLICAS, before connecting
    prefix = args.prefix or index_prefix()
    es = client_from_env()
    check_cluster(es)
    try:
        return _act(args, es, prefix)
    except (AuthenticationException, AuthorizationException) as exc:
        raise auth_error(es, exc) from None  # e.g. a role without rights on this prefix


def _act(args: argparse.Namespace, es: Elasticsearch, prefix: str) -> int:
    from koubei.pipeline.index import migrate, templates, writer

    if args.action == "setup":
        templates.ensure_templates(es, prefix, analyzer=args.analyzer)
        args.action = "status"
    if args.action == "status":
        statuses = templates.template_status(es, prefix)
        for status in statuses:
            print(json.dumps({**status.__dict__, "current": status.current}, ensure_ascii=False))
        if bare := sum(status.bare_id_documents for status in statuses):
            # stdout stays one JSON line per template; the remedy is for the reader.
            print(f"{bare} cascade document(s) under a bare root id (an earlier release's ids): "
                  "run `koubei index reindex` to remove them", file=sys.stderr)  # fmt: skip
        if behind := [index for status in statuses for index in status.stale_indices]:
            print(f"{len(behind)} index(es) on an older mapping version than their template's "
                  f"({', '.join(behind[:3])}{', ...' if len(behind) > 3 else ''}): run `koubei "
                  "index reindex` to copy them", file=sys.stderr)  # fmt: skip
        return 0
    from koubei.flows.locks import PIPELINE_LOCK, stage_lock

    # Load, replay and reindex write the posts indices (and the first two the spool and the
    # dead letters), as the flows' cycle does (``koubei run``, ``koubei serve``): wait for a run
    # at work (the wait names it), then go. A cycle replays the spool first thing: two replays
    # at once sent each file twice and the second failed on the file the first had deleted. A
    # load took no lock: its writes interleaved with a cycle's or another load's (an older copy
    # of a post written after the newer one was checked, its spool beside the replay's). A
    # reindex took none either: a cycle indexing while it copied a month met the write block
    # it puts on that month's index and spooled the month's documents; now each waits for the
    # other, with the same line naming the holder.
    with stage_lock(PIPELINE_LOCK):
        if args.action == "reindex":
            migrated = migrate.reindex(es, prefix)
            removed = migrate.remove_bare_cascades(es, prefix)
            for item in migrated:
                print(json.dumps(item.__dict__))
            print(f"{removed} cascade document(s) under a bare root id removed")
            print(f"{len(migrated)} index(es) migrated")  # last: scripts read it
            return 0
        if args.action == "load":
            report = load_files(es, args.files, prefix, progress=args.progress)
        else:
            report = writer.replay_spool(es, prefix)
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    return partial_exit(f"koubei index {args.action}", report, prefix)


def load_files(
    es: Elasticsearch, files: list[Path], prefix: str, *, progress: bool = False
) -> IndexReport:
    """Index ``files`` one after the other; the report of them all.

    A processed file the ledger knows (``processed/<source>/<run>.jsonl``) whose every
    document was acknowledged is marked indexed as the cycle's index stage marks it
    (``flows.monitor.index_pending``, the same counts), so the next ``koubei run`` does not
    send it again: it did, and counted each of its posts as updated. Marked only once its
    load returned whole: one that dead-lettered or spooled a document, or raised (a crash, a
    refused credential), stays pending for the cycle, which sends it and marks it. A file
    outside ``processed/`` (a user's own JSONL, a landing file) is loaded, never marked.
    """
    from koubei.pipeline import ledger
    from koubei.pipeline.index.documents import IndexReport
    from koubei.pipeline.index.writer import index_records

    report = IndexReport()
    known = ledger.processed_targets()
    for path in files:
        part = index_records(
            es, _records([path]), prefix=prefix, progress=progress, source=str(path)
        )
        report.add(part)
        processed = ledger.known_processed(path, known)
        if processed is not None and part.ok:
            ledger.mark_indexed(processed, ledger.report_counts(part))
    return report


def partial_exit(command: str, report: IndexReport, prefix: str) -> int:
    """A load or replay that left documents out says so on stderr and exits 1 (it was 0 for
    dead letters, so a script could not tell a partial load from a whole one): dead-lettered
    (refused for good) or spooled (not taken now: nothing lost, not indexed yet), each line
    naming its files. ``koubei run`` follows the same rule (``RunSummary.notices``)."""
    from koubei.pipeline.index.spool import dead_letter_notice, spool_notice

    if report.failed:
        notice = dead_letter_notice(command, report.failed, report.sent, report.dead_letters)
        print(notice, file=sys.stderr)
    if report.spooled:
        notice = spool_notice(
            command, report.spooled, report.sent, report.spool_files, prefix, report.causes
        )
        print(notice, file=sys.stderr)
    return 0 if report.ok else 1
