"""Indices whose primary shard is not allocated (the cluster red): which ones answer, why one is
not allocated, and a new index created without waiting out the client's timeout.

A month index whose primary cannot be allocated (its node lost, a disk over the high watermark
when the index was created, an allocation filter naming no node) is red. A search answers for
it at once, with a shard failure (:mod:`koubei.pipeline.index.stored` holds the posts that may
be stored there, :func:`red_cause` says why). A refresh and a write wait for its primary
instead: a minute on the node, the client's 30 s request timeout first. So the writer and the
flow's index task refresh only the indices that can answer (:func:`refresh_answering`); before,
every run's refresh waited 30 s, and the flow's raised and was retried by Prefect, each cycle.
An index is created with a short wait for its primary (:func:`create_index`): one that cannot
be allocated is found in seconds, and :func:`unallocated_reason` says why in the cluster's
words (``GET _cluster/allocation/explain``); before, the creation or each bulk request into it
waited out the 30 s and the run said only "Connection timed out". :class:`RunAllocations` keeps
what one writer run learned of its months.
"""

from __future__ import annotations

import threading
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from koubei.log import get_logger
from koubei.pipeline.index.templates import month_name, posts_alias

__all__ = [
    "SLOW_PRIMARY_S",
    "WAIT_FOR_PRIMARY",
    "RunAllocations",
    "advice",
    "create_index",
    "index_states",
    "red_cause",
    "refresh_answering",
    "unallocated_cause",
    "unallocated_reason",
]

log = get_logger(__name__)

# How long creating an index waits for its primary shard. A node allocates a new primary in
# well under a second; one still unassigned then is asked why (a refusal is named at once, a
# slow allocation is waited for, as the bulk request that created it waited before).
WAIT_FOR_PRIMARY = "5s"
# How long a new primary that is still being allocated (not refused) is then waited for.
SLOW_PRIMARY_S = 60
# What allocation explain answers for a primary that no node may take now.
_REFUSED = frozenset({"no", "no_valid_shard_copy"})

States = dict[str, tuple[str, str]]


def index_states(es: Elasticsearch, target: str) -> States:
    """``{index: (status, health)}`` of the indices ``target`` (an alias or pattern) names:
    status ``open`` or ``close``, health ``green``, ``yellow`` or ``red``; none if no index."""
    rows = es.options(ignore_status=404).cat.indices(
        index=target, h="index,status,health", format="json", expand_wildcards="all"
    )
    body = rows.body if isinstance(rows.body, list) else []
    return {
        str(row.get("index")): (str(row.get("status")), str(row.get("health")))
        for row in body
        if row.get("index")
    }


def refresh_answering(es: Elasticsearch, target: str, states: States | None = None) -> list[str]:
    """Refresh the open indices ``target`` names whose primaries are allocated; return the red
    ones left out (logged with where to look). ``states`` as :func:`index_states` answered.

    A refresh that names a red index waits a minute for its primary (past the client's 30 s
    timeout) and refreshes nothing more for it: no search sees that index until it is
    allocated. The other indices are refreshed, so what the last run wrote is searchable.
    """
    if states is None:
        states = index_states(es, target)
    open_ = {index: health for index, (status, health) in states.items() if status == "open"}
    red = sorted(index for index, health in open_.items() if health == "red")
    if red:
        log.warning(
            "refresh leaves out indices whose primary shard is unassigned (the cluster is red; "
            "GET _cluster/allocation/explain says why)",
            indices=red,
        )
    answering = sorted(index for index, health in open_.items() if health != "red")
    if answering:
        es.indices.refresh(index=",".join(answering), ignore_unavailable=True)
    return red


def create_index(es: Elasticsearch, index: str) -> str | None:
    """Create ``index`` (from its template), waiting at most :data:`WAIT_FOR_PRIMARY` for its
    primary shard; return why the primary cannot be allocated (:func:`unallocated_reason`).

    None when the primary started, is still being allocated, or the index (or an alias of that
    name) exists already: a write then meets it as it would have. Another 400 (the cluster's
    shard limit) is left to the write too, which spools the documents saying so.
    """
    answer = es.options(ignore_status=(400, 403)).indices.create(
        index=index, wait_for_active_shards=1, timeout=WAIT_FOR_PRIMARY
    )
    # 403: a role that may only auto-create indices (``auto_configure``): the bulk request
    # creates it, as it always did.
    if answer.meta.status in (400, 403) or answer.get("shards_acknowledged"):
        return None
    reason = unallocated_reason(es, index)
    if reason is None:
        # Still being allocated (a loaded node): wait for it as the bulk request that created
        # the month used to (its wait for an active shard, one minute). Otherwise the run's
        # lookup met the month not answering yet and held its posts as if it were red (on a
        # loaded CI machine, a whole batch of 1,000 spooled).
        es.options(request_timeout=SLOW_PRIMARY_S + 10, ignore_status=408).cluster.health(
            index=index, wait_for_status="yellow", timeout=f"{SLOW_PRIMARY_S}s"
        )
    return reason


