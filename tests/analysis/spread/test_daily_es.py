"""The daily spread documents of a brand, read from and written to a real Elasticsearch."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from elasticsearch import Elasticsearch

from koubei.analysis.spread.daily import index_day
from koubei.pipeline.index.writer import index_records
from tests.analysis.spread.incident import _doc, incident

pytestmark = pytest.mark.es


def test_a_cascade_older_than_the_window_is_written_whole(
    es: Elasticsearch, index_prefix: str
) -> None:
    """Before: a repost a week after its root rewrote the root's cascade as 2 posts."""
    late = _doc("99", "网友Z", 7 * 24 * 60 + 60, "还没解决？")  # 2026-12-02 10:00, reposts w:1
    report = index_records(es, [*incident(), late], prefix=index_prefix, refresh=True)
    assert report.failed == 0 and report.spooled == 0
    cascades = f"{index_prefix}-cascades"

    assert index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25)).errors == []
    before = es.get(index=cascades, id="鲜牧:weibo:1")["_source"]
    later = index_day(es, index_prefix, ["鲜牧"], date(2026, 12, 2))
    assert later.errors == [] and later.written["cascades"] >= 1
    after = es.get(index=cascades, id="鲜牧:weibo:1")["_source"]
    assert after["size"] == before["size"] + 1
    assert after["started_at"] == before["started_at"]
    assert after["depth"] == before["depth"]
    # The day's accounts are that day's alone: the late reposter, and the root it reposted.
    accounts = es.search(
        index=f"{index_prefix}-accounts", query={"term": {"day": "2026-12-02"}}, size=100
    )["hits"]["hits"]
    assert "u-网友Z" in {h["_source"]["account_id"] for h in accounts}


def _ids_of(es: Elasticsearch, index: str, brand: str) -> dict[str, dict]:
    hits = es.search(index=index, query={"term": {"brand": brand}}, size=100)["hits"]["hits"]
    return {h["_id"]: h["_source"] for h in hits}


def test_a_cascade_of_two_brands_stays_in_each_brands_view(
    es: Elasticsearch, index_prefix: str
) -> None:
    """Before: both brands' cascade of w:1 had the id weibo:1, so the brand written last
    took it over and 鲜牧's view of the index lost its biggest cascade."""
    records = incident()
    for record in records:
        # The root and two of its reposts name 北岭 too: 北岭's cascade of w:1 is its 3 posts.
        if record["id"] in ("weibo:1", "weibo:2", "weibo:6"):
            record["brands"] = ["鲜牧", "北岭"]
    report = index_records(es, records, prefix=index_prefix, refresh=True)
    assert report.failed == 0 and report.spooled == 0
    cascades = f"{index_prefix}-cascades"
    # A document the earlier release wrote under the root's id alone: the run replaces it.
    legacy = {"id": "weibo:1", "root_id": "weibo:1", "brand": "鲜牧", "size": 2}
    es.index(index=cascades, id="weibo:1", document=legacy, refresh=True)

    first = index_day(es, index_prefix, ["鲜牧", "北岭"], date(2026, 11, 25))
    assert first.errors == []
    xianmu, beiling = _ids_of(es, cascades, "鲜牧"), _ids_of(es, cascades, "北岭")
    assert {d["root_id"] for d in xianmu.values()} >= {"weibo:1"}
    assert {d["root_id"]: d["size"] for d in beiling.values()} == {"weibo:1": 3}
    assert max(d["size"] for d in xianmu.values()) > 3  # 鲜牧's own cascade, not 北岭's
    assert "weibo:1" not in xianmu | beiling  # the legacy copy is gone, not a duplicate
    accounts = f"{index_prefix}-accounts"
    ranked = {b: set(_ids_of(es, accounts, b)) for b in ("鲜牧", "北岭")}
    assert all(ranked.values())  # each brand's run kept the other's accounts of the day

    again = index_day(es, index_prefix, ["鲜牧", "北岭"], date(2026, 11, 25))
    assert again.errors == [] and again.written == first.written
    assert _ids_of(es, cascades, "鲜牧") == xianmu
    assert _ids_of(es, cascades, "北岭") == beiling
    assert es.count(index=cascades)["count"] == len(xianmu) + len(beiling)
    assert {b: set(_ids_of(es, accounts, b)) for b in ranked} == ranked


def _stored_posts(es: Elasticsearch, prefix: str, query: dict) -> dict[str, dict]:
    hits = es.search(index=f"{prefix}-posts", query=query, size=1000, version=True)["hits"]["hits"]
    return {h["_id"]: {**h["_source"], "_version": h["_version"]} for h in hits}


