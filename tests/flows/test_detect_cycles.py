"""The live cycle's detection half, bin by bin: pages → active detections → incident store.

No Elasticsearch here: the series is the one ``brand_series`` would read, and each cycle sees
the bins before its ``as_of`` only, as the scheduled runs do.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.detectors import CountSeries, default_detectors, detect_all
from koubei.flows.detect import active_pages
from koubei.timeutil import DEFAULT_TZ

START = datetime(2026, 3, 2, tzinfo=DEFAULT_TZ)  # a Monday
PER_DAY = 288


def replay(series: CountSeries, cycles: range, db_path: Path) -> list[tuple[str, str]]:
    """(time, kind) of every notice the cycles at ``series.start[cut]`` enqueue."""
    detectors = default_detectors()
    store = IncidentStore(db_path, interval_seconds=series.interval_seconds)
    out = []
    for cut in cycles:
        as_of = series.start[cut]
        pages = detect_all(detectors, series.head(cut))
        active = active_pages(pages, as_of, series.interval_seconds)
        notes = store.observe("鲜牧", [d.to_dict() for d in active], now=as_of, channels=["oncall"])
        out += [(f"{as_of:%H:%M}", note.kind) for note in notes]
    return out


def test_a_crisis_lasting_hours_is_not_resolved_while_it_fires(tmp_path: Path) -> None:
    """Pages older than an hour (by onset) were dropped from the active detections: a crisis
    paged at 08:35 and still six times the usual at noon was resolved at 09:55, an all-clear
    in the middle of it."""
    rng = np.random.default_rng(3)
    values = rng.poisson(12, 5 * PER_DAY)
    onset = 4 * PER_DAY + 100  # Friday 08:20
    values[onset : onset + 48] += 60  # four hours, to 12:20
    series = CountSeries.from_values(START, values.tolist(), key="鲜牧")
    notes = replay(series, range(onset, onset + 84, 2), tmp_path / "alerts.db")
    kinds = [kind for _, kind in notes]
    assert kinds[0] == "firing" and kinds.count("firing") == 1
    resolved = [at for at, kind in notes if kind == "resolved"]
    assert resolved and all(at >= "12:20" for at in resolved), notes


def test_a_second_burst_inside_one_paged_incident_reaches_the_store(tmp_path: Path) -> None:
    """The paging policy keeps bursts less than `paging.quiet` apart in one incident and
    sends no second page; the store resolves after half an hour of quiet. The second burst,
    merged into the first page, never reached the store: nobody heard of it. Then (to session
    29) it reached it as a new incident with its own `firing` page: two pages live for the
    policy's one. It reopens the incident, told as `updated`."""
    rng = np.random.default_rng(4)
    values = rng.poisson(12, 5 * PER_DAY)
    first = 4 * PER_DAY + 100  # Friday 08:20, 40 minutes
    values[first : first + 8] += 80
    second = first + 36  # 11:20, 40 minutes
    values[second : second + 8] += 80
    series = CountSeries.from_values(START, values.tolist(), key="鲜牧")
    pages = detect_all(default_detectors(), series.head(second + 12))
    assert len(pages) == 1  # one incident for the policy
    notes = replay(series, range(first, second + 20), tmp_path / "alerts.db")
    kinds = [kind for _, kind in notes]
    # the first burst fires and resolves; the second reopens it: no second page
    assert kinds == ["firing", "resolved", "updated"], notes
    assert notes[2][0] >= "11:20"


def test_a_story_that_flares_again_the_next_morning_pages_once_live(tmp_path: Path) -> None:
    """A story of the evening (×5 from 20:00 for 3 h) that flares again at 08:00 (×8 for 3 h)
    over a busy brand's day: `spikes detect` pages it once (12 h of quiet span the night), and
    the live cycles page it once too. The store says it is over in the night and, in the
    morning, that the same incident is active again."""
    from tests.analysis.detectors.conftest import (
        STORY_EVENING,
        STORY_MORNING,
        evening_and_morning_story,
    )

    series = evening_and_morning_story(seed=1)
    notes = replay(series, range(STORY_EVENING, STORY_MORNING + 48, 3), tmp_path / "alerts.db")
    assert [kind for _, kind in notes] == ["firing", "resolved", "updated"], notes
    assert notes[0][0] < "21:00" and "08:00" <= notes[2][0] < "09:00"
