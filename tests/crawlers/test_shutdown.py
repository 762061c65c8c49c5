"""A crawl stopped half-way (SIGTERM from a service manager, Ctrl-C) must not save its state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from koubei.config import BrandsConfig, Source
from tests.crawlers.conftest import FAST
from tests.crawlers.fixture_site import PAGES, Reply
from tests.crawlers.spiders.test_shop_json import PATH
from tests.processes import ended


def _six_page_shop(fixture_site: Any, slow: dict[str, bool]) -> tuple[Any, Source]:
    """A shop of six pages of reviews whose pages after the first take 2 s while
    ``slow["slow"]``: one in flight when the signal comes, the others waiting in the queue."""

    def route(q: dict[str, str]) -> Reply:
        page = int(q["page"])
        data = json.loads((PAGES / "jd_p0.json").read_text(encoding="utf-8"))
        data["maxPage"] = 6
        if page > 0:
            if slow["slow"]:
                time.sleep(2)
            data["comments"] = [
                {**data["comments"][0], "id": 17000000000 + page, "creationTime": "2026-11-01"}
            ]
        return Reply(json.dumps(data, ensure_ascii=False))

    site = fixture_site({PATH: route})
    source = Source(
        name="shop",
        platform="shop_json",
        base_url=site.url,
        product_ids=["1001"],
        concurrency_per_domain=1,
    )
    return site, source


def _paging(site: Any, crawl: subprocess.Popen[Any]) -> float:
    """Wait until ``crawl`` asks ``site`` for a page after the first; a deadline a minute on."""
    deadline = time.monotonic() + 60
    while not [q for q in site.hits(PATH) if q["page"] != "0"]:
        assert crawl.poll() is None and time.monotonic() < deadline, "crawl never paged"
        time.sleep(0.05)
    return deadline


def test_a_crawl_stopped_by_sigterm_keeps_the_previous_state(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, tmp_path: Path
) -> None:
    """Scrapy answers SIGTERM/SIGINT by closing the spider (reason ``shutdown``) and dropping
    the queued pages. What was fetched lands, but the state used to be saved as after a full
    crawl: the next run stopped at page 0 (all known) and never read pages 1 and 2."""
    release = {"slow": True}
    site, source = _six_page_shop(fixture_site, release)
    job = tmp_path / "job.json"
    job.write_text(
        json.dumps(
            {
                "source": source.model_dump(mode="json"),
                "brands": brands.model_dump(mode="json"),
                "run_id": "r1",
                "settings": {**FAST, "CONCURRENT_REQUESTS": 1},
            }
        ),
        encoding="utf-8",
    )
    log = open(tmp_path / "crawl.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "koubei.crawlers.run_one", str(job)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "KOUBEI_HOME": koubei_home},
    )
    try:
        _paging(site, proc)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    home = Path(koubei_home)
    health = json.loads((home / "health" / "shop.json").read_text(encoding="utf-8"))
    assert health["state_kept"] is True
    assert not (home / "crawl-state" / "shop.json").exists()

    release["slow"] = False
    from koubei.crawlers.runner import crawl_sources

    [again] = crawl_sources([source], brands, run_id="r2", settings=FAST)
    assert again.landing_file is not None
    landed = {r["native_id"] for r in map(json.loads, again.landing_file.read_text().splitlines())}
    assert {f"{17000000000 + page}" for page in range(1, 6)} <= landed


RUNNER = """
import json, sys
import pytest

from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources

job = json.loads(sys.argv[1])
crawl_sources([Source.model_validate(s) for s in job["sources"]],
              BrandsConfig.model_validate(job["brands"]), run_id="r1", settings=job["settings"])
