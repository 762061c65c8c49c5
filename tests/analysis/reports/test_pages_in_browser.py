"""Both pages rendered from fixture data and opened in headless Chromium (Debian's `chromium`).

Checked on the rendered pixels, at 1280 and 390 px wide: the charts are drawn, Chinese text is
drawn with glyphs (not the missing-glyph box), nothing overflows sideways on a phone, and a
crawled post holding ``<script>`` is shown as text and never runs.
"""

from __future__ import annotations

import io
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import image

from koubei.analysis.reports import content, render
from koubei.analysis.spread.evidence import incident_evidence
from koubei.pipeline.index.queries import VolumeBin
from tests.analysis.spread.incident import T0, incident

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE = "<script>window.__koubeiPwned = 1</script>鲜牧太差了 <img src=x onerror=alert(1)>"
WIDTHS = (1280, 390)


def _bins(start: datetime, days: int, step: timedelta, burst_at: datetime) -> list[VolumeBin]:
    rng = np.random.default_rng(7)
    bins, moment = [], start
    while moment < burst_at + timedelta(hours=2):
        total = int(rng.poisson(6))
        negative = int(rng.binomial(total, 0.2))
        if burst_at <= moment < burst_at + timedelta(hours=1):
            total, negative = total + 40, negative + 35
        bins.append(VolumeBin(moment, total, negative))
        moment += step
    return bins


def _hostile_post() -> dict[str, Any]:
    return {
        "id": "weibo:666",
        "platform": "weibo",
        "author": {"name": "<b>坏人</b>", "followers": 3},
        "text_raw": HOSTILE,
        "url": "javascript:alert(document.cookie)",
        "created_at": (T0 + timedelta(minutes=20)).isoformat(),
        "engagement": {"likes": 5},
        "sentiment": {"label": "negative"},
    }


def incident_page_context(tmp_path: Path) -> dict[str, Any]:
    records = incident()
    evidence = incident_evidence(
        records, picture_dir=tmp_path / "pictures", now=T0 + timedelta(hours=1)
    )
    evidence["top_posts"] = [_hostile_post(), *records[:3]]
    aspects_now = [{"aspects": [{"aspect": "质量", "label": "negative"}]} for _ in range(8)] + [
        {"aspects": [{"aspect": "物流", "label": "positive"}]} for _ in range(4)
    ]
    aspects_before = [{"aspects": [{"aspect": "质量", "label": "positive"}]} for _ in range(10)]
    start = T0 - timedelta(days=7, hours=6)
    detection = {
        "timestamp": (T0 + timedelta(minutes=10)).isoformat(),
        "reason": "负面声量上升：45 条，往常 18 条",
        "severity": "critical",
    }
    row = {
        "id": 7,
        "brand": "鲜牧",
        "status": "firing",
        "severity": "critical",
        "started_at": (T0 + timedelta(minutes=10)).timestamp(),
        "last_detection_at": (T0 + timedelta(minutes=40)).timestamp(),
        "resolved_at": None,
        "detections": [detection],
        "evidence": evidence,
    }
    events = [
        {"at": row["started_at"], "kind": "fired", "detail": "critical"},
        {"at": row["started_at"] + 60, "kind": "firing", "detail": "oncall（已送达）"},
    ]
    return content.incident_context(
        row,
        bins=_bins(start, 7, timedelta(minutes=5), T0),
        window=(T0 - timedelta(hours=6), T0 + timedelta(hours=2)),
        voice={
            "鲜牧": {"total": 300, "positive": 20, "negative": 200},
            "北岭": {"total": 120, "positive": 60, "negative": 10},
            "云朵": {"total": 80, "positive": 30, "negative": 20},
        },
        aspects_before=aspects_before,
        aspects_now=aspects_now,
        events=events,
        links={
            "posts": "http://kibana.example:5601/app/discover#/?_a=(q:'x')",
            "alerts": "javascript:1",
        },
        generated_at=T0 + timedelta(hours=1),
    )


def daily_page_context() -> dict[str, Any]:
    day = datetime(T0.year, T0.month, T0.day, tzinfo=T0.tzinfo)
    records = incident()
    return content.daily_context(
        day,
        [
            {
                "brand": "鲜牧",
                "bins": _bins(day - timedelta(days=7), 8, timedelta(hours=1), T0),
                "voice": {
                    "鲜牧": {"total": 300, "positive": 20, "negative": 200},
                    "北岭": {"total": 100, "positive": 50, "negative": 10},
                },
                "aspects_before": [{"aspects": [{"aspect": "服务", "label": "positive"}]}] * 5,
                "aspects_now": [{"aspects": [{"aspect": "服务", "label": "negative"}]}] * 5,
                "top_posts": [_hostile_post(), *records[:2]],
                "themes": [
                    {"name": "变质 / 发酸", "posts": 12, "representative": {"text": "牛奶发酸"}}
                ],
                "incidents": [
                    {
                        "id": 7,
                        "severity": "critical",
                        "status": "firing",
                        "started_at": T0.timestamp(),
                        "url": "http://127.0.0.1:8780/incidents/7.html",
                    }
                ],
                "links": {},
            }
        ],
        generated_at=day + timedelta(hours=9),
    )


