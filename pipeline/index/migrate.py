"""``koubei index reindex``: move posts indices to the current template version.

The local node has no ``_reindex``, so a migration is done on the client: for each monthly index
still on an older mapping version,

1. put a write block on it (writers then retry and, if it lasts, spool — nothing is lost);
2. create ``<prefix>-posts-YYYY.MM-v<N>`` from the new template and take it out of the read
   alias while it fills (readers must not see documents twice);
3. copy every document with ``scan`` + ``bulk`` (same ``_id``, same source) and check the count;
   a post stored without an index-only field that later versions derive from its source gets it
   (``edited_at`` from ``extra.edited_at``, posts version 6: months created before it are behind
   until copied, ``templates.reindex_below``);
4. in one atomic ``_aliases`` call: delete the old index, point the read alias and the month's
   name ``<prefix>-posts-YYYY.MM`` at the new index. Writers keep writing to the month's name.

A migration that dies half-way leaves the old index serving reads (still write-blocked); running
it again drops the half-filled new index and starts that month over.

Document ids are migrated too where an earlier release keyed them otherwise:
:func:`remove_bare_cascades` deletes the ``<prefix>-cascades`` documents still under their
root's id alone (see ``config/es/MIGRATIONS.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, helpers

from koubei.log import get_logger
from koubei.pipeline.index.documents import edit_time
from koubei.pipeline.index.templates import (
    bare_cascade_ids,
    ensure_templates,
    file_version,
    kind_index,
    load_template,
    month_name,
    posts_alias,
    stale_indices,
)

log = get_logger(__name__)


class MigrationError(RuntimeError):
    """A copy did not arrive complete; the old index was kept."""


@dataclass(frozen=True)
class MigratedIndex:
    month: str
    old_index: str
    new_index: str
    docs: int


def _copy_actions(es: Elasticsearch, source: str, target: str) -> Iterator[dict[str, Any]]:
    for hit in helpers.scan(es, index=source, size=1000, query={"query": {"match_all": {}}}):
        yield {"_op_type": "index", "_index": target, "_id": hit["_id"],
               "_source": derive(hit["_source"])}  # fmt: skip


def derive(source: dict[str, Any]) -> dict[str, Any]:
    """A stored post with the index-only fields it lacks that its source gives (``edited_at``
    of a post edited before posts version 6); the others as stored, so a copy made twice is
    the same."""
    if "edited_at" not in source and (edited := edit_time(source)) is not None:
        return {**source, "edited_at": edited}
    return source


def migrate_index(es: Elasticsearch, prefix: str, old_index: str, version: int) -> MigratedIndex:
    """Copy one concrete posts index to the current version and swap the aliases atomically."""
    month = month_name(old_index)
    new_index = f"{month}-v{version}"
    read_alias = posts_alias(prefix)
    es.indices.add_block(index=old_index, block="write")
    es.indices.refresh(index=old_index)
    expected = int(es.count(index=old_index)["count"])
    if es.indices.exists(index=new_index):
        es.indices.delete(index=new_index)  # leftover of a migration that died half-way
    es.indices.create(index=new_index)
    es.indices.delete_alias(index=new_index, name=read_alias)
    _, errors = helpers.bulk(
        es, _copy_actions(es, old_index, new_index), chunk_size=1000, raise_on_error=False
    )
    es.indices.refresh(index=new_index)
    copied = int(es.count(index=new_index)["count"])
    if errors or copied != expected:
        raise MigrationError(
            f"copy of {old_index} to {new_index} incomplete: {copied}/{expected} documents, "
            f"{len(errors) if isinstance(errors, list) else errors} errors; {old_index} is kept "
            "(write-blocked). Fix the mapping and run `koubei index reindex` again."
        )
    es.indices.update_aliases(
        actions=[
            {"add": {"index": new_index, "alias": read_alias}},
            {"remove_index": {"index": old_index}},
            {"add": {"index": new_index, "alias": month, "is_write_index": True}},
        ]
    )
    log.info("posts index migrated", old=old_index, new=new_index, docs=copied)
    return MigratedIndex(month, old_index, new_index, copied)


def reindex(es: Elasticsearch, prefix: str) -> list[MigratedIndex]:
    """Apply the current templates, then migrate every posts index on an older mapping version.

    Returns the migrated indices (empty when everything is current).
    """
    ensure_templates(es, prefix)
    # Posts alone: alerts/accounts/cascades are dynamic and additive, no copy needed (and
    # ``template_status`` would also scan the cascades for bare ids, which is not this step's).
    body = load_template("posts", prefix)
    version = file_version(body)
    return [migrate_index(es, prefix, index, version) for index in stale_indices(es, body)]


def remove_bare_cascades(es: Elasticsearch, prefix: str) -> int:
    """Delete the ``<prefix>-cascades`` documents under their root's id alone; returns how many.

    An earlier release keyed a cascade by its root's id, so a cascade naming two brands was one
    document in the view of the brand written last; the daily run now writes
    ``<brand>:<root id>`` and removes the bare copy of a root it writes, but never writes again
    a cascade without posts in its last 7 days. Such a copy cannot be rewritten here (that is
    the daily run's work, from the posts); removed, it no longer stands in one brand's view for
    a cascade that brand may not even own. Which are bare: :func:`bare_cascade_ids` (``koubei
    index status`` counts them).
    """
    index = kind_index(prefix, "cascades")
    if not es.indices.exists(index=index):
        return 0
    bare = [
        {"_op_type": "delete", "_index": index, "_id": doc_id}
        for doc_id in bare_cascade_ids(es, prefix)
    ]
    # Delete by id: the bundled node has no reindex module (_delete_by_query).
    removed, _missing = helpers.bulk(es, bare, raise_on_error=False) if bare else (0, [])
    es.indices.refresh(index=index)
    log.info("bare-id cascade documents removed", index=index, removed=removed)
    return int(removed)
