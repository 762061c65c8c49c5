"""The documentation names only what the code has, and the code has nothing it leaves unnamed.

Cheap checks that catch drift: the README's command table, and every ``koubei ...`` command the
docs and config comments show, against the real ``koubei`` parser; its environment variable table
against the variables the code reads; and each shipped config file's comments against the one
schema (``koubei/config.py``) and the detector and channel registries, commented-out examples
included.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from koubei import config
from koubei.analysis.alerts.channels.base import ChannelOptions
from koubei.analysis.detectors import build_detectors
from koubei.flows.cli import build_parser
from koubei.pipeline.aspects import Aspect

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
CONFIG = REPO / "config"
# Where the code lives (the folders koubei/ links to, and the benchmarks).
CODE_DIRS = ("koubei", "crawlers", "pipeline", "flows", "analysis", "demo", "bench")


def _section(heading: str) -> str:
    start = README.index(f"{heading}\n")
    end = README.find("\n#", start + len(heading))
    return README[start : end if end != -1 else None]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    found = {flag for action in parser._actions for flag in action.option_strings}
    for sub in _subparsers(parser).values():
        found |= _options(sub)
    return found


def _actions(parser: argparse.ArgumentParser) -> set[str]:
    """Sub-actions (``index setup``) or positional choices (``es start``) of a command."""
    subs = set(_subparsers(parser))
    for action in parser._actions:
        if not action.option_strings and action.choices and not subs:
            subs |= set(action.choices)
    return subs


def _command_rows() -> list[str]:
    rows = re.findall(r"^\| `koubei ([^`]+)` \|", _section("## Commands"), flags=re.M)
    assert rows, "no command table in README.md"
    return rows


def test_readme_command_table_matches_the_cli() -> None:
    commands = _subparsers(build_parser())
    listed: dict[str, set[str]] = {}
    for row in _command_rows():
        name, _, rest = row.partition(" ")
        assert name in commands, f"README lists `koubei {name}`, which does not exist"
        parser = commands[name]
        # Alternatives are separated by `\|`; an action is the first word of one.
        for alternative in rest.split("\\|"):
            word = alternative.strip().split(" ")[0] if alternative.strip() else ""
            if re.fullmatch(r"[a-z][a-z-]*", word):
                listed.setdefault(name, set()).add(word)
        for flag in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", rest):
            assert flag in _options(parser), f"README: `koubei {name}` has no option {flag}"
    assert set(listed) | {n for n in commands if not _actions(commands[n])} >= set(commands), (
        f"commands missing from README's table: {sorted(set(commands) - set(listed))}"
    )
    for name, parser in commands.items():
        actions = _actions(parser)
        assert listed.get(name, set()) == actions, (
            f"`koubei {name}`: README lists {sorted(listed.get(name, set()))}, "
            f"the CLI has {sorted(actions)}"
        )


def _code_text() -> str:
    files = [p for d in CODE_DIRS for p in (REPO / d).rglob("*.py") if not p.is_symlink()]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def _env_table() -> set[str]:
    rows = [r for r in _section("### Environment variables").splitlines() if r.startswith("| `")]
    names = set(re.findall(r"`((?:KOUBEI_|ES_JAVA_HOME|REDIS_URL)[A-Z0-9_]*)`", "\n".join(rows)))
    assert "KOUBEI_HOME" in names, "no environment variable table in README.md"
    return names


def _env_read_by_code(code: str) -> set[str]:
    """Variables the code reads: os.environ / getenv by name, or a name kept in a constant."""
    direct = re.findall(r"environ(?:\.get|\.setdefault)?[\[(]\"([A-Z][A-Z0-9_]+)\"", code)
    direct += re.findall(r"getenv\(\"([A-Z][A-Z0-9_]+)\"", code)
    constants = re.findall(r"^\w*_ENV = \"([A-Z][A-Z0-9_]+)\"", code, flags=re.M)
    looped = re.findall(r"for var in \(\"(KOUBEI_[A-Z0-9_]+)\"", code)
    prefect = re.findall(r"\{\{ \$([A-Z][A-Z0-9_]+) \}\}", code)  # resolved by a Prefect worker
    return {n for n in direct + constants + looped + prefect if n.startswith("KOUBEI_")}


def test_every_variable_the_code_reads_is_in_the_readme_table_and_back() -> None:
    code = _code_text()
    read = _env_read_by_code(code)
    # Test-only switches (tests/conftest.py, tests/analysis/alerts) are documented beside them.
    table = _env_table()
    assert read - table == set(), f"read by the code, missing from README: {sorted(read - table)}"
    unread = {n for n in table if n.startswith("KOUBEI_")} - read
    assert unread == set(), f"in README's table, read nowhere: {sorted(unread)}"


@pytest.mark.parametrize("doc", ["README.md", "config/README.md", "crawlers/README.md"])
def test_every_variable_a_doc_names_exists(doc: str) -> None:
    text = (REPO / doc).read_text(encoding="utf-8")
    known = _code_text() + "".join(p.read_text("utf-8") for p in CONFIG.glob("*.yaml"))
    for name in sorted(set(re.findall(r"\bKOUBEI_[A-Z0-9_]*[A-Z0-9]\b", text))):
        assert name in known, f"{doc} names {name}, which no code or config mentions"


def _header_fields(path: Path) -> set[str]:
    """Field names a config file's header comment lists (``#   name    what it is``)."""
    text = path.read_text(encoding="utf-8")
    return set(re.findall(r"^#\s{2,}([a-z_]+)\s{2,}", text, flags=re.M))


