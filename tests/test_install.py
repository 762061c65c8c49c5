"""The wheel installs as one package and `koubei demo` runs from it, far from the checkout.

The wheel is built from this checkout and installed into a new virtualenv in a temporary
folder. The dependencies come from the test run's own environment through a ``.pth`` line (a
``.pth`` inside a folder added that way is not executed, so this checkout's editable install
stays invisible): what the new environment can import of koubei is what the wheel holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        cwd=out,
    )
    (built,) = out.glob("koubei-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv outside the repository with only the wheel installed in it."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # Without PYTHONPATH: with the checkout on it, pip sees the koubei.egg-info that building
    # the wheel left there, takes koubei as installed already and installs nothing.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", wheel],
        check=True,
        env=env,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "koubei-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def test_wheel_holds_only_the_koubei_package_with_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.startswith("koubei-")}
    assert top == {"koubei"}
    for data in (
        "koubei/conf/alerts.yaml",
        "koubei/conf/es/posts.json",
        "koubei/conf/kibana/koubei.ndjson",
        "koubei/demo/config/sources.yaml",
        "koubei/pipeline/sentiment/lexicon.txt",
    ):
        assert data in names
    assert any(n.startswith("koubei/pipeline/sentiment/models/default.") for n in names)


def test_installed_package_imports_without_the_checkout(installed: Path, tmp_path: Path) -> None:
    python = str(installed / "bin" / "python")
    code = (
        "import json, koubei, koubei.flows.cli, koubei.pipeline.sentiment as s\n"
        "from koubei import paths\n"
        "m = s.load_model()\n"
        "print(json.dumps({'koubei': koubei.__file__, 'conf': str(paths.CONFIG_DIR),"
        " 'score': m.score('质量很好，物流很快')[0]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KOUBEI_CONFIG_DIR")}
    out = subprocess.run(
        [python, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout)
    assert not found["koubei"].startswith(str(REPO)) and "site-packages" in found["koubei"]
    assert "site-packages" in found["conf"]
    assert found["score"] > 0.5
    for generic in ("pipeline", "analysis", "flows", "crawlers", "demo"):
        gone = subprocess.run([python, "-c", f"import {generic}"], cwd=tmp_path, env=env)
        assert gone.returncode != 0, f"`import {generic}` works: the wheel adds a generic name"


def test_training_without_a_corpus_names_the_variable_not_a_path_beside_site_packages(
    installed: Path, tmp_path: Path
) -> None:
    """The installed package looked for the checkout's sibling data folder two folders above
    itself and named a corpus path inside ``<venv>/lib/python3.X`` as the missing file."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "KOUBEI_CONFIG_DIR", "KOUBEI_REVIEWS_CSV")
    }
    run = subprocess.run(
        [str(installed / "bin" / "koubei"), "sentiment", "train"],
        cwd=tmp_path,
        env={**env, "KOUBEI_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    (message,) = run.stderr.strip().splitlines()
    assert "KOUBEI_REVIEWS_CSV" in message and "DATA.csv" in message
    assert str(installed) not in message and "not found at" not in message  # no path looked at


@pytest.mark.slow
def test_koubei_demo_runs_from_the_installed_wheel(
    installed: Path, tmp_path: Path, es_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KOUBEI_CONFIG_DIR")}
    env.update(
        KOUBEI_HOME=str(tmp_path / "home"),
        KOUBEI_ES_URL=es_url,
        KOUBEI_INDEX_PREFIX=f"wheel{os.getpid()}",
        PREFECT_HOME=str(tmp_path / "prefect"),
    )
    run = subprocess.run(
        [str(installed / "bin" / "koubei"), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "alert" in run.stdout.lower()
    received = tmp_path / "home" / "demo" / "received.jsonl"
    assert received.exists() and received.read_text(encoding="utf-8").strip()
