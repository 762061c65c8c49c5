from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from elasticsearch import Elasticsearch

from koubei.pipeline.index import kibana
from koubei.pipeline.index.queries import POSTS_DATA_VIEW_ID
from koubei.pipeline.index.templates import ensure_templates


@pytest.fixture
def fields_by_view(es: Elasticsearch, index_prefix: str) -> dict[str, dict[str, str]]:
    """The flattened mappings the real node builds from our templates, per data view id."""
    ensure_templates(es, index_prefix, now=datetime(2026, 11, 5, tzinfo=UTC))
    views = {}
    # Every data view of the files, read through its title as Kibana reads it (the posts alias).
    for view, target in kibana.data_view_targets(kibana.load_objects(prefix=index_prefix)).items():
        [mapping] = es.indices.get_mapping(index=target).values()
        views[view] = kibana.flatten_mapping(mapping["mappings"]["properties"])
    assert set(views) == {"koubei-posts", "koubei-alerts", "koubei-accounts", "koubei-cascades"}
    return views


def test_every_field_the_saved_objects_use_is_mapped_with_a_compatible_type(
    fields_by_view: dict[str, dict[str, str]],
) -> None:
    objects = kibana.load_objects()
    types = {obj["type"] for obj in objects}
    assert types == {"index-pattern", "search", "lens", "dashboard"}
    refs = kibana.field_references(objects)
    assert len(refs) > 15
    assert kibana.check_objects(objects, fields_by_view) == []
    assert any(o["id"] == POSTS_DATA_VIEW_ID and o["type"] == "index-pattern" for o in objects)


def test_the_spread_indices_have_data_views_and_analysts_objects_checked(
    fields_by_view: dict[str, dict[str, str]],
) -> None:
    """Before: no saved object read <prefix>-cascades or <prefix>-accounts, so the daily
    report's spread documents were in Elasticsearch with no view of them in Kibana."""
    objects = copy.deepcopy(kibana.load_objects())
    used = {(r.data_view, r.object_id) for r in kibana.field_references(objects)}
    assert ("koubei-cascades", "koubei-biggest-cascades") in used
    assert ("koubei-accounts", "koubei-key-accounts-of-the-day") in used
    assert ("koubei-accounts", "koubei-amplifying-accounts") in used
    by_id = {o["id"]: o for o in objects}
    assert by_id["koubei-biggest-cascades"]["attributes"]["sort"] == [["size", "desc"]]
    # The dashboard shows them, and the checks cover them as they cover the posts' objects.
    panels = {r["id"] for r in by_id["koubei-overview"]["references"]}
    assert {"koubei-biggest-cascades", "koubei-amplifying-accounts"} <= panels
    by_id["koubei-biggest-cascades"]["attributes"]["columns"].append("reach")  # an account's
    layer = by_id["koubei-amplifying-accounts"]["attributes"]["state"]["datasourceStates"]
    layer["formBased"]["layers"]["layer1"]["columns"]["reach"]["sourceField"] = "name"
    problems = "\n".join(kibana.check_objects(objects, fields_by_view))
    assert "koubei-biggest-cascades: field 'reach' (column) is not mapped in koubei-cascades" in (
        problems
    )
    assert "koubei-amplifying-accounts: field 'name' is keyword, which sum cannot use" in problems


def test_discover_lists_the_posts_edited_after_they_were_first_seen_by_their_edit_time(
    fields_by_view: dict[str, dict[str, str]],
) -> None:
    """Before: an edit's time was in ``extra.edited_at`` alone, which the posts template does
    not index, so Kibana could neither filter nor sort on it. The saved search lists the edited
    posts, latest edit first, and the posts mapping gives it a date to sort and filter on."""
    objects = kibana.load_objects()
    [search] = [o for o in objects if o["id"] == "koubei-edited-posts"]
    assert search["attributes"]["sort"] == [["edited_at", "desc"]]
    assert {"edited_at", "created_at", "first_seen"} <= set(search["attributes"]["columns"])
    used = {(r.data_view, r.field, r.usage) for r in kibana.field_references([search])}
    assert ("koubei-posts", "edited_at", "query") in used
    assert fields_by_view["koubei-posts"]["edited_at"] == "date"  # was: not mapped
    assert kibana.check_objects(objects, fields_by_view) == []


