"""The one config schema: ``config/brands.yaml``, ``config/sources.yaml``, ``config/alerts.yaml``.

Config is data. Defaults live here and nowhere else; secrets are never in YAML, only the *names*
of environment variables that hold them (``*_env`` fields). Every error names the file, the field
path and why, and all errors of a file are reported at once.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from koubei import paths, redact, yamlconfig
from koubei.cron import check_cron
from koubei.errors import KoubeiError
from koubei.yamlconfig import TYPE_WORDS, ConfigError, expected_text, field_path, known_fields

# ConfigError is raised and caught as koubei.config.ConfigError everywhere; it is defined with
# the YAML reader (koubei.yamlconfig), which raises it first.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldProblems(ValueError):
    """Problems a whole-file check finds, each at its own field path (``brands[2].name``)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where}: {why}" for where, why in problems))
        self.problems = problems


def _number_as_text(value: Any) -> Any:
    # A brand called 361, a product id 100012043978: YAML reads them as numbers. Only plain
    # decimals are numbers in the config loader (koubei.yamlconfig), so the text is as written.
    if isinstance(value, list):
        return [_number_as_text(v) for v in value]
    return str(value) if type(value) is int else value


#: text, or a whole number written without quotes (names, ids, keywords)
Text = Annotated[str, BeforeValidator(_number_as_text)]
Texts = Annotated[list[str], BeforeValidator(_number_as_text)]


def _not_a_boolean(value: Any) -> Any:
    # pydantic reads true as 1: `max_pages: true` crawled one page, without a word.
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {str(value).lower()}")
    return value


#: a whole number, never a YAML boolean
Count = Annotated[int, BeforeValidator(_not_a_boolean)]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_env_name(value: str) -> str:
    """``value`` if it can name an environment variable, else a ValueError that does not echo it
    (what is written in a ``*_env`` field by mistake is most often the secret itself)."""
    if not _ENV_NAME.match(value):
        raise ValueError(
            "must be the name of an environment variable (letters, digits and _, like "
            "KOUBEI_WEBHOOK_URL) that holds the secret, not the secret itself; the value "
            f"written ({len(value)} characters) is not shown here"
        )
    return value


# --- brands.yaml -------------------------------------------------------------------------------


class Brand(_Strict):
    name: Text = Field(min_length=1)
    aliases: Texts = Field(default_factory=list, description="other names that mean the brand")
    competitors: Texts = Field(default_factory=list, description="names of other brands here")
    exclude: Texts = Field(
        default_factory=list, description="words that mark a hit as off-topic (e.g. a place name)"
    )

    @field_validator("name", "aliases", "competitors", "exclude")
    @classmethod
    def _no_blank_terms(cls, value: str | list[str]) -> str | list[str]:
        # An empty or blank term is a substring of every text: the brand would match (or be
        # excluded from) everything.
        terms = [value] if isinstance(value, str) else value
        for index, term in enumerate(terms):
            if not term.strip():
                where = "" if isinstance(value, str) else f"entry {index} "
                raise ValueError(f"{where}is empty or blank ({term!r}): it would match every text")
        # Terms are matched as substrings: ' 鲜牧 ' (quoted with spaces) would never match
        # '鲜牧酸奶'; the spaces are dropped.
        return value.strip() if isinstance(value, str) else [t.strip() for t in value]

    @property
    def terms(self) -> list[str]:
        """Every term that names the brand, the canonical name first."""
        return [self.name, *[a for a in self.aliases if a != self.name]]


