"""The ``koubei index|search|kibana`` commands, run as a user would (subprocess, real node)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from elasticsearch import Elasticsearch

from koubei.jsonl import write_atomic

MakeRecord = Callable[..., dict[str, Any]]


def koubei(*args: str, es_url: str, home: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_ES_")}
    env.update(KOUBEI_ES_URL=es_url, KOUBEI_HOME=home)
    command = [str(Path(sys.executable).parent / "koubei"), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_load_then_search_from_the_terminal(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    make_record: MakeRecord,
    tmp_path: Path,
) -> None:
    landing = tmp_path / "posts.jsonl"
    write_atomic(landing, (make_record(i) for i in range(40)))
    loaded = koubei("index", "load", str(landing), "--prefix", index_prefix,
                    es_url=es_url, home=koubei_home)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    report = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert (report["sent"], report["created"], report["failed"]) == (40, 40, 0)
    es.indices.refresh(index=f"{index_prefix}-posts")

    query = ["退款", "--brand", "奶茶乙", "--label", "negative", "--json", "-n", "50"]
    found = koubei("search", *query, "--prefix", index_prefix, es_url=es_url, home=koubei_home)
    assert found.returncode == 0, found.stderr
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert {h["id"] for h in hits} == {f"weibo:{i}" for i in range(40) if i % 2 and i % 3 == 0}
    assert all(h["_highlights"] for h in hits)

    text = koubei("search", "--brand", "奶茶甲", "-n", "3", "--prefix", index_prefix,
                  es_url=es_url, home=koubei_home)  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert "weibo.example/38" in text.stdout and text.stdout.rstrip().endswith("-- 3 post(s)")


def test_kibana_link_prints_a_discover_deep_link(es_url: str, koubei_home: str) -> None:
    linked = koubei("kibana", "link", "--url", "http://kb:5601", "--brand", "奶茶甲",
                    "--label", "negative", "--start", "2026-11-20T12:00",
                    "--end", "2026-11-20T13:00", es_url=es_url, home=koubei_home)  # fmt: skip
    assert linked.returncode == 0, linked.stderr
    url = unquote(linked.stdout.strip())
    assert url.startswith("http://kb:5601/app/discover#/?_g=(time:(from:'2026-11-20T04:00")
    assert 'brands:"奶茶甲" and sentiment.label:"negative"' in url
