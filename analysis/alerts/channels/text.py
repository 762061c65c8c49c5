"""Human-readable rendering of a payload for chat channels, within a byte budget.

Chat platforms cap message size (WeCom markdown 4096 bytes, DingTalk ~20 000, Slack 3000
characters per block); sections are dropped from the least important end until the message fits,
and only then is text cut, always on a character boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Link = Callable[[str, str], str]
TRUNCATED = "\n…(truncated)"
POST_CHARS = 120


def markdown_link(text: str, url: str) -> str:
    return f"[{text}]({url})"


def truncate_utf8(text: str, max_bytes: int, suffix: str = TRUNCATED) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes (suffix included), never mid-character."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    budget = max(0, max_bytes - len(suffix.encode("utf-8")))
    return data[:budget].decode("utf-8", errors="ignore") + suffix


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_fmt(v) for v in value)
    return str(value)


def _share(value: Any) -> str:
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return str(value)


def _account(account: Any, link: Link) -> str:
    if not isinstance(account, Mapping):
        return str(account)
    name = str(account.get("name") or account.get("id") or "?")
    bits = []
    if account.get("followers") is not None:
        bits.append(f"{account['followers']} followers")
    if account.get("verified"):
        bits.append("verified")
    if account.get("role"):
        bits.append(str(account["role"]))
    text = link(name, str(account["url"])) if account.get("url") else name
    return text + (f" ({', '.join(bits)})" if bits else "")


def _post(index: int, post: Mapping[str, Any], link: Link) -> str:
    text = " ".join(str(post.get("text", "")).split())
    if len(text) > POST_CHARS:
        text = text[:POST_CHARS] + "…"
    shown = link(text or "(no text)", str(post["url"])) if post.get("url") else text
    author = f" — {post['author']}" if post.get("author") else ""
    return f"{index}. {shown}{author}"


def sections(
    payload: Mapping[str, Any],
    *,
    link: Link = markdown_link,
    bold: Callable[[str], str] = lambda s: f"**{s}**",
) -> list[list[str]]:
    """The message as sections of lines, most important first."""
    head = [
        f"{bold('Status')}: {payload.get('event', payload.get('status'))} · "
        f"{bold('Severity')}: {payload.get('severity')}"
        + (f" (was {payload['previous_severity']})" if payload.get("previous_severity") else ""),
    ]
    window = payload.get("window") or {}
    if window:
        head.append(f"{bold('Window')}: {window.get('start')} → {window.get('end')}")
    if payload.get("observed") is not None:
        head.append(
            f"{bold('Observed')}: {_fmt(payload['observed'])} vs expected "
            f"{_fmt(payload.get('expected'))}"
        )
    if payload.get("negative_share") is not None:
        head.append(f"{bold('Negative share')}: {_share(payload['negative_share'])}")
    if payload.get("score") is not None:
        head.append(f"{bold('Score')}: {_fmt(payload['score'])}")
    out = [head]
    if payload.get("reasons"):
        out.append([f"- {r}" for r in payload["reasons"][:5]])
    if payload.get("report_url"):
        out.append([link("事件页面 (incident page)", str(payload["report_url"]))])
    if payload.get("kibana_url"):
        out.append([link("Open in Kibana", str(payload["kibana_url"]))])
    if payload.get("summary"):
        out.append([f"{bold('Summary')}: {_fmt(payload['summary'])}"])
    if payload.get("spread_path"):
        out.append([f"{bold('Spread')}: {_fmt(payload['spread_path'])}"])
    if payload.get("themes"):
        out.append([f"{bold('Themes')}: {_fmt(payload['themes'])}"])
    if payload.get("key_accounts"):
        out.append(
            [bold("Key accounts")] + [f"- {_account(a, link)}" for a in payload["key_accounts"]]
        )
    posts = payload.get("top_posts") or []
    if posts:
        out.append(
            [bold("Top negative posts")]
            + [_post(i, p, link) for i, p in enumerate(posts, 1) if isinstance(p, Mapping)]
        )
    if payload.get("coordination"):
        out.append([f"{bold('Coordination')}: {_fmt(payload['coordination'])}"])
    if payload.get("pictures"):
        out.append(
            [
                f"{bold('Pictures')}: "
                + " ".join(link(f"#{i}", str(p)) for i, p in enumerate(payload["pictures"], 1))
            ]
        )
    return out


def fit(parts: list[list[str]], max_bytes: int, *, sep: str = "\n") -> str:
    """Join sections; drop trailing lines, then sections, until it fits; then cut bytes."""
    parts = [list(p) for p in parts]

    def joined() -> str:
        return (sep * 2).join(sep.join(p) for p in parts if p)

    while len(joined().encode("utf-8")) > max_bytes:
        last = parts[-1]
        if len(last) > 2:
            last.pop()  # fewer posts/accounts before dropping the section
        elif len(parts) > 1:
            parts.pop()
        else:
            break
    return truncate_utf8(joined(), max_bytes)


def render_markdown(
    payload: Mapping[str, Any],
    max_bytes: int,
    *,
    heading: str = "### ",
    link: Link = markdown_link,
    footer: str = "",
) -> str:
    """Title, sections and footer (e.g. @-mentions) within ``max_bytes``; the footer is kept."""
    title = f"{heading}{payload.get('title', 'koubei alert')}"
    foot = f"\n\n{footer}" if footer else ""
    budget = max_bytes - len(foot.encode("utf-8"))
    return fit([[title], *sections(payload, link=link)], budget) + foot