def _writes(es: Elasticsearch, prefix: str) -> tuple[int, int]:
    """(Writes, no-op updates) the posts indices' primaries took so far: an update that changes
    a post is a write; one that finds its fields already so is a no-op (``_seq_no`` stays)."""
    stats = es.indices.stats(index=f"{prefix}-posts", metric="indexing")
    indexing = stats["_all"]["primaries"]["indexing"]
    return int(indexing["index_total"]), int(indexing["noop_update_total"])


def test_posts_carry_their_chain_resolved_place_in_the_cascade(
    es: Elasticsearch, index_prefix: str
) -> None:
    """Before: a stored repost had only the platform's parent (the root for every Weibo
    repost), so no query could find a cascade's posts or whom a repost came through."""
    report = index_records(es, incident(), prefix=index_prefix, refresh=True)
    assert report.failed == 0 and report.spooled == 0

    first = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25))
    assert first.errors == []
    posts = _stored_posts(es, index_prefix, {"match_all": {}})
    # 网友C's chain names 网友A, 大V老王, 消费者小李: the repost came through 网友A's post.
    assert posts["weibo:5"]["parent_id"] == "weibo:1"  # the platform's parent stays as crawled
    assert posts["weibo:5"]["cascade"] == {
        "root_id": "weibo:1", "parent_id": "weibo:3", "depth": 3, "via": "网友A"
    }  # fmt: skip
    assert posts["weibo:1"]["cascade"] == {
        "root_id": "weibo:1", "parent_id": None, "depth": 0, "via": None
    }  # fmt: skip
    # A hop never crawled is a placeholder, named.
    assert posts["weibo:9"]["cascade"]["parent_id"] == "~hop:weibo:1:未抓取的G"
    assert posts["weibo:9"]["cascade"]["via"] == "未抓取的G"
    assert "cascade" not in posts["weibo:s0"]  # a lone post is in no cascade

    # Kibana's filter `cascade.root_id: weibo:1` finds the cascade's crawled posts.
    tree = _stored_posts(es, index_prefix, {"term": {"cascade.root_id": "weibo:1"}})
    assert set(tree) == {f"weibo:{n}" for n in range(1, 10)}
    assert first.posts == len(tree)

    # A re-run writes nothing new: no post changes version, none is added; and it sends no
    # update at all (before, one per post of the cascade, each a no-op for the node).
    writes = _writes(es, index_prefix)
    again = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25))
    assert again.errors == [] and again.posts == 0
    assert _stored_posts(es, index_prefix, {"match_all": {}}) == posts
    assert _writes(es, index_prefix) == writes

    # The hop is crawled later: 网友F's repost moves under it.
    hop = _doc("10", "未抓取的G", 55, "转发微博")
    assert index_records(es, [hop], prefix=index_prefix, refresh=True).failed == 0
    writes = _writes(es, index_prefix)
    later = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25))
    assert later.errors == [] and later.posts == 2  # 网友F's repost moved, G's is new
    assert _writes(es, index_prefix) == (writes[0] + 2, writes[1])  # those two alone were sent
    moved = _stored_posts(es, index_prefix, {"ids": {"values": ["weibo:9", "weibo:10"]}})
    assert moved["weibo:9"]["cascade"] == {
        "root_id": "weibo:1", "parent_id": "weibo:10", "depth": 2, "via": "未抓取的G"
    }  # fmt: skip
    assert moved["weibo:10"]["cascade"]["parent_id"] == "weibo:1"
    assert es.count(index=f"{index_prefix}-posts")["count"] == len(posts) + 1


def test_posts_whose_cascade_is_refused_are_one_error_naming_the_month_and_a_post(
    es: Elasticsearch, index_prefix: str
) -> None:
    """The cascade field of posts the cluster refuses is an error of the run (the flow then
    fails and the next run writes it again), not a silent loss: one line for the month and
    reason, with how many and a post's id (was: a line per post, the reason each time)."""
    report = index_records(es, incident(), prefix=index_prefix, refresh=True)
    assert report.failed == 0 and report.spooled == 0
    month = f"{index_prefix}-posts-2026.11"
    es.indices.add_block(index=month, block="write")
    try:
        run = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25))
    finally:
        es.indices.put_settings(index=month, settings={"index.blocks.write": False})
    (error,) = run.errors  # the cascade's 9 crawled posts
    assert error.startswith(f"{month}: cascade field of 9 posts not written (e.g. weibo:"), error
    assert error.count("blocked by") == 1 and run.posts == 0, error
    assert run.written["cascades"] >= 1  # the cascades index is written all the same
    again = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25))
    assert again.errors == [] and again.posts == 9


