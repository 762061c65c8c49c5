"""``python -m bench [NAME ...] [FLAGS]``: run the named benchmarks, or all of them.

``python -m bench [NAME ...] --help`` prints what each named benchmark measures and its flags
(each module's docstring) and runs nothing: every other flag is passed to the benchmarks, which
read only their own, so without this a ``--help`` started a full run of up to half an hour."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main(argv: list[str]) -> int:
    available = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name[0] != "_")
    names = [a for a in argv if not a.startswith("-")] or available
    flags = [a for a in argv if a.startswith("-")]
    unknown = sorted(set(names) - set(available))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    if "-h" in flags or "--help" in flags:
        for name in names:
            doc = importlib.import_module(f"bench.{name}").__doc__ or "(no description)"
            print(f"== bench {name}\n{doc.strip()}\n")
        return 0
    status = 0
    for name in names:
        print(f"== bench {name}", flush=True)
        status |= importlib.import_module(f"bench.{name}").main(flags)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