@pytest.fixture(scope="module")
def browser() -> Any:
    if not Path(CHROMIUM).exists():  # a missing browser fails, like a missing server
        pytest.fail("Debian's chromium is not installed (`.ci/run` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


def _pixels(png: bytes) -> np.ndarray:
    return image.imread(io.BytesIO(png), format="png")[..., :3]


def _has_colour(pixels: np.ndarray, hex_colour: str) -> bool:
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return bool((np.abs(pixels - rgb).sum(axis=-1) < 0.03).any())


def _check_page(browser: Any, path: Path, shots: Path) -> None:
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(shots / f"{path.stem}-{width}.png"), full_page=True)
        # The hostile post neither ran nor vanished; its javascript: URL is not a link.
        assert page.evaluate("window.__koubeiPwned") is None
        assert HOSTILE.split("<img")[0] in page.inner_text("body")
        assert page.locator("a[href^='javascript:']").count() == 0
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        # Charts are drawn: inline SVG with marks, and the negative red is on screen.
        charts = page.locator(".chart svg")
        assert charts.count() >= 2
        assert page.evaluate("document.querySelectorAll('.chart svg path').length") > 50
        chart_pixels = _pixels(charts.first.screenshot())
        assert _has_colour(chart_pixels, "#d62728")
        # Nothing wider than the screen (a phone must not scroll sideways).
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # Chinese glyphs: the heading drawn in the embedded CJK font differs from the same
        # heading with every Chinese character replaced by one no font has (drawn as boxes).
        heading = page.locator("h1")
        drawn = _pixels(heading.screenshot())
        page.evaluate(
            "h => { h.textContent = h.textContent.replace(/[\\u4e00-\\u9fff]/g, '\\ue000'); }",
            heading.element_handle(),
        )
        boxes = _pixels(heading.screenshot())
        assert drawn.shape != boxes.shape or not np.allclose(drawn, boxes)
        # Two different characters in the page's font are two different shapes.
        page.evaluate(
            "() => { for (const [id, ch] of [['a', '鲜'], ['b', '牧']]) {"
            " const s = document.createElement('span'); s.id = 'glyph-' + id;"
            " s.style.fontSize = '48px'; s.textContent = ch; document.body.prepend(s); } }"
        )
        first = _pixels(page.locator("#glyph-a").screenshot())
        second = _pixels(page.locator("#glyph-b").screenshot())
        assert first.shape != second.shape or not np.allclose(first, second)
        # ... drawn by the CJK font the page embeds (a subset of Noto Sans CJK SC).
        used = _fonts_used(page, "#glyph-a")
        assert any("CJK" in name for name in used), used
        page.close()


def _fonts_used(page: Any, selector: str) -> list[str]:
    """The fonts Chromium actually drew a node's text with (DevTools CSS domain)."""
    session = page.context.new_cdp_session(page)
    session.send("DOM.enable")
    session.send("CSS.enable")
    root = session.send("DOM.getDocument")["root"]["nodeId"]
    node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return [f["familyName"] for f in fonts if f["glyphCount"] > 0]


def test_incident_page_in_a_real_browser(browser: Any, tmp_path: Path) -> None:
    path = render.write_page(incident_page_context(tmp_path), tmp_path / "incident.html")
    html = path.read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__koubeiPwned" in html and "<b>坏人</b>" not in html
    assert "javascript:1" not in html
    _check_page(browser, path, tmp_path)


def test_daily_brief_in_a_real_browser(browser: Any, tmp_path: Path) -> None:
    path = render.write_page(daily_page_context(), tmp_path / "daily.html")
    html = path.read_text(encoding="utf-8")
    assert "竞品对比" in html and "北岭" in html
    _check_page(browser, path, tmp_path)


RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: crawled names may carry it, unterminated


def _reads_left_to_right(page: Any, selector: str, first: str, second: str) -> bool:
    """Whether ``first`` is drawn left of ``second`` in the element's text (laid-out boxes)."""
    return bool(
        page.evaluate(
            """([selector, first, second]) => {
                const el = document.querySelector(selector);
                const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
                const x = ch => { for (let n = walker.currentNode; n; n = walker.nextNode()) {
                    const i = (n.textContent || '').indexOf(ch);
                    if (i >= 0 && n.nodeType === 3) { const r = document.createRange();
                        r.setStart(n, i); r.setEnd(n, i + ch.length);
                        return r.getBoundingClientRect().left; } } return null; };
                const a = x(first); walker.currentNode = el; const b = x(second);
                return a !== null && b !== null && a < b;
            }""",
            [selector, first, second],
        )
    )