@pytest.mark.parametrize(
    ("file", "model"), [("sources.yaml", config.Source), ("brands.yaml", config.Brand)]
)
def test_config_header_comment_lists_every_schema_field(file: str, model: type[BaseModel]) -> None:
    listed = _header_fields(CONFIG / file)
    fields = set(model.model_fields)
    assert fields - listed == set(), f"{file}: fields not described: {sorted(fields - listed)}"
    assert listed - fields == set(), f"{file}: described but not fields: {sorted(listed - fields)}"


def test_alerts_yaml_names_every_top_level_paging_and_channel_option() -> None:
    text = (CONFIG / "alerts.yaml").read_text(encoding="utf-8")
    keys = set(re.findall(r"^(?:# )?([a-z_]+):", text, flags=re.M))
    missing = set(config.AlertsConfig.model_fields) - keys
    assert missing == set(), f"alerts.yaml shows no {sorted(missing)}"
    block = re.search(r"^paging:.*\n((?:  .*\n)+)", text, flags=re.M)
    assert block is not None, "alerts.yaml has no paging block"
    paging = set(re.findall(r"^  ([a-z_]+):", block.group(1), flags=re.M))
    assert paging == set(config.PagingConfig.model_fields)
    common = text.split("# Common options:")[1].split("\n  - name:")[0]
    unnamed = {name for name in ChannelOptions.model_fields if name not in common}
    assert unnamed == set(), f"alerts.yaml's common channel options omit {sorted(unnamed)}"


