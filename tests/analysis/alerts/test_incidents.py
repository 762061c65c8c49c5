"""Incident lifecycle against a real SQLite file: firing, updated, resolved, silences, re-runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from koubei.analysis.alerts import db
from koubei.analysis.alerts.channels.text import render_markdown
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.outbox import notifications
from koubei.analysis.alerts.silences import Matcher, add_silence, expire_silence
from koubei.config import ChannelConfig
from tests.analysis.alerts.conftest import at, detection

EVIDENCE = {"top_posts": [{"text": "吃出异物", "url": "https://weibo.example/1"}]}


def store(db_path: Path, renotify_seconds: int = 4 * 3600) -> IncidentStore:
    return IncidentStore(
        db_path, interval_seconds=300, resolve_after=3, renotify_seconds=renotify_seconds
    )


def test_first_detection_fires_once_per_channel(db_path: Path) -> None:
    incidents = store(db_path)
    notes = incidents.observe(
        "海底捞", [detection(0)], evidence=EVIDENCE, now=at(1), channels=["a", "b"]
    )
    assert [(n.channel, n.kind) for n in notes] == [("a", "firing"), ("b", "firing")]
    assert notes[0].idempotency_key != notes[1].idempotency_key
    assert notes[0].payload["brand"] == "海底捞"
    assert notes[0].payload["top_posts"][0]["url"] == "https://weibo.example/1"
    (open_one,) = incidents.open_incidents()
    assert open_one.status == "firing" and open_one.severity == "warning"
    assert len(notifications(db_path, status="pending")) == 2


def test_rerun_with_same_detections_enqueues_nothing(db_path: Path) -> None:
    first = store(db_path)
    first.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    # A restart: a new store on the same file sees the same detections again.
    again = store(db_path).observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    later = store(db_path).observe("海底捞", [detection(0)], now=at(6), channels=["a"])
    assert again == [] and later == []
    assert len(store(db_path).open_incidents()) == 1


def test_severity_up_sends_updated_and_same_severity_does_not(db_path: Path) -> None:
    incidents = store(db_path)
    incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    same = incidents.observe("海底捞", [detection(5)], now=at(6), channels=["a"])
    up = incidents.observe("海底捞", [detection(10, "critical")], now=at(11), channels=["a"])
    assert same == []
    assert [(n.kind, n.payload["severity"]) for n in up] == [("updated", "critical")]
    assert up[0].payload["previous_severity"] == "warning"
    # Severity never goes down within an incident, and a lower one is no news.
    down = incidents.observe("海底捞", [detection(15, "warning")], now=at(16), channels=["a"])
    assert down == []
    assert incidents.open_incidents()[0].severity == "critical"


def test_renotify_after_interval_while_still_firing(db_path: Path) -> None:
    incidents = store(db_path, renotify_seconds=3600)
    incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    kinds = []
    for minute in range(5, 70, 5):
        notes = incidents.observe("海底捞", [detection(minute)], now=at(minute + 1), channels=["a"])
        kinds += [(minute, n.kind) for n in notes]
    assert kinds == [(60, "updated")]


def test_resolves_after_quiet_intervals_and_tells_who_was_told(db_path: Path) -> None:
    incidents = store(db_path)
    incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    assert incidents.observe("海底捞", [], now=at(10), channels=["a"]) == []
    notes = incidents.observe("海底捞", [], now=at(15), channels=["a", "b"])
    assert [(n.channel, n.kind, n.payload["status"]) for n in notes] == [
        ("a", "resolved", "resolved")
    ]
    assert incidents.open_incidents() == []
    # A later detection is a new incident with a new dedup key.
    again = incidents.observe("海底捞", [detection(30)], now=at(31), channels=["a"])
    assert again[0].kind == "firing"
    assert again[0].incident_key != notes[0].incident_key


def test_hold_open_keeps_incident_firing(db_path: Path) -> None:
    incidents = store(db_path)
    incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    assert incidents.observe("海底捞", [], now=at(60), channels=["a"], hold_open=True) == []
    assert len(incidents.open_incidents()) == 1


def test_a_crisis_after_a_source_blocked_past_the_outage_cap_is_a_new_incident(
    db_path: Path,
) -> None:
    """A source blocked for three days holds the brand's incident open (no all-clear while
    blind); when it is back and a crisis fires, the held incident is resolved and the crisis
    pages as a new incident. Before, it joined the incident of three days earlier: no page, a
    repeat at most. Within the cap (a day) it is the same incident, as before."""
    incidents = store(db_path)
    first = incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    for minutes in range(60, 3 * 24 * 60, 6 * 60):
        assert incidents.observe("海底捞", [], now=at(minutes), channels=["a"],
                                 hold_open=True) == []  # fmt: skip
    back = 3 * 24 * 60 + 30
    notes = incidents.observe("海底捞", [detection(back)], now=at(back + 1), channels=["a"])
    assert [n.kind for n in notes] == ["resolved", "firing"]
    assert notes[0].incident_key == first[0].incident_key != notes[1].incident_key
    (opened,) = incidents.open_incidents()
    assert opened.started_at == at(back).timestamp()


def test_an_old_episode_after_a_long_block_seen_late_opens_no_incident_nor_holds_a_crisis(
    db_path: Path,
) -> None:
    """A backfill (an episode of hours ago seen for the first time) pages nobody, as with no
    incident open; past the cap it is not taken into the held incident either. Before, it
    moved that incident's last activity to three days later, so a fresh crisis ten minutes on
    joined the held incident and paged nobody."""
    incidents = store(db_path)
    first = incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    back = 3 * 24 * 60 + 30
    stale = incidents.observe("海底捞", [detection(back - 200)], now=at(back), channels=["a"],
                              hold_open=True)  # fmt: skip
    assert stale == []
    (held,) = incidents.open_incidents()
    assert held.dedup_key == first[0].incident_key
    assert held.last_detection_at < at(60).timestamp()
    notes = incidents.observe("海底捞", [detection(back + 10)], now=at(back + 11), channels=["a"])
    assert [n.kind for n in notes] == ["resolved", "firing"]
    assert notes[0].incident_key == first[0].incident_key != notes[1].incident_key


def test_a_crisis_after_a_short_block_stays_the_held_incident(db_path: Path) -> None:
    incidents = store(db_path)
    first = incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    assert incidents.observe("海底捞", [], now=at(600), channels=["a"], hold_open=True) == []
    notes = incidents.observe("海底捞", [detection(20 * 60)], now=at(20 * 60 + 1), channels=["a"])
    assert "firing" not in [n.kind for n in notes] and "resolved" not in [n.kind for n in notes]
    (held,) = incidents.open_incidents()
    assert held.dedup_key == first[0].incident_key


def test_future_and_stale_detections_do_not_fire(db_path: Path) -> None:
    incidents = store(db_path)
    # Causality: a detection stamped after `now` is not used yet.
    assert incidents.observe("海底捞", [detection(10)], now=at(5), channels=["a"]) == []
    # A backfilled detection from long ago must not page anyone today.
    assert incidents.observe("海底捞", [detection(-600)], now=at(5), channels=["a"]) == []
    assert incidents.open_incidents() == []


def test_min_severity_filters_channels_and_escalation_brings_them_in(db_path: Path) -> None:
    channels = [
        ChannelConfig(name="chat", type="webhook", min_severity="info"),
        ChannelConfig(name="pager", type="webhook", min_severity="critical"),
    ]
    incidents = store(db_path)
    notes = incidents.observe("海底捞", [detection(0, "info")], now=at(1), channels=channels)
    assert [n.channel for n in notes] == ["chat"]
    notes = incidents.observe("海底捞", [detection(5, "critical")], now=at(6), channels=channels)
    assert sorted((n.channel, n.kind) for n in notes) == [("chat", "updated"), ("pager", "firing")]


def test_groups_are_separate_incidents(db_path: Path) -> None:
    incidents = store(db_path)
    notes = incidents.observe(
        "海底捞",
        [detection(0), detection(0, detector="source_blocked", group="operational")],
        now=at(1),
        channels=["a"],
    )
    assert len({n.incident_key for n in notes}) == 2
    assert sorted(i.group for i in incidents.open_incidents()) == ["crisis", "operational"]


def test_silence_suppresses_until_expiry_then_notifies(db_path: Path) -> None:
    incidents = store(db_path)
    silence = add_silence(db_path, [Matcher.parse("brand=海底捞")], duration_seconds=600, now=at(0))
    assert incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"]) == []
    assert incidents.observe("海底捞", [detection(5)], now=at(6), channels=["a"]) == []
    # Expired by time: the still-firing incident is notified now.
    notes = incidents.observe("海底捞", [detection(10)], now=at(11), channels=["a"])
    assert [n.kind for n in notes] == ["firing"]
    assert expire_silence(db_path, silence.id, now=at(12)) is False


def test_silence_matchers_must_all_match(db_path: Path) -> None:
    incidents = store(db_path)
    add_silence(
        db_path,
        [Matcher.parse("brand=海底捞"), Matcher.parse("severity!=critical")],
        duration_seconds=3600,
        now=at(0),
    )
    assert incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"]) == []
    assert [
        n.kind for n in incidents.observe("蜜雪冰城", [detection(0)], now=at(1), channels=["a"])
    ] == ["firing"]
    # Critical is not silenced by severity!=critical.
    notes = incidents.observe("海底捞", [detection(5, "critical")], now=at(6), channels=["a"])
    assert [n.kind for n in notes] == ["firing"]


def test_regex_matcher_and_expired_silence(db_path: Path) -> None:
    incidents = store(db_path)
    silence = add_silence(
        db_path, [Matcher.parse("detector=~negative_.*")], duration_seconds=3600, now=at(0)
    )
    assert incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"]) == []
    assert expire_silence(db_path, silence.id, now=at(2)) is True
    notes = incidents.observe("海底捞", [detection(5)], now=at(6), channels=["a"])
    assert [n.kind for n in notes] == ["firing"]


def test_state_change_and_outbox_commit_together(db_path: Path) -> None:
    incidents = store(db_path)
    incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    conn = db.connect(db_path)
    try:
        conn.row_factory = sqlite3.Row
        (row,) = conn.execute("SELECT dedup_key, event_seq FROM incidents").fetchall()
        (queued,) = conn.execute("SELECT incident_key FROM outbox").fetchall()
    finally:
        conn.close()
    assert queued["incident_key"] == row["dedup_key"] and row["event_seq"] == 1


def test_ongoing_episode_keeps_incident_open_until_it_stops_growing(db_path: Path) -> None:
    # Detectors report an episode once, at onset; a re-run shows it longer (episode_bins).
    incidents = store(db_path)
    onset = detection(0, details={"episode_bins": 1})
    assert [n.kind for n in incidents.observe("海底捞", [onset], now=at(1), channels=["a"])] == [
        "firing"
    ]
    for minute in range(5, 65, 5):
        ongoing = detection(0, details={"episode_bins": minute // 5 + 1})
        assert incidents.observe("海底捞", [ongoing], now=at(minute + 1), channels=["a"]) == []
    assert len(incidents.open_incidents()) == 1  # an hour later, still firing
    ended = detection(0, details={"episode_bins": 13})  # last firing bin: minute 60
    assert incidents.observe("海底捞", [ended], now=at(70), channels=["a"]) == []
    notes = incidents.observe("海底捞", [ended], now=at(76), channels=["a"])
    assert [n.kind for n in notes] == ["resolved"]


def test_same_onset_seen_again_with_higher_severity_escalates(db_path: Path) -> None:
    incidents = store(db_path)
    incidents.observe("海底捞", [detection(0, "warning")], now=at(1), channels=["a"])
    notes = incidents.observe("海底捞", [detection(0, "critical")], now=at(6), channels=["a"])
    assert [(n.kind, n.payload["previous_severity"]) for n in notes] == [("updated", "warning")]


def test_group_may_come_in_details(db_path: Path) -> None:
    incidents = store(db_path)
    incidents.observe(
        "海底捞", [detection(0, details={"group": "operational"})], now=at(1), channels=["a"]
    )
    assert [i.group for i in incidents.open_incidents()] == ["operational"]


def test_episode_resuming_after_resolve_reopens_its_incident_once(db_path: Path) -> None:
    """The paging policy's page for an incident keeps its onset however long the incident
    pauses: what resumes is that incident, told again as ``updated``, never a second
    ``firing`` page (a new incident with its own page to session 29)."""
    incidents = store(db_path)
    incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    resolved = incidents.observe("海底捞", [detection(0)], now=at(20), channels=["a"])
    assert [n.kind for n in resolved] == ["resolved"]
    # Within the detector's cooldown the episode resumes: same onset, longer episode.
    resumed = detection(0, details={"episode_bins": 6})  # firing again at minute 25
    notes = incidents.observe("海底捞", [resumed], now=at(26), channels=["a", "b"])
    assert [(n.channel, n.kind) for n in notes] == [("a", "updated"), ("b", "firing")]
    assert {n.incident_key for n in notes} == {resolved[0].incident_key}
    assert notes[0].payload["resumed_after"] == resolved[0].payload["resolved_at"]
    assert "曾报已恢复，现再次活跃" in render_markdown(notes[0].payload, 4000)
    assert [i.id for i in incidents.open_incidents()] == [1]
    assert incidents.observe("海底捞", [resumed], now=at(27), channels=["a", "b"]) == []
    # A new episode after the incident resolved again is a new incident with its own page.
    incidents.observe("海底捞", [resumed], now=at(50), channels=["a"])
    later = incidents.observe("海底捞", [resumed, detection(60)], now=at(61), channels=["a"])
    assert [n.kind for n in later] == ["firing"]
    assert later[0].incident_key != resolved[0].incident_key
    assert "resumed_after" not in later[0].payload


def test_an_incident_resuming_stronger_is_reopened_and_escalated(db_path: Path) -> None:
    """The policy's escalation of a paused incident (its own onset, ``details.escalates``
    naming the incident's) reopens it as one ``updated`` naming the severity it had."""
    incidents = store(db_path)
    head = detection(0)
    incidents.observe("海底捞", [head], now=at(1), channels=["a"])
    resolved = incidents.observe("海底捞", [head], now=at(20), channels=["a"])
    stronger = detection(40, "critical", details={"escalates": head["timestamp"]})
    notes = incidents.observe("海底捞", [head, stronger], now=at(41), channels=["a"])
    assert [(n.kind, n.payload["previous_severity"]) for n in notes] == [("updated", "warning")]
    assert notes[0].incident_key == resolved[0].incident_key
    assert notes[0].payload["severity"] == "critical"


def test_bins_still_settling_do_not_resolve_an_incident(db_path: Path) -> None:
    incidents = store(db_path)  # resolves after 3 quiet intervals (15 minutes)
    incidents.observe("海底捞", [detection(0)], now=at(1), channels=["a"])
    # 20 minutes without a detection, but the last 10 minutes' posts may still be arriving:
    # only 10 settled quiet minutes, not an all-clear.
    assert incidents.observe("海底捞", [], now=at(20), channels=["a"], settled_until=at(10)) == []
    assert len(incidents.open_incidents()) == 1
    notes = incidents.observe("海底捞", [], now=at(30), channels=["a"], settled_until=at(20))
    assert [n.kind for n in notes] == ["resolved"]
