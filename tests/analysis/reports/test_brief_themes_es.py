"""The daily brief draws its complaint themes from the organic voices, as the incident page
does: a burst of one scripted line from look-alike accounts is left out and the page says so."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from koubei.pipeline.index.templates import posts_alias
from koubei.pipeline.index.writer import index_records
from koubei.timeutil import DEFAULT_TZ
from tests.analysis.reports.test_gather_es import _brief_section, _post

SCRIPT = "鲜牧太恶心了，大家千万别买！"
# Complaints in their authors' own words, posted at no regular pace.
ORGANIC = [
    "鲜牧牛奶打开就是酸的，已经变质了",
    "今天买的鲜牧酸奶变质结块，喝了肚子疼",
    "鲜牧的鲜奶保质期内就变质了，太失望",
    "孩子喝了鲜牧牛奶拉肚子，奶是坏的",
    "鲜牧牛奶有股怪味，应该是变质了",
    "第二次买到变质的鲜牧牛奶了，品控呢",
    "鲜牧牛奶结块发酸，客服还不理人",
    "刚拆的鲜牧纯牛奶就坏了，变质严重",
    "鲜牧这批奶全是酸的，变质了吧",
    "买的鲜牧牛奶变质，退款都不给",
]


def test_a_scripted_burst_does_not_lead_the_briefs_themes(
    es: Elasticsearch, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's 40 copies of one scripted line led its brief as the main complaint (167
    posts), where the incident page of the same day leaves them out."""
    day = datetime(2026, 11, 24, tzinfo=DEFAULT_TZ)
    organic = [
        _post(f"o{i}", day + timedelta(hours=9, minutes=7 * i * i + 3), "negative", text=text)
        for i, text in enumerate(ORGANIC)
    ]
    script = [
        _post(f"s{i}", day + timedelta(hours=14, minutes=i), "negative", text=SCRIPT)
        for i in range(20)  # twenty accounts, one a minute: machine-regular
    ]
    assert index_records(es, organic + script, prefix=index_prefix).created == 30
    es.indices.refresh(index=posts_alias(index_prefix))
    section = _brief_section(es, index_prefix, day, monkeypatch)
    assert section["themes"], section
    shown = " ".join(t["name"] + t["text"] for t in section["themes"])
    assert "恶心" not in shown and "千万" not in shown, section["themes"]
    assert "变质" in shown
    assert section["themes_coordinated"] == 20
    page = (Path(koubei_home) / "reports" / "daily" / "2026-11-24.html").read_text("utf-8")
    assert "其中疑似协同发布的 20 条不计入主题" in page
