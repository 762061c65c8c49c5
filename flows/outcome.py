"""What a run leaves behind: a summary, a Prefect artifact, and an on-call alert if it failed.

Every flow run ends by publishing a table artifact (``koubei-<flow>``: items crawled,
processed, indexed, dead-lettered, alerts sent) so the Prefect UI shows what each scheduled run
did. A failed run (an error the flow recorded, such as Elasticsearch being unreachable, or a
crash) raises an ``operational`` incident ``run:<flow>`` through the configured alert channels;
the next successful run of that flow resolves it. A run that left its work to another run
(``Skipped``: a lock held) saw nothing of the flow's health and neither opens nor resolves it.
The hooks never raise: an alerting failure is
logged and must not mask the run's own outcome.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from koubei import config as cfg
from koubei import paths, timeutil
from koubei.log import get_logger

log = get_logger(__name__)

#: A failed scheduled run is an ``operational`` incident of this severity (config/alerts.yaml).
RUN_FAILED_SEVERITY: Literal["info", "warning", "critical"] = "warning"


@dataclass
class RunSummary:
    crawled: dict[str, int] = field(default_factory=dict)
    source_status: dict[str, str] = field(default_factory=dict)
    processed: int = 0
    rejected: int = 0
    indexed: dict[str, int] = field(default_factory=dict)
    # the spool sent again at the start of the cycle (documents an earlier run could not send)
    replayed: dict[str, int] = field(default_factory=dict)
    negative_share: dict[str, dict[str, float | int]] = field(default_factory=dict)
    detections: dict[str, int] = field(default_factory=dict)
    notifications: int = 0
    delivered: int = 0
    failed_deliveries: int = 0
    evidence_dirs: dict[str, str] = field(default_factory=dict)
    reports: dict[str, list[str]] = field(default_factory=dict)
    blind_brands: list[str] = field(default_factory=list)
    # per brand, per source: how fresh its data was (flows.detect.source_freshness)
    freshness: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # documents the daily flow wrote to <prefix>-accounts and <prefix>-cascades
    spread_docs: dict[str, int] = field(default_factory=dict)
    # cascade documents it built but left as a run for a later day wrote them (SpreadReport.kept)
    spread_kept: int = 0
    errors: list[str] = field(default_factory=list)
    # the files holding this run's dead-lettered documents, each with its reason
    dead_letters: list[str] = field(default_factory=list)
    # the spool files holding this run's documents Elasticsearch did not take (replayed later)
    spool_files: list[str] = field(default_factory=list)
    # why Elasticsearch would not take them, where it said what to mend (a full disk)
    spool_causes: list[str] = field(default_factory=list)
    # why the run left a stage alone (another run holds its lock), see flows/locks.py
    skipped: list[str] = field(default_factory=list)
    # part of its work the run left to another run while doing the rest (a crawl run that
    # crawled every source but one still being crawled): said, but the run is judged by the rest
    left: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def figures(self) -> dict[str, int]:
        """The figures an operator checks first, as the artifact shows them.

        Every document sent to Elasticsearch this run (the spool replayed, then the pending
        processed files) is counted once as indexed, dead-lettered or spooled:
        ``indexed + dead_lettered + spooled == sent``; ``replayed`` is the part of ``sent``
        that came from the spool.
        """
        both = (self.replayed, self.indexed)

        def total(key: str) -> int:
            return sum(report.get(key, 0) for report in both)

        return {
            "crawled": sum(self.crawled.values()),
            "processed": self.processed,
            "rejected": self.rejected,
            "sent": total("sent"),
            "replayed": self.replayed.get("sent", 0),
            "indexed": total("created") + total("updated"),
            "dead_lettered": total("failed"),
            "spooled": total("spooled"),
            "alerts_sent": self.delivered,
        }

    def line(self, flow_name: str) -> str:
        """The figures as one line for the terminal, e.g. at the end of ``koubei run``."""
        f = self.figures()
        return (
            f"{flow_name}: crawled {f['crawled']}, processed {f['processed']} "
            f"(rejected {f['rejected']}); sent {f['sent']} to Elasticsearch "
            f"({f['replayed']} replayed from the spool): indexed {f['indexed']}, "
            f"dead-lettered {f['dead_lettered']}, spooled {f['spooled']}; "
            f"alerts sent {f['alerts_sent']}"
        )

    def notices(self, command: str) -> list[str]:
        """The lines saying what this run sent to Elasticsearch and did not index, naming the
        files (``koubei index load``'s wording): dead-lettered, then spooled. Any of them makes
        ``koubei run`` exit 1 and names the flow run's final state (:func:`final_state`)."""
        from koubei.pipeline.index.spool import dead_letter_notice, spool_notice

        f = self.figures()
        lines = []
        if f["dead_lettered"]:
            files = self.dead_letters
            lines.append(dead_letter_notice(command, f["dead_lettered"], f["sent"], files))
        if f["spooled"]:
            causes = list(dict.fromkeys(self.spool_causes))  # replay and index may both say it
            files = self.spool_files
            lines.append(spool_notice(command, f["spooled"], f["sent"], files, causes=causes))
        return lines


#: The names of a flow run's final state (type COMPLETED) when it did not do everything: the
#: Prefect UI shows the name on the run (its colour follows the type), and its runs list can be
#: filtered by it; the message says what and where.
SKIPPED, DEAD_LETTERED, SPOOLED = "Skipped", "Dead-lettered", "Spooled"


def final_state(flow_name: str, summary: RunSummary) -> Any:
    """The flow run's final state, which the flows return (Prefect makes a returned state the
    run's final state, and hands callers its data, the summary dict, on success).

    * errors: Failed, the errors as its message (the ``on_failure`` hook alerts on-call), its
      data a :class:`RunFailed` carrying the summary (:func:`run_summary` reads either);
    * a stage left to another run (``skipped``): Completed named ``Skipped``, the reason;
      part of the work left while the rest was done (``left``) only goes in the message;
    * documents dead-lettered or spooled: Completed named ``Dead-lettered`` or ``Spooled``, the
      lines ``koubei run`` prints as its message. Completed, not Failed: every stage ran and
      nothing is lost (the documents are on disk with their reasons, or replayed next cycle),
      so it is no operational incident, but no plain green Completed either;
    * else Completed.
    """
    from prefect.states import Completed, Failed

    data = summary.to_dict()
    if summary.errors:
        # The summary inside an exception: a deployment's run (``koubei serve``, a worker) is
        # driven by Prefect's engine, which raises a Failed state's data; the dict itself made
        # it log "TypeError: Unexpected result for failed state: {...} -- dict cannot be
        # resolved into an exception" under every failed scheduled run, hiding why it failed.
        return Failed(message="; ".join(summary.errors), data=RunFailed(data))
    if summary.skipped:
        return Completed(name=SKIPPED, message="; ".join(summary.skipped), data=data)
    notices = summary.notices(flow_name)
    if notices:
        name = DEAD_LETTERED if summary.figures()["dead_lettered"] else SPOOLED
        return Completed(name=name, message="; ".join(notices + summary.left), data=data)
    return Completed(message="; ".join(summary.left) or None, data=data)


class RunFailed(RuntimeError):
    """The run finished its stages but recorded errors; carries the summary."""

    def __init__(self, summary: dict[str, Any]) -> None:
        super().__init__("; ".join(summary.get("errors") or ["run failed"]))
        self.summary = summary

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled with the state's result, and unpickled by calling the class with its summary
        # (the default would call it with the message).
        return (type(self), (self.summary,))


def run_summary(state: Any) -> Any:
    """The summary dict of a flow's final state, Failed or not (None if it has none)."""
    result = state.result(raise_on_failure=False)
    return result.summary if isinstance(result, RunFailed) else result


def publish(flow_name: str, summary: RunSummary) -> None:
    """Attach the run's figures as a table artifact to the current flow run."""
    from prefect.artifacts import create_table_artifact

    figures = summary.figures()
    rows: list[dict[str, Any]] = [{"figure": k, "value": v} for k, v in figures.items()]
    rows += [{"figure": f"crawled:{k}", "value": v} for k, v in summary.crawled.items()]
    rows += [{"figure": f"indexed:{k}", "value": v} for k, v in summary.spread_docs.items()]
    if summary.spread_docs:  # the daily flow: what `koubei report daily` prints, kept too
        rows.append({"figure": "kept:cascades", "value": summary.spread_kept})
    rows += [{"figure": "error", "value": e} for e in summary.errors]
    create_table_artifact(
        key=f"koubei-{flow_name.removeprefix('koubei-')}",
        table=rows,
        description=f"{flow_name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()),
    )


def _config_dir(flow_run: Any) -> Path:
    value = (getattr(flow_run, "parameters", None) or {}).get("config_dir")
    return Path(value) if value else paths.CONFIG_DIR


def observe_run(flow_name: str, config_dir: Path, error: str | None) -> int:
    """Open (``error``) or resolve (None) the ``run:<flow>`` incident and deliver; notes sent."""
    from koubei.analysis.alerts.channels import build_channels
    from koubei.analysis.alerts.delivery import deliver_pending
    from koubei.analysis.alerts.incidents import IncidentStore
    from koubei.analysis.alerts.routing import Router
    from koubei.analysis.detectors.base import Detection
    from koubei.analysis.detectors.reasons import Reason

    alerts = cfg.load_alerts(config_dir)
    db = paths.state_dir("alerts") / "alerts.db"
    store = IncidentStore.from_config(db, alerts)
    now = timeutil.now()
    detections = []
    if error:
        detection = Detection(
            timestamp=now,
            # warning, not critical: one failed cycle is often transient (the next run resolves
            # it), so quiet hours hold it rather than wake anyone; see config/alerts.yaml
            severity=RUN_FAILED_SEVERITY,
            score=0.0,
            observed=0.0,
            expected=0.0,
            detector="run_failed",
            series=f"run:{flow_name}",
            reason=Reason("run_failed", {"flow": flow_name, "error": error}),
            details={"group": "operational", "flow": flow_name},
        )
        detections.append(detection.to_dict())
    # The same routes, min_severity and quiet hours as every other incident (group
    # `operational`, see config/alerts.yaml).
    notes = store.observe(f"run:{flow_name}", detections, now=now, channels=Router(alerts))
    if notes:
        channels = build_channels(alerts, config_file=config_dir / "alerts.yaml")
        deliver_pending(db, channels)
    return len(notes)


def on_failed(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_failure``/``on_crashed`` hook: alert the on-call channels."""
    try:
        observe_run(flow.name, _config_dir(flow_run), state.message or state.name)
    except Exception as exc:  # alerting must never hide the run's own failure
        log.error("could not raise the failed-run alert", flow=flow.name, error=str(exc))


def on_completed(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_completion`` hook: a good run resolves an open ``run:<flow>`` incident.

    A run named ``Skipped`` (:func:`final_state`: another run holds a lock it needs) is no
    observation at all: it did not do the work that failed. Counted as a quiet one, the runs
    of each tick skipped behind a long run resolved a failing flow's incident.
    """
    if getattr(state, "name", None) == SKIPPED:
        log.info("run skipped: its run incident is left as it is", flow=flow.name)
        return
    try:
        observe_run(flow.name, _config_dir(flow_run), None)
    except Exception as exc:
        log.error("could not update the run incident", flow=flow.name, error=str(exc))
