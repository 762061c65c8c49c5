"""Per-run source health: *blocked is not quiet*.

A crawl that was blocked (captcha, login wall, 403/412/432, ``ok: -100``) or that parsed pages
with nothing on them is marked so in ``$KOUBEI_HOME/health/<source>.json``; downstream stages
read that file and treat the source's missing volume as *unknown*, never as "no complaints".

Status, worst first:

``blocked``  block signals and nothing came through, or more pages blocked than parsed;
``degraded`` some pages failed (errors counted by reason, or a few blocked pages), or every
             feed entry's page this run asked for the first time was gone (404/410);
``empty``    no error and no block signal, yet the platform listed nothing at all (zero entries
             on every page): silently returning nothing; a feed answering 304 (unchanged
             since it was read whole) lists what it listed then, and is not nothing;
``ok``       every page parsed; ``items`` may be 0 on an incremental run with nothing new.
             A feed entry's page answering 404/410 is the site's dead link, counted under
             ``gone`` (not ``errors``) and alone no reason for another status.

A run that lost a page keeps the previous incremental state (``crawlers/pipelines/landing.py``),
so the next run re-reads from there; ``state_kept_since`` says since when every run has done so.
A page that never comes back keeps it forever, and whatever lies past that page is never
reached: the detection flow raises it once it has lasted a day (``detectors/operational.py``).
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from koubei import paths
from koubei.atomicfile import atomic_write
from koubei.log import get_logger
from koubei.timeutil import now

Status = Literal["ok", "empty", "degraded", "blocked"]
STAT_PREFIX = "koubei/"
STATUS_PREFIX = "downloader/response_status_count/"
log = get_logger(__name__)


@dataclass
class Health:
    source: str
    platform: str
    run_id: str
    status: Status
    alert: bool
    items: int
    pages: int
    entries: int
    known: int
    responses_by_status: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    blocked: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    #: Feed entries' pages that answered 404/410 (a site's dead links), by status; of those,
    #: ``gone_again`` were gone on an earlier run too; ``entry_pages``: every such page asked;
    #: ``gone_waiting``: pages that answered 404 on an earlier run, not asked by this one (their
    #: next ask is not due: :meth:`koubei.crawlers.state.CrawlState.missing_due`).
    gone: dict[str, int] = field(default_factory=dict)
    gone_again: int = 0
    entry_pages: int = 0
    gone_waiting: int = 0
    #: Feed entries' pages robots.txt refused on an earlier run (each refusal is counted under
    #: ``errors`` as ``robots_disallowed``), not asked by this one: they wait for their next
    #: ask as a 404 page does (:meth:`koubei.crawlers.state.CrawlState.note_refused`).
    robots_waiting: int = 0
    #: Answers of feeds the crawl state dropped on this run's save: feeds no longer in the
    #: source's ``feeds``, sitemaps no longer listed by their index (named in the log).
    feeds_dropped: int = 0
    #: Feed entries read before and dated anew by their feed (an edit), so read again; of
    #: their pages, those found unchanged and not landed again, by how: ``not_modified`` (the
    #: page answered 304 to the validators it gave last) and ``same_text`` (it answered 200
    #: with what was landed from it before); and ``feed_not_modified``: feeds and sitemaps
    #: that answered 304 to what they answered when read whole last (their entries not
    #: looked at again, so neither counted in ``pages``/``entries`` nor ``gone_waiting``).
    edited: int = 0
    unchanged: dict[str, int] = field(default_factory=dict)
    #: Pages landed again though their text is unchanged, by why: ``brands_changed`` (the
    #: brands it names under ``brands.yaml`` now are not those it landed with);
    #: ``brands_yaml_changed``: a post, comment or review landed before under other brands
    #: and met again (``BaseSpider.read_as_of``), landed with the brands it names now.
    relanded: dict[str, int] = field(default_factory=dict)
    #: Records landed naming no configured brand, with ``brands`` empty: a page landed before
    #: that no longer names one (an edit, or a brand removed from ``brands.yaml``), so its
    #: stored post stops counting for the brand.
    off_brands: int = 0
    items_per_page: float = 0.0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    landing_file: str | None = None
    finished_at: str = field(default_factory=lambda: now().isoformat())
    reason: str = ""
    worker: str = ""
    state_kept: bool = False
    #: When the run's crawl started (ISO, UTC); orders runs whatever their ids.
    started_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _group(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: int(v) for k, v in stats.items() if k.startswith(prefix)}


def assess(source: str, platform: str, run_id: str, stats: dict[str, Any]) -> Health:
    """Classify one run from its Scrapy stats (``koubei/*`` keys set by the spider base)."""
    items = int(stats.get(f"{STAT_PREFIX}items", 0))
    pages = int(stats.get(f"{STAT_PREFIX}pages", 0))
    entries = int(stats.get(f"{STAT_PREFIX}entries", 0))
    known = int(stats.get(f"{STAT_PREFIX}known", 0))
    errors = _group(stats, f"{STAT_PREFIX}errors/")
    blocked = _group(stats, f"{STAT_PREFIX}blocked/")
    dropped = _group(stats, f"{STAT_PREFIX}dropped/")
    gone = _group(stats, f"{STAT_PREFIX}gone/")
    gone_again = int(stats.get(f"{STAT_PREFIX}gone_again", 0))
    entry_pages = int(stats.get(f"{STAT_PREFIX}entry_pages", 0))
    gone_waiting = int(stats.get(f"{STAT_PREFIX}gone_waiting", 0))
    edited = int(stats.get(f"{STAT_PREFIX}edited", 0))
    unchanged = _group(stats, f"{STAT_PREFIX}unchanged/")
    status, reason = _classify(
        items,
        pages,
        entries,
        errors,
        blocked,
        _all_gone(gone, gone_again, entry_pages),
        unchanged.get("feed_not_modified", 0),
    )
    return Health(
        source=source,
        platform=platform,
        run_id=run_id,
        status=status,
        alert=status != "ok",
        items=items,
        pages=pages,
        entries=entries,
        known=known,
        responses_by_status=_group(stats, STATUS_PREFIX),
        errors=errors,
        blocked=blocked,
        dropped=dropped,
        gone=gone,
        gone_again=gone_again,
        entry_pages=entry_pages,
        gone_waiting=gone_waiting,
        robots_waiting=int(stats.get(f"{STAT_PREFIX}robots_waiting", 0)),
        feeds_dropped=int(stats.get(f"{STAT_PREFIX}feeds_dropped", 0)),
        edited=edited,
        unchanged=unchanged,
        relanded=_group(stats, f"{STAT_PREFIX}relanded/"),
        off_brands=int(stats.get(f"{STAT_PREFIX}off_brands", 0)),
        items_per_page=round(entries / pages, 2) if pages else 0.0,
        elapsed_s=round(float(stats.get("elapsed_time_seconds") or 0.0), 3),
        landing_file=stats.get(f"{STAT_PREFIX}landing_file"),
        reason=reason,
        state_kept=bool(stats.get(f"{STAT_PREFIX}state_kept")),
    )


def _all_gone(gone: dict[str, int], gone_again: int, entry_pages: int) -> dict[str, int]:
    """``gone`` when every feed entry's page this run asked for the first time was gone
    (404/410), else ``{}``.

    Dead links among pages that answered are the site's (a removed article, a sitemap not
    pruned); no new page answering is a site moved or links built wrong, and must not read
    ``ok``. Pages gone on an earlier run too, asked again until they have stayed so for a
    day, are left out: they would repeat it on every run.

    Examples
    --------
    >>> _all_gone({"http_404": 3}, 0, 1000), _all_gone({"http_404": 3}, 3, 3)
    ({}, {})
    >>> _all_gone({"http_404": 2, "http_410": 1}, 1, 3)
    {'http_404': 2, 'http_410': 1}
    """
    new = sum(gone.values()) - gone_again
    return gone if new > 0 and new >= entry_pages - gone_again else {}


def _classify(
    items: int,
    pages: int,
    entries: int,
    errors: dict[str, int],
    blocked: dict[str, int],
    gone: dict[str, int] | None = None,
    feeds_unchanged: int = 0,
) -> tuple[Status, str]:
    """The run's status and why; ``gone``: the dead pages, when they were all (_all_gone);
    ``feeds_unchanged``: feeds that answered 304, listing what they did when read whole."""
    n_blocked, n_errors = sum(blocked.values()), sum(errors.values())
    if n_blocked and (items == 0 or n_blocked > pages):
        return "blocked", f"blocked responses: {blocked}"
    if n_blocked or n_errors or gone:
        all_gone = f"; every new entry page gone: {gone}" if gone else ""
        return "degraded", f"errors: {errors}; blocked: {blocked}{all_gone}"
    if entries == 0 and items == 0 and not feeds_unchanged:
        return "empty", f"no entries on {pages} parsed page(s)"
    return "ok", ""


_SUMMED = (
    "items",
    "pages",
    "entries",
    "known",
    "cpu_s",
    "gone_again",
    "entry_pages",
    "gone_waiting",
    "robots_waiting",
    "feeds_dropped",
    "edited",
    "off_brands",
)
_COUNTERS = ("responses_by_status", "errors", "blocked", "dropped", "gone", "unchanged", "relanded")


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One source's health for a run shared by several worker processes (Redis scheduler):
    counts summed, the status judged again on the sums (one worker's blocked pages beside
    another's good ones is ``degraded``, not whichever finished last)."""
    parts = sorted(parts, key=lambda p: str(p.get("worker", "")))
    merged = dict(parts[0])
    for key in _SUMMED:
        merged[key] = sum(p.get(key) or 0 for p in parts)
    merged["cpu_s"] = round(merged["cpu_s"], 3)
    for key in _COUNTERS:
        total: dict[str, int] = {}
        for part in parts:
            for name, count in (part.get(key) or {}).items():
                total[name] = total.get(name, 0) + int(count)
        merged[key] = total
    merged["elapsed_s"] = max(float(p.get("elapsed_s") or 0) for p in parts)
    merged["finished_at"] = max(str(p.get("finished_at", "")) for p in parts)
    merged["items_per_page"] = (
        round(merged["entries"] / merged["pages"], 2) if merged["pages"] else 0.0
    )
    merged["state_kept"] = any(p.get("state_kept") for p in parts)
    merged["started_at"] = min((str(p.get("started_at") or "") for p in parts), default="")
    merged["workers"] = [str(p.get("worker", "")) for p in parts]
    merged["landing_files"] = [p["landing_file"] for p in parts if p.get("landing_file")]
    merged["landing_file"] = merged["landing_files"][0] if merged["landing_files"] else None
    gone = _all_gone(merged["gone"], merged["gone_again"], merged["entry_pages"])
    merged["status"], merged["reason"] = _classify(
        merged["items"],
        merged["pages"],
        merged["entries"],
        merged["errors"],
        merged["blocked"],
        gone,
        merged["unchanged"].get("feed_not_modified", 0),
    )
    merged["alert"] = merged["status"] != "ok"
    merged.pop("worker", None)
    return merged


def _started_before(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether run ``one`` started before run ``other``: by their start times where both have
    one, else by run id (timestamp ids sort by time).

    Ordering by run id alone froze a source's health for good after one run with a chosen id
    (``--run-id manual``): ``"manual" > "20261203T…"``, so every later run's health was taken
    for a late part of an older run and dropped.
    """
    try:
        started = [datetime.fromisoformat(str(h.get("started_at") or "")) for h in (one, other)]
    except ValueError:
        return str(one.get("run_id", "")) < str(other.get("run_id", ""))
    return started[0] < started[1]


def health_path(source: str) -> Path:
    return paths.state_dir("health") / f"{source}.json"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with atomic_write(path) as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)


def write_health(health: Health) -> Path:
    """Record one process's health and rewrite ``$KOUBEI_HOME/health/<source>.json``.

    Each process of a run leaves its part in ``health/<source>/<run_id>.<worker>.json``; the
    source's file is the :func:`merge` of every part of the latest run, rebuilt under a lock so
    two workers finishing together cannot drop each other's counts. Parts of older runs are
    removed once a newer run writes.
    """
    path = health_path(health.source)
    parts_dir = path.parent / health.source
    parts_dir.mkdir(exist_ok=True)
    _write_json(parts_dir / f"{health.run_id}.{health.worker or '0'}.json", health.to_dict())
    with open(parts_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_health(health.source)
        mine = health.to_dict()
        if current and current.get("run_id") != health.run_id and _started_before(mine, current):
            return path  # a newer run already reported; this late part does not replace it
        parts = []
        for part in sorted(parts_dir.glob("*.json")):
            data = _read_json(part)
            if data is None:  # damaged (a full disk, a hand edit): it cannot be merged
                part.unlink(missing_ok=True)
            elif data.get("run_id") == health.run_id:
                parts.append(data)
            elif _started_before(data, mine):
                part.unlink(missing_ok=True)
        merged = merge(parts)
        # The last run that brought posts (ok or degraded), kept across blocked runs: how fresh
        # the source's data is (the alert says so per source).
        delivered = merged.get("status") in ("ok", "degraded")
        last_ok = merged.get("finished_at") if delivered else (current or {}).get("last_ok_at")
        # Since when every run has kept the crawl state (a lost page each time), carried
        # across runs; a run that saved its state clears it.
        kept_since = None
        if merged["state_kept"]:
            kept_since = (current or {}).get("state_kept_since") or merged.get("finished_at")
        _write_json(path, {**merged, "last_ok_at": last_ok, "state_kept_since": kept_since})
    return path


def read_health(source: str) -> dict[str, Any] | None:
    """The last run's health of ``source``, or None if it never ran."""
    return _read_json(health_path(source))


def _read_json(path: Path) -> dict[str, Any] | None:
    """A health file's object; None if it is missing or damaged.

    A damaged file (cut short by a full disk, edited by hand) used to raise in every later
    crawl of the source at its very end, after landing: the crawl reported ``crawler_failed``
    with no landing file, and the next run the same, for good. It is rewritten by the next
    :func:`write_health`.
    """
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        _check_shape(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON too deep
        log.warning("health file unreadable, ignored", file=str(path), why=str(exc)[:200])
        return None
    return data


#: Health fields by kind (:class:`Health`, and the source file's own ``last_ok_at`` and
#: ``state_kept_since``), as every reader takes them.
_TIMES = ("finished_at", "started_at", "last_ok_at", "state_kept_since")
_COUNTS = {f.name for f in fields(Health) if f.type == "int"}
_NUMBERS = {f.name for f in fields(Health) if f.type == "float"}
_BY_NAME = {f.name for f in fields(Health) if f.type == "dict[str, int]"}


def _check_shape(data: Any) -> None:
    """Raise ValueError unless ``data`` is a health record whose values are of their kinds.

    A value of the wrong kind (a hand edit, a file of another version) passed as a record:
    every cycle's source check then raised at it (``finished_at`` 5, ``items`` "abc"), and a
    bad ``state_kept_since`` was carried into each later run's file, so the cycle stopped
    there for good; a bad part of a run stopped the merge of its workers' parts.
    """
    if not isinstance(data, dict) or not isinstance(data.get("source"), str):
        raise ValueError("not an object with a 'source'")
    for key in _TIMES:
        value = data.get(key)
        if (value is None and key != "finished_at") or (value == "" and key == "started_at"):
            continue
        try:
            datetime.fromisoformat(value if isinstance(value, str) else "?")
        except ValueError:
            raise ValueError(f"{key!r} is {value!r:.80}, not an ISO time") from None
    for key, value in data.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if (
            (key in _COUNTS and not (number and isinstance(value, int)))
            or (key in _NUMBERS and not number)
            or (key in _BY_NAME and not _counts(value))
            or (
                key in ("status", "source", "platform", "run_id", "worker", "reason")
                and not isinstance(value, str)
            )
        ):
            raise ValueError(f"{key!r} is {value!r:.80}")


def _counts(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value.values()
    )


def all_health() -> list[dict[str, Any]]:
    """Every source's last health, e.g. for an operational alert on ``alert: true`` entries."""
    folder = paths.state_dir("health")
    found = (_read_json(p) for p in sorted(folder.glob("*.json")))
    return [data for data in found if data is not None]


def stamp() -> str:
    """A run id: sortable UTC-ish timestamp of the crawl start."""
    return datetime.now().strftime("%Y%m%dT%H%M%S%f")
