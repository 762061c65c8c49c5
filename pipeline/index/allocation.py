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
waited out the 30 s and the run said only "Connection timed out". A month whose primary is
not refused but still starting (another lane or process creating it on a busy node) answers no
search either: a lookup that meets it waits for it (:meth:`RunAllocations.settle`) rather than
hold its posts as if it were red, and a read leaves it out, as it holds no post yet
(:func:`koubei.pipeline.index.queries.search`). :class:`RunAllocations` keeps what one writer
run learned of its months.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from koubei.log import get_logger
from koubei.pipeline.index.templates import month_name, posts_alias

__all__ = [
    "BULK_TIMEOUT",
    "SLOW_PRIMARY_S",
    "WAIT_FOR_PRIMARY",
    "RunAllocations",
    "advice",
    "create_index",
    "failed_indices",
    "index_states",
    "months_of",
    "red_cause",
    "refresh_answering",
    "starting_indices",
    "unallocated_cause",
    "unallocated_reason",
    "wait_for_primaries",
]

log = get_logger(__name__)

# How long creating an index waits for its primary shard. A node allocates a new primary in
# well under a second; one still unassigned then is asked why (a refusal is named at once, a
# slow allocation is waited for, as the bulk request that created it waited before).
WAIT_FOR_PRIMARY = "5s"
# How long a new primary that is still being allocated (not refused) is then waited for.
SLOW_PRIMARY_S = 60
# How often a starting primary is looked at while waited for.
PRIMARY_POLL_S = 0.25
# A bulk request's ``timeout``: how long the node waits for an item's primary shard to be active
# before it answers that item 503 ``unavailable_shards_exception`` (its default is a minute, past
# the client's 30 s request timeout: a month gone red mid-run timed out its whole chunk, every
# month's items in it, each try). It bounds that wait only, not indexing: a slow node's chunk
# of 1,000 takes a few seconds (BENCHMARKS.md: 411 docs/s at load 15-20 on 2 cores), so this
# plus that stays well inside 30 s. A primary failing over or relocating is active well within
# it, and the posts' mapping is strict (no dynamic mapping update, which it also bounds).
BULK_TIMEOUT = "10s"
# What allocation explain answers for a primary that no node may take now.
_REFUSED = frozenset({"no", "no_valid_shard_copy"})
_MONTH = re.compile(r"-(\d{4})\.(\d{2})$")

