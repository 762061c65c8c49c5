"""Detector options are checked by their classes; every problem is reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from koubei.analysis.detectors import REGISTRY, build_detectors, default_config
from koubei.analysis.detectors.negative_volume import NegativeVolume
from koubei.config import AlertsConfig, ConfigError, DetectorConfig, load_alerts


def test_repository_alerts_yaml_builds_every_enabled_detector() -> None:
    config = load_alerts()
    detectors = build_detectors(config)
    enabled = [d for d in config.detectors if d.enabled]
    assert [d.name for d in detectors] == [d.name for d in enabled]
    assert {d.type_name for d in detectors} <= set(REGISTRY)


def test_defaults_live_in_the_class_and_options_override_them() -> None:
    detector = NegativeVolume("nv", {"z_threshold": 6, "recent_window": "30m"})
    assert detector.options["z_threshold"] == 6.0
    assert detector.options["recent_window"] == 1800
    assert detector.options["min_count"] == NegativeVolume.defaults["min_count"]
    assert detector.bins("recent_window", 300) == 6
    assert [d.type_name for d in build_detectors(default_config())] == [
        "negative_volume",
        "negative_volume",
        "negative_share",
    ]


def test_all_option_errors_of_all_detectors_are_reported_at_once() -> None:
    config = AlertsConfig(
        detectors=[
            DetectorConfig(name="a", type="negative_volume", options={"z_treshold": 3}),
            DetectorConfig(
                name="b",
                type="negative_share",
                options={"min_total": "many", "window": "soon", "warmup": True},
            ),
            DetectorConfig(name="c", type="no_such_detector"),
        ]
    )
    with pytest.raises(ConfigError) as info:
        build_detectors(config)
    lines = str(info.value).splitlines()
    assert "config/alerts.yaml: detectors[0].options.z_treshold: unknown option" in lines[0]
    assert "z_threshold" in lines[0]  # the known options are listed to spot the typo
    text = str(info.value)
    assert "detectors[1].options.min_total: expected an integer, got 'many'" in text
    assert "detectors[1].options.window: expected a positive duration" in text
    assert "detectors[1].options.warmup: expected a positive duration" in text
    assert "detectors[2].type: unknown detector type 'no_such_detector'" in text
    assert len(lines) == 5


def test_required_options_are_reported_missing() -> None:
    class NeedsTarget(NegativeVolume):
        required_options = frozenset({"target"})

    with pytest.raises(ConfigError, match=r"detectors\[3\]\.options\.target: required option"):
        NeedsTarget("x", {}, where="detectors[3].options")


def test_disabled_detectors_are_validated_but_not_built() -> None:
    config = AlertsConfig(
        detectors=[DetectorConfig(name="v", type="volume_velocity", enabled=False)]
    )
    assert build_detectors(config) == []
    bad = AlertsConfig(
        detectors=[
            DetectorConfig(
                name="v", type="volume_velocity", enabled=False, options={"field": "likes"}
            )
        ]
    )
    with pytest.raises(ConfigError, match=r"options\.field: expected one of 'total', 'negative'"):
        build_detectors(bad)


def test_repository_alerts_yaml_count_detectors_match_the_built_in_defaults() -> None:
    # `koubei spikes detect` runs the built-in defaults; the shipped YAML must not drift.
    configured = [d for d in build_detectors(load_alerts()) if d.input_kind == "counts"]
    defaults = build_detectors(default_config())
    assert [(d.name, d.options) for d in configured] == [(d.name, d.options) for d in defaults]


def test_every_detector_and_channel_class_has_one_pydantic_options_model() -> None:
    from pydantic import BaseModel

    from koubei.analysis.alerts.channels import CHANNEL_TYPES, ChannelOptions

    for cls in REGISTRY.values():
        assert issubclass(cls.Options, BaseModel), cls
        assert set(cls.Options.model_fields) == set(cls.defaults) | set(cls.required_options)
    for channel in CHANNEL_TYPES.values():
        assert issubclass(channel.Options, ChannelOptions), channel
    # A typo in a choice is an error for detectors as for channels, never a fallback.
    bad = DetectorConfig(name="x", type="volume_velocity", options={"field": "negatve"})
    with pytest.raises(ConfigError, match=r"options\.field: expected one of"):
        build_detectors(AlertsConfig(detectors=[bad]))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_threshold_that_is_no_finite_number_is_refused(value: float) -> None:
    # YAML's .nan compares false with everything: the detector would silently never fire
    config = AlertsConfig(
        detectors=[DetectorConfig(name="a", type="negative_volume", options={"z_threshold": value})]
    )
    with pytest.raises(ConfigError, match=r"detectors\[0\].options.z_threshold: expected a fin"):
        build_detectors(config)


def test_an_alerts_yaml_without_detectors_runs_the_defaults_and_an_empty_list_none(
    tmp_path: Path,
) -> None:
    """Without a `detectors` section the live cycle ran no detector at all, silently, while
    `spikes backtest` of the same file replayed the built-in ones (and replayed them too when
    every listed detector was disabled)."""
    from koubei.analysis.detectors import configured_detectors, default_detectors

    (tmp_path / "alerts.yaml").write_text("interval: 5m\n", encoding="utf-8")
    absent = configured_detectors(load_alerts(tmp_path), tmp_path / "alerts.yaml")
    assert [d.name for d in absent] == [d.name for d in default_detectors()]
    (tmp_path / "alerts.yaml").write_text(
        "detectors:\n  - name: surge\n    type: negative_volume\n    enabled: false\n", "utf-8"
    )
    assert configured_detectors(load_alerts(tmp_path), tmp_path / "alerts.yaml") == []
