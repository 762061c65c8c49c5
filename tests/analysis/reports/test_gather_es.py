"""Pages from a real Elasticsearch node and alerts database: competitors, history, the CLI."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from koubei import config as cfg
from koubei.analysis.alerts.incidents import IncidentStore
from koubei.analysis.reports import render
from koubei.analysis.reports.gather import (
    brand_counts,
    history_start,
    write_changed_incident_pages,
    write_daily_brief,
)
from koubei.analysis.spread.daily import index_day
from koubei.model import AspectSentiment, Author, Document, Sentiment, to_record
from koubei.pipeline.index.templates import posts_alias
from koubei.pipeline.index.writer import index_records
from koubei.timeutil import CLOCK_ENV, DEFAULT_TZ
from tests.analysis.spread.incident import T0, _doc, incident
from tests.pipeline.conftest import processed


def umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


BRANDS = cfg.BrandsConfig.model_validate(
    {
        "brands": [
            {"name": "鲜牧", "competitors": ["北岭"]},
            {"name": "北岭", "competitors": ["鲜牧"]},
        ]
    }
)


def _competitor_posts() -> list[dict]:
    records = []
    for i, record in enumerate(incident()[:6]):
        records.append(
            {
                **record,
                "id": f"weibo:bl{i}",
                "native_id": f"bl{i}",
                "brands": ["北岭"],
                "parent_id": None,
                "root_id": None,
                "relation": None,
                "kind": "post",
                "sentiment": {**record["sentiment"], "label": "positive", "score": 0.9},
            }
        )
    # A bare repost: voice, but no opinion.
    records[-1]["sentiment"] = {**records[-1]["sentiment"], "label": "no_opinion", "score": 0.5}
    return records


@pytest.fixture
def loaded(es: Elasticsearch, index_prefix: str, koubei_home: str) -> str:
    records = incident() + _competitor_posts()
    report = index_records(es, records, prefix=index_prefix)
    assert report.created == len(records)
    es.indices.refresh(index=posts_alias(index_prefix))
    return index_prefix


def _detection(minutes: float) -> dict:
    at = T0 + timedelta(minutes=minutes)
    return {
        "timestamp": at.isoformat(),
        "severity": "warning",
        "score": 10.0,
        "observed": 20,
        "expected": 3,
        "detector": "negative-volume",
        "series": "鲜牧",
        # as the detectors give it: a code and its figures, shown in the one Chinese wording
        "reason": {
            "code": "volume_rise",
            "params": {
                "observed": 20,
                "expected": 3,
                "zscore": 6.2,
                "window": 3600,
                "interval": 300,
                # the hour counted, ending with the detection's 5-minute bin
                "count_start": (at - timedelta(minutes=55)).isoformat(),
                "count_end": (at + timedelta(minutes=5)).isoformat(),
            },
        },
        "details": {"episode_bins": 2},
    }


def test_share_of_voice_counts_each_brand_of_the_set(es: Elasticsearch, loaded: str) -> None:
    counts = brand_counts(
        es, loaded, ["鲜牧", "北岭", "云朵"], T0 - timedelta(hours=1), T0 + timedelta(days=1)
    )
    assert counts["北岭"] == {"total": 6, "positive": 5, "negative": 0, "no_opinion": 1}
    assert counts["鲜牧"]["total"] == len(incident())
    assert counts["鲜牧"]["negative"] > 0
    assert counts["云朵"] == {"total": 0, "positive": 0, "negative": 0, "no_opinion": 0}


def test_incident_page_and_daily_brief_from_the_index(
    es: Elasticsearch, loaded: str, koubei_home: str
) -> None:
    db_path = Path(koubei_home) / "alerts.db"
    store = IncidentStore(db_path, interval_seconds=300)
    notes = store.observe(
        "鲜牧",
        [_detection(5)],
        evidence={"top_posts": incident()[:2], "reports_url": "http://reports.example"},
        now=T0 + timedelta(minutes=15),
        channels=["oncall"],
    )
    assert notes and notes[0].payload["report_url"].startswith("http://reports.example/incidents/")
    [page] = write_changed_incident_pages(
        es,
        loaded,
        db_path,
        {n.incident_key for n in notes},
        brands=BRANDS,
        kibana_url="http://kibana.example:5601",
        now=T0 + timedelta(minutes=30),
    )
    assert page.name == f"{notes[0].payload['report_url'].rsplit('/', 1)[-1]}"
    html = page.read_text(encoding="utf-8")
    assert "鲜牧" in html and "北岭" in html  # the competitor is compared
    assert "告警触发" in html and "已通知" in html  # fired, then notified, in the history
    assert "kibana.example:5601/app/discover" in html
    assert "<li>08:10–09:10 负面提及 20 条，预期 3 条（z=6.2）</li>" in html  # why it fired
    assert html.count("<svg") >= 2

    brief = write_daily_brief(
        es,
        loaded,
        db_path,
        T0.date(),
        brands=BRANDS,
        kibana_url="http://kibana.example:5601",
        reports_url="http://reports.example",
        now=T0 + timedelta(days=1),
    )
    text = brief.read_text(encoding="utf-8")
    assert brief.name == f"{T0.date().isoformat()}.html"
    assert "http://reports.example/incidents/" in text  # the day's incident links its page
    assert text.count("<section") == 2  # one section per configured brand
    # Pages are meant to be served; mkstemp's 0600 kept a web server running as another user out.
    assert brief.stat().st_mode & 0o044 == 0o044 & ~umask()


def test_the_brief_shows_the_brands_read_and_drawn_when_asked(
    es: Elasticsearch, loaded: str, koubei_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A brand takes a few queries and charts: a hundred were most of a minute without a word.
    for progress in (True, False):
        write_daily_brief(
            es,
            loaded,
            None,
            T0.date(),
            brands=BRANDS,
            kibana_url="http://kibana.example:5601",
            now=T0 + timedelta(days=1),
            progress=progress,
        )
        err = capsys.readouterr().err
        if progress:
            assert "brief: read" in err and "brief: draw" in err and "2/2" in err
        else:
            assert "brief:" not in err


def test_report_cli_writes_the_brief_and_names_it(
    es: Elasticsearch, es_url: str, loaded: str, koubei_home: str, tmp_path: Path
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "brands.yaml").write_text(
        "brands:\n  - name: 鲜牧\n    competitors: [北岭]\n  - name: 北岭\n", encoding="utf-8"
    )
    (config_dir / "alerts.yaml").write_text(
        "reports_url: http://phone.example/reports\n", encoding="utf-8"
    )
    env = {**os.environ, "KOUBEI_ES_URL": es_url, "KOUBEI_HOME": koubei_home}
    out = subprocess.run(
        [sys.executable, "-m", "koubei.flows.cli", "report", "daily", "--date",
         T0.date().isoformat(), "--config-dir", str(config_dir), "--prefix", loaded],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    path, url = out.stdout.strip().splitlines()[-2:]
    assert Path(path).is_file()
    assert url == f"http://phone.example/reports/daily/{T0.date().isoformat()}.html"
    # The day's spread documents too, as the daily deployment writes them (koubei-daily-report).
    accounts = es.count(index=f"{loaded}-accounts")["count"]  # both brands' accounts of the day
    assert es.get(index=f"{loaded}-cascades", id="鲜牧:weibo:1")["_source"]["brand"] == "鲜牧"
    cascades = es.count(index=f"{loaded}-cascades")["count"]
    assert accounts and f"indexed {accounts} account and {cascades} cascade documents" in out.stdout
    from koubei.analysis.alerts.db import connect

    connect(Path(koubei_home) / "alerts" / "alerts.db").close()  # a cycle's, without incident 999
    missing = subprocess.run(
        [sys.executable, "-m", "koubei.flows.cli", "report", "incident", "999",
         "--config-dir", str(config_dir), "--prefix", loaded],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert missing.returncode == 1
    assert "no incident 999" in missing.stderr


def test_report_cli_for_an_earlier_day_says_what_it_left_to_the_later_run(
    es: Elasticsearch, es_url: str, loaded: str, koubei_home: str
) -> None:
    """Re-running the brief of a day a later day's run has covered: the cascade that grew since
    stays as that run wrote it, and the summary says so (before: it was written back smaller)."""
    late = _doc("l1", "网友L", 25 * 60, "转发微博")  # 11-26 10:00, a repost of w:1
    assert index_records(es, [late], prefix=loaded, refresh=True).failed == 0
    assert index_day(es, loaded, ["鲜牧", "北岭"], (T0 + timedelta(days=1)).date()).errors == []
    grown = es.get(index=f"{loaded}-cascades", id="鲜牧:weibo:1")["_source"]
    env = {**os.environ, "KOUBEI_ES_URL": es_url, "KOUBEI_HOME": koubei_home}
    out = subprocess.run(
        [sys.executable, "-m", "koubei", "report", "daily", "--date", T0.date().isoformat(),
         "--prefix", loaded],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "kept 1 newer cascade documents (a later day's run wrote them)" in out.stdout
    assert es.get(index=f"{loaded}-cascades", id="鲜牧:weibo:1")["_source"] == grown


def _at_no_regular_pace(start: datetime, n: int, mean_seconds: float) -> list[datetime]:
    """``n`` times from ``start``, as independent authors post (Poisson arrivals): one text
    from many accounts at a machine-regular pace is a coordinated burst, which the brief's
    themes leave out (``coordination.organic``)."""
    rng, at, times = random.Random(n), start, []
    for _ in range(n):
        at += timedelta(seconds=rng.expovariate(1 / mean_seconds))
        times.append(at)
    return times


def _busy_day_posts(day: datetime) -> list[dict]:
    """10,000 calm posts from midnight to 16:40, then 40 complaints about 质量 in the evening."""

    calm = [
        _post(
            f"c{i}",
            day + timedelta(seconds=6 * i),
            "positive",
            text=f"鲜牧牛奶不错 第{i}杯",
            aspect="物流",
        )
        for i in range(10_000)
    ]
    evening = [
        _post(
            f"e{i}",
            at,
            "negative",
            text=f"鲜牧牛奶变质发酸 喝完拉肚子 {i}",
            aspect="质量",
        )
        for i, at in enumerate(_at_no_regular_pace(day + timedelta(hours=20), 40, 60))
    ]
    return calm + evening


def test_a_busy_days_evening_complaints_reach_the_brief(
    es: Elasticsearch, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More posts than one fetch returns: aspects and themes came from the first 10,000 only."""
    day = datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)
    report = index_records(es, _busy_day_posts(day), prefix=index_prefix)
    assert report.created == 10_040
    es.indices.refresh(index=posts_alias(index_prefix))
    section = _brief_section(es, index_prefix, day, monkeypatch)
    aspects = {a["aspect"]: a for a in section["aspects"]}
    assert aspects["质量"]["mentions"] == 40 and aspects["质量"]["now"] == 1.0
    assert aspects["物流"]["mentions"] == 10_000
    assert section["aspects"][0]["aspect"] == "质量"  # the one that turned negative leads
    assert section["themes"] and "变质" in section["themes"][0]["name"]


