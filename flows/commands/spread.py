"""``koubei spread POST_ID``: how one post's cascade spread — summary, paths, accounts, pictures.

Reads the cascade from Elasticsearch (``<prefix>-posts``), or with ``--file landing.jsonl``
from a file of Document records without ES (then POST_ID is optional: the largest cascade of
the file is shown). Pictures go to ``--out`` (default ``$KOUBEI_HOME/spread/<post id>``, and
``$KOUBEI_HOME/spread/file-<folder>-<name>`` for a whole ``--file``: the name of its folder and
its own without the extension, so two files do not overwrite each other's pictures).
``--json`` prints the full evidence an alert would carry.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from koubei.flows import options
from koubei.flows.commands.search import one_line


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("spread", help="cascade summary, spread paths and pictures")
    parser.add_argument("post_id", nargs="?", help="any post of the cascade (e.g. weibo:123)")
    parser.add_argument("--file", type=Path, help="analyse records from a JSONL file, not ES")
    parser.add_argument(
        "--out",
        type=options.output_dir,
        help="directory for the PNG pictures (default $KOUBEI_HOME/spread/<post id>, or "
        "$KOUBEI_HOME/spread/file-<folder>-<name> for a whole --file: its folder's name and its "
        "own without the extension)",
    )
    parser.add_argument("--no-pictures", action="store_true", help="skip drawing")
    parser.add_argument(
        "--top",
        type=options.positive_int,  # -1 sliced off the last account: every account but one
        default=5,
        help="key accounts and themes to show (default 5)",
    )
    parser.add_argument("--json", action="store_true", help="print the evidence as JSON")
    options.add_prefix(parser)
    parser.set_defaults(func=run)


# The shapes the spread code reads a record's fields as. A --file may hold partial records (no
# platform or source), so this checks only these, not the whole Document model. Nested fields
# are named by their path; a list's items by ``[]`` (a dict or list where the code hashes a
# value, such as an author name or a mention, was a TypeError traceback).
_FIELD_KINDS: dict[str, tuple[type, ...]] = {
    "author": (dict,),
    "author.id": (str, int),
    "author.name": (str, int),
    "author.followers": (int, float, str),
    "engagement": (dict,),
    "sentiment": (dict,),
    "sentiment.label": (str,),
    "extra": (dict,),
    "extra.repost_chain": (list,),
    "extra.repost_chain[]": (str, int),
    "mentions": (list,),
    "mentions[]": (str,),
    "brands": (list,),
    "brands[]": (str,),
    "terms": (list,),
    "terms[]": (str,),
    "text_raw": (str,),
    "text_clean": (str,),
    "created_at": (str,),
    "crawled_at": (str,),
    "id": (str, int),
    "parent_id": (str, int),
    "root_id": (str, int),
    "platform": (str,),
    "kind": (str,),
    "relation": (str,),
    "url": (str,),
    "dup_cluster": (str, int),
}


_KIND_NAMES: dict[type, str] = {dict: "an object", list: "a list"}


def _shape_error(item: dict[str, Any]) -> str | None:
    """The first field of ``item`` the spread code would misread, as a message, else None."""
    for name, kinds in _FIELD_KINDS.items():
        each = name.endswith("[]")
        path = name.removesuffix("[]")
        value: Any = item
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if each and not isinstance(value, list):
            continue
        for one in value if each else [value]:
            if one is not None and (not isinstance(one, kinds) or isinstance(one, bool)):
                wanted = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
                where = f"items of {path!r}" if each else f"field {name!r}"
                return f"{where} must be {wanted}, got {type(one).__name__}"
    return None


def _read_records(path: Path, progress: bool = False) -> list[dict[str, Any]]:
    """The file's records; a line that is no JSON object, has no ``id`` or has a field of the
    wrong shape is one error naming ``file:line`` and the field; a ``created_at`` that is no
    time (``yesterday``, year 10000 in China) is read as unknown and one stderr note names the
    first and counts them. ``progress``: a count of the posts read at a terminal (100k took
    about 8 s)."""
    from tqdm import tqdm

    from koubei import jsonl
    from koubei.analysis.spread.cascade import parse_time
    from koubei.errors import KoubeiError

    records = []
    untimed: list[tuple[int, Any]] = []  # (line, created_at) of times that are no time
    bar = tqdm(desc=f"spread: read {path.name}", unit="post", disable=not progress, leave=False)
    with bar:
        for number, item in jsonl.read_lines(path):
            bar.update(1)
            if isinstance(item, jsonl.BadLine):
                raise KoubeiError(f"{path}:{number}: {item.reason}")
            problem = _shape_error(item)
            if item.get("id") is None or item.get("id") == "":
                # The one field a post needs to be placed: a file of such records was shown as an
                # empty cascade ("source None", exit 0), a few among others dropped unnamed.
                problem = "no 'id' (a post's '<platform>:<native id>')"
            if problem:
                raise KoubeiError(f"{path}:{number}: {problem}")
            created = item.get("created_at")
            if created not in (None, "") and parse_time(created) is None:
                untimed.append((number, created))
            records.append(item)
    if untimed:
        # read as unknown (the analysis goes on), but said: a root post's 'yesterday' turned
        # an ACCELERATING cascade into "not accelerating", its source's time None, unsaid
        line, created = untimed[0]
        more = f" (and {len(untimed) - 1} more)" if len(untimed) > 1 else ""
        print(
            f"note: {path}:{line}: created_at {created!r} is no time{more}: read as unknown, "
            "left out of the timing and the source's time",
            file=sys.stderr,
        )
    return records


def _from_file(path: Path, post_id: str | None, progress: bool = False) -> list[dict[str, Any]]:
    from koubei.analysis.spread.cascade import build_cascades
    from koubei.analysis.spread.virality import bfs_order

    records = _read_records(path, progress)
    if post_id is None:
        return records
    G = build_cascades(records)
    if post_id not in G:
        return []
    root = post_id
    while G.in_degree(root):
        root = next(iter(G.predecessors(root)))
    members = set(bfs_order(G, root))
    # Nodes are ids as text (build_cascades); a file may hold numbers.
    return [r for r in records if str(r.get("id")) in members]


def _from_es(post_id: str, prefix: str | None) -> list[dict[str, Any]]:
    from elasticsearch import NotFoundError

    from koubei.flows.commands.index import no_index
    from koubei.pipeline.index import cascade_reads
    from koubei.pipeline.index.client import check_cluster, client_from_env, index_prefix

    prefix = prefix or index_prefix()  # a bad KOUBEI_INDEX_PREFIX before any cluster
    es = client_from_env()
    limit = cascade_reads.CASCADE_MAX_POSTS
    try:
        check_cluster(es)  # unreachable, not Elasticsearch, credentials: one line naming it
        records = cascade_reads.fetch_cascade(es, prefix, post_id, max_docs=limit + 1)
    except NotFoundError:  # was "cannot read posts: NotFoundError(404, ...)"
        raise no_index(prefix) from None
    finally:
        es.close()
    if len(records) > limit:
        # Its oldest posts alone: a bigger cascade was shown as one of exactly the cap's size,
        # its newest posts (the spread going on) missing, and nothing said so.
        print(
            f"koubei spread: the cascade of {post_id} has more than {limit:,} posts: "
            f"shown are its {limit:,} oldest",
            file=sys.stderr,
        )
    return records[:limit]


def run(args: argparse.Namespace) -> int:
    from koubei import paths
    from koubei.errors import KoubeiError

    if args.file is None and not args.post_id:
        raise KoubeiError("spread: give a POST_ID, or --file landing.jsonl")
    from elasticsearch import ApiError, TransportError

    from koubei.pipeline.index.client import ESConfigError

    try:
        records = (
            _from_file(args.file, args.post_id, progress=options.progress_bars())
            if args.file
            else _from_es(args.post_id, args.prefix)
        )
    except (OSError, ValueError, ESConfigError, ApiError, TransportError) as exc:
        # Through the CLI's one-line error, which redacts: the message may quote an ES URL.
        raise KoubeiError(f"cannot read posts: {exc}") from exc
    if not records:
        print(f"no posts found for {args.post_id or args.file}", file=sys.stderr)
        return 1
    out = None
    if not args.no_pictures:
        # a folder per post, or per file for a whole file (one "file" folder for every file:
        # the second file's pictures replaced the first's), named by its folder too (landing
        # files of two sources have the same name: landing/weibo/<time>.jsonl, landing/xhs/...);
        # path_part keeps odd names inside
        name = args.post_id or f"file-{args.file.resolve().parent.name}-{args.file.stem}"
        out = args.out or paths.state_dir("spread") / paths.path_part(name)
    evidence = _evidence(records, out, args.top, progress=options.progress_bars())
    if args.json:
        print(json.dumps(evidence, ensure_ascii=False, indent=2, default=str))
    else:
        print(render(evidence))
    return 0


def _evidence(
    records: list[dict[str, Any]], out: Path | None, top: int, progress: bool
) -> dict[str, Any]:
    """incident_evidence with its stages shown at a terminal (nothing in a pipe or cron mail):
    100k posts took about 20 s without a word."""
    from tqdm import tqdm

    from koubei.analysis.spread.evidence import STAGES, incident_evidence

    stages = len(STAGES) - (out is None)
    with tqdm(total=stages, unit="step", disable=not progress, leave=False) as bar:
        begun: list[str] = []

        def begin(name: str) -> None:
            if begun:  # the stage before is done
                bar.update(1)
            begun.append(name)
            bar.set_description_str(f"spread: {name} ({len(records):,} posts)")

        return incident_evidence(records, picture_dir=out, top=top, on_stage=begin)


def _share(share: float | None) -> str:
    """The cascade's negative share, or why it has none (it printed ``None``)."""
    return "n/a (no post with an opinion)" if share is None else f"{share:.0%}"


