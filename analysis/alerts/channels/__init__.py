"""Notification channels: a small :class:`Channel` base, a registry, one module per platform.

``build_channels(config)`` turns the ``channels:`` section of ``config/alerts.yaml`` into
channel objects, validating every channel's options and reporting all problems at once.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from koubei import paths
from koubei.analysis.alerts.channels import (  # noqa: F401  (modules register their classes)
    alertmanager,
    dingtalk,
    feishu,
    slack,
    webhook,
    wecom,
)
from koubei.analysis.alerts.channels.base import CHANNEL_TYPES, Channel, ChannelOptions, register
from koubei.config import AlertsConfig, ConfigError

__all__ = ["CHANNEL_TYPES", "Channel", "ChannelOptions", "build_channels", "register"]


def build_channels(
    config: AlertsConfig,
    config_file: Path | str | None = None,
    *,
    include_disabled: bool = False,
    names: Collection[str] | None = None,
) -> list[Channel]:
    """One channel object per (enabled) ``channels[i]``; all config problems in one error.

    ``names`` restricts building (and so the secrets needed) to those channels.
    """
    file = str(config_file or paths.CONFIG_DIR / "alerts.yaml")
    problems: list[str] = []
    built: list[Channel] = []
    configured = [c.name for c in config.channels]
    for index, channel_config in enumerate(config.channels):
        if configured.count(channel_config.name) > 1:
            problems.append(f"{file}: channels[{index}].name: {channel_config.name!r} is repeated")
        if not (channel_config.enabled or include_disabled):
            continue
        if names is not None and channel_config.name not in names:
            continue
        cls = CHANNEL_TYPES.get(channel_config.type)
        if cls is None:
            problems.append(
                f"{file}: channels[{index}].type: unknown channel type {channel_config.type!r} "
                f"(known: {', '.join(sorted(CHANNEL_TYPES))})"
            )
            continue
        try:
            built.append(cls(channel_config, index=index, config_file=file))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("\n".join(problems))
    return built