def unallocated_reason(es: Elasticsearch, index: str) -> str | None:
    """Why no node may take the primary of ``index`` now (each allocation decider's ``NO``,
    from ``GET _cluster/allocation/explain``), or None if it is allocated or may yet be
    (throttled, awaiting disk information) or the cluster does not say (a reason helps the
    operator and is never a reason to fail: an error asking is logged and left)."""
    try:
        answer = es.options(ignore_status=(400, 404)).cluster.allocation_explain(
            index=index, shard=0, primary=True
        )
    except (ApiError, TransportError) as exc:
        log.debug("allocation explain failed", index=index, error=str(exc))
        return None
    body: dict[str, Any] = answer.body if isinstance(answer.body, dict) else {}
    if body.get("can_allocate") not in _REFUSED:
        return None
    reasons = [
        str(decider.get("explanation") or "")
        for node in body.get("node_allocation_decisions") or ()
        for decider in node.get("deciders") or ()
        if str(decider.get("decision")).upper() == "NO"
    ]
    unique = list(dict.fromkeys(reason for reason in reasons if reason))
    return "; ".join(unique) or str(body.get("allocate_explanation") or body["can_allocate"])


def advice(reason: str) -> str:
    """What to do about ``reason`` (:func:`unallocated_reason`)."""
    if "watermark" in reason:
        return (
            "free disk space on the data nodes (delete old indices, add disk or nodes) or raise "
            "cluster.routing.allocation.disk.watermark.high, and Elasticsearch allocates it by "
            "itself"
        )
    return "mend what it names, and Elasticsearch allocates it by itself"


def unallocated_cause(index: str, reason: str) -> str:
    """Why the documents for a new ``index`` whose primary was refused were spooled."""
    return (
        f"Elasticsearch could not allocate the new index {index} (its primary shard is "
        f"unassigned: the cluster is red; GET _cluster/allocation/explain says why): {reason}; "
        f"{advice(reason)}; `koubei index replay` then sends them"
    )


def red_cause(months: set[tuple[int, int]], prefix: str, reasons: dict[str, str]) -> str:
    """Why posts near ``months`` (whose shards did not answer the writer's lookup) were
    spooled, with the cluster's ``reasons`` by month name where known."""
    names = [f"{prefix}-posts-{year}.{month:02d}" for year, month in sorted(months)]
    by_reason: dict[str, list[str]] = {}
    for name in names:
        if reasons.get(name):
            by_reason.setdefault(reasons[name], []).append(name)
    said = [f"{', '.join(which)}: {reason}" for reason, which in by_reason.items()]
    why = "GET _cluster/allocation/explain says why"
    if said:
        why += f": {'; '.join(said)}; {advice(' '.join(by_reason))}"
    return (
        f"Elasticsearch did not search {', '.join(names)} (a primary shard unassigned: the "
        f"cluster is red; {why}): posts that may be stored there are spooled until it answers, "
        "then `koubei index replay` sends them"
    )


class RunAllocations:
    """What one writer run learns of its months' primaries, shared by its lanes: which months
    exist, which new ones could not be allocated and why, why a red month is red."""

    def __init__(self, es: Elasticsearch, prefix: str) -> None:
        self.es = es
        self.prefix = prefix
        self.states: States | None = None  # index_states of the read alias, at the start
        self.known: set[str] = set()  # month names that exist, or were created this run
        self.refused: dict[str, str] = {}  # new month -> the cause its documents are spooled for
        self.reasons: dict[str, str | None] = {}  # red month -> why, as the cluster says
        self.lock = threading.Lock()  # one lane creates a month while the other waits

    def start(self) -> None:
        """Read the months behind the read alias and refresh those that answer
        (:func:`refresh_answering`); errors propagate."""
        alias = posts_alias(self.prefix)
        self.states = index_states(self.es, alias)
        self.known = {month_name(index) for index in self.states}
        refresh_answering(self.es, alias, self.states)

    def create(self, months: set[str]) -> dict[str, str]:
        """Create those of ``months`` not known to exist, once a run each; return the cause
        for every month of this run whose primary was refused. Errors propagate."""
        if months - self.known:
            with self.lock:
                for index in sorted(months - self.known):
                    reason = create_index(self.es, index)
                    if reason is not None:
                        self.refused[index] = unallocated_cause(index, reason)
                        log.warning("new index could not be allocated: its documents are "
                                    "spooled", index=index, reason=reason)  # fmt: skip
                    self.known.add(index)
        return self.refused

    def explain(self, months: set[tuple[int, int]]) -> None:
        """Ask why each of ``months`` (red) is not allocated, once a run per month."""
        with self.lock:
            for year, month in sorted(months):
                name = f"{self.prefix}-posts-{year}.{month:02d}"
                if name not in self.reasons:
                    self.reasons[name] = unallocated_reason(self.es, name)

    def red_cause(self, months: set[tuple[int, int]]) -> str:
        """:func:`red_cause` of ``months``, with the reasons :meth:`explain` found."""
        with self.lock:
            said = {name: reason for name, reason in self.reasons.items() if reason}
        return red_cause(months, self.prefix, said)
