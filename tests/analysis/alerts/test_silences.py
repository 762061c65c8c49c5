"""Silence matchers: what they match, and what they refuse because it could match nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.alerts.silences import LABELS, Matcher
from tests.analysis.alerts.conftest import at, detection


def test_matchers_name_the_labels_an_incident_has(db_path: Path) -> None:
    store = IncidentStore(db_path)
    store.observe("海底捞", [detection(0)], now=at(1))
    (incident,) = store.open_incidents()
    assert set(incident.labels()) == set(LABELS)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # A misspelt label matched no incident (a silence of nothing, exit 0) ...
        ("brnad=海底捞", ("'brnad=海底捞'", "no incident has a label 'brnad'", "brand, severity")),
        # ... and with != every incident.
        ("sevrity!=info", ("no incident has a label 'sevrity'",)),
        ("severity=critcal", ("severity 'critcal' is not one of info, warning, critical",)),
        # Was re.error's "unterminated character set at position 0", naming no matcher.
        ("detector=~[", ("'detector=~['", "'[' is not a regular expression", "unterminated")),
        ("brand~x", ("is not a matcher like",)),
        # Was brand != "~neg": a negated regex mistyped silenced every incident.
        ("detector!=~neg.*", ("'detector!=~neg.*'", "!=~ is not an operator", "!~")),
        ("brand==海底捞", ("== is not an operator",)),
        ("severity=!info", ("=! is not an operator",)),
    ],
)
def test_a_matcher_that_could_match_nothing_is_refused(text: str, words: tuple[str, ...]) -> None:
    with pytest.raises(ValueError) as caught:
        Matcher.parse(text)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    ("text", "labels", "hit"),
    [
        ("severity!=info", {"severity": "warning"}, True),
        ("severity=~warn.*", {"severity": "warning"}, True),
        ("detector=negative_share", {"detector": ["negative_volume", "negative_share"]}, True),
        ("incident!~spike:.*", {"incident": "spike:海底捞"}, False),
        ("group=crisis", {"group": "operational"}, False),
    ],
)
def test_known_labels_match_as_before(text: str, labels: dict[str, Any], hit: bool) -> None:
    assert Matcher.parse(text).matches(labels) is hit