States = dict[str, tuple[str, str]]
Months = set[tuple[int, int]]


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
    ones and those still starting, left out (logged with where to look). ``states`` as
    :func:`index_states` answered.

    A refresh that names a red index, or a new one whose primary is still waiting to start
    (yellow: another process created it a moment ago on a busy node), waits a minute for its
    primary (past the client's 30 s timeout) and refreshes nothing more for it: no search sees
    that index until it is allocated. The other indices are refreshed, so what the last run
    wrote is searchable.
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
    # Only a yellow index can be starting (a green one has every shard started): the common
    # all-green run asks nothing more.
    yellow = [index for index in answering if open_[index] == "yellow"]
    starting = sorted(starting_indices(es, yellow)) if yellow else []
    if starting:
        log.warning("refresh leaves out new indices whose primary shard has not started yet",
                    indices=starting)  # fmt: skip
        answering = [index for index in answering if index not in starting]
    if answering:
        es.indices.refresh(index=",".join(answering), ignore_unavailable=True)
    return red + starting


def starting_indices(es: Elasticsearch, indices: list[str]) -> set[str]:
    """Those of the open ``indices`` whose primaries have not all started. A new index whose
    primary waits for allocation (throttled on a busy node) is *yellow*, not red, and answers
    no search; its health by index says so (``active_primary_shards``)."""
    answer = es.options(ignore_status=404).cluster.health(
        index=",".join(indices), level="indices", filter_path="indices"
    )
    rows = (answer.body if isinstance(answer.body, dict) else {}).get("indices") or {}
    return {
        name
        for name, row in rows.items()
        if int(row.get("active_primary_shards") or 0) < int(row.get("number_of_shards") or 0)
    }


def failed_indices(exc: ApiError) -> list[str]:
    """The indices a search that failed on every shard (503 ``all shards failed``) names; none
    for another error."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if not isinstance(error, dict):
        return []
    if exc.status_code != 503 or error.get("type") != "search_phase_execution_exception":
        return []
    return [str(shard.get("index")) for shard in error.get("failed_shards") or ()]


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
        wait_for_primaries(es, [index])
    return reason


def wait_for_primaries(es: Elasticsearch, indices: list[str]) -> list[str]:
    """Wait at most :data:`SLOW_PRIMARY_S` for the primaries of ``indices`` to start; return
    those still waiting then (left to the caller to find red).

    Polled, because no health wait says it: a new index whose primary is still waiting (the
    allocation throttled on a busy node) is *yellow*, not red, so ``wait_for_status=yellow``
    returns at once (session 25's wait did, and the lookup still met the month not answering);
    ``wait_for_active_shards`` counts replicas too.
    """
    deadline = time.monotonic() + SLOW_PRIMARY_S
    while True:
        waiting = sorted(starting_indices(es, indices))
        if not waiting or time.monotonic() >= deadline:
            return waiting
        time.sleep(PRIMARY_POLL_S)


def _month_names(prefix: str, months: Months) -> list[str]:
    return [f"{prefix}-posts-{year}.{month:02d}" for year, month in sorted(months)]


def months_of(indices: list[str]) -> Months | None:
    """(year, month) of each of ``indices``, None if one is of no month (or none is named)."""
    found = [_MONTH.search(month_name(index)) for index in indices]
    return {(int(m[1]), int(m[2])) for m in found if m} if found and all(found) else None


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


def red_cause(
    months: Months, prefix: str, reasons: dict[str, str], *, writing: bool = False
) -> str:
    """Why posts near ``months`` (whose shards did not answer the writer's lookup) were
    spooled, with the cluster's ``reasons`` by month name where known; ``writing``: why posts
    of ``months`` were, whose writes the node answered that their primary is not active."""
    names = _month_names(prefix, months)
    by_reason: dict[str, list[str]] = {}
    for name in names:
        if reasons.get(name):
            by_reason.setdefault(reasons[name], []).append(name)
    said = [f"{', '.join(which)}: {reason}" for reason, which in by_reason.items()]
    why = "GET _cluster/allocation/explain says why"
    if said:
        why += f": {'; '.join(said)}; {advice(' '.join(by_reason))}"
    did, held = ("search", "posts that may be stored there are")
    if writing:
        did, held = "write to", "its posts are"
    return (
        f"Elasticsearch did not {did} {', '.join(names)} (a primary shard unassigned: the "
        f"cluster is red; {why}): {held} spooled until it answers, "
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
        self.waited: set[str] = set()  # months a lookup met starting, waited for once
        self.started: set[str] = set()  # those of them whose primaries started in the wait
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

    def explain(self, months: Months) -> None:
        """Ask why each of ``months`` (red) is not allocated, once a run per month."""
        with self.lock:
            for name in _month_names(self.prefix, months):
                if name not in self.reasons:
                    self.reasons[name] = unallocated_reason(self.es, name)

    def settle(self, months: Months) -> bool:
        """Wait, once a run per month, for those of ``months`` (whose shards did not answer a
        lookup) whose primary is not refused but still starting: a month another lane or
        process is creating, on a loaded node. Return whether one of ``months`` has started
        since (this lane's lookup, made before, is then asked again). Why the others are red
        is asked as :meth:`explain` does.

        Before, a lookup that met a month being created held that batch's posts as if the
        month were red (clean-clone CI on 2 cores: 1,000 of 2,001 posts of a re-score spooled,
        a backtest's history indexed with a day missing).
        """
        self.explain(months)
        names = _month_names(self.prefix, months)
        with self.lock:  # a lane creating the month holds it: its creation is waited for first
            starting = [
                name for name in names if self.reasons.get(name) is None and name not in self.waited
            ]
            if starting:
                self.waited.update(starting)
                for name in starting:  # asked again, if still red after the wait
                    self.reasons.pop(name, None)
                late = wait_for_primaries(self.es, starting)
                self.started.update(set(starting) - set(late))
            return any(name in self.started for name in names)

    def red_cause(self, months: Months, *, writing: bool = False) -> str:
        """:func:`red_cause` of ``months``, with the reasons :meth:`explain` found."""
        with self.lock:
            said = {name: reason for name, reason in self.reasons.items() if reason}
        return red_cause(months, self.prefix, said, writing=writing)

    def unanswering(self, indices: set[str]) -> dict[str, str]:
        """Of the months ``indices`` whose bulk items the node answered 503
        ``unavailable_shards_exception`` (no active primary within :data:`BULK_TIMEOUT`), those
        whose primary is still not active, each with the cause its posts are spooled for. One
        not refused (still starting) is waited for first, once a run, as :meth:`settle` waits;
        the others are to be sent again.

        Before, no bulk ``timeout`` was given: the node waited a minute for a month gone red
        mid-run, the client's 30 s timeout ran out first, and the whole chunk (every month's
        posts in it) was sent again until the retries ran out, then spooled with the rest of
        the run, saying "Connection timed out".
        """
        names = sorted(indices)
        self.settle(months_of(names) or set())
        still = {month_name(index) for index in starting_indices(self.es, names)}
        return {
            name: self.red_cause(months_of([name]) or set(), writing=True)
            for name in names
            if name in still
        }