def test_a_bidi_override_in_crawled_text_stays_inside_it(browser: Any, tmp_path: Path) -> None:
    """An author name ending in U+202E must not reverse the page's own text after it."""
    context = incident_page_context(tmp_path)
    spoofer = {**_hostile_post(), "author": {"name": f"坏人{RLO}", "followers": 3}}
    context["top_posts"] = [content._post_row(spoofer)]
    context["source"] = {**context["source"], "author": f"源头{RLO}", "followers": 12}
    path = render.write_page(context, tmp_path / "incident.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(tmp_path / "bidi.png"), full_page=True)
    assert _reads_left_to_right(page, "#posts ul.posts li .muted", "互", "动")
    assert _reads_left_to_right(page, "#spread p", "粉", "丝")
    page.close()


def _lines(page: Any, selector: str) -> int:
    """How many lines the text of the element is laid out on (distinct line boxes)."""
    return int(
        page.evaluate(
            """selector => { const r = document.createRange();
                r.selectNodeContents(document.querySelector(selector));
                return new Set([...r.getClientRects()].filter(b => b.width > 0)
                    .map(b => Math.round(b.top))).size; }""",
            selector,
        )
    )


def test_numbers_stay_whole_beside_a_long_unbroken_post_on_a_phone(
    browser: Any, tmp_path: Path
) -> None:
    """A theme whose representative post is one long URL must not break "12（50%）" apart."""
    context = incident_page_context(tmp_path)
    long_url = "https://m.weibo.cn/status/" + "Q" * 280
    context["themes"] = [{"name": "变质", "posts": 12, "share": 0.5, "text": long_url}]
    context["voice"][1]["brand"] = long_url[:60]
    path = render.write_page(context, tmp_path / "incident.html")
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(tmp_path / "themes-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert _lines(page, "#themes tr:nth-child(2) td:nth-child(2)") == 1
    for column in (2, 3, 4, 5):  # posts, share of voice, negative share, net sentiment
        assert _lines(page, f"#voice tr:nth-child(3) td:nth-child({column})") == 1, column
    page.close()


def _accessible_images(page: Any) -> list[str]:
    """Names of the images in the page's accessibility tree (what a screen reader announces)."""
    session = page.context.new_cdp_session(page)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    return [
        str((n.get("name") or {}).get("value", ""))
        for n in nodes
        if (n.get("role") or {}).get("value") == "image" and not n.get("ignored")
    ]


def test_charts_are_named_for_screen_readers(browser: Any, tmp_path: Path) -> None:
    """Chart text is drawn as paths: without a name each chart was an image called ''."""
    path = render.write_page(incident_page_context(tmp_path), tmp_path / "incident.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    names = _accessible_images(page)
    page.close()
    assert len(names) == 5, names  # three charts, the cascade and the timeline pictures
    assert all(names), names
    assert "鲜牧 声量与负面（5 分钟）" in names
    # The aspect chart has no table beside it: its name carries the figures.
    assert any("质量 之前 0%，本期 100%" in name for name in names), names


def _contrast(page: Any, selector: str) -> list[float]:
    """WCAG contrast ratio of text and background of each element, from computed styles."""
    return list(
        page.evaluate(
            """selector => [...document.querySelectorAll(selector)].map(el => {
                const rgb = v => v.match(/[\\d.]+/g).slice(0, 3).map(Number);
                const lum = c => { const [r, g, b] = c.map(x => { x /= 255;
                    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
                    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
                const style = getComputedStyle(el);
                const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
                return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); })""",
            selector,
        )
    )


def test_severity_badges_are_readable(browser: Any, tmp_path: Path) -> None:
    """White on the warning orange was 2.5:1; WCAG AA asks 4.5:1 for text of that size."""
    context = daily_page_context()
    incidents = context["sections"][0]["incidents"]
    context["sections"][0]["incidents"] = [
        {**incidents[0], "severity": severity, "severity_zh": content.SEVERITY_ZH[severity]}
        for severity in ("critical", "warning", "info")
    ]
    path = render.write_page(context, tmp_path / "daily.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    ratios = _contrast(page, ".badge")
    page.close()
    assert len(ratios) == 3
    assert min(ratios) >= 4.5, ratios


def test_characters_the_page_escapes_are_drawn_in_its_font(browser: Any, tmp_path: Path) -> None:
    """The font was cut to the page's markup, where a crawled ``<`` is ``&lt;``: the ``<``,
    ``>`` and quotes of a post or a brand name were missing from it and drawn in whatever
    font the reader's machine had, a different face in the middle of a line."""
    context = incident_page_context(tmp_path)
    context["top_posts"] = [
        content._post_row({**_hostile_post(), "text_raw": "鲜牧 <差评> \"真的\" '假的'"})
    ]
    path = render.write_page(context, tmp_path / "incident.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    used = _fonts_used(page, "ul.posts li:first-child .post-text bdi")
    assert used and all("CJK" in name for name in used), used
    page.close()


def test_table_headings_stay_whole_beside_a_long_brand_name(browser: Any, tmp_path: Path) -> None:
    """A long name in the competitor table squeezed its headings to one character a line
    ("帖" over "子")."""
    context = incident_page_context(tmp_path)
    context["voice"][1]["brand"] = "鲜牧乳业（集团）股份有限公司华东大区" * 10
    path = render.write_page(context, tmp_path / "incident.html")
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        for column in (2, 3, 4, 5):  # posts, share of voice, negative share, net sentiment
            assert _lines(page, f"#voice tr:nth-child(1) th:nth-child({column})") == 1, column
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.close()
