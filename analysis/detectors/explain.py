"""Why a bin paged or did not: ``koubei spikes backtest ... --at TIME`` (issue 20).

For the bin holding ``TIME``: each count detector's decision there, each of its gates
(:meth:`~koubei.analysis.detectors.base.Detector.gates`: what is compared, its value, the
threshold and the option of alerts.yaml that sets it, passed or not) and what the paging policy
did with the bin (paged, escalated, held inside an open incident, or nothing to page), as
``elastalert-test-rule`` tells a rule's author what a rule would have done.

Causal by construction: everything is computed on the series cut after that bin
(:meth:`CountSeries.head`), so data after ``TIME`` cannot change a word of it, as it could not
have changed what the live cycle did then.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from koubei.analysis.detectors.base import Detection, Detector, Gate, span
from koubei.analysis.detectors.cascade import CascadeGrowth
from koubei.analysis.detectors.defaults import detect_all
from koubei.analysis.detectors.paging import PagingPolicy
from koubei.analysis.detectors.series_types import CascadeSeries, CountSeries


def bin_at(series: CountSeries, at: datetime) -> int:
    """The index of the bin of ``series`` that holds ``at``; a :class:`ValueError` saying the
    series' first and last bin when none does."""
    if not len(series):
        raise ValueError("the series has no bin")
    step = timedelta(seconds=series.interval_seconds)
    index = math.floor((at.astimezone(UTC) - series.start[0].astimezone(UTC)) / step)
    if 0 <= index < len(series):
        return index
    zone = series.start[0].tzinfo
    # The bins' starts, first and last: the end of the last bin, printed before, read as a
    # time inside the series, and that very --at was refused.
    raise ValueError(
        f"{at.astimezone(zone):%Y-%m-%d %H:%M} is outside the series: its bins start from "
        f"{series.start[0]:%Y-%m-%d %H:%M} to {series.start[-1]:%Y-%m-%d %H:%M}, "
        f"{_step_words(step)} each ({zone})"
    )


