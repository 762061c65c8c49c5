"""Near-duplicate clusters with MinHash LSH (datasketch).

Copies and templated reposts share a ``dup_cluster`` id; nothing is deleted, so volume counts can
choose unique (one per cluster) or all. The LSH index and the cluster of every key seen so far are
persisted under ``state_dir`` so that a later batch joins clusters made by an earlier one.

Shingles are character 3-grams of the cleaned text with whitespace, punctuation, digits and
latin letters removed: templated reposts differ in exactly those (order numbers, handles, links).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from datasketch import MinHash, MinHashLSH

__all__ = ["NUM_PERM", "THRESHOLD", "DedupIndex", "assign_duplicate_clusters", "shingles"]

NUM_PERM = 64
THRESHOLD = 0.7  # estimated Jaccard similarity of shingle sets that makes two texts one cluster
SHINGLE = 3
STATE_FILE = "minhash_lsh.pickle"
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
    return MinHash(num_perm=NUM_PERM, seed=1).permutations


def _minhash(tokens: set[str]) -> MinHash:
    mh = MinHash(num_perm=NUM_PERM, seed=1, permutations=_permutations())
    mh.update_batch([t.encode("utf-8") for t in tokens])
    return mh


def _record_key(record: dict[str, Any], text: str) -> str:
    if record.get("id"):
        return str(record["id"])
    return "sha1:" + hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()


class DedupIndex:
    """MinHash LSH plus the cluster id of every inserted key; picklable as one state file."""

    def __init__(self) -> None:
        self.lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        self.cluster_of: dict[str, str] = {}

    @classmethod
    def load(cls, state_dir: Path | None) -> DedupIndex:
        """The persisted index under ``state_dir``, or a new empty one."""
        if state_dir is not None:
            path = Path(state_dir) / STATE_FILE
            if path.exists():
                with open(path, "rb") as handle:
                    loaded = pickle.load(handle)
                if isinstance(loaded, cls):
                    return loaded
        return cls()

    def save(self, state_dir: Path) -> None:
        """Write atomically (temp file + rename) so a crash never leaves a torn state file."""
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".lsh.", dir=state_dir)
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, state_dir / STATE_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def assign(self, key: str, text: str) -> str:
        """The cluster id for ``key``: its earlier cluster, a near-duplicate's, or a new one."""
        if key in self.cluster_of:
            return self.cluster_of[key]
        tokens = shingles(text)
        if not tokens:
            cluster = "dup:" + key
            self.cluster_of[key] = cluster
            return cluster
        mh = _minhash(tokens)
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
        Document records; ``text_clean`` is used, falling back to ``text_raw``.
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
    for record in records:
        text = record.get("text_clean") or record.get("text_raw") or ""
        if not isinstance(text, str):
            text = str(text)
        record["dup_cluster"] = index.assign(_record_key(record, text), text)
    if state_dir is not None:
        index.save(Path(state_dir))
    return records
