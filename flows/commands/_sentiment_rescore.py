"""``koubei sentiment rescore --source NAME``: re-score a source's processed posts and their
documents with the model sources.yaml names for it (see :mod:`koubei.flows.commands.sentiment`
for the command's contract, :mod:`koubei.pipeline.rescore` for the work)."""

from __future__ import annotations

import argparse
import json
import sys

from koubei.flows.commands import _sentiment_inputs as inputs


def run_rescore(args: argparse.Namespace) -> int:
    from koubei.flows.commands.index import guarded

    return guarded(lambda: _rescore(args))


def _rescore(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from koubei import config
    from koubei.errors import KoubeiError
    from koubei.flows.commands.index import partial_exit
    from koubei.flows.locks import PIPELINE_LOCK, stage_lock
    from koubei.flows.options import progress_bars
    from koubei.pipeline.aspects import aspects_file, load_aspects
    from koubei.pipeline.index.client import check_cluster, client_from_env, index_prefix
    from koubei.pipeline.index.documents import IndexReport
    from koubei.pipeline.rescore import rescore_source
    from koubei.pipeline.sentiment import load_model
    from koubei.pipeline.sentiment.rules import rules_version

    # Everything that can be wrong is said before any file changes: the source, its model
    # (the one `koubei process` scores it with: sources.yaml's, else the shipped one), the
    # aspect lexicon (the config directory's, which `koubei process` tags with), the cluster.
    # A rescore that rewrote files with no cluster to send them to would leave them to the
    # cycle's index stage (they are pending again), but an operator asked for both.
    models = config.load_sources(args.config_dir).sentiment_models()
    model_file = models.get(args.source)
    lexicon_file = aspects_file(args.config_dir)
    lexicon = load_aspects(lexicon_file)
    inputs.source_files(args.source)
    try:
        model = load_model(model_file)
    except (OSError, ValueError) as exc:
        raise KoubeiError(f"source {args.source}: cannot load its sentiment model: {exc}") from None
    prefix = args.prefix or index_prefix()
    es = client_from_env()
    check_cluster(es)
    named = model_file or "the shipped model"
    print(
        f"re-scoring {args.source} with {named} (version {model.version}, scoring rules "
        f"{rules_version()}), aspects from {lexicon_file} (version {lexicon.version})",
        file=sys.stderr,
    )
    rescored = retagged = unchanged = failed = spooled = 0
    totals = IndexReport()
    # The files and the posts indices are the pipeline's: a cycle processing or indexing the
    # same files (or a `koubei index load`/`reindex`) waits for this run, as this one waits
    # for it (the wait names the holder). Listed again under the lock: a cycle that was at
    # work may have processed more of the source's files meanwhile.
    with stage_lock(PIPELINE_LOCK):
        files = inputs.source_files(args.source)
        progress = progress_bars(args.no_progress)
        rescored_files = rescore_source(
            es,
            files,
            model,
            lexicon,
            prefix=prefix,
            workers=args.workers,
            model_path=model_file,
            progress=progress,
            every=args.all,
        )
        for report, indexed in rescored_files:
            print(json.dumps(asdict(report), ensure_ascii=False), flush=True)
            if report.spool:  # copies of posts counted below, in their processed files
                spooled += report.rescored + report.retagged
                if report.error:
                    print(f"koubei: error: {report.error} (its copies are replayed as they "
                          "stand)", file=sys.stderr)  # fmt: skip
                    failed += 1
                continue
            rescored += report.rescored
            retagged += report.retagged
            unchanged += report.unchanged
            if report.error:
                print(f"koubei: error: {report.error} (left as it was)", file=sys.stderr)
                failed += 1
            if indexed is not None:
                totals.add(indexed)
    print(
        f"koubei sentiment rescore: {len(files)} file(s) of {args.source}: {rescored} post(s) "
        f"re-scored with {model.version} under {rules_version()}, {retagged} with only their "
        f"aspects tagged again with {lexicon.version}, {unchanged} unchanged (already scored "
        "and tagged with them); "
        f"{totals.sent} sent to Elasticsearch; {failed} file(s) unreadable or failed (left as "
        "they were)"
        + (f"; {spooled} spooled cop(ies) re-scored for the replay" if spooled else ""),
        file=sys.stderr,
    )
    partial = partial_exit("koubei sentiment rescore", totals, prefix)
    return 1 if failed else partial