def test_check_catches_missing_fields_wrong_types_and_dangling_references(
    fields_by_view: dict[str, dict[str, str]],
) -> None:
    objects = copy.deepcopy(kibana.load_objects())
    by_id = {o["id"]: o for o in objects}
    layers = by_id["koubei-platform-mix"]["attributes"]["state"]["datasourceStates"]
    layers["formBased"]["layers"]["layer1"]["columns"]["platform"]["sourceField"] = "text_raw"
    by_id["koubei-negative-posts"]["attributes"]["columns"].append("author.nickname")
    by_id["koubei-overview"]["references"][0]["id"] = "gone"
    problems = "\n".join(kibana.check_objects(objects, fields_by_view))
    assert "'text_raw' is text, which terms cannot use" in problems
    assert "'author.nickname' (column) is not mapped" in problems
    assert "lens 'gone' is not in the saved objects" in problems


def test_objects_are_kibana_9_lens_with_migration_versions() -> None:
    """Kibana 8.8+ reads the migration versions to know which migrations an import needs;
    without them it would treat the objects as older than they are."""
    objects = kibana.load_objects()
    for obj in objects:
        assert obj["coreMigrationVersion"] == "8.8.0", obj["id"]
        assert obj["typeMigrationVersion"], obj["id"]
    lenses = [o for o in objects if o["type"] == "lens"]
    assert len(lenses) == 8
    for lens in lenses:
        state = lens["attributes"]["state"]
        for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
            names = {r["name"] for r in lens["references"]}
            assert f"indexpattern-datasource-layer-{layer_id}" in names
            assert set(layer["columnOrder"]) == set(layer["columns"])
    [dashboard] = [o for o in objects if o["type"] == "dashboard"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    assert {p["type"] for p in panels} == {"lens", "search"}
    assert "koubei-alert-history" in {r["id"] for r in dashboard["references"]}


def test_share_of_voice_compares_the_configured_brands_and_competitors() -> None:
    objects = kibana.load_objects(brands=["鲜牧", "北岭", 'say "hi"'])
    [voice] = [o for o in objects if o["id"] == kibana.SHARE_OF_VOICE_ID]
    query = voice["attributes"]["state"]["query"]["query"]
    assert query == 'brands:("鲜牧" or "北岭" or "say \\"hi\\"")'


def test_prefix_rewrites_data_view_titles_only() -> None:
    objects = kibana.load_objects(prefix="acme")
    views = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert views == {
        "koubei-posts": "acme-posts",
        "koubei-alerts": "acme-alerts",
        "koubei-cascades": "acme-cascades",
        "koubei-accounts": "acme-accounts",
    }


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
        )
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        ndjson = parts["file"].get_payload(decode=True)
        assert isinstance(ndjson, bytes)
        objects = [json.loads(line) for line in ndjson.splitlines() if line.strip()]
        self.received.append(
            {"path": self.path, "xsrf": self.headers["kbn-xsrf"], "objects": objects}
        )
        answer = json.dumps({"success": True, "successCount": len(objects)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP endpoint standing in for Kibana's import API (Kibana cannot run here)."""
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Receiver.received
    server.shutdown()
    server.server_close()


def test_import_posts_multipart_ndjson_with_xsrf_header(
    receiver: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = receiver
    result = kibana.import_objects(url + "/", prefix="acme")
    assert result["successCount"] == len(kibana.load_objects())
    [request] = received
    assert request["path"] == "/api/saved_objects/_import?overwrite=true"
    assert request["xsrf"]
    titles = {o["attributes"]["title"] for o in request["objects"] if o["type"] == "index-pattern"}
    assert titles == {"acme-posts", "acme-alerts", "acme-cascades", "acme-accounts"}
