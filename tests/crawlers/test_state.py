from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from koubei.crawlers import state as state_mod
from koubei.crawlers.state import CrawlState, FeedAnswer, Validators, read_mark
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


def test_states_saved_by_two_workers_of_one_run_are_merged(koubei_home: str) -> None:
    CrawlState("src").save()
    first, second = CrawlState("src"), CrawlState("src")  # both loaded before either saves
    first.record("kw:a", "x:1", T2)
    second.record("kw:b", "x:2", T1)
    second.record("kw:a", "x:3", T1)  # older than first's mark for kw:a
    first.save()
    second.save()
    merged = CrawlState("src")
    assert merged.watermark("kw:a") == T2 and merged.watermark("kw:b") == T1
    assert all(merged.seen(doc_id) for doc_id in ("x:1", "x:2", "x:3"))


def test_an_unreadable_state_file_is_moved_aside_not_fatal(koubei_home: str) -> None:
    path = CrawlState("src").path
    for damaged in (b'{"watermarks": {"kw:a": "2026-11-24T1', b"\x00" * 64, b"[]",
                    b'{"watermarks": {"kw:a": "yesterday"}}', b'{"seen": {"a": 1}}'):  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(damaged)
        state = CrawlState("src")
        assert state.unreadable and state.watermark("kw:a") is None
        assert not path.exists()
        [aside] = path.parent.glob("src.json.unreadable-*")
        assert aside.read_bytes() == damaged
        aside.unlink()
        state.record("kw:a", "x:1", T2)
        state.save()
        assert CrawlState("src").watermark("kw:a") == T2
        path.unlink()


def test_counts_are_the_last_complete_runs_and_merge_across_workers(koubei_home: str) -> None:
    state = CrawlState("src")
    assert state.last_count("replies:x:1") is None
    state.note_count("replies:x:1", 5)
    assert state.last_count("replies:x:1") is None  # what earlier runs noted, not this one
    state.save()
    assert CrawlState("src").last_count("replies:x:1") == 5

    first, second = CrawlState("src"), CrawlState("src")  # two workers of the next run
    first.note_count("replies:x:1", 7)
    second.note_count("replies:x:2", 2)
    first.save()
    second.save()  # loaded before first saved: keeps first's 7, adds its own
    merged = CrawlState("src")
    assert merged.last_count("replies:x:1") == 7 and merged.last_count("replies:x:2") == 2


def test_a_state_file_from_before_counts_reads_with_none(koubei_home: str) -> None:
    path = CrawlState("src").path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"source": "src", "watermarks": {}, "seen": ["x:1"]}')
    state = CrawlState("src")
    assert not state.unreadable and state.seen("x:1")
    assert state.last_count("replies:x:1") is None


