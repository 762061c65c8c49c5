"""``-v`` is accepted before or after any (sub)command, as the README promises."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from koubei.flows.cli import build_parser, main
from koubei.flows.options import existing_file, readable_input
from koubei.log import configure_logging


def leaf_commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path
        return
    for name, sub in subs[0].choices.items():
        yield from leaf_commands(sub, (*path, name))


def required_args(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> list[str]:
    """Placeholder values for a command's required positionals and options, enough to parse."""
    node = parser
    for name in path:
        node = next(a for a in node._actions if isinstance(a, argparse._SubParsersAction)).choices[
            name
        ]
    args: list[str] = []
    for action in node._actions:
        if action.choices:
            value = str(next(iter(action.choices)))
        elif action.type in (
            existing_file,
            readable_input,
        ):  # validated at parse time: it must exist
            value = __file__
        else:
            value = "1"  # an int, a path or a text
        if not action.option_strings and action.nargs not in ("?", "*", argparse.SUPPRESS):
            args.append(value)
        elif action.option_strings and action.required:
            args.extend([action.option_strings[0], value])
    for group in node._mutually_exclusive_groups:  # one of them required (`adapt FILE|--source`)
        if group.required:
            first = group._group_actions[0]
            value = __file__ if first.type in (existing_file, readable_input) else "1"
            args.extend([*first.option_strings[:1], value])
    return args


def test_every_command_takes_v_before_or_after_it() -> None:
    parser = build_parser()
    paths = list(leaf_commands(parser))
    assert ("index", "setup") in paths and ("sentiment", "train") in paths and ("demo",) in paths
    for path in paths:
        rest = required_args(parser, path)
        assert parser.parse_args([*path, *rest, "-v"]).verbose is True, path
        assert parser.parse_args([*path, "--verbose", *rest]).verbose is True, path
        # Given before the command, the subcommand's own (unset) flag must not undo it.
        assert parser.parse_args(["-v", *path, *rest]).verbose is True, path
        assert parser.parse_args([*path, *rest]).verbose is False, path


@pytest.fixture
def quiet_logging_after() -> Iterator[None]:
    yield
    configure_logging(verbose=False)


@pytest.mark.usefixtures("quiet_logging_after")
@pytest.mark.parametrize("flag_first", [False, True])
def test_v_after_the_subcommand_turns_on_debug_logging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag_first: bool
) -> None:
    series = tmp_path / "flat.csv"
    series.write_text("timestamp,value\n2026-11-20 08:00:00,3\n2026-11-20 08:05:00,4\n")
    command = ["spikes", "detect", str(series)]
    assert main(["-v", *command] if flag_first else [*command, "-v"]) == 0
    capsys.readouterr()
    structlog.get_logger("probe").debug("debug probe")
    assert "debug probe" in capsys.readouterr().err

    assert main(command) == 0
    capsys.readouterr()
    structlog.get_logger("probe").debug("debug probe")
    assert "debug probe" not in capsys.readouterr().err


def _demo_summary() -> dict[str, object]:
    return {
        "anchor": "2027-12-31T23:55:00+08:00",
        "crawled": {},
        "source_status": {},
        "processed": 0,
        "rejected": 0,
        "indexed": {},
        "negative_share": {},
        "blind_brands": [],
        "detections": {},
        "notifications": 0,
        "delivered": 0,
        "failed_deliveries": 0,
        "received_alerts": 0,
        "received_file": "received.jsonl",
        "evidence_dirs": {},
        "es_url": "http://127.0.0.1:9200",
    }


