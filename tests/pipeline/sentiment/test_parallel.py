"""Scoring and adapting over several processes give exactly the single-process results, in
order."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from koubei.pipeline.sentiment import load_model, training
from koubei.pipeline.sentiment.parallel import score_parallel

SAMPLE = Path(__file__).parents[2] / "data" / "reviews_sample.csv"


def test_parallel_scores_equal_serial_scores_in_order() -> None:
    texts = [f"第{i}次购买，{'质量很好' if i % 3 else '太差了，退货'}" for i in range(1200)]
    serial = load_model().score_many(texts)
    assert score_parallel(texts, processes=2, chunk=250) == serial
    assert score_parallel(texts[:10], processes=2) == serial[:10]


def test_stretches_keep_the_order_and_share_the_characters() -> None:
    from koubei.pipeline.sentiment.parallel import (
        PARALLEL_MIN_TEXTS,
        STRETCH_MIN_TEXTS,
        stretches_for,
    )

    # Long texts first: equal counts would give the first process most of the work.
    texts = ["长" * 100] * 500 + ["短"] * (PARALLEL_MIN_TEXTS - 500)
    two = stretches_for(texts, 2)
    assert [t for stretch in two for t in stretch] == texts and len(two) == 2
    sizes = [sum(map(len, stretch)) for stretch in two]
    assert abs(sizes[0] - sizes[1]) <= 100  # about as many characters each, not texts
    assert stretches_for(texts[:-1], 2) == [texts[:-1]]  # too few texts: one stretch
    assert stretches_for(texts, 1) == [texts]
    # no more processes than there are STRETCH_MIN_TEXTS texts for (--processes 1000)
    assert len(stretches_for(texts, 1000)) == len(texts) // STRETCH_MIN_TEXTS == 2
    assert len(stretches_for(texts * 2, 3)) == 3


def test_adapting_in_several_processes_gives_the_one_process_model_and_scores() -> None:
    """Each process numbers the features only it met in its own way; joined, the corpus must
    be the one a single pass gives, id for id: the same adapted weights, version and scores.
    (Run here with other threads about, the stretches are read one after the other in this
    process, through the same joining; the CLI test below forks.)"""
    from koubei.pipeline.sentiment import adaptation

    texts = _corpus()
    texts += ["".join(texts[i : i + 3]) + "，鲜牧的客服不错" for i in range(0, 600, 3)]
    names = ["鲜牧", "云朵"]
    alone, scored_alone = adaptation.adapt_and_score(load_model(), texts, names, processes=1)
    for processes in (2, 3):
        together, scored = adaptation.adapt_and_score(
            load_model(), texts, names, processes=processes
        )
        assert together.version == alone.version and together.weights == alone.weights
        assert together.adapted == alone.adapted and together.meta == alone.meta
        assert scored == scored_alone


def test_score_reads_a_big_file_in_two_processes_as_in_one(tmp_path: Path) -> None:
    """The command forks (no other thread runs in it), so this is the forked path, with two
    and with three processes, adapting and not."""
    rows = _corpus()
    file = tmp_path / "reviews.txt"
    file.write_text("\n".join(rows) + "\n转发微博\n\n")
    cli = [sys.executable, "-m", "koubei", "sentiment", "score", str(file)]
    runs = {
        extra: subprocess.run([*cli, *extra], capture_output=True, text=True, check=True)
        for extra in (
            ("--processes", "1"),
            ("--processes", "2"),
            ("--processes", "3"),
            ("--no-adapt", "--processes", "1"),
            ("--no-adapt", "--processes", "2"),
        )
    }
    one = runs["--processes", "1"]
    assert len(one.stdout.splitlines()) == len(rows) + 2
    assert "+adapted-" in one.stdout.splitlines()[0]
    for processes in ("2", "3"):
        more = runs["--processes", processes]
        assert more.stdout == one.stdout and more.stderr == one.stderr
    plain = runs["--no-adapt", "--processes", "1"]
    assert plain.stdout != one.stdout and len(plain.stdout.splitlines()) == len(rows) + 2
    assert runs["--no-adapt", "--processes", "2"].stdout == plain.stdout


def test_a_sampled_file_scores_in_two_processes_as_in_one(tmp_path: Path) -> None:
    """Over ``MAX_TEXTS`` texts, adapting reads an even sample and the rest (here more than
    ``PARALLEL_MIN_TEXTS``) is scored by the adapted model, in the processes asked for."""
    from koubei.pipeline.sentiment.adaptation import MAX_TEXTS
    from koubei.pipeline.sentiment.parallel import PARALLEL_MIN_TEXTS

    rows = [f"{t}{tail}" for tail in ("", "！", "。。", "，哈") for t in _corpus()]
    assert len(rows) - MAX_TEXTS > PARALLEL_MIN_TEXTS
    file = tmp_path / "reviews.txt"
    file.write_text("\n".join(rows) + "\n")
    cli = [sys.executable, "-m", "koubei", "sentiment", "score", str(file)]
    one, two = (
        subprocess.run([*cli, "--processes", n], capture_output=True, text=True, check=True)
        for n in ("1", "2")
    )
    assert f"to {MAX_TEXTS} texts" in one.stderr  # sampled
    assert two.stdout == one.stdout and two.stderr == one.stderr
    assert len(one.stdout.splitlines()) == len(rows)


def test_sigterm_while_adapting_in_several_processes_leaves_no_spool_folder(
    tmp_path: Path,
) -> None:
    """The forked processes' ids go through a folder of their own; a SIGTERM to the command
    (a service stopped, ``timeout``) removes it as Ctrl-C does, and ends it with status 143."""
    file = tmp_path / "reviews.txt"
    file.write_text("\n".join(_corpus()) + "\n")
    spools = tmp_path / "tmp"
    spools.mkdir()
    cli = [sys.executable, "-m", "koubei", "sentiment", "score", "--processes", "2", str(file)]
    env = {**os.environ, "TMPDIR": str(spools)}
    run = subprocess.Popen(
        cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not list(spools.glob("koubei-adapt-*")):
            assert run.poll() is None and time.monotonic() < deadline, "no spool folder was made"
            time.sleep(0.005)
        run.send_signal(signal.SIGTERM)  # the command's process only, as ``kill PID``
        _, stderr = run.communicate(timeout=120)
    finally:  # (a worker the command left behind would hold stderr open for ever)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 143 and not stderr.strip(), stderr  # no traceback
    assert list(spools.iterdir()) == []


def test_a_spool_folder_a_sigkill_left_is_removed_by_the_next_run_not_a_live_runs(
    tmp_path: Path,
) -> None:
    """A SIGKILL (the OOM killer, ``kill -9``) unwinds nothing: the killed run's folder stays
    until the next run, which removes it, as its maker has ended, but not the folder of a run
    still going (stopped here, so that its folder is there throughout the next run)."""
    rows = _corpus()
    file = tmp_path / "reviews.txt"
    file.write_text("\n".join(rows) + "\n")
    spools = tmp_path / "tmp"
    spools.mkdir()
    cli = [sys.executable, "-m", "koubei", "sentiment", "score", "--processes", "2", str(file)]
    env = {**os.environ, "TMPDIR": str(spools)}
    killed = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    live = None
    try:
        left = _spool_folder(killed, spools)
        killed.kill()
        killed.wait()
        assert left.is_dir()
        live = subprocess.Popen(
            cli, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        running = _spool_folder(live, spools)
        os.kill(live.pid, signal.SIGSTOP)
        try:
            after = subprocess.run(cli, env=env, capture_output=True, text=True, check=True)
            assert not left.exists() and running.is_dir()
        finally:
            os.kill(live.pid, signal.SIGCONT)
        stdout, stderr = live.communicate(timeout=120)
        assert live.returncode == 0, stderr
        assert stdout.decode() == after.stdout and len(after.stdout.splitlines()) == len(rows)
        assert list(spools.iterdir()) == []
    finally:
        for run in (killed, live):
            if run is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(run.pid, signal.SIGKILL)


@pytest.mark.parametrize("when", ["first fork", "adapting"])
def test_a_sigkill_of_the_command_ends_its_forked_processes(tmp_path: Path, when: str) -> None:
    """Killed with SIGKILL, the command left its forked processes for good: the one reading
    brands.yaml's names (its first), or one of adapting's passes, blocked on a pipe nobody
    reads any more, each holding its memory. They now end with the command."""
    file = tmp_path / "reviews.txt"
    file.write_text("\n".join(_corpus()) + "\n")
    spools = tmp_path / "tmp"
    spools.mkdir()
    cli = [sys.executable, "-m", "koubei", "sentiment", "score", "--processes", "2", str(file)]
    env = {**os.environ, "TMPDIR": str(spools)}
    run = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        if when == "adapting":
            _spool_folder(run, spools)
        children = Path(f"/proc/{run.pid}/task/{run.pid}/children")
        deadline = time.monotonic() + 120
        while not children.read_text().split():
            assert run.poll() is None and time.monotonic() < deadline, "nothing was forked"
            time.sleep(0.002)
        run.kill()  # the command's process only, as the OOM killer does
        run.wait()
        deadline = time.monotonic() + 30
        while _group_alive(run.pid):
            assert time.monotonic() < deadline, "a forked process outlived the command"
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _spool_folder(run: subprocess.Popen[bytes], spools: Path) -> Path:
    """The folder of forked passes' ids ``run`` makes in ``spools``, once it is there (named
    for its process: ``koubei.owned_folders``)."""
    deadline = time.monotonic() + 120
    while True:
        made = list(spools.glob(f"koubei-adapt-{run.pid}-*"))
        if made:
            return made[0]
        assert run.poll() is None and time.monotonic() < deadline, "no spool folder was made"
        time.sleep(0.005)


def _corpus() -> list[str]:
    """The sample's reviews three times over, the copies told apart (three stretches' worth:
    ``stretches_for`` gives a process at least ``STRETCH_MIN_TEXTS`` texts)."""
    texts = [r.text for r in training.load_labelled(SAMPLE)]
    return texts + [f"{t}，还行" for t in texts] + [f"说实话，{t}" for t in texts]