def test_a_state_file_too_deep_or_with_a_404_in_year_9999_is_moved_aside_not_fatal(
    koubei_home: str,
) -> None:
    """JSON nested deeper than Python reads raised ``RecursionError`` past the move aside, and
    a first 404 in year 9999 (a hand edit) ``OverflowError`` at its next ask: every crawl of
    the source failed, for good."""
    path = CrawlState("src").path
    late = {"m": ["9999-12-31T23:59:59-12:00", 1]}
    for damaged in (b"[" * 100_000 + b"]" * 100_000, json.dumps({"missing": late}).encode()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(damaged)
        state = CrawlState("src")
        assert state.unreadable and state.missing_due("m", T2)
        [aside] = path.parent.glob("src.json.unreadable-*")
        aside.unlink()
        state.note_gone("m", T2)
        state.save()
        assert not CrawlState("src").unreadable
        path.unlink()


def test_counts_that_are_not_counts_make_the_file_unreadable(koubei_home: str) -> None:
    path = CrawlState("src").path
    for counts in ('{"replies:x:1": "5"}', '{"replies:x:1": -1}', '{"replies:x:1": true}', "[]"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'{{"watermarks": {{}}, "seen": [], "counts": {counts}}}')
        state = CrawlState("src")
        assert "'counts'" in state.unreadable, counts
        assert state.last_count("replies:x:1") is None
        for aside in path.parent.glob("src.json.unreadable-*"):
            aside.unlink()


def test_a_missing_page_is_read_after_three_runs_over_a_day_and_a_gone_one_at_once(
    koubei_home: str,
) -> None:
    """The 404 rule (``note_gone``) on the state's own clock: runs at 10:00, 11:00 and the
    next day's 10:00; a page that answers again in between starts over."""
    day = timedelta(days=1)
    for at, found in ((T1, ""), (T2, "x:back"), (T1 + day, "")):
        state = CrawlState("src")
        assert not state.seen("x:404") and not state.seen("x:back")
        state.note_gone("x:404", at)
        if found:
            state.note_found("x:back")
        else:
            state.note_gone("x:back", at)
        assert state.note_gone("x:410", at, permanent=True) is False
        state.save(at)
    last = CrawlState("src")
    assert last.seen("x:404") and last.seen("x:410")  # three runs, the first a day before
    assert not last.seen("x:back")  # back at 11:00: its 404 the next day is its first again
    assert last.note_gone("x:back", T1 + 2 * day) is True
    assert not last.seen("x:back")


def test_a_state_file_from_before_missing_pages_were_kept_loads_and_keeps_them(
    koubei_home: str,
) -> None:
    path = CrawlState("src").path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"watermarks": {}, "seen": ["x:1"], "counts": {}}')
    state = CrawlState("src")
    assert not state.unreadable and state.seen("x:1")
    assert state.note_gone("x:2", T1) is False
    state.save(T1)
    assert json.loads(path.read_text())["missing"] == {"x:2": [T1.isoformat(), 1]}
    for damaged in ({"x:2": ["yesterday", 1]}, {"x:2": [T1.isoformat(), 0]}, {"x:2": "x"}):
        path.write_text(json.dumps({"missing": damaged}))
        assert CrawlState("src").unreadable


def test_missing_pages_noted_by_two_workers_of_one_run_are_merged(koubei_home: str) -> None:
    CrawlState("src").save()
    first, second = CrawlState("src"), CrawlState("src")
    first.note_gone("x:1", T1)
    second.note_gone("x:2", T1)
    first.save(T1)
    second.save(T1)
    merged = CrawlState("src")
    assert merged.note_gone("x:1", T2) and merged.note_gone("x:2", T2)


def test_a_missing_page_is_asked_an_hour_then_a_day_after_its_first_404(
    koubei_home: str,
) -> None:
    """Was: asked on every run until read (``missing_due`` did not exist), 288 times a day at
    5-minute runs. The plan is read from ``[first 404, runs]`` alone, so a session 28 file
    (two 404s five minutes apart) loads and waits for the day's ask."""
    minute, hour, day = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
    state = CrawlState("src")
    assert state.missing_due("x:1", T1)  # never missing
    state.note_gone("x:1", T1)
    assert state.missing_due("x:1", T1)  # this run's own note does not hold it back
    state.save(T1)
    loaded = CrawlState("src")
    assert [loaded.missing_due("x:1", T1 + m * minute) for m in (5, 59, 60)] == [
        False,
        False,
        True,
    ]
    assert loaded.note_gone("x:1", T1 + hour)
    loaded.save(T1 + hour)
    again = CrawlState("src")
    assert [again.missing_due("x:1", T1 + h * hour) for h in (2, 23, 24)] == [False, False, True]
    again.note_gone("x:1", T1 + day)
    again.save(T1 + day)
    assert CrawlState("src").seen("x:1")  # the third 404, a day after the first: read
    path = CrawlState("src").path
    path.write_text(json.dumps({"missing": {"x:2": [T1.isoformat(), 2]}}))
    old = CrawlState("src")
    assert not old.unreadable
    assert not old.missing_due("x:2", T1 + hour) and old.missing_due("x:2", T1 + day)


