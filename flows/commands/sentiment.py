"""``koubei sentiment score|adapt|rescore|train|eval``: score, adapt, re-score, train, measure.

Contract (other tools call it): ``score FILE`` prints one JSON object per input line, in order,
with ``score`` (probability positive) and ``label`` (``positive``, ``neutral``, ``negative``,
or ``no_opinion`` with score 0.5 for a line with no words of its own: a bare repost, emoji,
@handles, links, platform boilerplate; a repost is scored on its text before ``//@``, see
``pipeline/sentiment/opinion.py``), ``model_version`` (the model file's) and ``rules_version``
(the scoring rules', ``pipeline/sentiment/rules.py``); ``eval DATA.csv`` (``label``, ``review``)
prints accuracy, per-class precision/recall/F1 and throughput (with ``--adapt``, also of the
model adapted to those texts as ``score`` would adapt it).

``score`` first adapts the model to the file's own unlabelled texts when 200 or more of them
carry an opinion (``pipeline/sentiment/adaptation.py``; about 1.2-1.3× the time of ``--no-adapt``
on 10,545 reviews, start-up included, ``python -m bench sentiment --adapt-cost``): the shipped
model learned shop reviews, and a file from another domain (hotels, food delivery, a new
category) teaches it that domain's words. The adapted version, on every line, is
``<version>+adapted-<hash of the texts>``: a text's score then depends on the file it came in,
so ``--no-adapt`` gives every text the score it would get alone. A file of 4,000 texts or
more is read (cleaned, and the features of the texts adapted on extracted, or every text
scored with ``--no-adapt``) in one process per core, ``--processes N`` to choose: the same
output byte for byte with any number.
Adapting never teaches the model a monitored name (every brand's name, aliases and competitors
in brands.yaml of ``--config-dir``): their features keep the model's weights, so a file that is
mostly one brand's crisis does not make the brand's name negative, which would score every later
neutral mention of it negative (``adaptation.py``); the hash then also covers the names when
they change what the file teaches (a line mentions one).
``adapt FILE --out MODEL`` writes the adapted model for ``--model`` (``adapt --source NAME``: to
the texts of a source's processed files), and for a source's ``sentiment_model`` in sources.yaml.
An adapted model is not adapted again: its file keeps only the adapted weights, and a second
adaptation would leave the features the first one changed without their correction
(``adaptation.AlreadyAdaptedError``). ``score --model ADAPTED`` scores with it as it is and says
so on stderr; ``score --adapt`` and ``adapt --model ADAPTED`` are errors naming the file and the
model it was adapted from (its version, and whether that is the shipped model).
``rescore --source NAME`` (``_sentiment_rescore.py``) then re-scores that source's processed
posts with the model sources.yaml names for it, rewrites its processed files and updates its
documents in Elasticsearch (``pipeline/rescore.py``), so its history and its new posts are
scored alike; it also tags again, with the config directory's ``aspects.yaml``, the posts an
edited lexicon would tag otherwise (their sentiment kept when their model is current).

A line of FILE ends at ``\n`` (or ``\r\n``); a ``\r`` inside a line stays in it, so the output
lines always pair with ``wc -l``'s lines. FILE is UTF-8 (a byte order mark is fine); a UTF-16
file with its byte order mark and a GBK/GB18030 file are read as such with a warning on stderr;
bytes that are not UTF-8 otherwise are left out of their line, and the line is named on stderr
(``file:line``). Every line gets its object, blank ones included (``no_opinion``).
With ``--column NAME`` (``score`` and ``adapt``) FILE is a CSV instead, its header row naming
the column of texts (``,``-separated, or ``;`` or tab when that row has no comma, as ``train``,
``eval`` and ``spikes`` read a CSV): one object a row (a quoted field may span lines; blank
lines are no rows; a row without the field is read as no text and named on stderr; a quote
never closed is an error naming its row). A FILE of JSON Lines (its first line a JSON object)
is read by ``--column`` as a field of each record instead (a dotted ``mblog.text`` reaches
into nested objects): one object a record; a record without text there is read as no text and
named on stderr; a line that is no JSON object is an error naming it (a JSON array of objects,
or objects printed over lines, are read alike; a gzip file is read decompressed). Without
``--column``, a
first line that looks like a CSV header naming such a column (``cat,label,review``) is said on
stderr: every row's label would be read as part of its text, and so is a first line that is a
JSON object (a JSONL file, whose keys and ids would be scored with its text; the warning names
the ``--column`` that reads its text) (``koubei/textfile.py``, ``koubei/jsonrecords.py``,
``_sentiment_inputs.py``).

``train`` and ``eval`` refuse, with one line per problem and exit 2, a CSV row whose label is
not 0 or 1, whose review is empty or that has more fields than the header (a review holding
an unquoted comma; named ``file:line``), a quote never closed (named at its row), a
``--category`` or ``--exclude-category`` the CSV does not have, training rows of one label,
and a ``--holdout`` outside [0, 1). A labelled CSV that is not UTF-8 (GBK, Big5, UTF-16 with
its byte order mark) is read as such with ``score``'s warning on stderr naming the encoding
(``koubei.textfile.decoded_as``, printed by ``_sentiment_inputs.warn``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from koubei.flows import options
from koubei.flows.commands import _sentiment_inputs as inputs
from koubei.flows.commands._sentiment_rescore import run_rescore
from koubei.flows.options import readable_input

if TYPE_CHECKING:
    from koubei.errors import KoubeiError
    from koubei.pipeline.sentiment.model import SentimentModel
    from koubei.pipeline.sentiment.training import Example

CORPUS_HELP = "labelled CSV (default: $KOUBEI_REVIEWS_CSV, else ../shared/data/reviews_9cats.csv)"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sentiment", help="score texts, train or evaluate the model")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    score = actions.add_parser("score", help="one JSON line per input line (FILE or - for stdin)")
    score.add_argument(
        "file",
        type=readable_input,
        help="text file, one text per line, or a CSV with --column (- stdin)",
    )
    score.add_argument("--model", type=Path, help="model file (default: the shipped model)")
    score.add_argument(
        "--processes",
        type=options.positive_int,
        default=None,  # None: one per core (for a file of PARALLEL_MIN_TEXTS texts or more)
        help="processes reading a big file (4,000 texts or more; default: one per core); the "
        "output is the same with any number",
    )
    score.add_argument(
        "--adapt",
        action=argparse.BooleanOptionalAction,
        default=None,  # None: adapt, and say nothing when the file is too small to adapt on
        help="adapt the model to this file's texts first, unlabelled, when 200 or more carry an "
        "opinion (default; an adapted --model scores as it is, and --adapt refuses it); "
        "--no-adapt scores every text as it would score alone",
    )
    _column_option(score)
    _config_dir_option(score)
    score.set_defaults(func=run_score, logs=False)

    adapt = actions.add_parser(
        "adapt",
        help="adapt the model to unlabelled texts of a new domain (one per line, or a CSV's "
        "--column); write it",
    )
    adapt_texts = adapt.add_mutually_exclusive_group(required=True)
    adapt_texts.add_argument(
        "file",
        type=readable_input,
        nargs="?",
        help="text file, one text per line, or a CSV with --column (- stdin)",
    )
    adapt_texts.add_argument(
        "--source",
        help="adapt to the posts of this source's processed files instead (for its "
        "sentiment_model in sources.yaml)",
    )
    adapt.add_argument(
        "--model",
        type=Path,
        help="model to adapt, not an adapted one (default: the shipped model)",
    )
    adapt.add_argument("--out", type=Path, required=True, help="where to write the adapted model")
    _column_option(adapt)
    _config_dir_option(adapt)
    adapt.set_defaults(func=run_adapt, logs=False)

    rescore = actions.add_parser(
        "rescore",
        help="re-score a source's processed posts with the model sources.yaml now names for it "
        "and this koubei's scoring rules, and tag their aspects with aspects.yaml as it now is "
        "(only what any of them changed); rewrite its processed files and update Elasticsearch",
    )
    rescore.add_argument(
        "--source",
        required=True,
        help="the source whose processed posts to re-score (one at a time: each source has its "
        "own sentiment_model, and its history is what its detectors compare against)",
    )
    rescore.add_argument(
        "--config-dir",
        type=options.config_dir,
        default=None,
        help="directory with sources.yaml and aspects.yaml, the aspect lexicon the posts are "
        "tagged with (the shipped one if it has none); a post tagged with another lexicon has "
        "its aspects tagged again, its sentiment kept if its model is current (default "
        "$KOUBEI_CONFIG_DIR, else the shipped config/)",
    )
    options.add_prefix(rescore)
    rescore.add_argument(
        "--workers",
        type=options.positive_int,
        default=None,
        help="processes sharing big files, as `koubei process` (default: one per core; see "
        "BENCHMARKS.md)",
    )
    rescore.add_argument(
        "--all",
        action="store_true",
        help="re-score every post, also those already scored with the model's version under "
        "this koubei's scoring rules (a plain rescore already re-scores the posts an upgrade's "
        "lexicons, glosses or no-opinion rules would score otherwise: sentiment.rules_version)",
    )
    rescore.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (drawn only when stderr is a terminal)",
    )
    rescore.set_defaults(func=run_rescore)

    train = actions.add_parser("train", help="train on a labelled CSV (label, review[, cat])")
    train.add_argument("data", type=Path, nargs="?", help=CORPUS_HELP)
    train.add_argument(
        "--out",
        type=Path,
        help="model file to write (default $KOUBEI_HOME/models/sentiment-<version>.json.gz)",
    )
    train.add_argument(
        "--epochs",
        type=options.non_negative_int,
        default=None,
        help="correction passes (default 3)",
    )
    train.add_argument(
        "--holdout", type=options.holdout_share, default=None, help="share held out (default 0.2)"
    )
    train.add_argument(
        "--seed",
        type=int,
        default=None,
        help="split and shuffle seed (default: the fixed one `eval --heldout` uses)",
    )
    train.add_argument(
        "--exclude-category",
        action="append",
        default=[],
        metavar="CAT",
        help="leave a whole category out of training (cross-domain check)",
    )
    train.set_defaults(func=run_train)

    ev = actions.add_parser("eval", help="accuracy, per-class P/R/F1 and throughput on a CSV")
    ev.add_argument("data", type=Path, nargs="?", help=CORPUS_HELP)
    ev.add_argument("--model", type=Path, help="model file (default: the shipped model)")
    ev.add_argument(
        "--heldout",
        action="store_true",
        help="evaluate only the held-out split (same seed as train) of DATA",
    )
    ev.add_argument(
        "--category",
        action="append",
        default=[],
        metavar="CAT",
        help="evaluate only these categories",
    )
    ev.add_argument("--stock", action="store_true", help="also evaluate stock snownlp (slow)")
    ev.add_argument("--json", action="store_true", help="print JSON instead of text")
    ev.add_argument(
        "--adapt",
        action="store_true",
        help="also measure the model adapted to the texts evaluated (labels unread), as score "
        "adapts to a file by default (a CSV with no review twice, all of it: the accuracy of "
        "score --column review DATA)",
    )
    _config_dir_option(ev)
    ev.set_defaults(func=run_eval)


def _column_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--column",
        metavar="NAME",
        help="FILE is a CSV whose header row names this column of texts (e.g. review): read "
        "it, one text a row (a quoted field may span lines) instead of one a line; ',', or "
        "';' or tab when the header has no comma. FILE of JSON Lines (a JSON object a line): "
        "read this field of each record (e.g. text_clean; a dotted path such as mblog.text "
        "reads a nested one)",
    )


def _config_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-dir",
        type=options.config_dir,
        default=None,
        help="directory with brands.yaml: adapting keeps the model's weights for every brand's "
        "name, aliases and competitors (the shipped brands.yaml if it has none, as for crawl) "
        "(default $KOUBEI_CONFIG_DIR, else the shipped config/)",
    )


def _corpus(given: Path | None) -> Path:
    """The CSV to train or evaluate on: the one given, else the configured full corpus."""
    from koubei import paths
    from koubei.errors import KoubeiError

    if given is not None:
        if not given.is_file():
            raise KoubeiError(f"{given}: no such labelled CSV")
        return given
    try:
        return paths.reviews_csv()
    except paths.MissingDataError as exc:
        raise KoubeiError(f"{exc}, or pass DATA.csv") from None


def _check_out(out: Path | None) -> None:
    """``--out`` names the model file to write: a directory there is refused before any work
    (it failed after the work, naming a temp file in the directory's parent)."""
    from koubei.errors import KoubeiError

    if out is not None and out.is_dir():
        raise KoubeiError(f"{out}: is a directory; --out names the model file to write")


def _model(path: Path | None) -> SentimentModel:
    """The model at ``path`` (default: the shipped one); a file that is none is a one-line
    error naming it, not a traceback."""
    from koubei.errors import KoubeiError
    from koubei.pipeline.sentiment import load_model

    try:
        return load_model(path)
    except (OSError, ValueError) as exc:
        raise KoubeiError(f"cannot load the sentiment model: {exc}") from None


def _categories(data: Path, rows: list[Example], names: list[str], option: str) -> set[str]:
    """``names`` given with ``option``, checked against the CSV's ``cat`` column: a CSV without
    one, or a name no row has (a typo), is an error instead of a filter that does nothing."""
    from koubei.errors import KoubeiError

    known = {r.category for r in rows} - {""}
    if names and not known:
        raise KoubeiError(f"{data}: has no 'cat' column (or it is empty), which {option} needs")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise KoubeiError(
            f"{option} {unknown[0]}: no such category in {data} (found: {', '.join(sorted(known))})"
        )
    return set(names)


def _say_adapted(model: SentimentModel, adapted: SentimentModel, asked: bool = True) -> None:
    """Say on stderr what adaptation did, or why it did not when it was ``asked`` for."""
    from koubei.pipeline.sentiment import adaptation

    if adapted is model:
        if not asked:
            return
        print(
            f"not adapted: fewer than {adaptation.MIN_TEXTS} texts with an opinion; "
            f"model {model.version} as it is",
            file=sys.stderr,
        )
    else:
        print(
            f"adapted {model.version} to {adapted.meta['adapted_on']} texts "
            f"({adapted.meta['pseudo_labelled']} confident calls): {adapted.version}",
            file=sys.stderr,
        )


def _adapt_instead(model: SentimentModel) -> str | None:
    """The model to adapt instead of ``model``, in words (its version, and that it is the
    shipped one when it is), when ``model`` is adapted already; else None. Adapting an adapted
    model again is refused (``adaptation.AlreadyAdaptedError``)."""
    from koubei.pipeline.sentiment import load_model
    from koubei.pipeline.sentiment.adaptation import adapted_from

    base = adapted_from(model)
    if base is None:
        return None
    shipped = " (the shipped model: leave out --model)" if base == load_model().version else ""
    return f"the model it was adapted from, version {base}{shipped}"


def _not_again(path: Path | None, model: SentimentModel, base: str) -> KoubeiError:
    """The error for adapting the adapted ``model`` of the file ``path`` again (checked before
    any text is read, so adaptation's own refusal is not reached)."""
    from koubei.errors import KoubeiError
    from koubei.pipeline.sentiment.adaptation import AlreadyAdaptedError

    return KoubeiError(f"{path}: {AlreadyAdaptedError(model, base)}")


def run_score(args: argparse.Namespace) -> int:
    from concurrent.futures import BrokenExecutor

    from koubei.cores import default_workers
    from koubei.errors import KoubeiError

    processes = args.processes or default_workers()
    try:
        return _score(args, processes)
    except BrokenExecutor:  # a worker killed (out of memory, say): nothing was printed yet
        raise KoubeiError(
            f"{args.file}: a process scoring it with this one was killed (out of memory?); "
            "nothing was printed: run again, with --processes 1 to use one process"
        ) from None


def _score(args: argparse.Namespace, processes: int) -> int:
    from koubei.forking import forked_calls
    from koubei.pipeline.sentiment.parallel import stretches_for
    from koubei.pipeline.sentiment.rules import rules_version

    adapting = args.adapt is not False
    with inputs.monitored_names_loading(args.config_dir, wanted=adapting) as names:
        model = _model(args.model)
        base = _adapt_instead(model) if adapting else None
        if base is not None:
            if args.adapt:  # asked for with --adapt
                raise _not_again(args.model, model, base)
            # by default an adapted model (a source's, say) is the one asked for: as it is
            print(
                f"not adapted: {args.model} is an adapted model ({model.version}); scored with "
                f"it as it is (to adapt to this file, score with {base})",
                file=sys.stderr,
            )
            adapting = False
        monitored = names() if adapting else []
    texts = inputs.read_texts(args.file, args.column, processes)
    if adapting:
        from koubei.pipeline.sentiment.adaptation import adapt_and_score

        adapted, scored = adapt_and_score(model, texts, monitored, processes)
        _say_adapted(model, adapted, asked=args.adapt is True)
        model = adapted
    else:  # the loaded model, inherited by the forked processes (as adapting's pass is read)
        stretches = stretches_for(texts, processes)
        with forked_calls(model.score_many, stretches[1:]) as others:
            scored = model.score_many(stretches[0])
            for part in others():
                scored += part
    for score, label in scored:
        out = {
            "score": round(score, 6),
            "label": label,
            "model_version": model.version,
            "rules_version": rules_version(),
        }
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


def run_adapt(args: argparse.Namespace) -> int:
    from koubei.pipeline.sentiment.adaptation import adapt

    _check_out(args.out)
    if args.source and args.column:
        from koubei.errors import KoubeiError

        raise KoubeiError("--column names a column of FILE; --source reads processed posts")
    model = _model(args.model)
    base = _adapt_instead(model)
    if base is not None:
        raise _not_again(args.model, model, base)
    monitored = inputs.monitored_names(args.config_dir)
    texts = (
        inputs.source_texts(args.source)
        if args.source
        else inputs.read_texts(args.file, args.column)
    )
    adapted = adapt(model, texts, monitored)
    _say_adapted(model, adapted)
    adapted.save(args.out)
    print(f"wrote {args.out} (version {adapted.version})")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from koubei import paths
    from koubei.pipeline.sentiment import training
    from koubei.pipeline.sentiment.evaluation import evaluate, format_report

    data = _corpus(args.data)
    _check_out(args.out)
    said: list[str] = []
    rows = training.load_labelled(data, said)
    inputs.warn(said)  # a Big5 or GBK export read as such, as `score` says it
    excluded = _categories(data, rows, args.exclude_category, "--exclude-category")
    seed = training.SEED if args.seed is None else args.seed
    holdout = training.HOLDOUT if args.holdout is None else args.holdout
    train_rows, held = training.split(rows, holdout=holdout, seed=seed)
    train_rows = [r for r in train_rows if r.category not in excluded]
    if not train_rows:  # (label 0/1 and a text; after --holdout and --exclude-category)
        raise training.LabelledDataError(f"{data}: no labelled rows to train on")
    labels = {r.label for r in train_rows}
    if len(labels) < 2:
        only = "positive (1)" if labels == {1} else "negative (0)"
        raise training.LabelledDataError(
            f"{data}: the rows to train on are all {only}; training needs both labels"
        )
    epochs = training.EPOCHS if args.epochs is None else args.epochs
    print(f"training on {len(train_rows)} texts, {len(held)} held out", file=sys.stderr)
    model = training.train_model(train_rows, epochs=epochs, seed=seed)
    out = args.out or paths.state_dir("models") / f"sentiment-{model.version}.json.gz"
    model.save(out)
    print(f"wrote {out} (version {model.version}, {len(model.weights)} features)")
    if held:
        print(
            format_report(
                "held out", evaluate(model.probability_aggregated, held, neutral=model.neutral)
            )
        )
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from koubei.pipeline.sentiment import training
    from koubei.pipeline.sentiment.evaluation import evaluate, format_report, stock_snownlp_score

    data = _corpus(args.data)
    said: list[str] = []
    rows = training.load_labelled(data, said)
    inputs.warn(said)
    wanted = _categories(data, rows, args.category, "--category")
    if args.heldout:
        rows = training.split(rows)[1]
    if wanted:
        rows = [r for r in rows if r.category in wanted]
    if not rows:
        print(f"{data}: no labelled rows to evaluate", file=sys.stderr)
        return 1
    model = _model(args.model)
    base = _adapt_instead(model) if args.adapt else None
    if base is not None:
        raise _not_again(args.model, model, base)
    results = {model.version: evaluate(model.probability_aggregated, rows, neutral=model.neutral)}
    if args.adapt:
        results.update(_adapted_result(model, rows, inputs.monitored_names(args.config_dir)))
    if args.stock:
        results["stock-snownlp"] = evaluate(stock_snownlp_score, rows)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        print("\n".join(format_report(name, result) for name, result in results.items()))
    return 0


def _adapted_result(
    model: SentimentModel, rows: list[Example], monitored: list[str]
) -> dict[str, dict]:
    """``{version: metrics}`` of ``model`` adapted to the ``rows``' texts, cleaned, adapted and
    scored as ``score --column review`` does (brand names held, no-opinion rows at 0.5): on a
    file of exactly these texts, the same version and scores (``load_labelled`` reads a repeated
    review once, and ``--heldout``/``--category`` take some rows). Timed with adapting; nothing
    when too few carry an opinion (said on stderr)."""
    import time

    from koubei.pipeline.clean import clean_text
    from koubei.pipeline.sentiment.adaptation import adapt_and_score
    from koubei.pipeline.sentiment.evaluation import metrics

    start = time.perf_counter()
    texts = [clean_text(r.text) for r in rows]
    adapted, scored = adapt_and_score(model, texts, monitored)
    elapsed = time.perf_counter() - start
    _say_adapted(model, adapted)
    if adapted is model:
        return {}
    labels = [r.label for r in rows]
    return {adapted.version: metrics([p for p, _ in scored], labels, elapsed, adapted.neutral)}