@pytest.mark.parametrize("brands", [["鲜牧", "北岭"], ["北岭", "鲜牧"]])
def test_a_post_in_two_brands_cascades_takes_its_place_in_the_bigger_one(
    es: Elasticsearch, index_prefix: str, brands: list[str]
) -> None:
    """北岭's posts hold 网友C's repost but not 网友A's, which it came through: 北岭's view
    puts it under an uncrawled hop. Whichever brand runs last, the post keeps 鲜牧's view,
    which saw the chain."""
    records = incident()
    for record in records:
        if record["id"] in ("weibo:1", "weibo:2", "weibo:5"):
            record["brands"] = ["鲜牧", "北岭"]
    assert index_records(es, records, prefix=index_prefix, refresh=True).failed == 0
    run = index_day(es, index_prefix, brands, date(2026, 11, 25))
    assert run.errors == []
    stored = _stored_posts(es, index_prefix, {"ids": {"values": ["weibo:5"]}})
    assert stored["weibo:5"]["cascade"]["parent_id"] == "weibo:3"
    assert index_day(es, index_prefix, brands[::-1], date(2026, 11, 25)).posts == 0


def _own_post(native: str, name: str, minutes: float, text: str) -> dict:
    """A re-crawl's correction: the post is no repost after all (no parent, no root)."""
    return _doc(native, name, minutes, text, kind="post", relation=None, parent=None)


def test_a_post_that_left_its_cascade_loses_the_field_within_the_days_rebuilt(
    es: Elasticsearch, index_prefix: str
) -> None:
    """Before: a post a re-crawl took out of every cascade kept its last `cascade` for good, so
    `cascade.root_id: weibo:1` still listed it; and the cascade's document still counted it."""
    late = _doc("99", "网友Z", 7 * 24 * 60 + 60, "还没解决？")  # 2026-12-02 10:00, reposts w:1
    assert index_records(es, [*incident(), late], prefix=index_prefix, refresh=True).failed == 0
    for day in (date(2026, 11, 25), date(2026, 12, 2)):
        assert index_day(es, index_prefix, ["鲜牧"], day).errors == []
    tree = {f"weibo:{n}" for n in (*range(1, 10), 99)}
    of_root = {"term": {"cascade.root_id": "weibo:1"}}
    assert set(_stored_posts(es, index_prefix, of_root)) == tree
    cascades, posts = f"{index_prefix}-cascades", f"{index_prefix}-posts"
    whole = es.get(index=cascades, id="鲜牧:weibo:1")["_source"]

    # A re-crawl finds 网友D's (11-25) and 网友Z's (12-02) were posts of their own.
    own = [
        _own_post("6", "网友D", 30, "牛奶变质退款难"),
        _own_post("99", "网友Z", 7 * 24 * 60 + 60, "还没解决？"),
    ]
    assert index_records(es, own, prefix=index_prefix, refresh=True).failed == 0
    # A day whose 7 days hold neither re-examines neither.
    quiet = index_day(es, index_prefix, ["鲜牧"], date(2026, 12, 12))
    assert quiet.errors == [] and quiet.cleared == 0
    assert set(_stored_posts(es, index_prefix, of_root)) == tree

    # 12-02's 7 days hold 网友Z's post, not 网友D's: only 网友Z's field goes (the one update
    # sent: the cascade's other posts keep theirs).
    writes = _writes(es, index_prefix)
    run = index_day(es, index_prefix, ["鲜牧"], date(2026, 12, 2))
    assert run.errors == [] and run.cleared == 1 and run.posts == 0
    assert _writes(es, index_prefix) == (writes[0] + 1, writes[1])
    stored = _stored_posts(es, index_prefix, {"ids": {"values": ["weibo:6", "weibo:99"]}})
    assert stored["weibo:99"]["cascade"] is None
    assert stored["weibo:6"]["cascade"]["root_id"] == "weibo:1"  # older: not re-examined
    assert set(_stored_posts(es, index_prefix, of_root)) == tree - {"weibo:99"}
    carrying = {"exists": {"field": "cascade"}}
    assert set(_stored_posts(es, index_prefix, carrying)) == tree - {"weibo:99"}
    # The cascade's only post of those days left it: its document is rebuilt from its root's
    # posts as it stands now (网友D's gone from it too), not kept as it was.
    rebuilt = es.get(index=cascades, id="鲜牧:weibo:1")["_source"]
    assert rebuilt["size"] == whole["size"] - 2
    assert datetime.fromisoformat(rebuilt["last_at"]) < datetime.fromisoformat(whole["last_at"])

    # The run for 网友D's day clears its field; a re-run changes nothing.
    assert index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25)).cleared == 1
    assert set(_stored_posts(es, index_prefix, of_root)) == tree - {"weibo:6", "weibo:99"}
    before, writes = _stored_posts(es, index_prefix, {"match_all": {}}), _writes(es, index_prefix)
    again = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25))
    assert again.errors == [] and (again.posts, again.cleared) == (0, 0)
    assert _writes(es, index_prefix) == writes
    assert _stored_posts(es, index_prefix, {"match_all": {}}) == before
    assert es.count(index=posts, query=carrying)["count"] == len(tree) - 2