def test_missing_pages_no_run_asked_for_a_week_are_forgotten_and_gone_ones_stay_read(
    koubei_home: str,
) -> None:
    """A page that answered 404 once or twice and then left its feed was never asked again, so
    its ``missing`` entry stayed for good (pruned only past 200,000 entries). Asked on the
    plan, a page is read or found within a day of its first 404, so one first missing a week
    before is forgotten; a page read as gone is in ``seen`` (not ``missing``) and stays read,
    and one forgotten that a feed lists again starts over (its 404 a first one)."""
    week = timedelta(days=7)
    state = CrawlState("src")
    state.note_gone("x:dropped", T1)
    state.note_gone("x:410", T1, permanent=True)
    state.save(T1)
    other = CrawlState("src")  # another worker's run, a week less a minute later
    other.note_gone("x:late", T1 + week - timedelta(minutes=1))
    other.save(T1 + week - timedelta(minutes=1))
    assert set(json.loads(other.path.read_text())["missing"]) == {"x:dropped", "x:late"}
    later = CrawlState("src")
    later.save(T1 + week + timedelta(seconds=1))
    saved = json.loads(later.path.read_text())
    assert set(saved["missing"]) == {"x:late"}
    assert "x:410" in saved["seen"]
    last = CrawlState("src")
    assert last.seen("x:410") and not last.seen("x:dropped")
    assert last.missing_due("x:dropped", T1 + week) and not last.note_gone("x:dropped", T1 + week)


def test_an_item_read_as_of_a_version_keeps_its_last_one_across_workers(koubei_home: str) -> None:
    """A page read as of its feed date is seen as of that date only; each item keeps the last
    version read (a feed restamping every entry each run would otherwise fill ``MAX_SEEN``
    and push out landed ids), also when two workers of one run read two; one landed last
    without a version (a spider that keeps none) is seen whatever its version."""
    CrawlState("src").save()
    first, second = CrawlState("src"), CrawlState("src")
    first.mark_read("x:1", "2026-11-24")
    second.mark_read("x:1", "2026-11-25")
    second.mark_read("x:2", "2026-11-24T10:00:00+08:00")
    second.mark_read("x:3", "2026-11-24")  # read, then landed without a version: for good
    second.record("kw:a", "x:3", T1)
    first.save()
    second.save()
    merged = CrawlState("src")
    assert merged.seen("x:1", "2026-11-25") and not merged.seen("x:1", "2026-11-24")
    assert not merged.seen("x:1") and merged.seen("x:2", "2026-11-24T10:00:00+08:00")
    assert merged.seen("x:3", "2026-11-26")  # landed: seen whatever its version
    assert len(json.loads(merged.path.read_text())["seen"]) == 3


def test_an_item_landed_as_of_a_version_is_new_again_once_dated_otherwise(
    koubei_home: str,
) -> None:
    """A feed page landed as of its feed's date is seen as of that date only, as one read and
    not landed is: an edit (its feed dates it anew) has it read again. Before, a landed one was
    seen whatever its version, and an edit never reached the index. Ids landed without a
    version (other spiders; feed pages landed before versions were kept of landed ones, in a
    file that kept both entries or the id alone) stay seen for good."""
    old = CrawlState("src")
    old.mark_read("x:4", "2026-11-24")  # d246e55's files: the version, then the id landed
    old.mark_read("x:4")
    old.save()
    state = CrawlState("src")
    state.record("feed:a", "x:1", T1, "2026-11-24T10:00:00+08:00")
    state.mark_read("x:2", "2026-11-24T10:00:00+08:00")  # read, not landed
    state.record("kw:a", "x:3", T1)
    assert not state.read_before("x:1")  # this run's count from the next
    state.save()
    again = CrawlState("src")
    for doc_id in ("x:1", "x:2"):
        assert again.seen(doc_id, "2026-11-24T10:00:00+08:00") and again.read_before(doc_id)
        assert not again.seen(doc_id, "2026-11-24T12:00:00+08:00")  # edited
    assert again.seen("x:3", "2026-11-24") and again.seen("x:3")
    assert again.seen("x:4", "2026-11-25") and not again.read_before("x:5")
    assert again.is_known("feed:a", "x:9", T1)  # the watermark moved for the landed one
    assert len(json.loads(again.path.read_text())["seen"]) == 4  # one entry an item