def _step_words(step: timedelta) -> str:
    seconds = int(step.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def explain_at(
    detectors: Sequence[Detector],
    series: CountSeries,
    policy: PagingPolicy,
    index: int,
    cascade: CascadeSeries | None = None,
) -> dict[str, Any]:
    """What the detectors and ``policy`` decided at bin ``index`` of ``series``, from the bins
    up to it only: one dict, JSON-ready (``bin``, ``detectors``, ``paging``).

    Cascade detectors (``cascade_growth``) read ``cascade``, the brand's negative cascades as
    the live cycle binned them at the end of that bin (its last bin is this one:
    :func:`koubei.flows.detect.negative_cascades`); without one (a CSV of counts has no
    reposts) each is listed as not judged, with why. The live cycle adds their detections to
    the brand's beside the pages, not through ``policy`` (``cascade_fired`` in ``paging``)."""
    cut = series.head(index + 1)
    cut.unsettled = max(0, series.unsettled - (len(series) - index - 1))
    step = timedelta(seconds=series.interval_seconds)
    start = cut.start[index]
    counted = [d for d in detectors if d.input_kind == "counts"]
    views = [_detector_at(d, cut, index) for d in counted]
    pages = detect_all(counted, cut, policy)
    paging = _paging_at(pages, start, any(v["fired"] for v in views), policy)
    for detector in (d for d in detectors if d.input_kind == "cascade"):
        view = _cascade_at(detector, cascade)
        views.append(view)
        if view["fired"]:
            paging.setdefault("cascade_fired", []).append(detector.name)
    return {
        "bin": {
            "index": index,
            "start": start.isoformat(),
            "end": (start + step).isoformat(),
            "interval": series.interval_seconds,
            "filled": bool(cut.filled[index]),
        },
        "detectors": views,
        "paging": paging,
    }


def _cascade_at(detector: Detector, cascade: CascadeSeries | None) -> dict[str, Any]:
    """A cascade detector at the last bin of ``cascade`` (``None``: no cascades to read)."""
    if cascade is None or not len(cascade.start) or not isinstance(detector, CascadeGrowth):
        return {
            "name": detector.name,
            "type": detector.type_name,
            "fired": False,
            "judged": False,
            "gates": [],
            "note": "it reads the reposts of a brand's indexed posts (--brand); a series of "
            "counts has none",
        }
    index = len(cascade.start) - 1
    fired = bool(detector.fire_cascade(cascade)[0].fired[0, index])
    return _view(detector, fired, [_gate_at(g, index) for g in detector.gates(cascade)])


def _view(detector: Detector, fired: bool, gates: list[dict[str, Any]]) -> dict[str, Any]:
    """One detector's part of the explanation: fired or not, its gates, and what held it."""
    view: dict[str, Any] = {
        "name": detector.name,
        "type": detector.type_name,
        "fired": fired,
        "gates": gates,
    }
    if not fired:
        view["held_by"] = held_by(gates)
    return view


def _detector_at(detector: Detector, series: CountSeries, index: int) -> dict[str, Any]:
    fired = bool(detector.fire_series(series).fired[0, index])
    view = _view(detector, fired, [_gate_at(g, index) for g in detector.gates(series)])
    if series.volume_only and detector.type_name == "negative_share":
        view["note"] = "a plain mention count has no tone: it never fires on one"
    return view


def _gate_at(gate: Gate, index: int) -> dict[str, Any]:
    threshold = gate.threshold
    if not isinstance(threshold, float | int):
        threshold = threshold[index]
    return {
        "name": gate.name,
        "option": gate.option,
        "value": _number(gate.value[index]),
        "threshold": _number(threshold),
        "passed": bool(gate.passed[index]),
        "path": gate.path,
        "unit": gate.unit,
    }


def held_by(gates: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The options of the failed gates that every firing needs (``all``), and, when no path
    of the detector passes, each path's failed ones (``paths``)."""
    # each option once: two gates may share one (negative-share's min_total, over its window
    # and over its reference), which read "held by ...; min_total; min_count; min_total"
    needed = list(dict.fromkeys(g["option"] for g in gates if not g["path"] and not g["passed"]))
    paths: dict[str, list[str]] = {}
    for gate in gates:
        if gate["path"]:
            failed = paths.setdefault(gate["path"], [])
            if not gate["passed"] and gate["option"] not in failed:
                failed.append(gate["option"])
    if any(not failed for failed in paths.values()):
        paths = {}  # a path passes: only the gates every path needs held it
    return {"all": needed, "paths": paths}


def _paging_at(
    pages: list[Detection], start: datetime, fired: bool, policy: PagingPolicy
) -> dict[str, Any]:
    """What the policy sent at the bin starting at ``start`` (``pages``: those it sent up to
    that bin), or why it sent nothing."""
    here = [p for p in pages if p.timestamp == start]
    if here:
        page = here[0]
        escalates = page.details.get("escalates")
        decision = "escalated" if escalates else "paged"
        return {
            "decision": decision,
            "severity": page.severity,
            "reason": str(page.reason),
            "detectors": page.details.get("detectors", [page.detector]),
            "incident_opened": escalates or page.timestamp.isoformat(),
        }
    if not fired:
        return {"decision": "none"}
    opened = [p for p in pages if p.timestamp < start and "escalates" not in p.details]
    if not opened:  # every firing bin is in an episode whose onset paged or joined one
        return {"decision": "held"}
    head = opened[-1]
    out: dict[str, Any] = {
        "decision": "held",
        "incident_opened": head.timestamp.isoformat(),
        "severity": head.severity,
        "quiet": policy.quiet_seconds,
        "escalate": policy.escalate,
    }
    escalated = [p for p in pages if p.details.get("escalates") == head.timestamp.isoformat()]
    if escalated:
        out["escalated_at"] = escalated[0].timestamp.isoformat()
    return out


def _number(value: Any) -> float | None:
    number = float(value)
    return round(number, 4) if math.isfinite(number) else None


def describe(explanation: dict[str, Any], label: str, when: str) -> list[str]:
    """``explanation`` (:func:`explain_at`) as the lines ``spikes backtest --at`` prints;
    ``label`` names the series, ``when`` the bin as the input wrote it."""
    info = explanation["bin"]
    start = datetime.fromisoformat(info["start"])
    end = datetime.fromisoformat(info["end"])
    lines = [
        f"{label}: the bin {start:%Y-%m-%d %H:%M} .. {end:%H:%M} (Asia/Shanghai; {when}), "
        f"judged on the data up to its end"
    ]
    if info["filled"]:
        lines.append("  no row reports this bin: a detector never fires on it")
    for view in explanation["detectors"]:
        lines.append(f"{view['name']}: {_verdict(view)}")
        if view.get("note"):
            lines.append(f"  ({view['note']})")
        if not view["gates"] and view.get("judged", True):
            lines.append(f"  (a {view['type']} detector does not itemise its gates)")
        paths = list(dict.fromkeys(g["path"] for g in view["gates"] if g["path"]))
        for path in [*paths, ""]:
            gates = [g for g in view["gates"] if g["path"] == path]
            indent = "  "
            if paths and gates:  # alternatives: any one path fires, with what every path needs
                indent = "    "
                heading = f"path {path} (one path is enough):" if path else "every path needs:"
                lines.append(f"  {heading}")
            lines.extend(f"{indent}{_gate_text(g)}" for g in gates)
    paging = explanation["paging"]
    lines.append(f"paging: {_paging_text(paging)}")
    if paging.get("cascade_fired"):
        lines.append(
            f"  and {', '.join(paging['cascade_fired'])} fired: the live cycle adds its detection "
            "to the brand's as it is (paging.* rules the count detectors' pages)"
        )
    return lines


def _verdict(view: dict[str, Any]) -> str:
    if not view.get("judged", True):
        return "not judged"
    if view["fired"]:
        return "fired at this bin"
    held = view.get("held_by", {})
    reasons = list(held.get("all", []))
    paths = held.get("paths", {})
    if paths:
        each = "; ".join(f"{path}: {', '.join(failed)}" for path, failed in paths.items())
        reasons.append(f"no path passes ({each})")
    if not reasons:
        return "did not fire"
    return f"did not fire, held by {'; '.join(reasons)}"


def _gate_text(gate: dict[str, Any]) -> str:
    value, threshold = gate["value"], gate["threshold"]
    show = _duration if gate["unit"] == "s" else _figure
    shown = [("n/a" if v is None else show(v)) for v in (value, threshold)]
    verdict = "pass" if gate["passed"] else "fail"
    return f"{gate['name']} {shown[0]} vs {shown[1]} ({gate['option']}) {verdict}"


def _figure(value: float) -> str:
    return f"{value:.0f}" if value == int(value) and abs(value) < 1e15 else f"{value:.3g}"


def _duration(seconds: float) -> str:
    """A history's length: ``3 days`` or ``3.04 days``, ``5 h``, ``40 min``."""
    for unit, name in ((86400, "days"), (3600, "h"), (60, "min")):
        if seconds >= unit:
            return f"{_figure(seconds / unit)} {name}"
    return f"{_figure(seconds)} s"


def _paging_text(paging: dict[str, Any]) -> str:
    decision = paging["decision"]
    if decision == "none":
        if paging.get("cascade_fired"):  # beside the pages: see describe
            return "no count detector fired at this bin: no page"
        return "no detector fired at this bin: nothing to page"
    if decision in ("paged", "escalated"):
        detectors = ", ".join(paging["detectors"])
        if decision == "paged":
            return f"paged {paging['severity']} at this bin ({detectors}): {paging['reason']}"
        opened = _time(paging["incident_opened"])
        return (
            f"escalated to {paging['severity']} at this bin ({detectors}): the incident "
            f"opened at {opened} reached a higher severity (paging.escalate)"
        )
    if "incident_opened" not in paging:
        return "held: no new page"
    text = (
        f"held: inside the incident opened at {_time(paging['incident_opened'])} "
        f"(paged {paging['severity']}), no new page: one page per incident, open until no "
        f"detector fired for {span(paging['quiet'])} (paging.quiet)"
    )
    if "escalated_at" in paging:
        text += f"; it escalated at {_time(paging['escalated_at'])}, once per incident"
    elif paging["escalate"]:
        text += "; no escalation at this bin (paging.escalate: only when severity rises)"
    return text


def _time(iso: str) -> str:
    return f"{datetime.fromisoformat(iso):%Y-%m-%d %H:%M}"
