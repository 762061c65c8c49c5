from __future__ import annotations

from datetime import datetime

from crawlers.state import CrawlState
from koubei.timeutil import DEFAULT_TZ

T1 = datetime(2026, 11, 24, 10, 0, tzinfo=DEFAULT_TZ)
T2 = datetime(2026, 11, 24, 11, 0, tzinfo=DEFAULT_TZ)


def test_watermark_and_seen_persist_only_after_save(koubei_home: str) -> None:
    state = CrawlState("src")
    state.record("kw:a", "x:1", T2)
    state.record("kw:a", "x:0", T1)
    # Within the run nothing is "known": overlapping keyword searches must not stop each other.
    assert not state.is_known("kw:a", "x:1", T2)
    assert CrawlState("src").watermark("kw:a") is None  # not saved yet
    state.save()
    again = CrawlState("src")
    assert again.watermark("kw:a") == T2
    assert again.is_known("kw:a", "x:1", T2)
    assert again.is_known("kw:a", "x:9", T1)  # below the watermark
    assert not again.is_known("kw:b", "x:9", T1)  # other key, unseen id
    assert again.is_known("kw:b", "x:0", T1)  # seen id under any key
