"""``python -m bench NAME --help`` describes the benchmark and runs nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_help_prints_the_benchmarks_description_and_runs_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "sentiment", "spikes", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Sentiment benchmark: accuracy and throughput" in done.stdout
    assert "--quick" in done.stdout and "--adapt" in done.stdout  # the flags it reads
    assert "Spike detection scored as pages" in done.stdout
    # a run would print its tables (and take minutes); the help prints none
    assert "| scorer |" not in done.stdout and "model nb-" not in done.stdout


def test_an_unknown_benchmark_is_refused_with_the_available_ones() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "sentimen", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "unknown benchmark(s) ['sentimen']" in done.stderr and "'sentiment'" in done.stderr
