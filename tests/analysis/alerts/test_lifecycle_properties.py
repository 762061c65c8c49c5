"""Lifecycle invariants over random detection histories (hypothesis)."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from koubei.analysis.alerts.incidents import IncidentStore
from tests.analysis.alerts.conftest import at, detection

step = st.tuples(
    st.integers(min_value=1, max_value=30),  # minutes since the previous evaluation
    st.lists(st.sampled_from(["info", "warning", "critical"]), max_size=2),
)


@settings(max_examples=12, deadline=None)
@given(st.lists(step, min_size=1, max_size=10))
def test_replays_are_silent_and_every_incident_reads_firing_then_resolved(
    steps: list[tuple[int, list[str]]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = IncidentStore(Path(folder) / "a.db", interval_seconds=300, resolve_after=3)
        minute = 0
        seen: list[dict[str, object]] = []
        events: dict[str, list[str]] = defaultdict(list)
        for gap, severities in steps:
            minute += gap
            # Each evaluation sees every detection so far (a detector re-run over history).
            seen += [detection(minute - 1, s, score=float(i)) for i, s in enumerate(severities)]
            for note in store.observe("品牌", seen, now=at(minute), channels=["a"]):
                events[note.incident_key].append(note.kind)
            assert store.observe("品牌", seen, now=at(minute), channels=["a"]) == []
            assert len(store.open_incidents()) <= 1
        store.observe("品牌", seen, now=at(minute + 10_000), channels=["a"])
        for note_kinds in events.values():
            assert note_kinds[0] == "firing"
            assert note_kinds.count("firing") == 1
            assert note_kinds.count("resolved") <= 1
            if "resolved" in note_kinds:
                assert note_kinds[-1] == "resolved"
        replay = IncidentStore(Path(folder) / "a.db", interval_seconds=300, resolve_after=3)
        assert replay.observe("品牌", seen, now=at(minute + 10_000), channels=["a"]) == []
        assert replay.open_incidents() == []
