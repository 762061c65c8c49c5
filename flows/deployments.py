"""Prefect deployments: one scheduled monitoring deployment per configured source.

Each source's ``schedule`` (cron) from ``config/sources.yaml`` becomes a deployment of the
monitoring flow restricted to that source, served by a local process (``koubei serve``) against
the Prefect server (``prefect server start``; SQLite by default). ``prefect.yaml`` at the repo
root declares the same flow for ``prefect deploy`` onto work pools.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from koubei import config as cfg


def build_deployments(config_dir: Path, *, prefix: str) -> list[Any]:
    from koubei.flows.monitor import monitor

    sources = [s for s in cfg.load_sources(config_dir).sources if s.enabled]
    return [
        monitor.to_deployment(
            name=f"monitor-{source.name}",
            cron=source.schedule,
            parameters={"config_dir": str(config_dir), "sources": [source.name], "prefix": prefix},
            tags=["koubei", source.platform],
        )
        for source in sources
    ]
