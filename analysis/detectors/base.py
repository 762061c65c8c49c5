"""Detector base class, the detection record and the registry keyed by ``type`` in alerts.yaml.

Options are validated by each detector class, ElastAlert-style: a class declares
``required_options`` and its ``defaults`` (the one place a default lives), from which one
pydantic model per class (``Options``) is built and does the validating; every missing,
unknown or mistyped option of a detector is reported at once as a
:class:`koubei.config.ConfigError` naming ``config/alerts.yaml`` and
``detectors[i].options.<name>``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from koubei.analysis.detectors.causal import episodes
from koubei.analysis.detectors.gaps import outage_bins
from koubei.analysis.detectors.reasons import Reason, reason_dict
from koubei.analysis.detectors.series_types import CountSeries
from koubei.config import AlertsConfig, ConfigError, parse_duration
from koubei.timeutil import DEFAULT_TZ

Severity = Literal["info", "warning", "critical"]
ALERTS_FILE = "config/alerts.yaml"


@dataclass
class Detection:
    """One alert-worthy episode, reported at its onset bin.

    ``timestamp`` is the start of the bin whose count made the detector fire (the decision uses
    that bin and earlier ones only; it can be made once the bin closes). ``observed`` and
    ``expected`` are the counts of the monitored quantity in that bin (or window, see
    ``details``); ``score`` is the crisis score 0-100 from :func:`crisis_severity`; ``reason``
    is a code and its figures (:mod:`koubei.analysis.detectors.reasons`), read as Chinese
    through ``str(reason)``.
    """

    timestamp: datetime
    severity: Severity
    score: float
    observed: float
    expected: float
    detector: str
    series: str
    reason: Reason
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ISO timestamp, plain floats."""
        out = asdict(self)
        out["timestamp"] = self.timestamp.isoformat()
        for key in ("score", "observed", "expected"):
            out[key] = round(float(out[key]), 3)
        out["details"] = {k: _plain(v) for k, v in self.details.items()}
        out["reason"] = reason_dict(self.reason)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float):
        return round(value, 4)
    return value


@dataclass
class Firing:
    """Per-bin output of a detector over a matrix of series (all arrays series × bins)."""

    fired: np.ndarray  # bool
    observed: np.ndarray
    expected: np.ndarray
    zscore: np.ndarray
    share_delta: np.ndarray | None = None  # rise of negative share vs its baseline, if known


@dataclass
class Gate:
    """One condition of a detector's decision, per bin (:meth:`Detector.gates`), as
    ``koubei spikes backtest --at`` shows it: ``name`` (what is compared) ``value`` vs
    ``threshold`` (set by the ``option`` of alerts.yaml), ``passed`` per bin.

    A bin fires when every gate of ``path`` ``""`` passes and every gate of at least one other
    path does (a detector with no other path: the ``""`` gates alone). ``unit`` is ``"s"`` for
    a duration in seconds, else ``""``. Arrays are 1-D, one value per bin.
    """

    name: str
    option: str
    value: np.ndarray
    threshold: np.ndarray | float
    passed: np.ndarray
    path: str = ""
    unit: str = ""


