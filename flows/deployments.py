"""The one definition of the scheduled deployments, for ``koubei serve`` and ``prefect deploy``.

* ``crawl-<source>``: one per enabled source of ``sources.yaml``, on the source's ``schedule``,
  crawling that source into landing files (``koubei-crawl``);
* ``process``: every ``interval`` of ``alerts.yaml``, process → index → detect → deliver over
  everything pending, for every brand (``koubei-process``);
* ``daily-report``: 09:00 every day (``koubei-daily-report``).

Every schedule is a cron in :data:`TIMEZONE`. :func:`deployment_specs` is the definition;
:func:`build_deployments` turns it into Prefect deployments for ``koubei serve`` (one machine,
no work pool) and :func:`render_prefect_yaml` into ``prefect.yaml`` for ``prefect deploy`` to a
work pool (``koubei serve --prefect-yaml > prefect.yaml``). A test keeps the committed
``prefect.yaml`` equal to the rendering of ``config/``, so the two cannot drift apart.

No deployment bakes in an index prefix: the flows read ``KOUBEI_INDEX_PREFIX`` when a run
starts, on whichever machine runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from koubei import config as cfg
from koubei import paths

TIMEZONE = "Asia/Shanghai"
WORK_POOL = "koubei-pool"
REPORT_CRON = "0 9 * * *"
ENTRYPOINT_FILE = "flows/monitor.py"


@dataclass(frozen=True)
class DeploymentSpec:
    """One scheduled deployment: which flow (a function in ``flows/monitor.py``), when, how."""

    name: str
    flow: str
    cron: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ("koubei",)

    @property
    def entrypoint(self) -> str:
        return f"{ENTRYPOINT_FILE}:{self.flow}"


def interval_cron(seconds: int, *, file: Path) -> str:
    """A cron firing every ``seconds`` (alerts.yaml ``interval``): whole minutes or hours that
    divide an hour or a day (a whole day: midnight), since cron cannot express other periods."""
    minutes, hours = seconds // 60, seconds // 3600
    if seconds % 60 == 0 and minutes < 60 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if seconds % 3600 == 0 and hours <= 24 and 24 % hours == 0:
        return {1: "0 * * * *", 24: "0 0 * * *"}.get(hours, f"0 */{hours} * * *")
    raise cfg.ConfigError(
        f"{file}: interval: {seconds}s cannot be scheduled as a cron; use minutes that divide "
        "an hour (1m, 5m, 15m, 30m) or hours that divide a day"
    )


def deployment_specs(config_dir: Path | None = None) -> list[DeploymentSpec]:
    """The deployments for a config directory (validated; errors name file and field)."""
    config_dir = config_dir or paths.CONFIG_DIR
    configured = cfg.load_sources(config_dir)
    # A source tracking a brand brands.yaml lacks: its every crawl failed (the crawl checks
    # it), while `serve --list` and `--prefect-yaml` showed the deployment as fine.
    brands = cfg.load_brands(config_dir)
    cfg.check_tracked_brands(configured, brands, config_dir / "sources.yaml")
    sources = [s for s in configured.sources if s.enabled]
    alerts = cfg.load_alerts(config_dir)
    specs = [
        DeploymentSpec(
            name=f"crawl-{source.name}",
            flow="crawl_flow",
            cron=source.schedule,
            description=f"Crawl source {source.name} ({source.platform}) into landing files.",
            parameters={"sources": [source.name]},
            tags=("koubei", "crawl", source.platform),
        )
        for source in sources
    ]
    specs.append(
        DeploymentSpec(
            name="process",
            flow="process_flow",
            cron=interval_cron(alerts.interval_seconds, file=config_dir / "alerts.yaml"),
            description="Process pending landing files, index, detect and deliver alerts.",
            tags=("koubei", "process"),
        )
    )
    specs.append(
        DeploymentSpec(
            name="daily-report",
            flow="daily_report",
            cron=REPORT_CRON,
            description="The daily report at 09:00.",
            tags=("koubei", "report"),
        )
    )
    return specs


def _parameters(spec: DeploymentSpec, config_dir: Path | None) -> dict[str, Any]:
    # The default config dir is left to the flow's own default (KOUBEI_CONFIG_DIR or the
    # package's), so a deployment works on a worker whose checkout lives elsewhere.
    if config_dir is None or config_dir.resolve() == paths.CONFIG_DIR.resolve():
        return dict(spec.parameters)
    return {**spec.parameters, "config_dir": str(config_dir.resolve())}


def build_deployments(
    config_dir: Path | None = None, specs: list[DeploymentSpec] | None = None
) -> list[Any]:
    """Prefect ``RunnerDeployment`` objects for :func:`prefect.serve` (of ``specs``, those of
    ``config_dir`` read already, else read here)."""
    from prefect.schedules import Cron

    from koubei.flows import monitor

    return [
        getattr(monitor, spec.flow).to_deployment(
            name=spec.name,
            schedule=Cron(spec.cron, timezone=TIMEZONE),
            parameters=_parameters(spec, config_dir),
            description=spec.description,
            tags=list(spec.tags),
        )
        for spec in (deployment_specs(config_dir) if specs is None else specs)
    ]


PREFECT_YAML_HEADER = """\
# GENERATED by `koubei serve --prefect-yaml > prefect.yaml` from flows/deployments.py and
# config/ (sources.yaml schedules, alerts.yaml interval); tests/flows/test_deployments.py fails
# when it is out of date. Edit those, not this file.
#
# `prefect deploy --all` registers these deployments with the work pool below. A worker runs
# them from a checkout of this repository with koubei installed (pip install -e .), started as
#   KOUBEI_REPO=/path/to/checkout prefect worker start --pool koubei-pool
# The pull step moves into that checkout ({{ $VAR }} is Prefect's environment-variable
# placeholder, resolved on the worker when each run starts).
"""


def prefect_yaml_data(config_dir: Path | None = None) -> dict[str, Any]:
    return {
        "name": "koubei",
        "pull": [
            {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $KOUBEI_REPO }}"}}
        ],
        "deployments": [
            {
                "name": spec.name,
                "entrypoint": spec.entrypoint,
                "description": spec.description,
                "tags": list(spec.tags),
                "parameters": _parameters(spec, config_dir),
                "schedules": [{"cron": spec.cron, "timezone": TIMEZONE}],
                "work_pool": {"name": WORK_POOL},
            }
            for spec in deployment_specs(config_dir)
        ],
    }


def render_prefect_yaml(config_dir: Path | None = None) -> str:
    body = yaml.safe_dump(
        prefect_yaml_data(config_dir), sort_keys=False, allow_unicode=True, width=100
    )
    return PREFECT_YAML_HEADER + body
