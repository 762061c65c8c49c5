"""Kibana saved objects (``config/kibana/*.ndjson``): field checks and import.

Kibana cannot run on the build machine, so the objects are checked statically: every field a
data view, saved search or visualization names must exist in the index mapping with a type the
usage can work with (a ``terms`` split on a ``text`` field would need fielddata; a
``date_histogram`` needs a date), and every reference must resolve to an object in the files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from koubei import paths

KIBANA_DIR = paths.config_folder("kibana")
DEFAULT_PREFIX = "koubei"

NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"}
AGGREGATABLE = NUMERIC | {"keyword", "boolean", "date", "date_nanos", "ip"}
USAGE_TYPES: dict[str, set[str] | None] = {
    "timeField": {"date", "date_nanos"},
    "date_histogram": {"date", "date_nanos"},
    "terms": AGGREGATABLE,
    "significant_terms": AGGREGATABLE,
    "cardinality": AGGREGATABLE,
    "sum": NUMERIC,
    "avg": NUMERIC,
    "min": NUMERIC | {"date"},
    "max": NUMERIC | {"date"},
    "unique_count": AGGREGATABLE,
    "sort": AGGREGATABLE,
    "column": None,  # any field that exists (Discover shows text too)
    "query": None,
}
_KQL_FIELD = re.compile(r"([A-Za-z_@][\w.@]*)\s*:")


@dataclass(frozen=True)
class FieldRef:
    object_id: str
    data_view: str
    field: str
    usage: str


SHARE_OF_VOICE_ID = "koubei-share-of-voice"


def brand_set_query(brands: list[str]) -> str:
    """KQL matching posts about any of ``brands`` (the brands of brands.yaml and their
    competitors), so share of voice compares exactly the configured set."""
    quoted = " or ".join('"' + b.replace("\\", "\\\\").replace('"', '\\"') + '"' for b in brands)
    return f"brands:({quoted})" if brands else ""


def load_objects(
    path: Path | None = None, *, prefix: str = DEFAULT_PREFIX, brands: list[str] | None = None
) -> list[dict[str, Any]]:
    """The saved objects; data view titles are rewritten from ``koubei-`` to ``<prefix>-``, and
    with ``brands`` the share-of-voice panel is limited to them (brands and competitors)."""
    files = [path] if path else sorted(KIBANA_DIR.glob("*.ndjson"))
    objects = []
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            if obj["type"] == "index-pattern" and prefix != DEFAULT_PREFIX:
                title = obj["attributes"]["title"]
                obj["attributes"]["title"] = prefix + title[len(DEFAULT_PREFIX) :]
            if obj["id"] == SHARE_OF_VOICE_ID and brands:
                obj["attributes"]["state"]["query"]["query"] = brand_set_query(brands)
            objects.append(obj)
    return objects


def data_view_targets(objects: list[dict[str, Any]]) -> dict[str, str]:
    """``{data view id: the index or alias it reads}`` (its title, with the prefix applied by
    :func:`load_objects`): what ``koubei kibana check`` and the tests read the mappings of, so
    a new data view is checked without another list to keep in step."""
    return {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}


def _index_ref(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("references", []):
        if ref["type"] == "index-pattern":
            return str(ref["id"])
    return None


def _query_fields(search_source: dict[str, Any]) -> Iterator[str]:
    query = (search_source.get("query") or {}).get("query") or ""
    # KQL values are quoted; drop them so "a:b" inside a value is not read as a field.
    unquoted = re.sub(r'"(?:\\.|[^"\\])*"', '""', str(query))
    yield from _KQL_FIELD.findall(unquoted)


def field_references(objects: list[dict[str, Any]]) -> list[FieldRef]:
    """Every (object, data view, field, usage) the saved objects rely on."""
    refs: list[FieldRef] = []
    for obj in objects:
        attrs, oid = obj["attributes"], obj["id"]
        if obj["type"] == "index-pattern":
            if attrs.get("timeFieldName"):
                refs.append(FieldRef(oid, oid, attrs["timeFieldName"], "timeField"))
            continue
        view = _index_ref(obj)
        if view is None:
            continue
        source = json.loads(attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON", "{}"))
        refs += [FieldRef(oid, view, name, "query") for name in _query_fields(source)]
        if obj["type"] == "search":
            refs += [FieldRef(oid, view, name, "column") for name in attrs.get("columns", [])]
            refs += [FieldRef(oid, view, pair[0], "sort") for pair in attrs.get("sort", [])]
        elif obj["type"] == "visualization":
            for agg in json.loads(attrs["visState"]).get("aggs", []):
                name = (agg.get("params") or {}).get("field")
                if name:
                    refs.append(FieldRef(oid, view, name, agg["type"]))
        elif obj["type"] == "lens":
            refs += list(_lens_fields(obj))
    return refs


def _lens_fields(obj: dict[str, Any]) -> Iterator[FieldRef]:
    """Fields of a Lens object: each layer's columns (on the data view its reference names)
    and the fields of its KQL query."""
    state = obj["attributes"]["state"]
    views = {
        ref["name"].removeprefix("indexpattern-datasource-layer-"): ref["id"]
        for ref in obj.get("references", [])
        if ref["name"].startswith("indexpattern-datasource-layer-")
    }
    layers = state["datasourceStates"]["formBased"]["layers"]
    for layer_id, layer in layers.items():
        view = views.get(layer_id, "")
        for column in layer["columns"].values():
            field = column.get("sourceField")
            if field and field != "___records___":
                yield FieldRef(obj["id"], view, field, column["operationType"])
        for name in _query_fields({"query": state.get("query") or {}}):
            yield FieldRef(obj["id"], view, name, "query")


def flatten_mapping(properties: dict[str, Any], parent: str = "") -> dict[str, str]:
    """``{"author.name": "keyword", "text_raw.keyword": "keyword", ...}`` from a mapping."""
    flat: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{parent}{name}"
        flat[path] = spec.get("type", "object")
        if "properties" in spec:
            flat.update(flatten_mapping(spec["properties"], f"{path}."))
        for sub, sub_spec in (spec.get("fields") or {}).items():
            flat[f"{path}.{sub}"] = sub_spec.get("type", "object")
    return flat


def check_objects(
    objects: list[dict[str, Any]], fields_by_view: dict[str, dict[str, str]]
) -> list[str]:
    """Problems (empty when fine): dangling references, missing fields, incompatible types.

    ``fields_by_view`` maps a data view id to the flattened mapping of its indices.
    """
    problems = []
    known = {(obj["type"], obj["id"]) for obj in objects}
    for obj in objects:
        for ref in obj.get("references", []):
            if (ref["type"], ref["id"]) not in known:
                problems.append(f"{obj['id']}: reference {ref['name']} -> {ref['type']} "
                                f"{ref['id']!r} is not in the saved objects")  # fmt: skip
        if obj["type"] == "dashboard":
            names = {ref["name"] for ref in obj.get("references", [])}
            for panel in json.loads(obj["attributes"]["panelsJSON"]):
                if panel.get("panelRefName") not in names:
                    problems.append(
                        f"{obj['id']}: panel {panel.get('panelIndex')} has no reference"
                    )
    for ref in field_references(objects):
        fields = fields_by_view.get(ref.data_view)
        if fields is None:
            problems.append(f"{ref.object_id}: no mapping known for data view {ref.data_view!r}")
            continue
        if ref.field not in fields:
            problems.append(f"{ref.object_id}: field {ref.field!r} ({ref.usage}) is not mapped "
                            f"in {ref.data_view}")  # fmt: skip
            continue
        allowed = USAGE_TYPES.get(ref.usage, AGGREGATABLE)
        if allowed is not None and fields[ref.field] not in allowed:
            problems.append(f"{ref.object_id}: field {ref.field!r} is {fields[ref.field]}, which "
                            f"{ref.usage} cannot use (needs one of {sorted(allowed)})")  # fmt: skip
    return problems


def to_ndjson(objects: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode()


def import_objects(
    kibana_url: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    path: Path | None = None,
    overwrite: bool = True,
    api_key: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    timeout: float = 30.0,
    brands: list[str] | None = None,
) -> dict[str, Any]:
    """POST the saved objects to Kibana's ``/api/saved_objects/_import``; returns its answer.

    Raises
    ------
    RuntimeError
        Kibana answered with an error or reported objects it could not import.
    """
    headers = {"kbn-xsrf": "koubei"}
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    body = to_ndjson(load_objects(path, prefix=prefix, brands=brands))
    response = httpx.post(
        f"{kibana_url.rstrip('/')}/api/saved_objects/_import",
        params={"overwrite": str(overwrite).lower()},
        headers=headers,
        auth=basic_auth,
        files={"file": ("koubei.ndjson", body, "application/ndjson")},
        timeout=timeout,
    )
    status = response.status_code
    try:
        result: dict[str, Any] = response.json()
    except ValueError:  # an HTML page: a web server, a proxy's error page, Elasticsearch's port
        result = {}
    if not isinstance(result, dict) or not result:
        raise RuntimeError(
            f"{kibana_url} is not Kibana: it answered POST /api/saved_objects/_import with "
            f"HTTP {status} and no Kibana reply; give Kibana's URL (--url, or kibana_url in "
            "alerts.yaml), e.g. http://localhost:5601"
        )
    if status >= 400:
        # Kibana's errors are JSON: {"statusCode": 401, "error": "...", "message": "..."}
        reason = " ".join(str(result.get("message") or result).split())[:300]
        raise RuntimeError(f"Kibana at {kibana_url} refused the import: HTTP {status}: {reason}")
    if not result.get("success", False):
        raise RuntimeError(f"Kibana imported with errors: {json.dumps(result.get('errors'))}")
    return result
