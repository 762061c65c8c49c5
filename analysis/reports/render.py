"""Render a page context into one self-contained HTML file (charts, pictures and font inline).

Jinja2 with autoescaping on (every value from a crawled post is text, never markup); only the
SVG charts drawn here and the embedded font are marked safe. Pages carry a Content Security
Policy that allows no script at all, so a crawled ``<script>`` is shown and can never run.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any

from koubei import paths
from koubei.atomicfile import atomic_write
from koubei.fonts import web_font_css

__all__ = ["daily_path", "incident_path", "render_page", "reports_dir", "write_page"]

_TAGS = re.compile(r"<[^>]*>")


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(context: dict[str, Any]) -> str:
    """The page for ``context`` (its ``kind`` picks the template), with the font it needs."""
    template = _environment().get_template(f"{context['kind']}.html.j2")
    draft = template.render(**context, font_css="")
    # Charts draw their text as paths; the font is only needed for the page's own text.
    # Unescaped: a crawled "<" is "&lt;" in the markup, and a font cut to "&lt;" lacked "<".
    text = html.unescape(_TAGS.sub(" ", re.sub(r"<svg.*?</svg>", " ", draft, flags=re.S)))
    return template.render(**context, font_css=web_font_css(text))


def reports_dir() -> Path:
    """Where pages are written: ``$KOUBEI_REPORTS_DIR`` or ``$KOUBEI_HOME/reports``."""
    configured = os.environ.get("KOUBEI_REPORTS_DIR")
    if configured:
        return paths.make_dir(Path(configured), "KOUBEI_REPORTS_DIR")
    return paths.state_dir("reports")


def incident_path(incident_id: int | str) -> Path:
    return reports_dir() / "incidents" / f"{incident_id}.html"


def daily_path(day: str) -> Path:
    return reports_dir() / "daily" / f"{day}.html"


def write_page(context: dict[str, Any], path: Path) -> Path:
    """Render and write atomically (a reader never sees half a page)."""
    html = render_page(context)
    with atomic_write(path) as handle:
        handle.write(html)
    return path
