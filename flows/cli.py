"""The ``koubei`` command line.

Each subcommand lives in its own module under ``flows/commands/`` and exposes
``register(subparsers)``; modules are discovered, so adding a command touches one file. Heavy
imports happen inside the handlers, keeping ``koubei --help`` fast.

Ordinary mistakes (a missing or malformed file, a bad option value, an unset variable) end with
one line per problem on stderr naming the file, option or variable, and exit 2: argparse
validates what it can (``koubei.flows.options``), and :func:`main` turns the project's errors
(:class:`~koubei.errors.KoubeiError`, :class:`~koubei.config.ConfigError`) and a missing input
file into that line. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import sys
from collections.abc import Sequence
from typing import NoReturn


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``koubei search: error: argument --since: ...``), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    import koubei.flows.commands as commands

    parser = _Parser(
        prog="koubei",
        description="Brand sentiment and crisis monitoring: crawl, process, index, detect, alert.",
        epilog="Every command takes -v (debug logging) before or after it; "
        "`koubei COMMAND --help` for its options.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"koubei.flows.commands.{info.name}")
        module.register(subparsers)
    _verbose_everywhere(subparsers)
    return parser


def _verbose_everywhere(subparsers: argparse._SubParsersAction) -> None:
    """Accept ``-v`` after any (sub)command: ``koubei index setup -v`` = ``koubei -v index setup``.

    ``SUPPRESS`` as the default matters: argparse copies a subparser's defaults over the parent's
    namespace, so a plain ``False`` default there would undo a ``-v`` given before the command.
    """
    for sub in {id(p): p for p in subparsers.choices.values()}.values():
        sub.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
        )
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                _verbose_everywhere(action)


def main(argv: Sequence[str] | None = None) -> int:
    # Prefect's temporary local server gets 20 s to start by default, too little on a loaded
    # 2-core machine; set before prefect is imported so its settings see it.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    # No telemetry: monitoring often runs where only internal hosts are reachable.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    # Logging setup (structlog) and the config module (pydantic) are imported only when needed:
    # together they are most of the start-up of `koubei sentiment score`, which other tools
    # call once per file and which neither logs nor reads the config (set_defaults(logs=False)).
    if getattr(args, "logs", True):
        from koubei.log import configure_logging

        configure_logging(verbose=args.verbose)
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`koubei spikes detect s.csv | head -1`): stop quietly, as a
        # pipeline's commands do, and keep Python from failing again flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        # Imported here, not at the top: pydantic's import is most of a short command's start-up.
        from koubei.config import ConfigError
        from koubei.errors import KoubeiError

        if isinstance(exc, ConfigError):
            return _one_line_each("config error", str(exc), 2)
        if isinstance(exc, KoubeiError):
            return _one_line_each("error", str(exc), exc.exit_code)
        missing = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)
        if isinstance(exc, missing) and exc.filename is not None:
            return _one_line_each("error", f"{exc.filename}: {exc.strerror}", 2)
        raise
    return int(result or 0)


# Line breaks other than ``\n`` that ``str.splitlines`` would split at. A message's own lines
# are ``\n``-separated; these come from a user's data quoted in it (a CSV header holding U+2028),
# and split there the rest of the line printed as ``koubei: error: <fragment>`` without the file
# it named. Shown escaped instead (``\u2028``): a bare ``\r`` would also let the text after it
# overwrite the line on a terminal.
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _one_line_each(kind: str, message: str, code: int) -> int:
    from koubei.redact import redact  # a URL variable may carry credentials

    for line in redact(message).replace("\r\n", "\n").rstrip("\n").split("\n"):
        line = _OTHER_BREAKS.sub(lambda m: m.group().encode("unicode_escape").decode(), line)
        print(f"koubei: {kind}: {line}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
