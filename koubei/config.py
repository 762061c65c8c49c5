"""The one config schema: ``config/brands.yaml``, ``config/sources.yaml``, ``config/alerts.yaml``.

Config is data. Defaults live here and nowhere else; secrets are never in YAML, only the *names*
of environment variables that hold them (``*_env`` fields). Every error names the file, the field
path and why, and all errors of a file are reported at once.

This module is the schema's one entry point. The alerts.yaml part is written in
:mod:`koubei.config_alerts` and the field types every part shares in :mod:`koubei.config_fields`
(kept apart only for size); both are re-exported here, so code imports them from here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from koubei import paths, redact, yamlconfig
from koubei.config_alerts import (
    MAX_DURATION_SECONDS,
    AlertsConfig,
    ChannelConfig,
    DetectorConfig,
    PagingConfig,
    QuietHours,
    RouteConfig,
    Severity,
    check_kibana_url,
    parse_duration,
    positive_duration,
)
from koubei.config_fields import Count, FieldProblems, Strict, Text, Texts, check_env_name
from koubei.cron import check_cron
from koubei.errors import KoubeiError
from koubei.yamlconfig import TYPE_WORDS, ConfigError, expected_text, field_path, known_fields

__all__ = [
    "MAX_DURATION_SECONDS",
    "AlertsConfig",
    "Brand",
    "BrandsConfig",
    "ChannelConfig",
    "ConfigError",
    "Count",
    "DetectorConfig",
    "FieldProblems",
    "PagingConfig",
    "QuietHours",
    "RouteConfig",
    "Severity",
    "Source",
    "SourcesConfig",
    "Text",
    "Texts",
    "UnknownBrandError",
    "check_brand",
    "check_env_name",
    "check_kibana_url",
    "check_tracked_brands",
    "load_alerts",
    "load_brands",
    "load_file",
    "load_sources",
    "parse_duration",
    "platforms",
    "positive_duration",
    "secret",
]

# ConfigError is raised and caught as koubei.config.ConfigError everywhere; it is defined with
# the YAML reader (koubei.yamlconfig), which raises it first.


# --- brands.yaml -------------------------------------------------------------------------------


class Brand(Strict):
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


class BrandsConfig(Strict):
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


class Source(Strict):
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


class SourcesConfig(Strict):
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
        loaded = model.model_validate(data)
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
    if empty:
        # A file of nothing (or of comments alone) where every field has a default, as
        # alerts.yaml's: it was taken as all defaults, no channel, and no alert reached anyone
        # with no word said. It is refused as an empty brands.yaml is (its `brands` is missing).
        shipped = paths.package_dir("conf") / path.name
        raise ConfigError(
            f"{path}: the file is empty: it would configure nothing; write its settings "
            f"(the shipped {shipped} has each one)"
        )
    return loaded


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
        # Absolute even under a relative config directory (`--config-dir conf`): the path goes
        # to Dask workers, which may run in another working directory.
        source.sentiment_model = model if model.is_absolute() else path.parent.absolute() / model
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