class Detector:
    """Base class: subclasses set ``type_name``, ``defaults`` and implement :meth:`fire`.

    ``duration_options`` are given as durations (``'2h'``) and converted to seconds;
    :meth:`bins` turns them into a count of bins for a series' interval.
    """

    type_name: ClassVar[str] = ""
    required_options: ClassVar[frozenset[str]] = frozenset()
    defaults: ClassVar[dict[str, Any]] = {}
    duration_options: ClassVar[frozenset[str]] = frozenset()
    #: Options that take one of a few fixed values, e.g. ``{"field": ("total", "negative")}``.
    choice_options: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: ``"counts"`` detectors take a CountSeries; others (cascade) take their own series type.
    input_kind: ClassVar[str] = "counts"
    #: The duration option whose span a detection's figures count, ending with its bin: its
    #: details then carry ``count_start``/``count_end`` and its reason names them as clock
    #: times. "近 1 小时" was read as the hour before the message went out, which held
    #: another count (session 38's demo); ``None``: figures of one bin.
    counted_window: ClassVar[str | None] = None

    def __init__(
        self,
        name: str | None = None,
        options: Mapping[str, Any] | None = None,
        *,
        where: str = "",
        config_file: Path | str = ALERTS_FILE,
    ) -> None:
        self.name = name or self.type_name
        self.options = self.validate_options(
            options or {}, where=where or "options", config_file=config_file
        )

    # --- options ------------------------------------------------------------------------------

    #: the options as one pydantic model, built from the declarations above for each class
    Options: ClassVar[type[BaseModel]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.Options = cls._options_model()

    @classmethod
    def _options_model(cls) -> type[BaseModel]:
        """One pydantic model per detector class: every option a field, coerced by its kind.

        The same kind of model validates channel options
        (:class:`koubei.analysis.alerts.channels.ChannelOptions`), so both report problems alike.
        """
        fields: dict[str, Any] = {}
        for name in sorted(set(cls.defaults) | set(cls.required_options)):
            check = BeforeValidator(functools.partial(cls._checked, name))
            if name in cls.required_options and name not in cls.defaults:
                fields[name] = (Annotated[Any, check], ...)
            else:
                default = cls._coerce(name, cls.defaults[name])
                fields[name] = (Annotated[Any, check], Field(default=default))
        model_name = f"{cls.__name__}Options"
        return create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)

    @classmethod
    def validate_options(
        cls, options: Mapping[str, Any], *, where: str, config_file: Path | str = ALERTS_FILE
    ) -> dict[str, Any]:
        """Validate ``options`` with the class's model; report every problem in one ConfigError
        naming ``config_file``."""
        model = getattr(cls, "Options", None) or cls._options_model()
        try:
            return dict(model.model_validate(dict(options)).model_dump())
        except ValidationError as exc:
            errors = []
            known = ", ".join(sorted(model.model_fields))
            for error in exc.errors():
                name = ".".join(str(part) for part in error["loc"])
                message = str(error["msg"]).removeprefix("Value error, ")
                if error["type"] == "missing":
                    message = "required option is missing"
                elif error["type"] == "extra_forbidden":
                    message = f"unknown option for detector type {cls.type_name!r} (known: {known})"
                elif "ctx" in error and isinstance(error["ctx"].get("error"), Exception):
                    message = str(error["ctx"]["error"])
                errors.append(f"{config_file}: {where}.{name}: {message}")
            raise ConfigError("\n".join(sorted(errors, key=_unknown_first))) from exc

    @classmethod
    def _checked(cls, name: str, value: Any) -> Any:
        try:
            return cls._coerce(name, value)
        except TypeError as exc:  # pydantic reports ValueErrors; a wrong type is one too
            raise ValueError(str(exc)) from exc

    @classmethod
    def _coerce(cls, name: str, value: Any) -> Any:
        choices = cls.choice_options.get(name)
        if choices is not None:
            if value not in choices:
                raise ValueError(f"expected one of {', '.join(map(repr, choices))}, got {value!r}")
            return value
        if name in cls.duration_options:
            try:
                ok = isinstance(value, str | int) and not isinstance(value, bool)
                seconds = parse_duration(value) if ok else 0
            except ValueError:
                seconds = 0
            if seconds <= 0:
                raise ValueError(f"expected a positive duration like '30m', got {value!r}")
            return seconds
        default = cls.defaults.get(name)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise TypeError(f"expected true or false, got {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"expected an integer, got {value!r}")
            if value < 0:
                raise ValueError(f"must not be negative, got {value}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"expected a number, got {value!r}")
            if not math.isfinite(value):  # YAML .nan compares false: the detector never fires
                raise ValueError(f"expected a finite number, got {value}")
            if value < 0:
                raise ValueError(f"must not be negative, got {value}")
            value = float(value)
        return value

    def bins(self, option: str, interval_seconds: int) -> int:
        """A duration option as a number of bins (at least 1)."""
        return max(1, round(self.options[option] / interval_seconds))

    # --- detection ----------------------------------------------------------------------------

    def fire(
        self,
        total: np.ndarray,
        negative: np.ndarray,
        interval_seconds: int,
        start: datetime | None = None,
        outage: np.ndarray | None = None,
    ) -> Firing:
        """Per-bin decisions over matrices (series × bins) of counts. Must be causal.

        ``start`` is the start of the first bin (all rows share it); detectors that know the
        calendar (weekends) use it. ``outage`` (bool, series × bins; ``None``: there is none)
        marks the bins of an outage of the data (:func:`.gaps.outage_bins`), whose counts are
        carried from the bin before: the seasonal baseline does not learn from them
        (:func:`~koubei.analysis.detectors.baseline.seasonal_baseline`); the other detectors
        read them as before (they never fire on them either way, :meth:`fire_series`).
        """
        raise NotImplementedError

    def fire_series(self, series: CountSeries) -> Firing:
        """:meth:`fire` for one series, with filled (missing) bins never firing, and its
        outages (:attr:`CountSeries.outage_runs`: runs of unseen bins longer than the series
        usually has) passed as ``outage``."""
        total, negative = _rows(series)
        if not len(series):  # no bin (a span shorter than one): nothing fires, nothing to fit
            return Firing(np.zeros(total.shape, dtype=bool), total, total, total)
        filled = np.asarray(series.filled, dtype=bool)
        firing = self.fire(total, negative, *_fire_context(series))
        if filled.any():
            firing.fired &= ~filled[None, :]
        return firing

    def gates(self, series: CountSeries) -> list[Gate]:
        """The conditions :meth:`fire` checks over ``series``, each with its figure per bin
        (:class:`Gate`), for ``koubei spikes backtest --at``: the figures :meth:`fire` decides
        on, from the same computation, so a bin fires (before the bins no row reported are
        masked, :meth:`fire_series`) exactly when its gates say so. Causal as :meth:`fire`
        is. A detector that does not itemise its gates returns none (the default)."""
        return []

    def cooldown_bins(self, interval_seconds: int) -> int:
        return self.bins("cooldown", interval_seconds) if "cooldown" in self.options else 0

    def detect(self, series: Any) -> list[Detection]:
        """One :class:`Detection` per episode, at the episode's onset bin."""
        return [d for d, _onset, _last in self.detect_episodes(series, self.fire_series(series))]

    def detect_episodes(self, series: Any, firing: Firing) -> list[tuple[Detection, int, int]]:
        """The detection of each episode of ``firing``, with the episode's first and last
        firing bins."""
        out = []
        for onset, last in episodes(firing.fired[0], self.cooldown_bins(series.interval_seconds)):
            details = self.details_at(series, firing, onset, last)
            out.append((self.emit(series, onset, firing, details, self.reason), onset, last))
        return out

    def details_at(self, series: Any, firing: Firing, t: int, last: int) -> dict[str, Any]:
        """What a detection at bin ``t`` of an episode ending at bin ``last`` says it saw."""
        details: dict[str, Any] = {
            "zscore": float(firing.zscore[0, t]),
            "episode_bins": last - t + 1,
            # what was counted: a plain volume series is not negative mentions
            "counts": "mentions" if series.volume_only else "negative mentions",
            "interval": series.interval_seconds,
        }
        if firing.share_delta is not None and np.isfinite(firing.share_delta[0, t]):
            details["share_delta"] = float(firing.share_delta[0, t])
        if not series.volume_only:
            tot = float(series.total[t])
            details["negative_share"] = float(series.negative[t]) / tot if tot else 0.0
        return details | self.counted_span(series, t)

    def counted_span(self, series: Any, t: int) -> dict[str, str]:
        """``count_start``/``count_end``: the :attr:`counted_window` ending with bin ``t``
        (at least the bin), as ISO times in China's zone; ``{}`` for a detector without one."""
        if not self.counted_window:
            return {}
        interval = series.interval_seconds
        end = (series.start[t] + timedelta(seconds=interval)).astimezone(DEFAULT_TZ)
        counted = timedelta(seconds=max(self.options[self.counted_window], interval))
        return {"count_start": (end - counted).isoformat(), "count_end": end.isoformat()}

    @staticmethod
    def counted_params(details: Mapping[str, Any]) -> dict[str, Any]:
        """The span :attr:`counted_window` put in ``details``, for the reason's parameters."""
        return {k: details[k] for k in ("count_start", "count_end") if details.get(k)}

    def emit(
        self,
        series: Any,
        onset: int,
        firing: Firing,
        details: dict[str, Any],
        reason: Callable[[float, float, dict[str, Any]], Reason],
        context: Mapping[str, Any] | None = None,
    ) -> Detection:
        """The detection of the episode starting at bin ``onset``, scored for severity."""
        from koubei.analysis.detectors.severity import crisis_severity

        observed = float(firing.observed[0, onset])
        expected = float(firing.expected[0, onset])
        detection = Detection(
            timestamp=series.start[onset],
            severity="info",
            score=0.0,
            observed=observed,
            expected=expected,
            detector=self.name,
            series=series.key,
            reason=reason(observed, expected, details),
            details=details,
        )
        return crisis_severity(detection, context)

    def reason(self, observed: float, expected: float, details: dict[str, Any]) -> Reason:
        return Reason(
            "above_expected", {"detector": self.name, "observed": observed, "expected": expected}
        )


def _rows(series: CountSeries) -> tuple[np.ndarray, np.ndarray]:
    """``series``' total and negative counts as 1 × bins float matrices."""
    total = np.asarray(series.total, dtype=float)[None, :]
    return total, np.asarray(series.negative, dtype=float)[None, :]


def _fire_context(series: CountSeries) -> tuple[int, datetime, np.ndarray | None]:
    """The interval, first bin and outage bins :meth:`Detector.fire` takes for ``series``."""
    outage = outage_bins(series.outage_runs, len(series))
    return series.interval_seconds, series.start[0], outage[None, :] if outage.any() else None


def fire_arguments(series: CountSeries) -> tuple[Any, ...]:
    """The arguments :meth:`Detector.fire_series` passes to :meth:`Detector.fire`, for a
    detector's :meth:`Detector.gates` to compute the same figures."""
    return (*_rows(series), *_fire_context(series))


def warmup_gate(detector: Detector, bins: int, interval_seconds: int, extra: int = 0) -> Gate:
    """The ``warmup`` gate of a detector over ``bins`` bins: bin ``t`` may fire from
    ``t >= warmup + extra`` bins on (``extra``: the bins its window needs besides), so the
    history up to and including ``t`` must be at least that plus one bin long."""
    need = detector.bins("warmup", interval_seconds) + extra
    history = (np.arange(bins) + 1.0) * interval_seconds
    return Gate(
        "history up to this bin",
        "warmup",
        history,
        float((need + 1) * interval_seconds),
        np.arange(bins) >= need,
        unit="s",
    )


def span(seconds: float) -> str:
    """A duration as people say it: ``30 s``, ``5 min``, ``1 h``, ``3 days``."""
    seconds = int(seconds)
    for unit, name in ((86400, "day"), (3600, "h"), (60, "min")):
        if seconds >= unit and seconds % unit == 0:
            count = seconds // unit
            return f"{count} {name}{'s' if name == 'day' and count != 1 else ''}"
    return f"{seconds} s"


REGISTRY: dict[str, type[Detector]] = {}
DetectorT = TypeVar("DetectorT", bound=type[Detector])


def register(type_name: str) -> Callable[[DetectorT], DetectorT]:
    """Class decorator: make a detector available as ``type: <type_name>`` in alerts.yaml."""

    def wrap(cls: DetectorT) -> DetectorT:
        cls.type_name = type_name
        REGISTRY[type_name] = cls
        return cls

    return wrap


def build_detectors(config: AlertsConfig, config_file: Path | str = ALERTS_FILE) -> list[Detector]:
    """The enabled detectors of ``config``; all option errors of all detectors reported at once,
    naming ``config_file`` (the file ``config`` was read from)."""
    errors: list[str] = []
    out: list[Detector] = []
    for i, entry in enumerate(config.detectors):
        where = f"detectors[{i}]"
        cls = REGISTRY.get(entry.type)
        if cls is None:
            errors.append(
                f"{config_file}: {where}.type: unknown detector type {entry.type!r} "
                f"(known: {', '.join(sorted(REGISTRY))})"
            )
            continue
        try:
            detector = cls(
                entry.name, entry.options, where=f"{where}.options", config_file=config_file
            )
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        if entry.enabled:
            out.append(detector)
    if errors:
        raise ConfigError("\n".join(errors))
    return out


def configured_detectors(
    config: AlertsConfig, config_file: Path | str = ALERTS_FILE
) -> list[Detector]:
    """The detectors a configuration runs: its ``detectors`` list when the file has one (if
    every entry is disabled, none), else the built-in defaults.

    The one answer for the live cycle, ``koubei spikes backtest`` and ``spikes detect
    --config``: an ``alerts.yaml`` without a ``detectors`` section ran no detector at all in
    the live cycle while the backtest replayed the defaults.
    """
    if "detectors" not in config.model_fields_set:
        from koubei.analysis.detectors.defaults import default_detectors

        return default_detectors()
    return build_detectors(config, config_file)


def _unknown_first(line: str) -> int:
    """Unknown names first (most often a typo), then the rest in the model's order."""
    return 0 if "unknown option" in line else 1