class BrandsConfig(_Strict):
    brands: list[Brand] = Field(min_length=1)

    @model_validator(mode="after")
    def _competitors_are_brands(self) -> BrandsConfig:
        names = [b.name for b in self.brands]
        problems: list[tuple[str, str]] = []
        # Every name and alias of a brand counts a text for that brand: a term two brands share
        # (a brand written twice, another brand's name as an alias) would count every text
        # naming one for both.
        owner: dict[str, str] = {}
        for i, brand in enumerate(self.brands):
            for field, terms in (("name", [brand.name]), ("aliases", brand.aliases)):
                for j, term in enumerate(terms):
                    where = f"brands[{i}].{field}" + ("" if field == "name" else f"[{j}]")
                    first = owner.setdefault(term, where)
                    if first != where and not first.startswith(f"brands[{i}]."):
                        problems.append(
                            (
                                where,
                                f"{term!r} is also {first}: a brand is listed once, and a "
                                "name or alias belongs to one brand",
                            )
                        )
        for i, brand in enumerate(self.brands):
            unknown = [c for c in brand.competitors if c not in names]
            if unknown:
                problems.append(
                    (
                        f"brands[{i}].competitors",
                        f"brand {brand.name!r} lists competitors {unknown} that are not brands "
                        "here",
                    )
                )
            if brand.name in brand.competitors:
                problems.append(
                    (f"brands[{i}].competitors", f"brand {brand.name!r} is not its own competitor")
                )
        if problems:
            raise FieldProblems(problems)
        return self

    def monitored_names(self) -> list[str]:
        """Each brand's name, aliases and competitors, once each, in file order: adaptation
        keeps their features' weights (a brand's crisis must not make its name negative)."""
        names = (n for b in self.brands for n in (*b.terms, *b.competitors))
        return list(dict.fromkeys(names))

    def get(self, name: str) -> Brand:
        for brand in self.brands:
            if brand.name == name:
                return brand
        raise KeyError(name)


# --- sources.yaml ------------------------------------------------------------------------------


class Source(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    platform: str = Field(description="spider name under crawlers/spiders/")
    enabled: bool = True
    base_url: str | None = Field(default=None, description="API or site root; platform default")
    brands: Texts | None = Field(default=None, description="brands to track; default all")
    keywords: Texts = Field(default_factory=list, description="extra search keywords")
    product_ids: Texts = Field(default_factory=list)
    post_ids: Texts = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list, description="RSS/Atom feed or sitemap URLs")
    urls: list[str] = Field(default_factory=list, description="start URLs for page spiders")
    max_pages: Count = Field(default=50, ge=1, le=10_000)
    schedule: str = Field(
        default="*/5 * * * *", description="cron (5 fields, Asia/Shanghai) of its crawl deployment"
    )
    cookie_env: str | None = Field(default=None, description="env var holding a login cookie")
    user_agent: str | None = None
    proxy_env: str | None = Field(default=None, description="env var holding a proxy URL")
    obey_robots: bool = True
    concurrency_per_domain: Count = Field(default=2, ge=1, le=64)
    sentiment_model: Path | None = Field(
        default=None,
        description="model file that scores this source's texts (relative to the config "
        "directory); default: the shipped model",
    )

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("cookie_env", "proxy_env")
    @classmethod
    def _secret_variable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # A cookie written here instead of its variable's name crawled without a cookie, unsaid.
        check_env_name(value)
        # A cookie or a proxy URL with credentials stays out of every log line, whatever the
        # variable is called.
        redact.register_secret_names([value])
        return value

    @field_validator("base_url", "feeds", "urls")
    @classmethod
    def _http_urls(cls, value: str | list[str] | None) -> str | list[str] | None:
        # Without a scheme Scrapy refuses the request inside the crawl ("Missing scheme"), and
        # the source crawled nothing with no word of why in its health.
        for index, url in enumerate([value] if isinstance(value, str) else value or []):
            if not re.match(r"^https?://[^/\s]+", url.strip()):
                where = "" if isinstance(value, str) else f"entry {index} "
                raise ValueError(f"{where}{url!r} is not an http(s) URL like https://m.weibo.cn")
        return value

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        known = platforms()
        if value not in known:
            raise ValueError(f"unknown platform {value!r}; known: {', '.join(known)}")
        return value