def render(evidence: dict[str, Any]) -> str:
    """The evidence as a few readable lines for a terminal."""
    s = evidence["summary"]
    src = evidence["source"] or {}
    lines = [
        f"source      {src.get('id')}  @{src.get('author') or '?'}  "
        f"{src.get('time') or 'time unknown'}"
        + ("  (root not crawled: estimated)" if src.get("root_missing") else ""),
        f"            {one_line(src.get('text'))[:80]}",
        f"size        {s.get('size')} posts, depth {s.get('depth')}, "
        f"max breadth {s.get('max_breadth')}, "
        f"structural virality {s.get('structural_virality', 0):.2f}",
        f"timing      half in {_minutes(s.get('seconds_to_half'))}, "
        f"90% in {_minutes(s.get('seconds_to_90pct'))}, "
        f"{'ACCELERATING' if s.get('accelerating') else 'not accelerating'}",
        f"sentiment   negative share {_share(s.get('negative_share'))}, "
        f"platforms {', '.join(s.get('platforms') or [])}",
        f"coordination {evidence['coordination']['verdict']} "
        f"({evidence['coordination']['coordinated_share']:.0%} of posts flagged)",
        "spread paths:",
        *(f"  {' → '.join(path)}" for path in evidence["spread_path"]),
        "key accounts:",
        *(
            f"  {a['name'] or a['account']}  score {a['score']:.2f}  reach {a['reach']}  "
            f"{','.join(a['roles']) or '-'}"
            for a in evidence["key_accounts"]
        ),
        "complaint themes:",
        *(
            f"  [{t['posts']}] {t['name']}: {one_line(t['representative']['text'])[:60]}"
            for t in evidence["themes"]
        ),
    ]
    for kind, path in (evidence.get("pictures") or {}).items():
        lines.append(f"picture     {kind}: {path}")
    return "\n".join(lines)


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.0f} min"