"""


def _runner(
    script: str,
    sources: list[Source],
    brands: BrandsConfig,
    koubei_home: str,
    tmpdir: Path | None = None,
) -> subprocess.Popen[bytes]:
    """``script`` crawling ``sources`` (each page after the first one at a time) in a process
    of its own, its temporary folder ``tmpdir`` when given."""
    job = {
        "sources": [s.model_dump(mode="json") for s in sources],
        "brands": brands.model_dump(mode="json"),
        "settings": {**FAST, "CONCURRENT_REQUESTS": 1},
    }
    return subprocess.Popen(
        [sys.executable, "-c", script, json.dumps(job)],
        env={
            **os.environ,
            "KOUBEI_HOME": koubei_home,
            **({"TMPDIR": str(tmpdir)} if tmpdir else {}),
        },
    )


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_a_crawl_whose_runner_is_killed_stops_and_keeps_the_previous_state(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str
) -> None:
    """``koubei crawl`` (or a flow's crawl) killed with SIGKILL, its source's crawl subprocess
    still at work: the crawl went on alone, crawled every page and saved its state, beside the
    next run of the same source (the killed run's lock released by the kernel). Now it stops
    as it does on a SIGTERM: the queued pages are not fetched and the state is kept."""
    site, source = _six_page_shop(fixture_site, {"slow": True})
    runner = _runner(RUNNER, [source], brands, koubei_home)
    try:
        deadline = _paging(site, runner)
        [crawl] = _children(runner.pid)
        runner.kill()
        runner.wait()
        while not ended(crawl) and time.monotonic() < deadline + 60:
            time.sleep(0.1)
    finally:
        if runner.poll() is None:
            runner.kill()
    pages = {q["page"] for q in site.hits(PATH)}
    # page 0, and the page in flight at the kill (or one more sent as it ended): not all six
    assert len(pages) <= 3, f"the crawl went on after its runner was killed: pages {pages}"
    home = Path(koubei_home)
    assert not (home / "crawl-state" / "shop.json").exists()
    health = json.loads((home / "health" / "shop.json").read_text(encoding="utf-8"))
    assert health["state_kept"] is True


def test_a_job_folder_a_sigkill_left_is_removed_by_the_next_crawl(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, tmp_path: Path
) -> None:
    """``koubei crawl`` killed with SIGKILL unwinds nothing: its ``koubei-crawl-*`` folder (the
    job.json its crawl subprocess reads) stayed in the temporary folder for good. It is named
    for its maker (``koubei.owned_folders``), so the next crawl removes it once that process has
    certainly ended, and removes its own at its end."""
    site, source = _six_page_shop(fixture_site, {"slow": True})
    jobs = tmp_path / "tmp"
    jobs.mkdir()
    killed = _runner(RUNNER, [source], brands, koubei_home, tmpdir=jobs)
    try:
        deadline = _paging(site, killed)
        [crawl] = _children(killed.pid)
        [left] = list(jobs.glob(f"koubei-crawl-{killed.pid}-*"))  # named for its maker
        assert (left / "job.json").is_file()
        killed.kill()
        killed.wait()
        while not ended(crawl) and time.monotonic() < deadline + 60:
            time.sleep(0.1)
    finally:
        if killed.poll() is None:
            killed.kill()
    assert left.is_dir()  # a SIGKILL removes nothing
    fresh = Source(**{**source.model_dump(), "product_ids": []})  # nothing to fetch: quick
    after = _runner(RUNNER, [fresh], brands, koubei_home, tmpdir=jobs)
    assert after.wait(timeout=120) == 0
    assert list(jobs.iterdir()) == []


UNWINDING_RUNNER = """
import json, sys
import pytest

from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from koubei.stopping import sigterm_unwinds

job = json.loads(sys.argv[1])
with sigterm_unwinds():  # as `koubei run` does
    crawl_sources([Source.model_validate(s) for s in job["sources"]],
                  BrandsConfig.model_validate(job["brands"]), run_id="r1",
                  settings=job["settings"])
"""


@pytest.mark.parametrize("count", [1, 2])
def test_a_sigterm_to_a_run_stops_its_crawls_as_theirs_does(
    fixture_site: Any, brands: BrandsConfig, koubei_home: str, count: int
) -> None:
    """A SIGTERM to ``koubei run`` (``sigterm_unwinds``) while it crawls: each crawl stops as
    on its own SIGTERM (what was fetched lands, the state is kept). ``subprocess.run`` killed a
    crawl outright (one source), leaving its ``.part`` file and no report, or the run waited
    for every crawl to finish (several)."""
    site, source = _six_page_shop(fixture_site, {"slow": True})
    sources = [source.model_copy(update={"name": f"shop{i}"}) for i in range(count)]
    runner = _runner(UNWINDING_RUNNER, sources, brands, koubei_home)
    try:
        deadline = time.monotonic() + 60
        while len([q for q in site.hits(PATH) if q["page"] != "0"]) < count:
            assert runner.poll() is None and time.monotonic() < deadline, "crawl never paged"
            time.sleep(0.05)
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=60) == 143
    finally:
        if runner.poll() is None:
            runner.kill()
    # each crawl's page in flight at the signal (or one more sent as it ended): not all five
    paged = [q for q in site.hits(PATH) if q["page"] != "0"]
    assert len(paged) <= 2 * count, f"the crawls went on: {len(paged)} pages after the first"
    home = Path(koubei_home)
    for s in sources:
        health = json.loads((home / "health" / f"{s.name}.json").read_text(encoding="utf-8"))
        assert health["state_kept"] is True
        landing = home / "landing" / s.name
        assert [p.name for p in landing.iterdir()] == ["r1.jsonl"]  # landed, no .part left
        assert (landing / "r1.jsonl").read_text(encoding="utf-8").strip()
