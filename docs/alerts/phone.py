"""Re-take dingtalk-phone.png: the checked-in DingTalk message at a phone's 390 px width.

Run from the repository root: ``.venv/bin/python docs/alerts/phone.py`` (needs Debian's
``chromium`` and the ``playwright`` package). The markdown of docs/alerts/dingtalk.md is turned
into HTML with its line breaks kept, as DingTalk shows them, in the CJK font koubei embeds in
its pages, so the picture looks the same on any machine.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import markdown
from playwright.sync_api import sync_playwright

from koubei.fonts import web_font_css

HERE = Path(__file__).parent
WIDTH = 390


def main() -> None:
    document = (HERE / "dingtalk.md").read_text(encoding="utf-8")
    found = re.search(r"```markdown\n(.*)\n```", document, re.S)
    if not found:
        raise SystemExit(f"{HERE / 'dingtalk.md'}: no ```markdown block")
    text = found.group(1)
    body = markdown.markdown(text, extensions=["nl2br"])
    page_html = (
        "<!doctype html><meta charset=utf-8><style>"
        + web_font_css(text)
        + "body{margin:12px;font:15px/1.6 'koubei-cjk',sans-serif;color:#222;"
        "overflow-wrap:anywhere}h3{font-size:17px;margin:0 0 12px}p,ul,ol{margin:0 0 12px}"
        "ul,ol{padding-left:0;list-style-position:inside}a{color:#1a5fd0}</style>" + body
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium"
        )
        page = browser.new_page(viewport={"width": WIDTH, "height": 800}, device_scale_factor=1)
        page.set_content(page_html)
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > WIDTH:
            raise SystemExit(f"the message is {wide} px wide, wider than a {WIDTH} px phone")
        page.screenshot(path=str(HERE / "dingtalk-phone.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