def platforms() -> list[str]:
    """Platform names = spider modules under ``crawlers/spiders/`` (read without importing
    Scrapy, so validating config stays cheap); a test keeps them equal to the spiders' names."""
    folder = paths.package_dir("crawlers") / "spiders"
    return sorted(
        p.stem for p in folder.glob("*.py") if p.stem != "base" and not p.stem.startswith("_")
    )


class SourcesConfig(_Strict):
    sources: list[Source] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesConfig:
        names = [s.name for s in self.sources]
        problems = [
            (f"sources[{i}].name", f"{name!r} is already the name of sources[{names.index(name)}]")
            for i, name in enumerate(names)
            if names.index(name) != i
        ]
        if problems:
            raise FieldProblems(problems)
        return self

    def names(self) -> list[str]:
        return [s.name for s in self.sources]

    def sentiment_models(self) -> dict[str, Path]:
        """``{source name: model file}`` of the sources that name their own sentiment model."""
        return {s.name: s.sentiment_model for s in self.sources if s.sentiment_model}

    def get(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


# --- alerts.yaml -------------------------------------------------------------------------------

Severity = Literal["info", "warning", "critical"]
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# Longer durations are typos; they overflow ``timedelta`` and dates where they are used.
MAX_DURATION_SECONDS = 36500 * 86400


def check_kibana_url(value: str) -> str:
    """``value`` stripped if it is an http(s) URL of a host (and port), else ValueError."""
    if not re.match(r"^https?://[^/\s:\[\]]+(:\d{1,5})?(/\S*)?$", value.strip()):
        raise ValueError(f"{value!r} is not an http(s) URL like http://localhost:5601")
    return value.strip()


def parse_duration(text: str | int) -> int:
    """Seconds in ``'5m'``, ``'1h'``, ``'30s'``, ``'7d'`` or a bare integer of seconds."""
    if isinstance(text, int):
        seconds = text
    else:
        match = _DURATION.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a duration like '5m', '1h', '30s' or '7d'")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"{text!r} is too long a duration (at most 100 years, '36500d')")
    return seconds


class DetectorConfig(_Strict):
    name: str
    type: str = Field(description="detector class name in the registry (analysis.detectors)")
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)


class PagingConfig(_Strict):
    """The paging policy (analysis/detectors/paging.py): one page per incident."""

    quiet: str = "6h"
    escalate: bool = True
    settling: str = "0s"

    @field_validator("quiet", "settling")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class ChannelConfig(_Strict):
    name: str
    type: str = Field(description="channel class name in the registry (analysis.alerts.channels)")
    enabled: bool = True
    min_severity: Severity = "warning"
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _no_inline_secrets(cls, options: dict[str, Any]) -> dict[str, Any]:
        for key in options:
            if key in {"url", "secret", "token", "webhook", "password", "api_key"}:
                raise ValueError(
                    f"{key!r} must not be written in YAML; set '{key}_env' to the name of an "
                    "environment variable that holds it"
                )
        bad = [k for k, v in options.items() if k.endswith("_env") and isinstance(v, str)]
        for key in bad:
            try:
                check_env_name(options[key])
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        # Whatever the variables are called, their values stay out of every log line.
        redact.register_secret_names(
            str(v) for k, v in options.items() if k.endswith("_env") and isinstance(v, str)
        )
        return options