def test_validators_are_saved_merged_across_workers_and_bounded(
    koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a page answered with (ETag, Last-Modified) and the fingerprint of the text landed
    from it are kept from a complete run to the next; two workers' merge (the last saved wins
    an id both read); the oldest go past ``MAX_SEEN``; an overlong ETag is not kept; a state
    file from before validators were kept loads with none."""
    path = CrawlState("src").path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"watermarks": {}, "seen": ["x:0"]}))  # session 29's shape
    first, second = CrawlState("src"), CrawlState("src")
    assert first.validators("x:0") == Validators() and first.seen("x:0")
    first.note_answer("x:1", '"a1"', "Tue, 24 Nov 2026 01:00:00 GMT")
    first.note_landed("x:1", "f1")
    assert first.validators("x:1") == Validators()  # this run's count from the next
    second.note_answer("x:2", 'W/"b"')
    second.note_answer("x:3", "x" * 201, "Tue, 24 Nov 2026 02:00:00 GMT")
    first.note_answer("x:4", '"old"')
    second.note_answer("x:4", '"new"')
    first.save()
    second.save()
    merged = CrawlState("src")
    assert merged.validators("x:1") == Validators('"a1"', "Tue, 24 Nov 2026 01:00:00 GMT", "f1")
    assert merged.validators("x:2") == Validators('W/"b"')
    assert merged.validators("x:3") == Validators("", "Tue, 24 Nov 2026 02:00:00 GMT")
    assert merged.validators("x:4").etag == '"new"'
    merged.note_answer("x:2")  # answered without validators since: none sent
    merged.note_landed("x:3", "f3", "2026-11-24T09:00:00+08:00")  # what was answered stays
    monkeypatch.setattr(state_mod, "MAX_SEEN", 2)
    merged.save()
    saved = json.loads(path.read_text())["validators"]
    assert saved == {
        "x:4": ['"new"', "", "", "", "", "", None],
        "x:3": [
            "",
            "Tue, 24 Nov 2026 02:00:00 GMT",
            "f3",
            "2026-11-24T09:00:00+08:00",
            "",
            "",
            None,
        ],
    }
    path.write_text(json.dumps({"seen": [], "validators": {"x:1": ['"a"', ""]}}))
    assert CrawlState("src").unreadable  # not of that shape: moved aside, as any damage


def test_a_page_landed_again_keeps_the_time_it_landed_with_first(koubei_home: str) -> None:
    """An edit landed again keeps the ``created_at`` (and precision) of the first landing,
    across runs; a state file whose validators are of three (before the time was kept)
    loads, with no time kept."""
    first = CrawlState("src")
    first.note_landed("x:1", "f1", "2026-11-24T00:00:00+08:00", "day")
    first.save()
    again = CrawlState("src")
    again.note_landed("x:1", "f2", "2026-11-26T12:07:00+08:00", None)
    again.save()
    kept = CrawlState("src").validators("x:1")
    assert (kept.landed, kept.created, kept.precision) == ("f2", "2026-11-24T00:00:00+08:00", "day")
    path = CrawlState("src").path
    path.write_text(json.dumps({"seen": [], "validators": {"x:1": ['"a"', "", "f"]}}))
    assert CrawlState("src").validators("x:1") == Validators('"a"', "", "f")


def test_the_brands_a_page_landed_with_are_kept_and_an_older_state_loads_without(
    koubei_home: str,
) -> None:
    """The digest of the brands a page's text was matched against and the brands it landed
    with are kept with its validators, across runs (the rest kept beside them); a page with
    nothing else kept (no validators, nothing landed) keeps none; a session 30 entry of five
    loads with none kept (``""``, None), and one of seven whose brands are no list of names
    makes the file unreadable, as any damage."""
    first = CrawlState("src")
    first.note_answer("x:1", '"a"')
    first.note_landed("x:1", "f1", "2026-11-24T09:00:00+08:00", None, ("d1", ("鲜牧",)))
    first.note_matched("x:2", "d1", None)  # read, matched, neither validators nor landed
    first.save()
    again = CrawlState("src")
    assert again.validators("x:1") == Validators(
        '"a"', "", "f1", "2026-11-24T09:00:00+08:00", "", "d1", ("鲜牧",)
    )
    assert again.validators("x:2") == Validators()
    again.note_matched("x:1", "d2", ("北岭", "鲜牧"))
    again.save()
    kept = CrawlState("src").validators("x:1")
    assert (kept.etag, kept.landed, kept.matched_under, kept.brands) == (
        '"a"',
        "f1",
        "d2",
        ("北岭", "鲜牧"),
    )
    path = CrawlState("src").path
    old = ['"a"', "", "f", "2026-11-24T09:00:00+08:00", ""]
    path.write_text(json.dumps({"seen": [], "validators": {"x:1": old}}))
    loaded = CrawlState("src").validators("x:1")
    assert (loaded.landed, loaded.matched_under, loaded.brands) == ("f", "", None)
    path.write_text(json.dumps({"seen": [], "validators": {"x:1": [*old, "d1", "鲜牧"]}}))
    assert CrawlState("src").unreadable


def test_feed_answers_are_saved_merged_across_workers_and_an_older_state_loads_without(
    koubei_home: str,
) -> None:
    """What a feed answered when read whole (its validators, the brands digest, the pages it
    left for later, an index's sitemaps) is kept from a complete run to the next, merged
    across workers (the last saved wins a feed both read); an answer with nothing to send, or
    an index of over ``MAX_FEED_LIST`` sitemaps, is not kept; a state file from before feeds
    kept theirs loads with none; one of another shape is unreadable."""
    path = CrawlState("src").path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"watermarks": {}, "seen": ["x:0"], "validators": {}}))
    first, second = CrawlState("src"), CrawlState("src")
    assert not first.unreadable and first.feed_answer("https://x.cn/rss") == FeedAnswer()
    date = "Tue, 24 Nov 2026 01:00:00 GMT"
    rss = FeedAnswer('W/"r1"', date, "d1", (read_mark("x:1", "v1"),))
    first.note_feed_answer("https://x.cn/rss", rss)
    assert first.feed_answer("https://x.cn/rss") == FeedAnswer()  # this run's count next run
    index = FeedAnswer('"i1"', "", "d1", parts=("https://x.cn/s-1.xml", "https://x.cn/s-2.xml"))
    second.note_feed_answer("https://x.cn/index.xml", index)
    second.note_feed_answer("https://x.cn/none.xml", FeedAnswer("", "", "d1"))
    many = ("https://x.cn/s.xml",) * (state_mod.MAX_FEED_LIST + 1)
    second.note_feed_answer("https://x.cn/big.xml", FeedAnswer('"b"', parts=many))
    second.note_feed_answer("https://x.cn/rss", FeedAnswer('"stale"', "", "d0"))
    second.save()
    first.save()
    merged = CrawlState("src")
    assert merged.feed_answer("https://x.cn/rss") == rss
    assert merged.feed_answer("https://x.cn/index.xml") == index
    for url in ("https://x.cn/none.xml", "https://x.cn/big.xml"):
        assert merged.feed_answer(url) == FeedAnswer(), url
    assert json.loads(path.read_text())["feeds"]["https://x.cn/rss"] == [
        'W/"r1"',
        date,
        "d1",
        [read_mark("x:1", "v1")],
        [],
    ]
    for bad in (['"a"', "", "d1", []], ['"a"', "", "d1", [1], []], ['"a"', "", "d1", "", []]):
        path.write_text(json.dumps({"seen": [], "feeds": {"https://x.cn/rss": bad}}))
        state = CrawlState("src")
        assert "'feeds'" in state.unreadable, bad
        for aside in path.parent.glob("src.json.unreadable-*"):
            aside.unlink()


def test_a_feed_s_pages_left_for_later_are_due_until_read_and_a_404_when_its_ask_is(
    koubei_home: str,
) -> None:
    """The pages a feed's whole read left (``pending``) are due until an earlier run read them
    as of that version (or for good); one that answered 404 only when its next ask is."""
    state = CrawlState("src")
    state.mark_read("x:1", "v1")
    state.mark_read("x:2", "v1")
    state.mark_read("x:3")
    state.note_gone("x:4", T1)
    state.save(T1)
    later = CrawlState("src")
    read = (read_mark("x:1", "v1"), read_mark("x:3", "v2"))
    assert later.unread(read) == () and not later.due(read, T1)
    other = read_mark("x:2", "v2")  # read as of another version
    assert later.unread((other,)) == (other,) and later.due((other,), T1)
    missing = (read_mark("x:4", "v1"),)
    assert not later.due(missing, T1 + timedelta(minutes=5))
    assert later.due(missing, T1 + state_mod.MISSING_RECHECK)


def test_a_page_robots_txt_refused_waits_as_a_404_page_and_is_read_as_of_its_version(
    koubei_home: str,
) -> None:
    """A page robots.txt refused (RFC 9309) waits under ``missing`` as a 404 page does, marked
    ``robots`` (a state file of the old shape, ``[first, runs]``, still loads); refused on the
    third ask a day after the first, it is read as of its version only, so the feed dating it
    anew has it asked again. Merged across workers, one worker's read is not undone by the
    other's older entry."""
    first = datetime(2026, 12, 1, 12, 0, tzinfo=DEFAULT_TZ)
    state = CrawlState("src")
    state.note_refused("x:1", first, "v1")
    state.note_gone("x:2", first)
    state.save(first)
    saved = json.loads(state.path.read_text())["missing"]
    assert saved == {"x:1": [first.isoformat(), 1, "robots"], "x:2": [first.isoformat(), 1]}
    again = CrawlState("src")
    assert again.refused_before("x:1") and not again.refused_before("x:2")
    assert not again.missing_due("x:1", first + timedelta(minutes=5))
    assert again.missing_due("x:1", first + state_mod.MISSING_RECHECK)
    again.note_refused("x:1", first + state_mod.MISSING_RECHECK, "v1")
    again.save(first + state_mod.MISSING_RECHECK)

    day = first + state_mod.MISSING_SPAN
    worker, sibling = CrawlState("src"), CrawlState("src")
    worker.note_refused("x:1", day, "v1")
    worker.save(day)
    sibling.save(day)  # loaded before worker read it: its entry of x:1 is older
    done = CrawlState("src")
    assert not done.awaits_ask("x:1") and done.seen("x:1", "v1") and not done.seen("x:1", "v2")


def test_feed_answers_no_configured_feed_reaches_are_dropped_and_workers_keep_live_ones(
    koubei_home: str,
) -> None:
    """``save(feeds=...)`` drops the answers of feeds the configured ones do not reach (a feed
    left the configuration, a sitemap its index no longer lists) and returns their URLs. A
    sitemap a sibling worker noted this run is kept though the index on disk does not list it
    yet (its reader saves last), and a worker saving after another dropped a feed does not
    bring it back. Nothing is dropped while a configured feed has no answer kept (an index of
    over ``MAX_FEED_LIST`` sitemaps: what it lists is not known); an index without validators
    keeps what it lists (a stub), so its sitemaps stay."""
    index, s1, s2, old = (f"https://x.cn/{n}.xml" for n in ("index", "s-1", "s-2", "old"))
    setup = CrawlState("src")
    setup.note_feed_answer(index, FeedAnswer('"i1"', parts=(s1,)))
    for url in (s1, old):
        setup.note_feed_answer(url, FeedAnswer(f'"{url}"'))
    assert setup.save(feeds=None) == []

    reader, sibling, third = CrawlState("src"), CrawlState("src"), CrawlState("src")
    sibling.note_feed_answer(s2, FeedAnswer('"s2"'))  # the index now lists it; read by sibling
    assert sibling.save(feeds=[index]) == [old]
    assert third.save(feeds=[index]) == []  # loaded before: s-2 is new since, kept; old stays out
    reader.note_feed_answer(index, FeedAnswer('"i2"', parts=(s1, s2)))
    assert reader.save(feeds=[index]) == []
    assert sorted(json.loads(setup.path.read_text())["feeds"]) == sorted([index, s1, s2])

    many = tuple(f"https://x.cn/p-{n}.xml" for n in range(state_mod.MAX_FEED_LIST + 1))
    big = CrawlState("src")
    big.note_feed_answer("https://x.cn/big.xml", FeedAnswer('"b"', parts=many))
    assert big.save(feeds=[index, "https://x.cn/big.xml"]) == []
    bare = CrawlState("src")
    bare.note_feed_answer(index, FeedAnswer(parts=(s1,)))  # no ETag, no Last-Modified
    assert bare.save(feeds=[index]) == [s2]
    assert CrawlState("src").feed_answer(index) == FeedAnswer(parts=(s1,))
