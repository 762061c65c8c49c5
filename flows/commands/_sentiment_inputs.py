"""What ``koubei sentiment score`` and ``adapt`` read: the texts (a file's lines, a CSV's
column, a source's processed posts) and the brand names adapting must not learn.

Apart from the commands (``sentiment.py``) so that each stays a size one can read; nothing here
scores or adapts. The leading ``_`` keeps it out of the CLI's commands (``koubei.flows.cli``
registers every other module of this package as one).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "brands_names",
    "monitored_names",
    "monitored_names_loading",
    "read_texts",
    "source_files",
    "source_texts",
    "warn",
]


def monitored_names(config_dir: Path | None) -> list[str]:
    """The names adapting must not learn as sentiment: brands.yaml's, loaded (and checked)
    before any text is read; a config directory without one uses the shipped one, as
    ``koubei crawl`` does. :func:`monitored_names_loading` at once."""
    with monitored_names_loading(config_dir) as names:
        return names()


@contextmanager
def monitored_names_loading(
    config_dir: Path | None, wanted: bool = True
) -> Iterator[Callable[[], list[str]]]:
    """:func:`monitored_names` started now and given when asked for (``[]`` when not
    ``wanted``), so that the caller loads its model meanwhile: one after the other, the two were
    about half of ``score``'s start-up on a short file (0.16 s and 0.10 s of 0.43 s).

    Loaded in a forked child (:func:`~koubei.forking.forked_calls`), which
    has exited once the ``with`` ends, before any text is read or adapted: the config schema
    (pydantic and its models) is about 20 MB of resident memory that nothing frees once
    imported, and in this process it raised adapting's peak on a hotel-sized file by about 10 MB
    (90 → 80 MB, ``python -m bench sentiment --memory``). A config error is raised by the
    function given, as it is. A process that already runs threads (a test runner, an embedding
    program) loads them itself when asked: forking it may copy a lock another thread holds.
    """
    from koubei.forking import forked_calls

    with forked_calls(brands_names, [config_dir] if wanted else []) as results:
        yield lambda: next(results(), [])


def brands_names(config_dir: Path | None) -> list[str]:
    from koubei import config, paths

    if config_dir is None or not (config_dir / "brands.yaml").exists():
        config_dir = paths.CONFIG_DIR
    return config.load_brands(config_dir).monitored_names()


def read_texts(file: Path, column: str | None = None, processes: int = 1) -> list[str]:
    """FILE's lines (its CSV ``column``'s rows, or a JSON Lines file's ``column`` field),
    cleaned, a big file's in ``processes`` processes (``forking.forked_calls``: the same texts
    in any case); what had to be guessed about its bytes is said on stderr, and so is a first
    line that looks like a CSV's header."""
    from koubei.errors import KoubeiError
    from koubei.forking import forked_calls
    from koubei.jsonrecords import is_jsonl, read_field
    from koubei.pipeline.sentiment.parallel import stretches_for
    from koubei.textfile import header_hint, input_name, read_column, read_input, read_lines

    name = input_name(file)
    try:
        read = read_lines(read_input(file), name)  # a gzip stream decompressed
        if column is None:
            hint = header_hint(read.lines, name)
            read.warnings += [hint] if hint else []
        else:
            read = (read_field if is_jsonl(read.lines) else read_column)(read, name, column)
    except ValueError as exc:
        raise KoubeiError(str(exc)) from None
    warn(read.warnings)
    stretches = stretches_for(read.lines, processes)
    with forked_calls(_cleaned, stretches[1:]) as others:
        texts = _cleaned(stretches[0])
        for cleaned in others():
            texts += cleaned
    return texts


def warn(warnings: Sequence[str]) -> None:
    """What reading an input had to guess or repair, one ``koubei: warning:`` line each on
    stderr: the one way ``score``, ``adapt``, ``train`` and ``eval`` say it (which encoding a
    file that is not UTF-8 was read as: :func:`koubei.textfile.decoded_as`)."""
    for warning in warnings:
        print(f"koubei: warning: {warning}", file=sys.stderr)


def _cleaned(lines: Sequence[str]) -> list[str]:
    from koubei.pipeline.clean import clean_text

    return [clean_text(line) for line in lines]


def source_files(source: str) -> list[Path]:
    """``source``'s processed files; none is an error naming the sources that have some."""
    from koubei.errors import KoubeiError
    from koubei.pipeline import ledger

    every = ledger.processed_files()
    files = [path for path in every if path.parent.name == source]
    if not files:  # (a name with a "/" or "..": no folder of processed/ either)
        have = sorted({path.parent.name for path in every})
        raise KoubeiError(
            f"no processed files for source {source!r} (run `koubei process` first); "
            f"sources with processed files: {', '.join(have) or 'none yet'}"
        )
    return files


def source_texts(source: str) -> list[str]:
    """The cleaned texts of ``source``'s processed files (what the pipeline scored)."""
    from koubei import jsonl

    files = source_files(source)
    texts = [r.get("text_clean") or "" for f in files for r in jsonl.read(f)]
    print(f"{len(texts)} texts from {len(files)} processed file(s) of {source}", file=sys.stderr)
    return texts
