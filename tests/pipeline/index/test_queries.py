from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from elasticsearch import Elasticsearch

from koubei.model import from_record
from koubei.pipeline.index import post_reads, queries, rison
from koubei.pipeline.index.templates import posts_alias
from koubei.pipeline.index.writer import index_records
from koubei.timeutil import DEFAULT_TZ

from .conftest import BASE_TIME, build_record


@pytest.fixture(scope="module")
def loaded(es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """60 posts, one a minute from BASE_TIME; even ids brand 奶茶甲, every third negative.

    Two posts go into the next month (a second monthly index behind the alias). Loaded once
    for the module (the queries only read); the prefix is removed afterwards.
    """
    prefix = f"q{uuid.uuid4().hex[:10]}"
    records = [build_record(i) for i in range(60)]
    records.append(build_record(1000, created_at=datetime(2026, 12, 2, 10, tzinfo=DEFAULT_TZ)))
    records.append(build_record(1002, created_at=datetime(2026, 12, 2, 11, tzinfo=DEFAULT_TZ)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KOUBEI_HOME", str(tmp_path_factory.mktemp("home")))
        report = index_records(es, records, prefix=prefix)
    assert report.created == 62
    es.indices.refresh(index=posts_alias(prefix))
    yield prefix
    es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    for kind in ("posts", "alerts", "accounts", "cascades"):
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-{kind}")


def test_volume_series_zero_fills_and_counts_negatives(es: Elasticsearch, loaded: str) -> None:
    start = BASE_TIME - timedelta(minutes=20)
    end = BASE_TIME + timedelta(minutes=40)
    bins = queries.volume_series(es, loaded, "奶茶甲", start, end, 600)
    assert [b.start for b in bins] == [start + timedelta(minutes=10 * k) for k in range(6)]
    assert bins[0].start.tzinfo == DEFAULT_TZ
    # minutes 0..39 hold ids 0..39; even ids are 奶茶甲; negatives are ids divisible by 3 (so 6).
    assert [b.total for b in bins] == [0, 0, 5, 5, 5, 5]
    assert [b.negative for b in bins] == [0, 0, 2, 2, 1, 2]
    assert sum(b.negative for b in bins) == len([i for i in range(0, 40, 2) if i % 3 == 0])


def test_volume_series_bins_start_at_an_unaligned_start(es: Elasticsearch, loaded: str) -> None:
    start = BASE_TIME + timedelta(minutes=3, seconds=30)
    bins = queries.volume_series(es, loaded, None, start, start + timedelta(minutes=14), 420)
    assert [b.start for b in bins] == [start, start + timedelta(minutes=7)]
    # ids 4..10 fall in the first 7 minutes, 11..17 in the second
    assert [b.total for b in bins] == [7, 7]


def test_volume_series_unique_counts_duplicate_clusters_once(
    es: Elasticsearch, loaded: str
) -> None:
    start, end = BASE_TIME, BASE_TIME + timedelta(minutes=20)
    plain = queries.volume_series(es, loaded, None, start, end, 1200)
    unique = queries.volume_series(es, loaded, None, start, end, 1200, unique=True)
    assert [b.total for b in plain] == [20]
    assert [b.total for b in unique] == [10]  # dup_cluster = id // 2


def test_top_posts_by_engagement_and_label(es: Elasticsearch, loaded: str) -> None:
    start, end = BASE_TIME, BASE_TIME + timedelta(hours=1)
    posts = post_reads.top_posts(es, loaded, "奶茶甲", start, end, size=3)
    assert [p["id"] for p in posts] == ["weibo:54", "weibo:48", "weibo:42"]
    assert all(p["sentiment"]["label"] == "negative" for p in posts)
    from_record(posts[0])  # plain Document records, index-only fields stripped


def test_top_terms_and_accounts(es: Elasticsearch, loaded: str) -> None:
    start, end = BASE_TIME, BASE_TIME + timedelta(hours=1)
    terms = queries.top_terms(es, loaded, "奶茶甲", start, end, size=2)
    assert terms[0] == queries.TermCount("奶茶", 30)
    negative_terms = {
        t.term for t in queries.top_terms(es, loaded, None, start, end, label="negative")
    }
    assert negative_terms == {"奶茶", "难喝", "退款"}
    accounts = queries.top_accounts(es, loaded, None, start, end, size=7)
    engagement = {a.id: a.engagement for a in accounts}
    expected = {f"u{k}": sum(i + i % 5 + 1 for i in range(60) if i % 7 == k) for k in range(7)}
    assert engagement == expected
    assert [a.engagement for a in accounts] == sorted(expected.values(), reverse=True)
    assert accounts[0].name == f"用户{accounts[0].id[1:]}"


def test_fetch_posts_pages_across_monthly_indices(es: Elasticsearch, loaded: str) -> None:
    start = BASE_TIME
    end = datetime(2027, 1, 1, tzinfo=DEFAULT_TZ)
    posts = post_reads.fetch_posts(es, loaded, brand="奶茶甲", start=start, end=end, page_size=7)
    assert len(posts) == 32
    assert [p["created_at"] for p in posts] == sorted(p["created_at"] for p in posts)
    assert posts[-1]["id"] == "weibo:1002"
    limited = post_reads.fetch_posts(es, loaded, brand=None, start=start, end=end, max_docs=10)
    assert len(limited) == 10


def test_search_posts_highlights_phrase(es: Elasticsearch, loaded: str) -> None:
    hits = post_reads.search_posts(es, loaded, text="退款", brand="奶茶乙", size=50)
    assert hits and all(
        "【退】【款】" in h.highlights[0] or "【退款】" in h.highlights[0] for h in hits
    )
    assert {h.id for h in hits} == {f"weibo:{i}" for i in range(60) if i % 2 and i % 3 == 0}


def test_discover_url_carries_time_and_query() -> None:
    start = datetime(2026, 11, 20, 12, 0, tzinfo=DEFAULT_TZ)
    url = queries.discover_url(
        "http://kibana:5601/",
        query=queries.kql(brand="奶茶甲", label="negative"),
        start=start,
        end=start + timedelta(hours=1),
        index_pattern_id="koubei-posts",
    )
    assert url.startswith("http://kibana:5601/app/discover#/?_g=")
    decoded = unquote(url)
    assert "_g=(time:(from:'2026-11-20T04:00:00.000Z',to:'2026-11-20T05:00:00.000Z'))" in decoded
    assert (
        'query:(language:kuery,query:\'brands:"奶茶甲" and sentiment.label:"negative"\')' in decoded
    )
    assert "dataViewId:koubei-posts" in decoded


def test_rison_quotes_and_escapes() -> None:
    assert (
        rison.dumps({"a": "it's!", "b": [1, 2.5, False], "c": ""})
        == "(a:'it!'s!!',b:!(1,2.5,!f),c:'')"
    )
    assert rison.dumps("-1") == "'-1'"


def test_date_only_posts_stay_out_of_intraday_bins(
    es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    prefix = f"q{uuid.uuid4().hex[:10]}"
    midnight = datetime(2026, 11, 21, tzinfo=DEFAULT_TZ)
    records = [
        build_record(1, created_at=midnight + timedelta(minutes=2)),
        build_record(2, created_at=midnight + timedelta(minutes=7)),
        build_record(3, created_at=midnight, time_precision="day"),  # Weibo "11-21"
    ]
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("KOUBEI_HOME", str(tmp_path_factory.mktemp("home")))
            assert index_records(es, records, prefix=prefix).created == 3
        es.indices.refresh(index=posts_alias(prefix))
        five_min = queries.volume_series(
            es, prefix, None, midnight, midnight + timedelta(minutes=10), 300
        )
        assert [b.total for b in five_min] == [1, 1]
        daily = queries.volume_series(
            es, prefix, None, midnight, midnight + timedelta(days=1), 86_400
        )
        assert [b.total for b in daily] == [3]
    finally:
        es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
        for kind in ("posts", "alerts", "accounts", "cascades"):
            es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-{kind}")


def test_volume_series_leaves_posts_without_opinion_out(
    es: Elasticsearch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"q{uuid.uuid4().hex[:10]}"
    bare = {"score": 0.5, "label": "no_opinion", "model_version": "m"}
    # ids 0 and 3 negative, 1 and 2 positive (build_record); 4..9 bare reposts.
    records = [build_record(i, brands=["奶茶甲"]) for i in range(4)]
    records += [
        build_record(i, brands=["奶茶甲"], kind="repost", text_raw="转发微博", sentiment=bare)
        for i in range(4, 10)
    ]
    monkeypatch.setenv("KOUBEI_HOME", str(tmp_path))
    try:
        assert index_records(es, records, prefix=prefix).created == 10
        es.indices.refresh(index=posts_alias(prefix))
        end = BASE_TIME + timedelta(minutes=10)
        (whole,) = queries.volume_series(es, prefix, "奶茶甲", BASE_TIME, end, 600)
        assert (whole.total, whole.negative) == (4, 2)
        assert whole.negative_share == 0.5
    finally:
        es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
        for kind in ("posts", "alerts", "accounts", "cascades"):
            es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-{kind}")


def test_top_posts_are_one_per_cluster_and_text() -> None:
    # The demo's top posts named one complaint three times (copies by different accounts).
    posts = [
        {"id": "a", "text_raw": "鲜牧客服真的不理人", "dup_cluster": "dup:a"},
        {"id": "b", "text_raw": "鲜牧客服真的不理人！", "dup_cluster": "dup:b"},  # same text
        {"id": "c", "text_raw": "客服不理人，鲜牧太差", "dup_cluster": "dup:a"},  # same cluster
        {"id": "d", "text_raw": "太恶心了", "dup_cluster": "dup:d"},
        {"id": "e", "text_raw": "", "dup_cluster": None},  # no text: kept, nothing to compare
    ]
    assert [p["id"] for p in post_reads.distinct_posts(posts)] == ["a", "d", "e"]


def test_a_post_longer_than_the_highlight_limit_is_found_not_a_silent_empty_month(
    es: Elasticsearch, index_prefix: str, koubei_home: str
) -> None:
    """A scraped page of 1.2 million characters made the highlighter fail its month's shard,
    which Elasticsearch answers with HTTP 200 and no hits: ``koubei search 退款`` found nothing
    in that month, the long post and every short one."""
    short = build_record(1, text_raw="奶茶太难喝了，要求退款")
    long = build_record(2, text_raw="第三方平台转载全文。" * 120_000 + "最后要求退款")
    assert len(long["text_raw"]) > 1_000_000
    index_records(es, [short, long], prefix=index_prefix, refresh=True)
    hits = post_reads.search_posts(es, index_prefix, text="退款")
    assert {h.id for h in hits} == {"weibo:1", "weibo:2"}
    (fragment,) = next(h for h in hits if h.id == "weibo:1").highlights
    assert "【退】【款】" in fragment or "【退款】" in fragment
    # Text of blanks only is no text: the newest posts, as without TEXT (it used to find none).
    assert [h.id for h in post_reads.search_posts(es, index_prefix, text="  ")] == [
        h.id for h in post_reads.search_posts(es, index_prefix)
    ]
    assert len(post_reads.search_posts(es, index_prefix, text=" \t")) == 2


def test_a_shard_that_does_not_answer_is_an_error_and_a_closed_month_is_left_out(
    es: Elasticsearch, index_prefix: str, koubei_home: str
) -> None:
    """Elasticsearch answers a search with HTTP 200 and the hits of the shards that answered:
    a red month read as a month without posts (a volume series of zeros for the detectors).
    A month the operator closed made every read fail, however recent its window."""
    records = [build_record(i) for i in range(6)]
    old = [build_record(100 + i, created_at=BASE_TIME - timedelta(days=60)) for i in range(3)]
    index_records(es, [*records, *old], prefix=index_prefix, refresh=True)
    start, end = BASE_TIME - timedelta(hours=1), BASE_TIME + timedelta(hours=1)

    old_month = f"{index_prefix}-posts-{(BASE_TIME - timedelta(days=60)):%Y.%m}"
    es.indices.close(index=old_month)
    assert len(post_reads.search_posts(es, index_prefix, text="奶茶", size=50)) == 6
    bins = queries.volume_series(es, index_prefix, None, start, end, 3600)
    assert sum(b.total for b in bins) == 6

    # A month whose only shard cannot be allocated: the cluster is red.
    es.indices.create(
        index=f"{index_prefix}-posts-2026.10",
        settings={"index.routing.allocation.require._name": "no-such-node"},
        wait_for_active_shards=0,
    )
    with pytest.raises(queries.PartialResultsError, match=r"posts-2026\.10"):
        queries.volume_series(es, index_prefix, None, start, end, 3600)
    with pytest.raises(queries.PartialResultsError, match=r"shards of .* did not answer"):
        post_reads.search_posts(es, index_prefix, text="奶茶")