def test_demo_summary_names_the_koubei_that_ran_not_a_checkouts_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, koubei_home: str
) -> None:
    """From an installed wheel the summary said `.venv/bin/koubei search ...`, a path that
    exists only in a checkout."""
    from koubei.flows.demo import format_summary

    installed = tmp_path / "env" / "bin"
    installed.mkdir(parents=True)
    script = installed / "koubei"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(installed))
    monkeypatch.setattr("sys.argv", [str(script), "demo"])
    text = format_summary(_demo_summary())
    assert "search          koubei search 异物" in text
    assert "(stop it with `koubei es stop`)" in text
    assert ".venv/bin/koubei" not in text
    # not on PATH (run by its path, as `make demo` does): the path it was run by, in every
    # command it names (the node's stop line said a bare `koubei`, not on PATH then)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("sys.argv", [".venv/bin/koubei", "demo"])
    text = format_summary({**_demo_summary(), "reports": {"鲜牧": ["/r/incidents/1.html"]}})
    assert "alerts          .venv/bin/koubei alerts status" in text
    assert "(stop it with `.venv/bin/koubei es stop`)" in text
    assert "(`.venv/bin/koubei report serve` serves them" in text


def test_demo_summary_offers_no_stop_for_a_cluster_it_did_not_start(
    monkeypatch: pytest.MonkeyPatch, koubei_home: str
) -> None:
    """With KOUBEI_ES_URL set the demo starts no node, yet its summary said "stop it with
    `koubei es stop`", which stops nothing there."""
    from koubei.flows.demo import format_summary

    monkeypatch.setattr("sys.argv", [".venv/bin/koubei", "demo"])
    text = format_summary({**_demo_summary(), "es_local": False})
    assert "es stop" not in text
    assert "Elasticsearch   http://127.0.0.1:9200  (KOUBEI_ES_URL; not started by the demo)" in (
        text
    )


@pytest.mark.parametrize("command", [["crawl", "shop"], ["run"]])
def test_a_source_tracking_a_brand_not_in_brands_yaml_is_one_line_before_any_crawl(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The crawler died at start with "Crawler.stats is not set yet" in its crawl log; the crawl
    # was reported "degraded" and nothing named the misspelt brand.
    from koubei import paths

    monkeypatch.setenv("KOUBEI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KOUBEI_WEBHOOK_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("KOUBEI_WEBHOOK_SECRET", "s3cret")
    config = tmp_path / "config"
    config.mkdir()
    for name in ("brands.yaml", "alerts.yaml"):
        (config / name).write_bytes((paths.CONFIG_DIR / name).read_bytes())
    (config / "sources.yaml").write_text(
        "sources:\n  - {name: shop, platform: shop_json, product_ids: ['1'], brands: [鲜牧x]}\n",
        encoding="utf-8",
    )
    assert main([command[0], "--config-dir", str(config), *command[1:]]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"koubei: config error: {config / 'sources.yaml'}: sources[0].brands[0]: '鲜牧x' is not a "
        "brand in brands.yaml (brands: 鲜牧, 北岭, 云朵)"
    ]
    assert not (tmp_path / "home" / "landing").exists()


def test_a_line_break_in_quoted_data_keeps_the_error_on_the_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV header holding U+2028 (a line separator ``str.splitlines`` splits at): the error
    printed its second half as a line of its own, ``koubei: error: <fragment>``, which named
    no file. A message's own lines (``\\n``) still print one each."""
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("lab\u2028el,text\u0085x\r1,好\n", encoding="utf-8")
    assert main(["sentiment", "eval", str(labelled)]) == 2
    lines = capsys.readouterr().err.splitlines()
    (error,) = [line for line in lines if line.startswith("koubei: error:")]
    assert str(labelled) in error and "lab\\u2028el" in error and "text\\x85x" in error, error


def test_demo_summary_says_what_its_negative_share_counts(koubei_home: str) -> None:
    """Found cross-checking the demo's surfaces (session 38): "last hour 87% of 263 docs, week
    38% of 1134" counted the posts with an opinion (283 posts in that hour, 20 bare reposts)
    over the detection's 15 days of history, not a week."""
    from koubei.flows.demo import format_summary

    share = {"last_hour": 0.871, "history": 0.384, "last_hour_docs": 263, "history_docs": 1134}
    text = format_summary({**_demo_summary(), "negative_share": {"鲜牧": share}})
    assert (
        "negative share  鲜牧: last hour 87% of 263 posts with an opinion, 15 days 38% of 1134"
        in text
    )
