from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from koubei.crawlers.health import Health, all_health, assess, read_health, write_health


@pytest.mark.parametrize(
    ("stats", "status"),
    [
        ({"koubei/pages": 3, "koubei/entries": 30, "koubei/items": 30}, "ok"),
        ({"koubei/pages": 3, "koubei/entries": 30, "koubei/known": 30}, "ok"),  # nothing new
        ({"koubei/pages": 3}, "empty"),  # pages parsed, nothing listed: silent nothing
        ({}, "empty"),
        (
            {
                "koubei/pages": 3,
                "koubei/entries": 9,
                "koubei/items": 9,
                "koubei/errors/malformed_json": 1,
            },
            "degraded",
        ),
        (
            {
                "koubei/pages": 3,
                "koubei/entries": 9,
                "koubei/items": 9,
                "koubei/blocked/http_412": 1,
            },
            "degraded",
        ),
        (
            {
                "koubei/pages": 1,
                "koubei/entries": 9,
                "koubei/items": 9,
                "koubei/blocked/captcha": 2,
            },
            "blocked",
        ),
        ({"koubei/blocked/login_required": 1}, "blocked"),
        # a feed entry's dead page is the site's; every new one dead is a broken feed
        ({"koubei/entries": 9, "koubei/entry_pages": 9, "koubei/gone/http_404": 2}, "ok"),
        ({"koubei/entries": 2, "koubei/entry_pages": 2, "koubei/gone/http_410": 2}, "degraded"),
        (
            {
                "koubei/entries": 2,
                "koubei/entry_pages": 2,
                "koubei/gone/http_404": 2,
                "koubei/gone_again": 2,
            },
            "ok",
        ),
        ({"koubei/errors/unconditional_304": 1}, "degraded"),  # a broken cache: no body
        # a feed answering 304 lists what it listed when read whole: not silent nothing
        ({"koubei/unchanged/feed_not_modified": 2}, "ok"),
    ],
)
def test_status(stats: dict[str, Any], status: str) -> None:
    health = assess("s", "weibo", "r", stats)
    assert health.status == status
    assert health.alert is (status != "ok")


def test_health_file_round_trip(koubei_home: str) -> None:
    stats = {"koubei/blocked/http_403": 2, "downloader/response_status_count/403": 2}
    write_health(assess("s", "weibo", "r1", stats))
    saved = read_health("s")
    assert saved is not None
    assert saved["status"] == "blocked"
    assert saved["responses_by_status"] == {"403": 2}
    assert saved["blocked"] == {"http_403": 2}
    assert read_health("never-ran") is None
    write_health(assess("t", "weibo", "r1", {"koubei/pages": 1, "koubei/entries": 3}))
    assert [(h["source"], h["alert"]) for h in all_health()] == [("s", True), ("t", False)]


def test_workers_of_one_run_are_merged_and_judged_on_the_sums(koubei_home: str) -> None:
    good = assess(
        "s",
        "shop_json",
        "r2",
        {
            "koubei/pages": 3,
            "koubei/entries": 15,
            "koubei/items": 15,
            "koubei/edited": 4,
            "koubei/unchanged/not_modified": 2,
            "koubei/unchanged/same_text": 1,
            "koubei/relanded/brands_changed": 2,
            "koubei/off_brands": 1,
            "downloader/response_status_count/200": 3,
        },
    )
    good.worker, good.landing_file = "a", "/l/r2.a.jsonl"
    blocked = assess(
        "s",
        "shop_json",
        "r2",
        {
            "koubei/blocked/http_403": 1,
            "downloader/response_status_count/403": 1,
            "koubei/edited": 1,
            "koubei/unchanged/not_modified": 1,
            "koubei/relanded/brands_changed": 1,
            "koubei/off_brands": 1,
        },
    )
    blocked.worker = "b"
    assert blocked.status == "blocked"  # alone, the last worker would say "blocked"
    old = assess("s", "shop_json", "r1", {"koubei/pages": 9, "koubei/items": 9})
    write_health(old)
    write_health(good)
    write_health(blocked)
    merged = read_health("s")
    assert merged is not None
    assert (merged["run_id"], merged["workers"]) == ("r2", ["a", "b"])
    assert (merged["items"], merged["pages"]) == (15, 3)  # the older run's counts are not added
    assert merged["responses_by_status"] == {"200": 3, "403": 1}
    assert merged["edited"] == 5 and merged["unchanged"] == {"not_modified": 3, "same_text": 1}
    assert merged["relanded"] == {"brands_changed": 3} and merged["off_brands"] == 2
    assert merged["status"] == "degraded" and merged["alert"] is True
    assert merged["landing_files"] == ["/l/r2.a.jsonl"]
    # A late part of the older run does not replace the newer run's health.
    write_health(old)
    assert read_health("s")["run_id"] == "r2"  # type: ignore[index]


