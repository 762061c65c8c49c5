"""The shipped ``config/alerts.yaml`` channels section builds with its env vars set."""

from __future__ import annotations

import pytest

from koubei import paths
from koubei.analysis.alerts.channels import build_channels
from koubei.config import ConfigError, load_alerts


def test_shipped_channels_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_alerts()
    env_names = {
        value
        for channel in config.channels
        for key, value in channel.options.items()
        if key.endswith("_env")
    }
    for name in env_names:
        monkeypatch.setenv(name, "http://127.0.0.1:9/x")
    built = build_channels(config, paths.CONFIG_DIR / "alerts.yaml", include_disabled=True)
    assert {c.name for c in built} == {c.name for c in config.channels}
    enabled = build_channels(config)
    assert [c.name for c in enabled] == [c.name for c in config.channels if c.enabled]


def test_missing_secret_names_variable_file_and_field(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_alerts()
    for channel in config.channels:
        for key, value in channel.options.items():
            if key.endswith("_env"):
                monkeypatch.delenv(value, raising=False)
    with pytest.raises(ConfigError, match=r"alerts\.yaml: channels\[0\]\.options\.url_env: "):
        build_channels(config, paths.CONFIG_DIR / "alerts.yaml")
