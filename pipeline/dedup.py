"""Near-duplicate clusters with MinHash LSH (datasketch).

Copies and templated reposts share a ``dup_cluster`` id; nothing is deleted, so volume counts can
choose unique (one per cluster) or all. The LSH index and the cluster of every key seen in the last
``RETENTION_SECONDS`` are persisted under ``state_dir`` so that a later batch joins clusters made
by an earlier one. Older keys are dropped when the state is loaded (so they never match, and the
batch's save leaves them out): the whole state is read and written once per batch, so a monitor
that kept every post it ever saw would spend longer on it every day, while copies and templated
reposts of a post arrive within hours or days of it.

Shingles are character 3-grams of the cleaned text with whitespace, punctuation, digits and
latin letters removed: templated reposts differ in exactly those (order numbers, handles, links).

A text's ``signature`` (its MinHash values) is a pure function of the text, so worker processes
compute it beside cleaning and scoring; only the LSH lookup and insert, whose state spans batches,
run in one place.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from koubei.atomicfile import atomic_write
from koubei.log import get_logger
from koubei.pipeline.clean import analysed_text
from koubei.timeutil import now

log = get_logger(__name__)

__all__ = [
    "NUM_PERM",
    "THRESHOLD",
    "DedupIndex",
    "Signature",
    "assign_duplicate_clusters",
    "record_text",
    "shingles",
    "signature",
]

NUM_PERM = 64
THRESHOLD = 0.7  # estimated Jaccard similarity of shingle sets that makes two texts one cluster
SHINGLE = 3
STATE_FILE = "minhash_lsh.pickle"
#: keys not seen (inserted, or met again by a re-run) for this long leave the index on load
RETENTION_SECONDS = 7 * 86400
_NOISE = re.compile(r"[\sA-Za-z0-9_\W]+")


def shingles(text: str) -> set[str]:
    """Character ``SHINGLE``-grams of ``text`` with noise removed (the whole text if shorter)."""
    core = _NOISE.sub("", text)
    if not core:
        core = text.strip()
    if len(core) <= SHINGLE:
        return {core} if core else set()
    return {core[i : i + SHINGLE] for i in range(len(core) - SHINGLE + 1)}


@lru_cache(maxsize=1)
def _permutations() -> Any:
    # Drawing the permutations is most of a new MinHash's cost; they depend only on the seed.
    return MinHash(num_perm=NUM_PERM, seed=SEED).permutations


# MinHash values of a text's shingles; None for a text with no shingles (its own cluster).
Signature = np.ndarray | None
SEED = 1


def signature(text: str) -> Signature:
    """The MinHash values of ``text``'s shingles (pure; small enough to send between processes)."""
    tokens = shingles(text)
    if not tokens:
        return None
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_permutations())
    mh.update_batch([t.encode("utf-8") for t in tokens])
    return mh.hashvalues


def record_text(record: dict[str, Any]) -> str:
    """The text a record is clustered on (``koubei.pipeline.clean.analysed_text``): a record
    left with no text by cleaning has no shingles, so it is a cluster of its own."""
    return analysed_text(record)


def _record_key(record: dict[str, Any], text: str) -> str:
    if record.get("id"):
        return str(record["id"])
    return "sha1:" + hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()


