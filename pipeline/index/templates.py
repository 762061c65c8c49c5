"""Composable index templates from ``config/es/*.json``, applied idempotently at startup.

Each template file carries a mapping version (``version`` and ``_meta.version``). On startup
:func:`ensure_templates` installs a template that is missing or older than its file, runs the
analyzer preflight, and creates the current month's posts index so the read alias
``<prefix>-posts`` always resolves. Indices created under an older template keep their old
mapping until ``koubei index reindex`` (:mod:`koubei.pipeline.index.migrate`) copies them over.

Posts live in monthly indices ``<prefix>-posts-YYYY.MM`` (by ``created_at`` when first stored;
a re-crawl whose ``created_at`` moved to another month updates the document where it is, see
:mod:`koubei.pipeline.index.writer`); after a migration that name is an alias to the concrete
``<prefix>-posts-YYYY.MM-v<N>`` index, so writers never need to know the version.

:func:`template_status` says what is behind: templates older than their files, indices on an
older mapping, and ``<prefix>-cascades`` documents under an earlier release's id
(:func:`bare_cascade_ids`); ``koubei index setup`` and ``koubei index reindex`` bring them up.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import (
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    helpers,
)

from koubei import paths, timeutil
from koubei.errors import KoubeiError
from koubei.log import get_logger
from koubei.pipeline.index.client import auth_error

TEMPLATE_DIR = paths.config_folder("es")
KINDS = ("posts", "alerts", "accounts", "cascades")
PLACEHOLDER = "__PREFIX__"
ANALYZER_ENV = "KOUBEI_ES_ANALYZER"
REPLICAS_ENV = "KOUBEI_ES_REPLICAS"

log = get_logger(__name__)


class AnalyzerMissingError(RuntimeError):
    """The configured text analyzer needs a plugin the cluster does not have."""


@dataclass
class TemplateStatus:
    """What :func:`template_status` found for one template.

    ``bare_id_documents``: documents of the template's index still under an earlier release's
    id (cascades keyed by the root's id alone, :func:`bare_cascade_ids`), which ``koubei index
    reindex`` removes; 0 for the other kinds.
    """

    kind: str
    name: str
    file_version: int
    installed_version: int | None
    stale_indices: list[str] = field(default_factory=list)
    bare_id_documents: int = 0

    @property
    def current(self) -> bool:
        return (
            self.installed_version == self.file_version
            and not self.stale_indices
            and not self.bare_id_documents
        )


def template_name(prefix: str, kind: str) -> str:
    return f"{prefix}-{kind}"


def posts_alias(prefix: str) -> str:
    """The read alias over every monthly posts index."""
    return f"{prefix}-posts"


def kind_index(prefix: str, kind: str) -> str:
    """The single index of a non-posts kind (``alerts``, ``accounts``, ``cascades``)."""
    if kind == "posts":
        raise ValueError("posts are monthly: use posts_index(prefix, created_at)")
    return f"{prefix}-{kind}"


def posts_index(prefix: str, created_at: datetime | str) -> str:
    """The monthly posts index (or alias after a migration) a document belongs to.

    The month is taken in UTC, matching how Elasticsearch stores dates, so an index boundary is
    the same for every client regardless of its timezone.
    """
    if isinstance(created_at, str):
        created_at = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    if created_at.tzinfo is not None:
        created_at = created_at.astimezone(UTC)
    return f"{prefix}-posts-{created_at.year:04d}.{created_at.month:02d}"


_VERSION_SUFFIX = re.compile(r"-v\d+$")


def month_name(index: str) -> str:
    """The month's name (``<prefix>-posts-YYYY.MM``) of a concrete posts index.

    After ``koubei index reindex`` a month's documents live in ``<prefix>-posts-YYYY.MM-v<N>``
    and the month's name is an alias to it; writers always write to the month's name.
    """
    return _VERSION_SUFFIX.sub("", index)


def _strip_comments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_comments(v) for k, v in value.items() if not k.startswith("_comment")}
    if isinstance(value, list):
        return [_strip_comments(v) for v in value]
    return value


def _substitute(value: Any, prefix: str) -> Any:
    if isinstance(value, str):
        return value.replace(PLACEHOLDER, prefix)
    if isinstance(value, dict):
        return {_substitute(k, prefix): _substitute(v, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, prefix) for v in value]
    return value


def analyzer_name(analyzer: str | None = None) -> str:
    """The configured analyzer: the argument, else ``$KOUBEI_ES_ANALYZER``, else ``standard``."""
    return analyzer or os.environ.get(ANALYZER_ENV) or "standard"


def replica_count(replicas: int | None = None) -> int:
    """Replicas per shard: the argument, else ``$KOUBEI_ES_REPLICAS``, else 0 (one node).

    On a cluster of N data nodes, 1 (or up to N-1) keeps every document on two nodes, so losing
    one node loses nothing and the cluster returns to green once the node is back.
    """
    if replicas is not None:
        value: int | str = replicas
    else:
        value = os.environ.get(REPLICAS_ENV, "0")
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        # A KoubeiError: one line from the CLI, not a traceback (nor, in a run, three task
        # retries over a minute before the same ValueError).
        raise ReplicasError(f"{REPLICAS_ENV}={value!r}: expected a whole number of replicas >= 0")
    return count


class ReplicasError(KoubeiError, ValueError):
    """``KOUBEI_ES_REPLICAS`` is not a whole number >= 0."""


def _analyzers(template_dir: Path) -> dict[str, Any]:
    data = json.loads((template_dir / "analyzers.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_comment")}


def load_template(
    kind: str,
    prefix: str,
    *,
    analyzer: str | None = None,
    template_dir: Path | None = None,
    replicas: int | None = None,
) -> dict[str, Any]:
    """The template body for ``kind`` with the prefix, replica count and analyzer filled in."""
    directory = template_dir or TEMPLATE_DIR
    raw = json.loads((directory / f"{kind}.json").read_text(encoding="utf-8"))
    body: dict[str, Any] = _substitute(_strip_comments(raw), prefix)
    body["template"].setdefault("settings", {})["number_of_replicas"] = replica_count(replicas)
    analysis = body.get("template", {}).get("settings", {}).get("analysis")
    if analysis is not None:
        name = analyzer_name(analyzer)
        choices = _analyzers(directory)
        if name not in choices:
            raise AnalyzerMissingError(
                f"{ANALYZER_ENV}={name!r} is not one of {sorted(choices)} "
                f"(see {directory / 'analyzers.json'})"
            )
        analysis["analyzer"]["koubei_text"] = copy.deepcopy(choices[name]["analyzer"])
    return body


def file_version(body: dict[str, Any]) -> int:
    return int(body["_meta"]["version"])


def preflight_analyzer(es: Elasticsearch, analyzer: str | None = None) -> None:
    """Fail with a clear message when the configured analyzer's tokenizer is not on the cluster.

    A missing IK or smartcn plugin must not silently fall back to per-character tokens: the
    analysts' queries would quietly mean something else.
    """
    name = analyzer_name(analyzer)
    choices = _analyzers(TEMPLATE_DIR)
    if name not in choices:
        raise AnalyzerMissingError(f"{ANALYZER_ENV}={name!r} is not one of {sorted(choices)}")
    tokenizer = choices[name]["preflight_tokenizer"]
    try:
        es.indices.analyze(tokenizer=tokenizer, text="口碑监测")
    except BadRequestError as exc:
        plugin = choices[name].get("plugin") or "a plugin"
        raise AnalyzerMissingError(
            f"text analyzer {name!r} needs tokenizer {tokenizer!r} from {plugin}, which this "
            f"Elasticsearch cluster does not have ({_reason(exc)}). Install the plugin on every "
            f"node, or set {ANALYZER_ENV}=standard to use per-character tokens."
        ) from exc


def _reason(exc: BadRequestError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return str(error.get("reason") if isinstance(error, dict) else error or exc.message)


def _installed(es: Elasticsearch, name: str) -> dict[str, Any] | None:
    found = es.options(ignore_status=404).indices.get_index_template(name=name)
    templates = found.get("index_templates", []) if found else []
    return dict(templates[0]["index_template"]) if templates else None


def _installed_version(es: Elasticsearch, name: str) -> int | None:
    template = _installed(es, name)
    meta = (template or {}).get("_meta") or {}
    return int(meta["version"]) if "version" in meta else None


def _installed_replicas(template: dict[str, Any] | None) -> int | None:
    settings = ((template or {}).get("template") or {}).get("settings") or {}
    value = settings.get("index", {}).get("number_of_replicas", settings.get("number_of_replicas"))
    return int(value) if value is not None else None


def _installed_analyzer(template: dict[str, Any] | None) -> Any:
    settings = ((template or {}).get("template") or {}).get("settings") or {}
    analysis = settings.get("index", {}).get("analysis", settings.get("analysis")) or {}
    return (analysis.get("analyzer") or {}).get("koubei_text")


def ensure_templates(
    es: Elasticsearch,
    prefix: str,
    *,
    analyzer: str | None = None,
    now: datetime | None = None,
    replicas: int | None = None,
) -> None:
    """Install or upgrade every template and create the indices readers expect to exist.

    Idempotent: a template whose installed ``_meta.version`` equals its file's is left alone; a
    missing or older one is (re)installed and logged. A changed replica count
    (:func:`replica_count`) is applied to the template and to the existing indices. Creates
    the current month's posts index (so ``<prefix>-posts`` resolves even before the first
    write) and the single ``alerts``, ``accounts`` and ``cascades`` indices.

    Raises
    ------
    AnalyzerMissingError
        The configured analyzer needs a plugin the cluster lacks.
    """
    preflight_analyzer(es, analyzer)
    for kind in KINDS:
        body = load_template(kind, prefix, analyzer=analyzer, replicas=replicas)
        name = template_name(prefix, kind)
        template = _installed(es, name)
        installed = _installed_version(es, name)
        wanted = file_version(body)
        copies = body["template"]["settings"]["number_of_replicas"]
        if installed is not None and installed >= wanted:
            text = (body["template"]["settings"].get("analysis") or {}).get("analyzer", {})
            analyzer_changed = bool(text) and _installed_analyzer(template) != text["koubei_text"]
            if analyzer_changed:
                # Not a mapping version: a changed KOUBEI_ES_ANALYZER used to be ignored for
                # good (the template kept the first analyzer, `index status` said current).
                es.indices.put_index_template(name=name, **body)
                log.warning("text analyzer changed: months created from now on use it, "
                            "existing indices keep theirs", template=name,
                            analyzer=analyzer_name(analyzer))  # fmt: skip
            if _installed_replicas(template) != copies:
                # Replicas are a dynamic setting: change the template and the live indices.
                if not analyzer_changed:
                    es.indices.put_index_template(name=name, **body)
                es.indices.put_settings(
                    index=",".join(body["index_patterns"]),
                    settings={"index": {"number_of_replicas": copies}},
                    allow_no_indices=True,
                )
                log.info("replica count applied", template=name, replicas=copies)
            if installed == wanted:
                # A run stopped between the template and the in-place upgrade (or an index
                # restored from a snapshot) left an index behind that the next start-up never
                # looked at again: a strict mapping then refused every document carrying the
                # new field (dead letters). Whatever is still behind gets the upgrade now.
                upgrade_mappings_in_place(es, body)
            continue
        es.indices.put_index_template(name=name, **body)
        log.info("index template applied", template=name, version=wanted, previous=installed)
        if installed is not None:
            upgrade_mappings_in_place(es, body)
    from koubei.pipeline.index.allocation import create_index  # it reads names from here

    first = posts_index(prefix, now or timeutil.now())
    for index in (first, *(kind_index(prefix, k) for k in KINDS if k != "posts")):
        if not es.indices.exists(index=index):
            # Waits a few seconds for the primary, not the client's 30 s: on a disk over the
            # high watermark a new month's primary is refused, and the start-up timed out, so
            # the run spooled everything saying "Connection timed out". The writer holds the
            # posts of the red month, saying why (another process may create it in between).
            reason = create_index(es, index)
            if reason is not None:
                log.warning("index created, but its primary shard cannot be allocated (the "
                            "cluster is red; GET _cluster/allocation/explain says why)",
                            index=index, reason=reason)  # fmt: skip


def reindex_below(body: dict[str, Any]) -> int:
    """The mapping version below which an index needs ``koubei index reindex`` even when the
    template's mapping is applied to it in place (``_meta.reindex_below``, 0 when none).

    Posts version 6 maps ``edited_at``, which the writer derives from ``extra.edited_at``
    (:func:`koubei.pipeline.index.documents.edit_time`): a month created before takes the field
    in place, so writers can send it, but its posts edited before lack it until the copy
    derives it (:mod:`koubei.pipeline.index.migrate`).
    """
    return int(body["_meta"].get("reindex_below", 0))


def upgrade_mappings_in_place(es: Elasticsearch, body: dict[str, Any]) -> list[str]:
    """Put the template's mapping on existing indices of an older version where that works.

    Additive changes (a new field, a new sub-field) are accepted by ``put_mapping``; the index
    is then current and needs no copy. A conflicting change (a field's type) is refused and the
    index stays on its old version until ``koubei index reindex``. An index below
    :func:`reindex_below` takes the mapping (writers may send the new fields) but keeps its
    version, so it stays behind for the copy too. Returns the indices left behind.
    """
    mappings = body["template"]["mappings"]
    wanted = int(mappings["_meta"]["version"])
    copy_below = reindex_below(body)
    found = es.indices.get_mapping(index=body["index_patterns"][0], ignore_unavailable=True)
    behind = []
    for index, mapping in sorted(found.items()):
        meta = mapping.get("mappings", {}).get("_meta") or {}
        version = int(meta.get("version", 0))
        if version >= wanted:
            continue
        try:
            es.indices.put_mapping(
                index=index,
                properties=mappings["properties"],
                dynamic=mappings.get("dynamic"),
                dynamic_templates=mappings.get("dynamic_templates"),
                meta=meta if version < copy_below else mappings["_meta"],
            )
            if version < copy_below:
                behind.append(index)
                log.warning("index mapping extended in place; it needs `koubei index reindex` "
                            "to fill in the fields derived since", index=index, version=version,
                            wanted=wanted)  # fmt: skip
            else:
                log.info("index mapping upgraded in place", index=index, version=wanted)
        except BadRequestError as exc:
            behind.append(index)
            log.warning("index needs `koubei index reindex`", index=index, version=wanted,
                        reason=_reason(exc))  # fmt: skip
    return behind


def stale_indices(es: Elasticsearch, body: dict[str, Any]) -> list[str]:
    """The indices of the template ``body`` (as :func:`load_template` gives it) whose mapping
    is older than it, by name."""
    version = file_version(body)
    mappings = es.indices.get_mapping(index=body["index_patterns"][0], ignore_unavailable=True)
    return [
        index
        for index, mapping in sorted(mappings.items())
        if int((mapping.get("mappings", {}).get("_meta") or {}).get("version", 0)) < version
    ]


def template_status(es: Elasticsearch, prefix: str) -> list[TemplateStatus]:
    """Installed vs file version per template, indices still on an older mapping, and cascade
    documents under a bare root id."""
    statuses = []
    for kind in KINDS:
        body = load_template(kind, prefix)
        name = template_name(prefix, kind)
        status = TemplateStatus(kind, name, file_version(body), _installed_version(es, name))
        status.stale_indices = stale_indices(es, body)
        if kind == "cascades":
            status.bare_id_documents = len(bare_cascade_ids(es, prefix))
        statuses.append(status)
    return statuses


def bare_cascade_ids(es: Elasticsearch, prefix: str) -> list[str]:
    """``_id`` of the ``<prefix>-cascades`` documents under their root's id alone.

    An earlier release keyed a cascade by its root's id; the daily run writes ``<brand>:<root
    id>``. A document is bare when its ``_id`` is its ``root_id`` (root ids hold ``:``
    themselves, ``weibo:1``, so the id's form cannot tell). ``koubei index reindex`` removes
    them (:func:`~koubei.pipeline.index.migrate.remove_bare_cascades`).
    """
    index = kind_index(prefix, "cascades")
    if not es.indices.exists(index=index):
        return []
    query = {"query": {"exists": {"field": "root_id"}}, "_source": ["root_id"]}
    return [
        str(hit["_id"])
        for hit in helpers.scan(es, index=index, size=1000, query=query)
        if hit["_id"] == str(hit["_source"].get("root_id"))
    ]


#: (client id, prefix) whose templates this process installed: the writer checks once per run
_ensured: set[tuple[int, str]] = set()


def ensure_ready(es: Elasticsearch, prefix: str) -> Exception | None:
    """Install the templates (once per client and prefix in this process) before writing.

    Returns the connection error when the cluster cannot be reached: the caller spools what it
    had to write, as a write that meets the outage does (``writer.index_records`` does it itself).
    The flow's index task calls this first so a cycle with nothing pending still creates the
    indices detection reads; calling ``ensure_templates`` there directly let a gone node's
    error escape the task, which Prefect then retried for 65 s instead of spooling.

    Raises
    ------
    ESAuthError
        The cluster refused the credentials (one clear line, as everywhere).
    """
    key = (id(es), prefix)
    if key in _ensured:
        return None
    try:
        ensure_templates(es, prefix)
    except (AuthenticationException, AuthorizationException) as exc:
        raise auth_error(es, exc) from None
    except (TransportConnectionError, ConnectionTimeout) as exc:
        return exc
    _ensured.add(key)
    return None