def test_commented_out_examples_in_the_config_are_valid(tmp_path: Path) -> None:
    """``# quiet_hours: {...}``, ``# return_days: 30``: uncommented, they load and build."""
    uncommented = 0
    for file in ("alerts.yaml", "sources.yaml", "brands.yaml"):
        lines = []
        for line in (CONFIG / file).read_text(encoding="utf-8").splitlines():
            example = re.match(r"^(\s*)# ([a-z_]+: \S.*)$", line)
            if example and isinstance(yaml.safe_load(example.group(2)), dict):
                line = example.group(1) + example.group(2)
                uncommented += 1
            lines.append(line)
        (tmp_path / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert uncommented >= 2  # quiet_hours and mention-jump's return_days at least
    alerts = config.load_alerts(tmp_path)
    assert alerts.quiet_hours is not None
    build_detectors(alerts, tmp_path / "alerts.yaml")
    config.load_sources(tmp_path)
    config.load_brands(tmp_path)


def _commands_named(sentence: str) -> set[str]:
    """``run``, ``alerts deliver|test`` ... in a README sentence, as ``alerts deliver``,
    ``alerts test``; a command alone stands for every action it has."""
    parser = build_parser()
    found: set[str] = set()
    for phrase in re.findall(r"`([a-z][a-z |-]*)`", sentence):
        name, _, actions = phrase.partition(" ")
        command = _subparsers(parser).get(name)
        if command is None:
            continue
        subs = _subparsers(command)
        chosen = actions.split("|") if actions else (sorted(subs) or [""])
        found |= {f"{name} {a}".strip() for a in chosen}
    return found


def _commands_taking(option: str) -> set[str]:
    found: set[str] = set()
    for name, command in _subparsers(build_parser()).items():
        for action, sub in (_subparsers(command) or {"": command}).items():
            if option in {f for a in sub._actions for f in a.option_strings}:
                found.add(f"{name} {action}".strip())
    return found


@pytest.mark.parametrize(
    ("option", "start", "end"),
    [
        ("--config-dir", "`$KOUBEI_CONFIG_DIR` (default", "; `spikes detect|backtest` take"),
        ("--config", "; `spikes detect|backtest` take", "(also spelt `--config-dir`"),
        ("--prefix", "`$KOUBEI_INDEX_PREFIX` (default `koubei`)", "also take `--prefix`"),
    ],
)
def test_readme_names_exactly_the_commands_that_take_the_option(
    option: str, start: str, end: str
) -> None:
    """ "`run`, `serve`, `crawl`, `alerts deliver|test` ... also take `--config-dir`": each
    command named takes the option, and no command that takes it is left out."""
    text = " ".join(_section("## Commands").split())
    sentence = text[text.index(start) : text.index(end, text.index(start))]
    named = _commands_named(sentence.split(";")[-1] if option == "--prefix" else sentence)
    taking = _commands_taking(option)
    if option == "--config-dir":  # README names these with `--config`, their first spelling
        taking -= _commands_taking("--config")
    assert named - taking == set(), f"README says these take {option}: {sorted(named - taking)}"
    assert taking - named == set(), f"README omits {option} of {sorted(taking - named)}"


def test_readme_defaults_are_the_codes_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults the README states, read from where the code keeps them."""
    from koubei import es_local
    from koubei.crawlers import distributed
    from koubei.crawlers.runner import crawl_log_level
    from koubei.flows.dask_process import NO_WORKERS_S
    from koubei.pipeline.index import templates
    from koubei.pipeline.index.client import index_prefix

    serve = _subparsers(_subparsers(build_parser())["report"])["serve"]
    defaults = {a.dest: a.default for a in serve._actions}
    assert f"127.0.0.1:{defaults['port']}" in README and defaults["host"] == "127.0.0.1"
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `(KOUBEI_[A-Z_]+)`.*\| ([^|]+) \|$", README, flags=re.M)
    }
    monkeypatch.delenv("KOUBEI_INDEX_PREFIX", raising=False)
    assert rows["KOUBEI_INDEX_PREFIX"] == f"`{index_prefix()}`"
    assert rows["KOUBEI_CRAWL_LOG_LEVEL"] == f"`{crawl_log_level({})}`"
    assert rows["KOUBEI_HOME"] == "`./var`"
    assert rows["KOUBEI_DASK_NO_WORKERS_S"] == f"`{NO_WORKERS_S:g}`"
    for name in ("KOUBEI_ES_ANALYZER", "KOUBEI_ES_REPLICAS"):
        monkeypatch.delenv(name, raising=False)
    assert rows["KOUBEI_ES_ANALYZER"] == f"`{templates.analyzer_name()}`"
    assert rows["KOUBEI_ES_REPLICAS"] == f"`{templates.replica_count()}`"
    redis = f"`{distributed.DEFAULT_REDIS_URL}`, none, `{distributed.DEFAULT_IDLE_S:g}`, "
    assert rows["KOUBEI_SCHEDULER"] == f"local scheduler, {redis}`{distributed.DEFAULT_LEASE_S:g}`"
    if "KOUBEI_ES_VERSION" not in os.environ:  # the constant reads it at import
        assert rows["KOUBEI_ES_VERSION"].startswith(f"`{es_local.ES_VERSION}`")


# Where a user reads `koubei ...` command lines: the docs and the shipped config's comments.
USER_DOCS = (
    "README.md",
    "RELIABILITY.md",
    "crawlers/README.md",
    "config/README.md",
    "docs/alerts/README.md",
    "config/alerts.yaml",
    "config/sources.yaml",
    "config/brands.yaml",
)
_SHELL_STOPS = {"&", "&&", ";", "|", "||", ">", ">>", "2>", "2>&1"}


def _command_problems(words: list[str]) -> list[str]:
    """What in ``koubei WORDS`` the parser does not have: an action (``index lod``) or an option
    of the command it is given to (``search --brands``). Alternatives (``load|replay``) are each
    checked; placeholders (``NAME``, ``FILE.csv``) and option values pass."""
    problems = []
    parsers = [build_parser()]
    for word in words:
        if word.startswith("-"):
            flag = word.split("=")[0].strip("[]")
            for parser in parsers:
                if flag not in {f for a in parser._actions for f in a.option_strings}:
                    problems.append(f"{parser.prog} has no option {flag}")
            continue
        alternatives = word.strip("[]").split("|")
        if re.fullmatch(r"[a-z][a-z-]*(\|[a-z][a-z-]*)*", word.strip("[]")):  # not a placeholder
            for parser in parsers:
                actions = _actions(parser)  # none: the word is an argument of the command
                problems += [
                    f"{parser.prog} has no command {a}"
                    for a in alternatives
                    if actions and a not in actions
                ]
            if problems:
                return problems  # what follows an unknown command means nothing
        chosen = [_subparsers(p)[a] for p in parsers for a in alternatives if a in _subparsers(p)]
        parsers = chosen or parsers
    return problems


def _inline_commands(text: str) -> list[str]:
    """``koubei ...`` in backticks, a span wrapped over lines (and YAML comment marks) joined;
    table rows with escaped alternatives (``\\|``, checked above) and messages (``koubei run:``)
    left out."""
    joined = re.sub(r"\n\s*#?\s*", " ", text)
    spans = re.findall(r"`(?:\.venv/bin/)?koubei ((?:[^`\\]|\\.)+)`", joined)
    return [s for s in spans if "\\|" not in s and not any(w.endswith(":") for w in s.split())]


def _fenced_commands(text: str) -> list[list[str]]:
    """The arguments after ``koubei`` on each command line of a fenced block, up to the first
    shell operator; comments dropped."""
    found = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.M | re.S):
        for line in block.splitlines():
            if not re.search(r"(^|[\s/])koubei(\s|$)", line.split(" #")[0]):
                continue
            words = shlex.split(line, comments=True)
            # the command word: the first after `VAR=value` assignments (and a loop's `do`)
            starts = [
                i
                for i, w in enumerate(words)
                if (w == "koubei" or (w.endswith("/koubei") and "=" not in w))
                and all(re.fullmatch(r"\w+=\S*|do", v) for v in words[i - 1 : i] if i)
            ]
            if starts:
                rest = words[starts[0] + 1 :]
                stop = next((i for i, w in enumerate(rest) if w in _SHELL_STOPS), len(rest))
                found.append(rest[:stop])
    return found


@pytest.mark.parametrize("doc", USER_DOCS)
def test_every_koubei_command_a_doc_shows_exists_with_those_options(doc: str) -> None:
    """A command or option renamed in the code, or misspelt in prose or a config comment, is
    caught here, not by the user who copies it."""
    text = (REPO / doc).read_text(encoding="utf-8")
    problems = {
        f"`koubei {span}`: {problem}"
        for span in _inline_commands(text)
        for problem in _command_problems(span.split())
    }
    assert problems == set(), f"{doc}: {sorted(problems)}"


@pytest.mark.parametrize("doc", USER_DOCS)
def test_every_koubei_command_line_in_a_fenced_block_runs_as_written(
    doc: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command line a user would paste parses with the real parser, and a source it names
    is one of the shipped config's sources."""
    sources = config.load_sources(CONFIG).names()
    for words in _fenced_commands((REPO / doc).read_text(encoding="utf-8")):
        try:
            args = build_parser().parse_args(words)
        except SystemExit:
            pytest.fail(f"{doc}: `koubei {' '.join(words)}`: {capsys.readouterr().err.strip()}")
        named = getattr(args, "sources", None) or getattr(args, "source", None) or []
        for name in [named] if isinstance(named, str) else named:
            assert name in sources, f"{doc}: `koubei {' '.join(words)}`: no source {name!r}"


def test_alerts_yaml_names_every_detector_and_channel_type() -> None:
    """A detector or channel class a user can name in alerts.yaml is named there."""
    from koubei.analysis.alerts.channels import CHANNEL_TYPES
    from koubei.analysis.detectors.base import REGISTRY

    text = (CONFIG / "alerts.yaml").read_text(encoding="utf-8")
    unnamed = {t for t in (*REGISTRY, *CHANNEL_TYPES) if not re.search(rf"\b{t}\b", text)}
    assert unnamed == set(), f"alerts.yaml names no detector or channel type {sorted(unnamed)}"


def _test_names() -> dict[str, set[str]]:
    """Each test file under tests/ (its path from the repository) and the tests it defines."""
    return {
        str(path.relative_to(REPO)): set(
            re.findall(r"^\s*(?:async )?def (test_\w+)", path.read_text("utf-8"), flags=re.M)
        )
        for path in (REPO / "tests").rglob("test_*.py")
    }


def _reliability_problems(text: str, tests: dict[str, set[str]]) -> list[str]:
    """What RELIABILITY.md names that tests/ lacks: ``path/test_x.py::test_y``, a file alone
    (``test_x.py``: by its name anywhere under tests/), ``::test_y`` after a file (that file's),
    and a test name alone (in any file)."""
    problems = []
    files: list[str] = []
    for span in re.findall(r"`([^`\n]+)`", text):
        for word in span.replace(",", " ").split():
            named = re.fullmatch(r"((?:[\w/]+/)?test_\w+\.py)?(?:::(test_\w+))?|(test_\w+)", word)
            if not named or not any(named.groups()):
                continue
            file, test = named.group(1), named.group(2) or named.group(3)
            if file:
                files = [f for f in tests if f == file or f.endswith("/" + file)]
                if not files:
                    problems.append(f"no test file {file}")
                    continue
            where = files if file or "::" in word else list(tests)
            if test and not any(test in tests[f] for f in where):
                problems.append(f"no test {word}")
    return problems


def test_every_test_reliability_names_exists() -> None:
    """A row's test renamed, moved or removed is caught here, not by a reader looking for it."""
    problems = _reliability_problems((REPO / "RELIABILITY.md").read_text("utf-8"), _test_names())
    assert problems == [], f"RELIABILITY.md: {sorted(set(problems))}"


def test_the_reliability_check_catches_a_renamed_test() -> None:
    tests = {"tests/a/test_x.py": {"test_one", "test_two"}}
    good = "`tests/a/test_x.py::test_one`, `::test_two`; `test_x.py`; `test_two`"
    assert _reliability_problems(good, tests) == []
    bad = "`test_x.py::test_one`, `::test_three`; `test_y.py`; `test_four`"
    assert _reliability_problems(bad, tests) == [
        "no test ::test_three",
        "no test file test_y.py",
        "no test test_four",
    ]


_DEFINED = r"^\s*(?:(?:async\s+)?def|class)\s+(\w+)|^\s*(\w+)\s*(?::[^=\n]*)?=(?!=)"
_MEMBER = r"(?<![\w.:/-])([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b(?![.(/:-])"  # module.name
_FILE_KINDS = {"py", "yaml", "md", "json", "jsonl", "csv", "gz", "txt", "html", "png", "xml", "log"}


def _code_names() -> tuple[dict[str, set[str]], set[str]]:
    """What each module, package and class defines (functions, classes, assignments), and the
    names of record and config fields (``cascade.via``, ``paging.outage_cap`` are fields)."""
    defined: dict[str, set[str]] = {}
    fields: set[str] = set()
    for path in (p for d in CODE_DIRS for p in (REPO / d).rglob("*.py") if not p.is_symlink()):
        text = path.read_text("utf-8")
        names = {a or b for a, b in re.findall(_DEFINED, text, flags=re.M)}
        fields |= set(re.findall(r"^\s+(\w+): ", text, flags=re.M))
        defined.setdefault(path.stem, set()).update(names)
        defined.setdefault(path.parent.name, set()).update(names | {path.stem})
        for cls, body in re.findall(r"^class (\w+)\b.*\n((?:(?:[ \t]+.*)?\n)+)", text, flags=re.M):
            defined.setdefault(cls, set()).update(
                a or b for a, b in re.findall(_DEFINED, body, flags=re.M)
            )
    for template in (CONFIG / "es").glob("*.json"):
        fields |= set(re.findall(r'"(\w+)"\s*:', template.read_text("utf-8")))
    for owner in ("koubei", "index"):  # `koubei.pipeline` is the package; `index.*` ES settings
        defined.pop(owner, None)
    return defined, fields


@pytest.mark.parametrize("doc", USER_DOCS)
def test_every_module_or_class_member_a_doc_names_exists(doc: str) -> None:
    """``textutil.BLOCK_TAGS``, ``CrawlState.mark_read``: a function, class or constant named
    as a member of a module or class the code has is defined there (a rename is caught here)."""
    defined, fields = _code_names()
    text = (REPO / doc).read_text(encoding="utf-8")
    missing = {
        f"{owner}.{name}"
        for span in re.findall(r"`([^`\n]+)`", text)
        for owner, name in re.findall(_MEMBER, span)
        if owner in defined
        and name not in defined[owner]
        and name not in fields
        and name not in _FILE_KINDS
    }
    assert missing == set(), f"{doc} names what the code does not define: {sorted(missing)}"


def test_reliability_counts_the_fuzz_properties_there_are() -> None:
    """The fuzz row's "N properties × 7,200 examples | M cases" (and tests/conftest.py's
    comment) count the ``@given`` properties of tests/fuzz/ and the ci profile's examples."""
    from tests.conftest import CI_EXAMPLES

    properties = sum(
        len(re.findall(r"^@given\(", path.read_text("utf-8"), flags=re.M))
        for path in (REPO / "tests" / "fuzz").glob("test_fuzz_*.py")
    )
    row = re.search(
        r"\| ([\d,]+) properties × ([\d,]+) examples [^|]*\| ([\d,]+) cases \|",
        (REPO / "RELIABILITY.md").read_text("utf-8"),
    )
    assert row is not None, "RELIABILITY.md has no fuzz row"
    stated = [int(n.replace(",", "")) for n in row.groups()]
    assert stated == [properties, CI_EXAMPLES, properties * CI_EXAMPLES]
    comment = f"# {properties} fuzz properties x {CI_EXAMPLES:,} = {properties * CI_EXAMPLES:,}"
    assert comment in (REPO / "tests" / "conftest.py").read_text("utf-8")


# `timeout (seconds for the whole answer, default 10)` after a colon or a comma
_IN_A_SENTENCE = r"(?:^#\s*|[:,;] )([a-z_]+) \([^()]*?\bdefault ([^:;)][^;)]*)\)"


def _stated_defaults(text: str) -> dict[str, str]:
    """``name  what it is ... (default V)`` in a header comment's field list, and ``name (...,
    default V)`` in a sentence: each field's stated default as written (``default:`` prose is
    a description, not a value, and is left out)."""
    stated: dict[str, str] = {}
    field = None
    for line in text.splitlines():
        listed = re.match(r"^#\s{2,}([a-z_]+)\s{2,}", line)
        field = listed.group(1) if listed else field if line.startswith("#   ") else None
        for name, value in re.findall(_IN_A_SENTENCE, line):
            stated[name] = value
        if field and (value := re.search(r"\(default ([^:;)][^;)]*)[;)]", line)):
            stated[field] = value.group(1)
    return stated


@pytest.mark.parametrize(
    ("file", "model"),
    [
        ("sources.yaml", config.Source),
        ("alerts.yaml", ChannelOptions),
        ("aspects.yaml", Aspect),
    ],
)
def test_defaults_a_config_comment_states_are_the_schemas(
    file: str, model: type[BaseModel]
) -> None:
    """``max_pages ... (default 50)``, ``timeout (..., default 10)``: what the comment says is
    what the one schema fills in."""
    stated = _stated_defaults((CONFIG / file).read_text(encoding="utf-8"))
    assert stated, f"{file} states no default"
    for name, value in stated.items():
        assert name in model.model_fields, f"{file}: default of {name}, which is no field"
        default = model.model_fields[name].default
        assert value == str(default) or yaml.safe_load(value) == default, (
            f"{file}: {name} defaults to {default!r}, the comment says {value}"
        )


def _all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [parser, *(p for sub in _subparsers(parser).values() for p in _all_parsers(sub))]


def test_a_default_an_options_help_states_is_its_default() -> None:
    """``--heap HEAP ... (default 512m)``, ``-n ... (default 10)``: the help (which the README
    table repeats) says the value argparse fills in, when it fills one in."""
    checked = 0
    for parser in _all_parsers(build_parser()):
        for action in parser._actions:
            said = re.search(r"\(default ([\w.]+)[;)]", action.help or "")
            if said and action.default is not None and not isinstance(action.default, Path):
                assert said.group(1) == str(action.default), (
                    f"{parser.prog} {'/'.join(action.option_strings)}: help says default "
                    f"{said.group(1)}, argparse fills in {action.default!r}"
                )
                checked += 1
    assert checked >= 5  # --heap, -n, --port, --host, spikes evaluate's three


def test_a_test_count_reliability_states_is_the_files() -> None:
    """`tests/.../test_x.py` (10 tests: ...): the file collects that many (a test added to
    the file and not to the row is caught here)."""
    import subprocess
    import sys

    stated = re.findall(
        r"`(tests/[\w/]+\.py)` \((\d+) tests", (REPO / "RELIABILITY.md").read_text("utf-8")
    )
    assert stated, "RELIABILITY.md states no test count"
    files = sorted({file for file, _ in stated})
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for file, count in stated:
        found = sum(line.startswith(f"{file}::") for line in collected.splitlines())
        assert found == int(count), f"RELIABILITY.md: {file} has {found} tests, not {count}"