def test_a_dissolved_cascade_goes_and_one_going_on_after_the_day_stays(
    es: Elasticsearch, index_prefix: str
) -> None:
    """Before: a cascade whose repost left it kept its document, and its posts their field,
    for good. A run for an earlier day must not take that for a dissolved cascade: it sees
    only the root of a cascade whose reposts came after the day."""
    root = _own_post("50", "小周", 62 * 60, "鲜牧酸奶胀袋")  # 2026-11-27 23:00
    repost = _doc("51", "小吴", 64 * 60, "同款//@小周: 鲜牧酸奶胀袋", parent="w:50")  # 11-28 01:00
    repost["root_id"] = "weibo:50"
    assert index_records(es, [root, repost], prefix=index_prefix, refresh=True).failed == 0
    cascades, posts = f"{index_prefix}-cascades", f"{index_prefix}-posts"
    first = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 28))
    assert first.errors == [] and first.posts == 2
    assert es.exists(index=cascades, id="鲜牧:weibo:50")
    carrying = {"exists": {"field": "cascade"}}

    earlier = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 27))  # the root's day alone
    assert earlier.errors == [] and earlier.cleared == 0
    assert set(_stored_posts(es, index_prefix, carrying)) == {"weibo:50", "weibo:51"}
    assert es.exists(index=cascades, id="鲜牧:weibo:50")

    # A re-crawl finds 小吴's post was no repost: the cascade is one post, so no cascade.
    own = _own_post("51", "小吴", 64 * 60, "同款，鲜牧酸奶胀袋")
    assert index_records(es, [own], prefix=index_prefix, refresh=True).failed == 0
    run = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 28))
    assert run.errors == [] and run.cleared == 2 and run.written["cascades"] == 0
    assert not es.exists(index=cascades, id="鲜牧:weibo:50")
    assert es.count(index=posts, query=carrying)["count"] == 0
    assert es.count(index=posts, query={"term": {"cascade.root_id": "weibo:50"}})["count"] == 0