def test_a_crisis_days_evening_complaints_reach_the_themes(
    es: Elasticsearch, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More negative posts than the themes read: they were the day's oldest 10,000, and an
    evening's new complaint never reached them, nor did the page say it read part."""
    day = datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)
    morning = [
        _post(f"m{i}", day + timedelta(seconds=5 * i), "negative", text=f"鲜牧快递太慢 {i}")
        for i in range(10_000)
    ]
    evening = [
        _post(f"e{i}", at, "negative", text=f"鲜牧牛奶变质 {i}")
        for i, at in enumerate(_at_no_regular_pace(day + timedelta(hours=20), 400, 9))
    ]
    assert index_records(es, morning + evening, prefix=index_prefix).created == 10_400
    es.indices.refresh(index=posts_alias(index_prefix))
    section = _brief_section(es, index_prefix, day, monkeypatch)
    assert any("变质" in t["name"] for t in section["themes"]), section["themes"]
    assert section["themes_drawn"] == (10_000, 10_400)
    page = (Path(koubei_home) / "reports" / "daily" / "2026-11-24.html").read_text("utf-8")
    assert "取自当日 10400 条负面帖中均匀抽取的 10000 条" in page


@pytest.mark.parametrize("reachable", [True, False], ids=["no-index", "unreachable"])
def test_report_cli_without_an_index_or_a_node_is_one_line(
    es_url: str, koubei_home: str, reachable: bool
) -> None:
    """Before: a NotFoundError or ConnectionError traceback (a fresh install, a node down)."""
    env = {
        **os.environ,
        "KOUBEI_ES_URL": es_url if reachable else "http://127.0.0.1:9",
        "KOUBEI_HOME": koubei_home,
    }
    out = subprocess.run(
        [sys.executable, "-m", "koubei", "report", "daily", "--date", "2026-11-24",
         "--prefix", "nothingindexedhere"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    [line] = out.stderr.strip().splitlines()
    if reachable:
        assert line == (
            "koubei: error: no index nothingindexedhere-posts "
            "(is --prefix right? nothing indexed yet: `koubei run`)"
        )
    else:
        assert line.startswith("koubei: error: cannot reach Elasticsearch at http://127.0.0.1:9")


def test_report_cli_with_a_mistyped_font_variable_says_so(
    es_url: str, loaded: str, koubei_home: str, tmp_path: Path
) -> None:
    """Before: the brief was drawn with Noto and the operator's choice ignored in silence.

    A warning, not an error: the same font draws an alert's evidence before it is sent."""
    typo = tmp_path / "NotoSerifCJK.otff"
    env = {**os.environ, "KOUBEI_ES_URL": es_url, "KOUBEI_HOME": koubei_home}
    out = subprocess.run(
        [sys.executable, "-m", "koubei", "report", "daily", "--date", T0.date().isoformat(),
         "--prefix", loaded],
        env={**env, "KOUBEI_CJK_FONT": str(typo)}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    [warning] = [line for line in out.stderr.splitlines() if "KOUBEI_CJK_FONT" in line]
    assert "not used" in warning and str(typo) in warning and "no such file" in warning


def _post(
    native: str,
    at: datetime,
    label: str,
    *,
    text: str | None = None,
    aspect: str | None = None,
    precision: str | None = None,
) -> dict:
    """A 鲜牧 post labelled ``label`` (with one aspect of that label when ``aspect`` is given)."""
    return to_record(
        Document(
            id=f"weibo:{native}",
            platform="weibo",
            source="weibo_search",
            kind="post",
            native_id=native,
            brands=["鲜牧"],
            author=Author(id=f"u{native}", name=f"用户{native}"),
            text_raw=text or f"鲜牧牛奶 {native}",
            created_at=at,
            time_precision=precision,  # type: ignore[arg-type]
            crawled_at=at,
            sentiment=Sentiment(
                score=0.1 if label == "negative" else 0.9,
                label=label,  # type: ignore[arg-type]
                model_version="t",
            ),
            aspects=[AspectSentiment(aspect=aspect, score=0.5, label=label)] if aspect else [],  # type: ignore[arg-type]
        )
    )


def test_the_briefs_headline_figures_agree_with_its_table(
    es: Elasticsearch, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the headline counted opinions with a time of day only (3 posts, 67% negative)
    while the competitor table beneath counted every post (6 posts, 75% negative)."""
    day = datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)
    late_utc = datetime.fromisoformat("2026-11-23T23:30:00+00:00")  # 07:30 on the 24th in China
    records = [
        _post("n1", late_utc, "negative"),
        _post("n2", day + timedelta(hours=12), "negative"),
        _post("p1", day + timedelta(hours=13), "positive"),
        _post("r1", day + timedelta(hours=14), "no_opinion"),  # bare reposts: voice only
        _post("r2", day + timedelta(hours=15), "no_opinion"),
        _post("d1", day, "negative", precision="day"),  # "11-24": a date, no time of day
        _post("w1", day - timedelta(days=2, hours=-10), "positive"),  # the week before
        _post("w2", day - timedelta(days=3), "negative", precision="day"),
    ]
    index_records(es, records, prefix=index_prefix)
    es.indices.refresh(index=posts_alias(index_prefix))
    section = _brief_section(es, index_prefix, day, monkeypatch)
    [row] = section["voice"]
    assert (section["total"], row["total"]) == (6, 6)
    assert section["negative_share"] == row["negative_share"] == 3 / 4
    assert section["week_daily_total"] == 2 / 3  # its history begins with w2, 3 days before
    assert section["week_negative_share"] == 1 / 2
    # The hourly chart drew 3 of the 6 (opinions with a time of day), saying nothing: it now
    # draws the bare reposts too, and the page counts the one post it cannot place.
    assert (section["drawn"], section["undrawn"]) == (5, 1)
    html = render.daily_path(day.date().isoformat()).read_text(encoding="utf-8")
    assert "图中为有具体时刻的帖子 5 条（含无观点的转发" in html
    assert "另有 1 条只知日期、不知时刻，计入当日帖子，不在图中" in html


def _brief_section(
    es: Elasticsearch, index_prefix: str, day: datetime, monkeypatch: pytest.MonkeyPatch
) -> dict:
    """The one brand section of 鲜牧's daily brief for ``day``, as the page was given it."""
    shown: list[dict] = []
    real_write = render.write_page

    def keep(context: dict, path: Path) -> Path:
        shown.append(context)
        return real_write(context, path)

    monkeypatch.setattr(render, "write_page", keep)
    write_daily_brief(
        es,
        index_prefix,
        None,
        day.date(),
        brands=cfg.BrandsConfig.model_validate({"brands": [{"name": "鲜牧"}]}),
        kibana_url="http://kibana.example:5601",
        now=day + timedelta(days=1, hours=9),
    )
    [section] = shown[0]["sections"]
    return section


def test_the_previous_days_mean_covers_the_days_the_brand_has_history(
    es: Elasticsearch, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: always divided by 7. A brand first collected 3 days before the brief, 6 posts in
    those 3 days, showed "前 7 日日均 1" (6/7, and 7/7 with the older post its first crawl
    found) for a history of 2 posts a day."""
    day = datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)
    first_crawl = day - timedelta(days=3, hours=-10)  # 11-21 10:00, koubei starts on 鲜牧
    found_then = _post("old", day - timedelta(days=5), "negative")  # a post of 11-19 it found
    found_then["crawled_at"] = first_crawl.isoformat()
    records = [
        found_then,
        *[_post(f"a{i}", first_crawl + timedelta(hours=1 + i), "positive") for i in range(3)],
        # 11-22: a quiet day, no post (a day of the history all the same)
        *[_post(f"c{i}", day - timedelta(days=1, hours=-9 - i), "negative") for i in range(3)],
        _post("t1", day + timedelta(hours=9), "negative"),
    ]
    index_records(es, records, prefix=index_prefix)
    es.indices.refresh(index=posts_alias(index_prefix))
    section = _brief_section(es, index_prefix, day, monkeypatch)
    assert section["week_days"] == 3
    assert section["week_daily_total"] == 6 / 3
    assert section["week_negative_share"] == 3 / 6  # the same 3 days (11-19's post left out)
    html = render.daily_path(day.date().isoformat()).read_text(encoding="utf-8")
    assert "前 3 日日均 2（历史仅 3 日，不足 7 日）" in html
    assert "前 3 日 50%" in html and "前 7 日" not in html


def test_a_brand_first_collected_on_the_day_has_no_previous_days(
    es: Elasticsearch, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: "前 7 日日均 0" and "前 7 日 —", as if the brand had had a silent week."""
    day = datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)
    late = _post("late", day - timedelta(days=2), "negative")  # older, but first crawled today
    late["crawled_at"] = (day + timedelta(hours=8)).isoformat()
    today = _post("t1", day + timedelta(hours=9), "negative")
    index_records(es, [late, today], prefix=index_prefix)
    es.indices.refresh(index=posts_alias(index_prefix))
    section = _brief_section(es, index_prefix, day, monkeypatch)
    assert (section["week_days"], section["week_daily_total"]) == (0, None)
    html = render.daily_path(day.date().isoformat()).read_text(encoding="utf-8")
    assert "此前无数据" in html and "前 0 日" not in html and "前 7 日" not in html


def test_the_incident_pages_usual_level_counts_the_days_the_brand_has_history(
    es: Elasticsearch, loaded: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the median of the same time on the 7 days before, zero-filled before the brand
    was first collected: 3 and 5 complaints on its 2 days of history read as a usual 0."""
    from koubei.analysis.reports import content

    earlier = []
    for days, count in ((1, 3), (2, 5)):
        for i in range(count):
            post = _post(f"h{days}-{i}", T0 - timedelta(days=days, seconds=-i), "negative")
            post["crawled_at"] = post["created_at"]  # collected as it was posted
            earlier.append(post)
    index_records(es, earlier, prefix=loaded)
    es.indices.refresh(index=posts_alias(loaded))
    db_path = Path(koubei_home) / "alerts.db"
    store = IncidentStore(db_path, interval_seconds=300)
    notes = store.observe(
        "鲜牧", [_detection(5)], now=T0 + timedelta(minutes=15), channels=["oncall"]
    )
    assert notes
    shown: list[dict] = []
    real = content.incident_context

    def keep(incident: dict, **parts: object) -> dict:
        shown.append(parts)
        return real(incident, **parts)  # type: ignore[arg-type]

    monkeypatch.setattr(content, "incident_context", keep)
    write_changed_incident_pages(
        es,
        loaded,
        db_path,
        {n.incident_key for n in notes},
        brands=BRANDS,
        kibana_url="http://kibana.example:5601",
        now=T0 + timedelta(minutes=30),
    )
    bins = shown[0]["bins"]
    history = {b.start: b.negative for b in bins}
    [usual] = content.expected_negative([T0], history)
    assert usual == 4.0  # the median of 3 and 5, not of 3, 5 and five days of nothing
    assert bins[0].start == datetime(2026, 11, 23, tzinfo=DEFAULT_TZ)  # its first day


def test_posts_loaded_without_a_crawl_time_are_history_from_their_own_days(
    es: Elasticsearch, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old export given to `koubei index load` has no ``crawled_at``: its posts were stored
    with ``first_seen`` the load's time, so a brand with a month of them read as first collected
    after the brief's day ("此前无数据"). Posts without a crawl time count from their own days."""
    day = datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)
    imported = []
    for n in range(30):  # 10-25 .. 11-23, 2 posts a day, one negative
        for i, label in enumerate(("negative", "positive")):
            post = _post(f"i{n}-{i}", day - timedelta(days=30 - n, hours=-10 - i), label)
            del post["crawled_at"]
            imported.append(post)
    today = _post("t1", day + timedelta(hours=9), "negative")
    index_records(es, [*imported, today], prefix=index_prefix)
    es.indices.refresh(index=posts_alias(index_prefix))
    section = _brief_section(es, index_prefix, day, monkeypatch)
    assert section["week_days"] == 7  # before: 0
    assert section["week_daily_total"] == 2 and section["week_negative_share"] == 1 / 2
    html = render.daily_path(day.date().isoformat()).read_text(encoding="utf-8")
    assert "前 7 日日均 2" in html and "此前无数据" not in html


def test_an_export_processed_without_crawl_times_is_history_from_its_first_day(
    es: Elasticsearch, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: ``koubei process`` stamped each post without a ``crawled_at`` with the time it
    ran, so an export of 3 days processed and loaded on the day of the brief read as first
    collected that day ("此前无数据"). Processing keeps the crawl time unknown: the history
    begins with the export's first day."""
    day = datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)
    monkeypatch.setenv(CLOCK_ENV, (day + timedelta(hours=10)).isoformat())  # processed then
    exported = []
    for n in (3, 2, 1):  # 11-21 .. 11-23, 2 posts a day
        for i in range(2):
            post = _post(f"e{n}-{i}", day - timedelta(days=n, hours=-10 - i), "negative")
            del post["crawled_at"]
            exported.append(post)
    today = _post("t1", day + timedelta(hours=9), "negative")  # crawled as it was posted
    index_records(es, [*processed(exported, koubei_home), today], prefix=index_prefix)
    es.indices.refresh(index=posts_alias(index_prefix))
    assert history_start(es, index_prefix, "鲜牧", day) == day - timedelta(days=3)  # before: day
    section = _brief_section(es, index_prefix, day, monkeypatch)
    assert (section["week_days"], section["week_daily_total"]) == (3, 2)
    html = render.daily_path(day.date().isoformat()).read_text(encoding="utf-8")
    assert "前 3 日日均 2" in html and "此前无数据" not in html