class DedupIndex:
    """MinHash LSH plus the cluster id of every recent key; picklable as one state file.

    A cluster id outlives its first member: a copy that arrives after the first post left the
    index still joins the cluster through any member that is left. A re-run of a record older
    than the retention may get a new cluster id (its cluster is gone from the index).
    """

    def __init__(self) -> None:
        self.lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        self.cluster_of: dict[str, str] = {}
        self.last_seen: dict[str, float] = {}  # key → unix time it was last assigned

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a state file written before `last_seen` existed: its keys count as seen on load
        self.__dict__.update(state)
        if "last_seen" not in state:
            at = now().timestamp()
            self.last_seen = dict.fromkeys(self.cluster_of, at)

    @classmethod
    def load(cls, state_dir: Path | None) -> DedupIndex:
        """The persisted index under ``state_dir`` (without keys past the retention), or a new
        empty one."""
        if state_dir is not None:
            path = Path(state_dir) / STATE_FILE
            if path.exists():
                try:
                    with open(path, "rb") as handle:
                        loaded = pickle.load(handle)
                except Exception as exc:  # any unpickling failure, see below
                    # Damaged on disk, or written by another version of datasketch/numpy that
                    # this one cannot unpickle: every run would stop here, for good. Keep the
                    # file for a look, start a new index (near-duplicates of posts seen before
                    # now get new cluster ids: clusters restart, processing goes on).
                    aside = path.with_name(f"{path.name}.unreadable-{os.getpid()}")
                    os.replace(path, aside)
                    log.error(
                        "dedup state unreadable, moved aside; near-duplicate clusters restart",
                        file=str(path), moved_to=str(aside), error=f"{type(exc).__name__}: {exc}",
                    )  # fmt: skip
                    return cls()
                if isinstance(loaded, cls):
                    loaded.prune(now().timestamp() - RETENTION_SECONDS)
                    return loaded
        return cls()

    def prune(self, older_than: float) -> int:
        """Drop the keys last seen before unix time ``older_than``; how many were dropped."""
        stale = [key for key, at in self.last_seen.items() if at < older_than]
        for key in stale:
            if key in self.lsh:  # a key without text has no LSH entry
                self.lsh.remove(key)
            del self.cluster_of[key], self.last_seen[key]
        return len(stale)

    def save(self, state_dir: Path) -> None:
        """Write atomically (temp file + rename) so a crash never leaves a torn state file."""
        with atomic_write(Path(state_dir) / STATE_FILE, binary=True) as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def assign_records(
        self, records: list[dict[str, Any]], signatures: list[Signature] | None = None
    ) -> None:
        """Set ``dup_cluster`` on each record, in order (see ``assign_duplicate_clusters``)."""
        if signatures is not None and len(signatures) != len(records):
            raise ValueError(f"{len(signatures)} signatures for {len(records)} records")
        at = now().timestamp()
        for number, record in enumerate(records):
            text = record_text(record)
            key = _record_key(record, text)
            if key in self.cluster_of:  # re-run: skip the MinHash work
                record["dup_cluster"] = self.cluster_of[key]
                self.last_seen[key] = at
                continue
            known = signatures[number] if signatures is not None else signature(text)
            record["dup_cluster"] = self.assign(key, known, at)

    def assign(self, key: str, signature: Signature, at: float | None = None) -> str:
        """The cluster id for ``key``: its earlier cluster, a near-duplicate's, or a new one.

        ``signature`` is ``signature(text)`` of the key's text; ``at`` (unix time, default now)
        is when it was seen, for the retention.
        """
        self.last_seen[key] = now().timestamp() if at is None else at
        if key in self.cluster_of:
            return self.cluster_of[key]
        if signature is None:
            cluster = "dup:" + key
            self.cluster_of[key] = cluster
            return cluster
        mh = LeanMinHash(seed=SEED, hashvalues=signature)
        candidates = sorted(self.lsh.query(mh))
        # Deterministic choice when several clusters match: the smallest cluster id.
        cluster = min((self.cluster_of[c] for c in candidates), default="dup:" + key)
        self.lsh.insert(key, mh)
        self.cluster_of[key] = cluster
        return cluster


def assign_duplicate_clusters(
    records: list[dict[str, Any]], state_dir: Path | None = None
) -> list[dict[str, Any]]:
    """Set ``dup_cluster`` on each record (in place) and return the list.

    Parameters
    ----------
    records : list of dict
        Document records; their ``text_clean`` is used (``text_raw`` if never cleaned).
    state_dir : Path, optional
        Where the LSH state lives. Without it clustering covers this batch only.

    Returns
    -------
    list of dict
        The same records. The cluster id is ``"dup:" + <id of the first member seen>``; a record
        with no near-duplicate gets a cluster of its own, so ``dup_cluster`` is never None and
        "unique" counts are distinct ``dup_cluster`` values. Re-running a record keeps its cluster.
    """
    index = DedupIndex.load(state_dir)
    index.assign_records(records)
    if state_dir is not None:
        index.save(Path(state_dir))
    return records
