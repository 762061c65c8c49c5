"""How fresh each source's data is: from the index (latest crawl per source) and crawl health."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from koubei.config import Source
from koubei.flows.detect import source_freshness
from koubei.model import make_id
from koubei.pipeline.index.writer import index_records
from koubei.timeutil import CLOCK_ENV, DEFAULT_TZ
from tests.pipeline.conftest import processed
from tests.pipeline.index.conftest import build_record

AS_OF = datetime(2026, 11, 25, 12, 0, tzinfo=DEFAULT_TZ)


@pytest.mark.es
def test_freshness_per_source_from_index_and_health(
    es: Elasticsearch, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def post(
        i: int, source: str, crawled: datetime, brand: str = "鲜牧", *, exported: bool = False
    ) -> dict[str, object]:
        return build_record(
            i,
            id=make_id("weibo", i),
            native_id=str(i),
            source=source,
            brands=[brand],
            created_at=crawled - timedelta(minutes=30),
            crawled_at=None if exported else crawled,  # an export: posted then, never crawled
        )

    records = [
        post(1, "weibo-search", AS_OF - timedelta(minutes=50)),
        post(2, "weibo-search", AS_OF - timedelta(minutes=7)),  # the newest weibo crawl
        post(3, "dianping", AS_OF - timedelta(hours=3)),
        post(4, "dianping", AS_OF - timedelta(minutes=2), brand="北岭"),  # another brand's
        post(5, "weibo-search", AS_OF + timedelta(minutes=3)),  # after as_of: not yet known
        post(6, "douyin", AS_OF),  # crawled at as_of itself (a pinned clock): known then
    ]
    # An export of the last 3 days without crawl times, processed and loaded at as_of: before,
    # processing stamped them crawled then, and weibo-search and "export" read 0 minutes behind.
    monkeypatch.setenv(CLOCK_ENV, AS_OF.isoformat())
    exported = [
        post(10 * k + n, source, AS_OF - timedelta(days=n), exported=True)
        for k, source in enumerate(("weibo-search", "export"), start=1)
        for n in (1, 2, 3)
    ]
    records += processed(exported, koubei_home)
    index_records(es, records, prefix=index_prefix, refresh=True)
    health = [
        {
            "source": "dianping",
            "status": "blocked",
            "finished_at": "2026-11-25T11:55:00+08:00",
            "last_ok_at": "2026-11-25T09:00:00+08:00",
        },
        {"source": "weibo-search", "status": "ok", "finished_at": "2026-11-25T11:54:00+08:00"},
    ]
    sources = [
        Source(name="weibo-search", platform="weibo"),
        Source(name="dianping", platform="weibo", brands=["鲜牧"]),
        Source(name="xhs", platform="weibo", brands=["鲜牧"]),
        Source(name="other", platform="weibo", brands=["北岭"]),
    ]
    fresh = {
        f["source"]: f for f in source_freshness(es, index_prefix, "鲜牧", sources, health, AS_OF)
    }
    # "other" does not track 鲜牧; douyin brought it posts; "export" only posts never crawled
    assert sorted(fresh) == ["dianping", "douyin", "weibo-search", "xhs"]
    assert fresh["douyin"]["minutes_behind"] == 0
    assert fresh["weibo-search"]["minutes_behind"] == 7
    assert fresh["weibo-search"]["last_ok_at"] == "2026-11-25T11:54:00+08:00"  # its own ok run
    assert fresh["dianping"]["minutes_behind"] == 180
    assert (fresh["dianping"]["crawl_status"], fresh["dianping"]["last_ok_at"]) == (
        "blocked",
        "2026-11-25T09:00:00+08:00",
    )
    # Tracks the brand, brought nothing, never crawled: unknown, not "quiet".
    assert fresh["xhs"] == {
        "source": "xhs",
        "latest_crawled_at": None,
        "minutes_behind": None,
        "crawl_status": None,
        "last_crawl_at": None,
        "last_ok_at": None,
    }
    assert json.loads(json.dumps(list(fresh.values())))  # JSON-ready for the payload