def test_a_run_for_an_earlier_day_leaves_what_a_later_days_run_wrote(
    es: Elasticsearch, index_prefix: str
) -> None:
    """Before: re-running 11-25 after 11-26 wrote 北岭's cascade of w:1 back as it stood on
    11-25 (4 posts, not 14), and moved 网友C's repost back to 鲜牧's view, which 11-26's run had
    put in 北岭's, the bigger one by then; for good once no later run rebuilt them."""
    records = incident()
    for record in records:
        if record["id"] in ("weibo:1", "weibo:2", "weibo:5"):
            record["brands"] = ["鲜牧", "北岭"]
    # 11-26 10:00 on: ten reposts of w:1 naming 北岭 alone, so 北岭's cascade (14) outgrows
    # 鲜牧's (10, all of 11-25).
    for i in range(10):
        repost = _doc(f"b{i}", f"北岭粉{i}", 25 * 60 + i, "转发微博")
        records.append({**repost, "brands": ["北岭"]})
    assert index_records(es, records, prefix=index_prefix, refresh=True).failed == 0
    cascades, accounts = f"{index_prefix}-cascades", f"{index_prefix}-accounts"
    brands = ["鲜牧", "北岭"]

    later = index_day(es, index_prefix, brands, date(2026, 11, 26))
    assert later.errors == [] and later.kept == 0
    beiling = es.get(index=cascades, id="北岭:weibo:1")["_source"]
    assert beiling["size"] == 14 and beiling["last_at"].startswith("2026-11-26")
    posts = _stored_posts(es, index_prefix, {"match_all": {}})
    assert posts["weibo:5"]["cascade"]["parent_id"] == "~hop:weibo:1:网友A"  # 北岭's view
    xianmu = es.get(index=cascades, id="鲜牧:weibo:1")

    writes = _writes(es, index_prefix)
    earlier = index_day(es, index_prefix, brands, date(2026, 11, 25))
    assert earlier.errors == [] and earlier.kept == 1
    assert es.get(index=cascades, id="北岭:weibo:1")["_source"] == beiling
    # 鲜牧's cascade of w:1 ends on 11-25: the run for that day writes it again, unchanged.
    assert earlier.written["cascades"] == 1
    again = es.get(index=cascades, id="鲜牧:weibo:1")
    assert again["_source"] == xianmu["_source"] and again["_version"] == xianmu["_version"] + 1
    # No post moved or was cleared: not one update sent to the posts.
    assert (earlier.posts, earlier.cleared) == (0, 0)
    assert _stored_posts(es, index_prefix, {"match_all": {}}) == posts
    assert _writes(es, index_prefix) == writes
    # The day's own brief documents are written: both brands' accounts of 11-25.
    of_day = {"term": {"day": "2026-11-25"}}
    for brand in brands:
        ranked = {"bool": {"filter": [of_day, {"term": {"brand": brand}}]}}
        assert es.count(index=accounts, query=ranked)["count"] > 0

    # A post of 11-25 crawled late, under the kept cascade: a re-run of 11-25 leaves it to the
    # next run that reads the cascade whole (here 11-26's, which also takes a new repost).
    hop = _doc("10", "未抓取的G", 55, "转发微博")
    late = {**_doc("b10", "北岭粉10", 26 * 60, "转发微博"), "brands": ["北岭"]}
    assert index_records(es, [hop, late], prefix=index_prefix, refresh=True).failed == 0
    assert index_day(es, index_prefix, brands, date(2026, 11, 25)).posts == 0
    assert (
        "cascade"
        not in _stored_posts(es, index_prefix, {"ids": {"values": ["weibo:10"]}})["weibo:10"]
    )
    rerun = index_day(es, index_prefix, brands, date(2026, 11, 26))
    assert rerun.errors == [] and rerun.kept == 0
    grown = es.get(index=cascades, id="北岭:weibo:1")["_source"]
    assert grown["size"] == beiling["size"] + 1
    assert grown["last_at"] > beiling["last_at"]
    moved = _stored_posts(
        es, index_prefix, {"ids": {"values": ["weibo:9", "weibo:10", "weibo:b10"]}}
    )
    assert moved["weibo:9"]["cascade"]["parent_id"] == "weibo:10"
    assert moved["weibo:10"]["cascade"]["root_id"] == "weibo:1"
    assert moved["weibo:b10"]["cascade"]["root_id"] == "weibo:1"


def test_a_post_that_left_every_brand_loses_its_cascade_and_its_place_in_the_brands_documents(
    es: Elasticsearch, index_prefix: str
) -> None:
    """A post landed again naming no brand (``brands.yaml`` changed: the crawler lands it with
    ``brands: []``, ``BaseSpider.build``'s ``off_brands``) is no post of 鲜牧 any more: the
    brand's cascade document no longer counts it, and the post's ``cascade`` is cleared."""
    assert index_records(es, incident(), prefix=index_prefix, refresh=True).failed == 0
    assert index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25)).errors == []
    cascades = f"{index_prefix}-cascades"
    whole = es.get(index=cascades, id="鲜牧:weibo:1")["_source"]
    (left,) = [r for r in incident() if r["id"] == "weibo:4"]  # 网友B's repost, a leaf
    assert _stored_posts(es, index_prefix, {"ids": {"values": ["weibo:4"]}})["weibo:4"]["cascade"]

    left["brands"] = []
    assert index_records(es, [left], prefix=index_prefix, refresh=True).failed == 0
    run = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25))

    assert run.errors == [] and run.cleared == 1
    stored = _stored_posts(es, index_prefix, {"ids": {"values": ["weibo:4"]}})["weibo:4"]
    assert stored["brands"] == [] and stored["cascade"] is None
    of_root = {"term": {"cascade.root_id": "weibo:1"}}
    assert "weibo:4" not in _stored_posts(es, index_prefix, of_root)
    assert es.get(index=cascades, id="鲜牧:weibo:1")["_source"]["size"] == whole["size"] - 1
    again = index_day(es, index_prefix, ["鲜牧"], date(2026, 11, 25))
    assert again.errors == [] and (again.posts, again.cleared) == (0, 0)