class RouteConfig(_Strict):
    """Alertmanager-style route: the first route whose matchers all hold picks the channels."""

    match: dict[Literal["brand", "group", "severity"], Text | Texts] = Field(
        default_factory=dict, description="label → value or list of values; empty matches all"
    )
    channels: list[str] = Field(min_length=1, description="channel names from `channels`")
    mentions: Texts = Field(default_factory=list, description="extra on-call ids to @")
    repeat_interval: str | None = Field(
        default=None, description="repeat a still-active incident this often (default: `renotify`)"
    )
    digest: bool = Field(
        default=False,
        description="gather into one message a day (at `digest_at`) instead of paging",
    )
    continue_: bool = Field(default=False, alias="continue", description="also try the next routes")

    @field_validator("match")
    @classmethod
    def _known_severity(cls, match: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        # A misspelt severity (critcal) matched no incident, ever, and said nothing.
        wanted = match.get("severity", [])
        known = get_args(Severity)
        for value in [wanted] if isinstance(wanted, str) else wanted:
            if value not in known:
                raise ValueError(f"severity {value!r} is not one of {', '.join(known)}")
        return match

    @field_validator("repeat_interval")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    def matches(self, labels: dict[str, Any]) -> bool:
        for name, wanted in self.match.items():
            values = [wanted] if isinstance(wanted, str) else wanted
            if str(labels.get(name)) not in values:
                return False
        return True


class QuietHours(_Strict):
    """Hours (Asia/Shanghai) in which notices below ``hold_below`` wait until the end."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM")
    hold_below: Severity = "critical"


class AlertsConfig(_Strict):
    interval: str = "5m"
    renotify: str = "4h"
    kibana_url: str = "http://localhost:5601"
    # Where the incident pages and daily briefs are published (koubei report serve by default);
    # alerts link to <reports_url>/incidents/<id>.html.
    reports_url: str = "http://127.0.0.1:8780"
    paging: PagingConfig = Field(default_factory=PagingConfig)
    detectors: list[DetectorConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    quiet_hours: QuietHours | None = None
    digest_at: str = Field(
        default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM"
    )

    @model_validator(mode="after")
    def _routes_name_channels(self) -> AlertsConfig:
        names = {c.name for c in self.channels}
        problems = []
        # Routes, the outbox and the incident history know a channel, and an incident its
        # detector, by name: two of one name were one, silently.
        for kind, entries in (("channels", self.channels), ("detectors", self.detectors)):
            seen = [entry.name for entry in entries]
            problems += [
                (f"{kind}[{i}].name", f"{name!r} is already the name of {kind}[{seen.index(name)}]")
                for i, name in enumerate(seen)
                if seen.index(name) != i
            ]
        for i, route in enumerate(self.routes):
            unknown = [n for n in route.channels if n not in names]
            if unknown:
                problems.append(
                    (
                        f"routes[{i}].channels",
                        f"{', '.join(unknown)} not in channels (known: {', '.join(sorted(names))})",
                    )
                )
        if problems:
            raise FieldProblems(problems)
        return self

    @field_validator("interval", "renotify")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("interval")
    @classmethod
    def _positive_interval(cls, value: str) -> str:
        # The bin of every count series and the process deployment's period: zero is neither.
        if parse_duration(value) == 0:
            raise ValueError(f"{value!r} is no interval; use a positive duration like '5m'")
        return value

    @field_validator("kibana_url")
    @classmethod
    def _kibana_url(cls, value: str) -> str:
        # Every alert links here: a bad value must fail at start-up, not in a phone's browser.
        return check_kibana_url(value)

    @property
    def interval_seconds(self) -> int:
        return parse_duration(self.interval)

    @property
    def renotify_seconds(self) -> int:
        return parse_duration(self.renotify)


# --- loading -----------------------------------------------------------------------------------

ModelT = TypeVar("ModelT", bound=BaseModel)


def load_file(path: Path, model: type[ModelT]) -> ModelT:
    """Parse and validate one YAML file; errors name the file, each field path and why."""
    data = yamlconfig.read_file(path)
    empty = data is None
    if empty:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = error["msg"]
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, FieldProblems):  # a whole-file check: each at its own path
                lines += [f"{path}: {where}: {why}" for where, why in cause.problems]
                continue
            if error["type"] == "missing":
                message = "missing: " + ("the file is empty" if empty else "required here")
            elif error["type"] == "extra_forbidden":
                known = known_fields(model, tuple(error["loc"]))
                message = "unknown field" + (f"; known here: {', '.join(known)}" if known else "")
            elif error["type"] == "value_error" and "error" in error.get("ctx", {}):
                message = str(error["ctx"]["error"])  # our validators' own sentence
            elif error["type"] == "string_type" and error["loc"][-1] not in _DURATIONS:
                message = expected_text(error.get("input"), unit=False)
            elif error["type"] in TYPE_WORDS:
                message = TYPE_WORDS[error["type"]](error.get("input"))
            lines.append(f"{path}: {field_path(tuple(error['loc']))}: {message}")
        raise ConfigError("\n".join(lines)) from exc


#: the fields holding a duration ('6h'): a bare number there lacks its unit
_DURATIONS = {"quiet", "settling", "interval", "renotify", "repeat_interval"}


def load_brands(config_dir: Path | None = None) -> BrandsConfig:
    return load_file((config_dir or paths.CONFIG_DIR) / "brands.yaml", BrandsConfig)


def load_sources(config_dir: Path | None = None) -> SourcesConfig:
    """sources.yaml, each ``sentiment_model`` made absolute (relative to the config directory)
    and checked to be a file: a typo there is named now, not when the pipeline first scores."""
    path = (config_dir or paths.CONFIG_DIR) / "sources.yaml"
    loaded = load_file(path, SourcesConfig)
    problems = []
    for i, source in enumerate(loaded.sources):
        if source.sentiment_model is None:
            continue
        model = source.sentiment_model.expanduser()
        source.sentiment_model = model if model.is_absolute() else path.parent / model
        if not source.sentiment_model.is_file():
            problems.append(
                f"{path}: sources[{i}].sentiment_model: no such file {source.sentiment_model} "
                "(write one with `koubei sentiment adapt TEXTS --out FILE`)"
            )
    if problems:
        raise ConfigError("\n".join(problems))
    return loaded


def load_alerts(config_dir: Path | None = None) -> AlertsConfig:
    return load_file((config_dir or paths.CONFIG_DIR) / "alerts.yaml", AlertsConfig)


class UnknownBrandError(KoubeiError):
    """A brand named on the command line that brands.yaml does not have (likely a typo)."""


def check_brand(
    name: str, config_dir: Path | None = None, *, option: str = "--brand", also: str = ""
) -> None:
    """``name`` is a brand of ``brands.yaml``, else :class:`UnknownBrandError` (exit 2) naming
    the option, the brand, the file and the brands it has. ``also``: words after the file
    (what else the caller would have accepted). A brands.yaml that cannot be read raises its
    ConfigError.

    The one check of a brand given by hand (``search``, ``spikes backtest``, ``alerts
    silence``): a typo used to read as "no posts", "no pages" or a silence matching nothing.
    """
    path = (config_dir or paths.CONFIG_DIR) / "brands.yaml"
    names = [b.name for b in load_brands(config_dir).brands]
    if name not in names:
        raise UnknownBrandError(
            f"{option} {name!r} is not a brand in {path}{also} (brands: {', '.join(names)})"
        )


def check_tracked_brands(sources: SourcesConfig, brands: BrandsConfig, sources_file: Path) -> None:
    """Every brand a source's ``brands`` names is in brands.yaml (the two files agree).

    A name missing there killed that source's crawler at start with a traceback about Scrapy's
    stats in its crawl log, and the crawl was only "degraded".
    """
    names = [b.name for b in brands.brands]
    problems = [
        f"{sources_file}: sources[{i}].brands[{j}]: {name!r} is not a brand in brands.yaml "
        f"(brands: {', '.join(names)})"
        for i, source in enumerate(sources.sources)
        for j, name in enumerate(source.brands or [])
        if name not in names
    ]
    if problems:
        raise ConfigError("\n".join(problems))


def secret(env_name: str, *, file: Path | str, field: str) -> str:
    """Read a secret from the environment; a missing one names the variable, file and field."""
    value = os.environ.get(env_name)
    if value is None:
        raise ConfigError(f"{file}: {field}: environment variable {env_name} is not set")
    if not value.strip():
        # `export KOUBEI_WEBHOOK_URL=` in a unit file, or a quoted blank: it IS set, so "not
        # set" sent people looking for the wrong mistake.
        raise ConfigError(f"{file}: {field}: environment variable {env_name} is set but empty")
    return value