def test_last_run_that_brought_posts_survives_blocked_runs(koubei_home: str) -> None:
    ok = assess("s", "weibo", "r1", {"koubei/pages": 1, "koubei/entries": 3, "koubei/items": 3})
    ok.finished_at = "2026-11-25T09:00:00+08:00"
    write_health(ok)
    assert read_health("s")["last_ok_at"] == ok.finished_at  # type: ignore[index]
    blocked = assess("s", "weibo", "r2", {"koubei/blocked/captcha": 2})
    blocked.finished_at = "2026-11-25T09:30:00+08:00"
    write_health(blocked)
    saved = read_health("s")
    assert saved is not None
    assert (saved["status"], saved["finished_at"]) == ("blocked", blocked.finished_at)
    assert saved["last_ok_at"] == ok.finished_at  # how fresh the data is: the 09:00 crawl


def test_a_run_with_a_chosen_id_does_not_freeze_the_health(koubei_home: str) -> None:
    """``koubei crawl SRC --run-id manual`` once: ``"manual" > "20261203T…"`` made every later
    (timestamped) run's health look like a late part of an older run; it was dropped, and the
    source's health file showed the manual run for good."""
    stats = {"koubei/pages": 1, "koubei/entries": 3, "koubei/items": 3}
    manual = assess("s", "weibo", "manual", stats)
    manual.started_at = "2026-12-03T01:00:00+00:00"
    write_health(manual)
    later = assess("s", "weibo", "20261203T093000000000", {"koubei/blocked/captcha": 2})
    later.started_at = "2026-12-03T01:30:00.250000+00:00"
    write_health(later)
    saved = read_health("s")
    assert saved is not None
    assert (saved["run_id"], saved["status"]) == ("20261203T093000000000", "blocked")
    # and a late part of the manual run still does not replace it
    write_health(manual)
    assert read_health("s")["run_id"] == "20261203T093000000000"  # type: ignore[index]


def test_workers_whose_feeds_all_answered_304_are_ok_merged(koubei_home: str) -> None:
    """Two workers of one run, one whose feed answered 304 and one that asked nothing: the
    merge is ``ok`` (was ``empty``: nothing parsed, an operational alert "返回空结果")."""
    unchanged = assess("s", "articles", "r1", {"koubei/unchanged/feed_not_modified": 1})
    unchanged.worker = "a"
    idle = assess("s", "articles", "r1", {})
    idle.worker = "b"
    assert (unchanged.status, idle.status) == ("ok", "empty")
    write_health(unchanged)
    write_health(idle)
    merged = read_health("s")
    assert merged is not None and merged["status"] == "ok"
    assert merged["unchanged"] == {"feed_not_modified": 1}


def test_every_count_of_a_workers_health_is_summed_in_the_merge(koubei_home: str) -> None:
    """Each count a worker reports (every int field of :class:`Health`, every counter dict)
    adds up in the merged health of a run shared by two workers. A counter added to ``Health``
    but not to the merge showed one worker's figure only, whichever sorted first
    (``robots_waiting`` and ``feeds_dropped`` were added without a merge test)."""
    counts = [f.name for f in fields(Health) if f.type in ("int", int)]
    counters = [f.name for f in fields(Health) if str(f.type).startswith("dict[str, int]")]
    assert {"robots_waiting", "feeds_dropped", "gone_waiting"} <= set(counts)
    assert {"errors", "relanded", "unchanged"} <= set(counters)
    for worker in ("a", "b"):
        part = assess("s", "articles", "r1", {})
        for name in counts:
            setattr(part, name, 1)
        for name in counters:
            setattr(part, name, {"x": 1})
        part.worker = worker
        write_health(part)
    merged = read_health("s")
    assert merged is not None and merged["workers"] == ["a", "b"]
    assert {name: merged[name] for name in counts} == dict.fromkeys(counts, 2)
    assert {name: merged[name] for name in counters} == {name: {"x": 2} for name in counters}
