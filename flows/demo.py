"""``koubei demo``: the whole pipeline end to end on loopback, on real components.

A fixture site imitating a shop review API and a microblog (with a scripted negative burst about
one brand), a real Elasticsearch node, the Prefect monitoring flow, and a signed-webhook receiver
standing in for on-call staff. The demo's "now" (anchor) is fixed on the first run and kept, so a
second run sees the same world: it adds no documents and sends no second alert.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from koubei import es_local, paths, timeutil
from koubei.flows.detect import HISTORY

DEMO_DIR = paths.package_dir("demo")
WEBHOOK_SECRET_DEFAULT = "koubei-demo-secret"


def demo_anchor(state: Path) -> datetime:
    """The demo's fixed "now": the first run's time floored to 5 minutes, then reused."""
    anchor_file = state / "anchor.txt"
    if anchor_file.exists():
        return datetime.fromisoformat(anchor_file.read_text().strip())
    now = timeutil.now().replace(second=0, microsecond=0)
    anchor = now - timedelta(minutes=now.minute % 5)
    anchor_file.write_text(anchor.isoformat())
    return anchor


def demo_site_port(state: Path) -> int:
    """The fixture site's port, kept across runs: article ids hash the page URL, as they would
    for a real site whose host never changes."""
    port_file = state / "site-port.txt"
    if port_file.exists():
        port = int(port_file.read_text())
        if _port_free(port):
            return port
    port = es_local.free_port()
    port_file.write_text(str(port))
    return port


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def write_demo_config(state: Path, site_url: str) -> Path:
    """The user's brands and alert rules, with sources pointed at the fixture site."""
    config_dir = state / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(paths.CONFIG_DIR / "brands.yaml", config_dir / "brands.yaml")
    shutil.copy(paths.CONFIG_DIR / "alerts.yaml", config_dir / "alerts.yaml")
    template = (DEMO_DIR / "config" / "sources.yaml").read_text(encoding="utf-8")
    (config_dir / "sources.yaml").write_text(template.replace("{site_url}", site_url))
    return config_dir


def run_demo(*, progress: bool = True) -> dict[str, Any]:
    from koubei.demo.receiver import start_receiver
    from koubei.demo.site import start_demo_site
    from koubei.flows.monitor import monitor
    from koubei.pipeline.index.client import index_prefix

    state = paths.state_dir("demo")
    local_node = not os.environ.get("KOUBEI_ES_URL")
    if local_node:
        os.environ["KOUBEI_ES_URL"] = es_local.ensure_node(es_local.node_file()).url
    anchor = demo_anchor(state)
    # The demo replays one instant, the anchor: its crawl is stamped then too. Otherwise its
    # posts are "crawled" after the alert's as_of (the anchor is floored to 5 minutes, and
    # re-runs reuse it) and every source's freshness in the alert reads as unknown.
    pinned = os.environ.get(timeutil.CLOCK_ENV)
    os.environ[timeutil.CLOCK_ENV] = pinned or anchor.isoformat()
    secret = os.environ.setdefault("KOUBEI_WEBHOOK_SECRET", WEBHOOK_SECRET_DEFAULT)
    received_file = state / "received.jsonl"
    site = start_demo_site(anchor=anchor, port=demo_site_port(state))
    receiver = start_receiver(secret, received_file)
    os.environ["KOUBEI_WEBHOOK_URL"] = receiver.url
    try:
        config_dir = write_demo_config(state, site.url)
        summary = monitor(
            config_dir=config_dir, prefix=index_prefix(), as_of=anchor, progress=progress
        )
    finally:
        site.stop()
        receiver.stop()
        if pinned is None:
            os.environ.pop(timeutil.CLOCK_ENV, None)
    summary["received_alerts"] = len(receiver.received())
    summary["received_file"] = str(received_file)
    summary["es_url"] = os.environ["KOUBEI_ES_URL"]
    summary["es_local"] = local_node
    summary["anchor"] = anchor.isoformat()
    return summary


def koubei_command(argv0: str | None = None) -> str:
    """How to run koubei again, as this run was started: ``koubei`` when that name on PATH is
    this script (an installed wheel), the script's path when it is not (``.venv/bin/koubei`` in
    a checkout), ``python -m koubei`` when run as a module."""
    script = Path(argv0 if argv0 is not None else sys.argv[0])
    if script.name != "koubei":
        return f"{sys.executable} -m koubei"
    found = shutil.which("koubei")
    if found and script.exists() and Path(found).resolve() == script.resolve():
        return "koubei"
    return str(script)


def format_summary(summary: dict[str, Any]) -> str:
    lines = ["", "koubei demo — summary", "=" * 40]
    lines.append(f"as of           {summary['anchor']}")
    crawled = summary["crawled"]
    status = summary["source_status"]
    for source, count in crawled.items():
        lines.append(f"crawled         {source}: {count} items ({status.get(source, '?')})")
    lines.append(f"processed       {summary['processed']} (rejected {summary['rejected']})")
    indexed = summary["indexed"]
    lines.append(
        "indexed         "
        + ", ".join(f"{key} {value}" for key, value in sorted(indexed.items()) if value)
        if any(indexed.values())
        else "indexed         nothing new (already indexed)"
    )
    # Of the posts with an opinion (bare reposts left out, as every page's share), over the
    # detection's history (15 days), not a week: "87% of 263 docs" read against the incident
    # page's posts, which count bare reposts too.
    days = HISTORY.days
    for brand, share in summary["negative_share"].items():
        lines.append(
            f"negative share  {brand}: last hour {share['last_hour']:.0%} "
            f"of {share['last_hour_docs']} posts with an opinion, {days} days "
            f"{share['history']:.0%} of {share['history_docs']}"
        )
    if summary["blind_brands"]:
        blind = ", ".join(summary["blind_brands"])
        lines.append(f"BLIND SPOT      a source is not ok; held open, no all-clear for: {blind}")
    for brand, count in summary["detections"].items():
        if count:
            lines.append(f"burst detected  {brand}: {count} active detection(s)")
    lines.append(
        f"alerts          {summary['notifications']} new notification(s), "
        f"{summary['delivered']} delivered, {summary['failed_deliveries']} failed"
    )
    lines.append(
        f"receiver holds  {summary['received_alerts']} alert(s): {summary['received_file']}"
    )
    for brand, directory in summary["evidence_dirs"].items():
        lines.append(f"evidence        {brand}: {directory}")
    for brand, pages in summary.get("reports", {}).items():
        for page in pages:
            lines.append(f"incident page   {brand}: {Path(page).as_uri()}")
    if any(summary.get("reports", {}).values()):
        lines.append(
            f"                (`{koubei_command()} report serve` serves them at the alerts' "
            "reports_url)"
        )
    # The local node is the demo's to stop; a cluster named by KOUBEI_ES_URL is not (`es stop`
    # said "stopped" there and stopped nothing).
    es_note = (
        f"stop it with `{koubei_command()} es stop`"
        if summary.get("es_local", True)
        else "KOUBEI_ES_URL; not started by the demo"
    )
    lines += [
        "",
        f"Elasticsearch   {summary['es_url']}  ({es_note})",
        f"search          {koubei_command()} search 异物 --brand 鲜牧",
        f"alerts          {koubei_command()} alerts status",
        f"state           {paths.home()}",
    ]
    return "\n".join(lines)
