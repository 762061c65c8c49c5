"""Human-readable rendering of a payload for chat channels, within a byte budget.

Chat platforms cap message size (WeCom markdown 4096 bytes, DingTalk ~20 000, Slack 3000
characters per block); sections are dropped from the least important end until the message fits,
and only then is text cut, always on a character boundary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from koubei.analysis.alerts.payload import EVIDENCE_LEAD_ZH
from koubei.analysis.spread.accounts import ROLE_NAMES
from koubei.analysis.spread.coordination import COORDINATED, ORGANIC

Link = Callable[[str, str], str]
TRUNCATED = "\n…（已截断）"
POST_CHARS = 120


#: what on-call people read on a phone: Chinese words for the payload's codes
EVENTS = {
    "firing": "告警",
    "updated": "更新",
    "resolved": "已恢复",
    "test": "测试",
    "digest": "每日汇总",
}
SEVERITIES = {"critical": "严重", "warning": "警告", "info": "提示"}
MAX_REASONS = 5
MAX_PATHS = 3
MAX_THEMES = 5
MAX_GROUPS = 3
MAX_FRESHNESS_SOURCES = 6
#: the payload's `observed_counts` → the headline figure's name (older payloads: 负面声量)
OBSERVED_LABELS = {
    "negative mentions": "负面声量",
    "mentions": "声量",
    "negative reposts": "负面转发",
}
#: what an alert's key accounts and coordination share are counted over: every post of the
#: brand from EVIDENCE_LEAD before the incident's first bin (koubei.flows.detect.gather_evidence
#: reads them), not one cascade as `koubei spread POST_ID` counts them
EVIDENCE_SCOPE = f"事件前 {EVIDENCE_LEAD_ZH}起品牌全部帖子，非单条转发链"


def safe_url(url: str) -> str:
    """A URL that survives markdown link syntax: ``(`` ``)`` ``<`` ``>`` and spaces encoded.

    Kibana links carry rison (``_g=(time:(from:...))``), whose ``)`` ends a ``[text](url)``
    link early; percent-encoding them is the same URL to the server.
    """
    table = {"(": "%28", ")": "%29", " ": "%20", "<": "%3C", ">": "%3E", "|": "%7C"}
    return "".join(table.get(c, c) for c in url.strip())


def markdown_link(text: str, url: str) -> str:
    label = text.replace("[", "【").replace("]", "】")
    return f"[{label}]({safe_url(url)})"


def is_web_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def truncate_utf8(text: str, max_bytes: int, suffix: str = TRUNCATED) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes (suffix included), never mid-character."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    budget = max(0, max_bytes - len(suffix.encode("utf-8")))
    return drop_open_markup(data[:budget].decode("utf-8", errors="ignore")) + suffix


#: the tail of a cut text that is half a link or half an entity: an unclosed markdown
#: ``[label](url``, an unclosed Slack ``<url|label`` and a partial ``&amp;``
_OPEN_MARKDOWN_LINK = re.compile(r"\[[^\[\]]*(\]\([^)]*)?$|\[[^\[\]]*\]$")
_OPEN_ANGLE = re.compile(r"<(https?://|[@!#])[^<>]*$")  # Slack's <url|text>, <@U1>, <!here>
_OPEN_ENTITY = re.compile(r"&[#a-zA-Z0-9]{0,7}$")


def drop_open_markup(text: str) -> str:
    """``text`` without a trailing half link or half entity, left there by a cut.

    A cut ``[负面帖子](https://kiba`` renders as raw brackets and a dead link (or, in Slack, a
    ``<https://…|text`` shows its markup), and ``&am`` as literal text: the cut goes before
    the link instead.
    """
    for pattern in (_OPEN_ENTITY, _OPEN_MARKDOWN_LINK, _OPEN_ANGLE, _OPEN_ENTITY):
        text = pattern.sub("", text)
    return text


def _num(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:.3g}"
    if isinstance(value, int) and value >= 10_000:
        return f"{value / 10_000:.1f}".rstrip("0").rstrip(".") + "万"
    return str(value)


def _share(value: Any) -> str:
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return str(value)


def _when(value: Any) -> str:
    """``2026-11-25T09:00:00+08:00`` → ``11-25 09:00`` (the zone is always Asia/Shanghai)."""
    text = str(value or "")
    return f"{text[5:10]} {text[11:16]}" if len(text) >= 16 and text[10] == "T" else text


def _clock(value: Any) -> str:
    """``2026-11-25T09:00:00+08:00`` → ``09:00``."""
    text = str(value or "")
    return text[11:16] if len(text) >= 16 and text[10] == "T" else text


def _duration(seconds: Any) -> str:
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return str(seconds)
    if value < 90:
        return f"{value:.0f} 秒"
    if value < 5400:
        return f"{value / 60:.0f} 分钟"
    return f"{value / 3600:.1f} 小时"


def _spread_summary(summary: Any) -> str:
    """One line from a cascade summary; never a dump of its fields."""
    if not isinstance(summary, Mapping):
        return str(summary)
    bits = []
    if summary.get("size"):
        bits.append(f"{summary['size']} 条")
    if summary.get("depth"):
        bits.append(f"{summary['depth']} 层转发")
    if summary.get("max_breadth"):
        bits.append(f"单层最多 {summary['max_breadth']} 条")
    if summary.get("negative_share") is not None:
        bits.append(f"负面 {_share(summary['negative_share'])}")
    if summary.get("seconds_to_half") is not None:
        bits.append(f"{_duration(summary['seconds_to_half'])}内传播过半")
    if summary.get("accelerating"):
        bits.append("仍在加速")
    return " · ".join(bits)


def _paths(value: Any) -> list[str]:
    """One spread path per line: ``A → B → C``."""
    if isinstance(value, str):
        return [value]
    lines = []
    for path in list(value or [])[:MAX_PATHS]:
        names = path if isinstance(path, list | tuple) else [path]
        lines.append(" → ".join(str(n) for n in names))
    return lines


def _theme(theme: Any) -> str:
    if not isinstance(theme, Mapping):
        return str(theme)
    for key in ("label", "name", "theme"):
        if theme.get(key):
            label = str(theme[key])
            break
    else:
        terms = theme.get("terms") or theme.get("top_terms") or theme.get("words") or []
        label = "、".join(str(t) for t in list(terms)[:4]) or "?"
    count = theme.get("posts") or theme.get("size") or theme.get("count")
    return f"{label}（{count} 条）" if count else label


def _coordination(value: Any) -> str:
    """The verdict and the share, never the list of coordinated post ids."""
    if not isinstance(value, Mapping):
        return str(value)
    # the verdicts koubei.analysis.spread.coordination gives, plus hand-written/older ones
    verdicts = {
        ORGANIC: "未发现",
        COORDINATED: "疑似有组织",
        "none": "未发现",
        "suspected": "疑似",
        "likely": "很可能",
        "confirmed": "确认",
    }
    verdict = str(value.get("verdict", ""))
    text = verdicts.get(verdict, verdict)
    if value.get("coordinated_share"):
        text += f"，协同发帖占 {_share(value['coordinated_share'])}"
    groups = value.get("groups") or []
    if groups:
        text += f"，{len(groups)} 组相似文案"
    return text


def _account(account: Any, link: Link) -> str:
    if not isinstance(account, Mapping):
        return str(account)
    name = str(account.get("name") or account.get("account") or account.get("id") or "?")
    bits = []
    if account.get("followers"):
        bits.append(f"粉丝 {_num(int(account['followers']))}")
    if account.get("verified"):
        bits.append("认证")
    if account.get("role"):
        bits.append(str(account["role"]))
    roles = account.get("roles")
    if isinstance(roles, list) and roles:
        bits.append("、".join(ROLE_NAMES.get(str(r), str(r)) for r in roles))
    text = link(name, str(account["url"])) if is_web_url(account.get("url")) else name
    return text + (f"（{'，'.join(bits)}）" if bits else "")


def _post(index: int, post: Mapping[str, Any], link: Link) -> str:
    text = " ".join(str(post.get("text", "")).split())
    if len(text) > POST_CHARS:
        text = drop_open_markup(text[:POST_CHARS]) + "…"
    shown = link(text or "（无正文）", str(post["url"])) if is_web_url(post.get("url")) else text
    author = f" — {post['author']}" if post.get("author") else ""
    return f"{index}. {shown}{author}"


def _pictures(value: Any) -> list[str]:
    """Picture URLs a phone can open; local file paths are left out (they open nowhere)."""
    items = value.values() if isinstance(value, Mapping) else (value or [])
    return [str(v) for v in items if is_web_url(v)]


def _digest(payload: Mapping[str, Any], link: Link, bold: Callable[[str], str]) -> list[list[str]]:
    """The daily digest: one line per incident that paged nobody."""
    items = list(payload["digest"])
    lines = []
    for i, item in enumerate(items, 1):
        line = f"{i}. {bold(str(item.get('brand')))} · {_when(item.get('started_at'))}"
        if item.get("reason"):
            line += f" · {item['reason']}"
        if is_web_url(item.get("kibana_url")):
            line += " · " + link("Kibana", str(item["kibana_url"]))
        lines.append(line)
    return [[f"{bold('状态')}：每日汇总 · 共 {len(items)} 起提示级事件（未单独通知）"], lines]


def sections(
    payload: Mapping[str, Any],
    *,
    link: Link = markdown_link,
    bold: Callable[[str], str] = lambda s: f"**{s}**",
) -> list[list[str]]:
    """The message as sections of lines, most important first, in Chinese."""
    if payload.get("digest"):
        return _digest(payload, link, bold)
    event = str(payload.get("event", payload.get("status")))
    severity = str(payload.get("severity"))
    level = SEVERITIES.get(severity, severity)
    if payload.get("previous_severity"):
        previous = str(payload["previous_severity"])
        level += f"（由{SEVERITIES.get(previous, previous)}升级）"
    head = [f"{bold('状态')}：{EVENTS.get(event, event)} · {bold('级别')}：{level}"]
    if payload.get("resumed_after"):
        head.append(f"（同一事件：{_when(payload['resumed_after'])} 曾报已恢复，现再次活跃）")
    if payload.get("repeat"):
        head.append("（重发：上次发送未收到应答，可能已收到过一次）")
    window = payload.get("window") or {}
    if window:
        head.append(f"{bold('时间')}：{_when(window.get('start'))} → {_when(window.get('end'))}")
    if payload.get("observed") is not None:
        label = OBSERVED_LABELS.get(str(payload.get("observed_counts")), "负面声量")
        span = payload.get("observed_window") or {}
        has_span = span.get("start") and span.get("end")
        when = f"{_clock(span['start'])}–{_clock(span['end'])}，" if has_span else ""
        expected = _num(payload.get("expected"))
        head.append(f"{bold(label)}：{_num(payload['observed'])}（{when}预期 {expected}）")
    if payload.get("negative_share") is not None:
        share = _share(payload["negative_share"])
        bin_ = payload.get("negative_share_window") or {}
        if bin_.get("start") and bin_.get("end"):  # one bin's share, not the window's
            share += f"（{_clock(bin_['start'])}–{_clock(bin_['end'])} 有观点的帖子中）"
        head.append(f"{bold('负面占比')}：{share}")
    if payload.get("freshness"):
        head.append(f"{bold('数据新鲜度')}：{_freshness(payload['freshness'])}")
    out = [head]
    if payload.get("reasons"):
        out.append([bold("触发原因")] + [f"- {r}" for r in payload["reasons"][:MAX_REASONS]])
    if is_web_url(payload.get("report_url")):
        out.append([link("事件页面（图表、传播、经过）", str(payload["report_url"]))])
    if is_web_url(payload.get("kibana_url")):
        out.append([link("在 Kibana 中查看负面帖子", str(payload["kibana_url"]))])
    if payload.get("summary"):
        line = _spread_summary(payload["summary"])
        if line:
            out.append([f"{bold('传播概况')}：{line}"])
    if payload.get("spread_path"):
        out.append([bold("传播路径"), *_paths(payload["spread_path"])])
    if payload.get("themes"):
        themes = [_theme(t) for t in list(payload["themes"])[:MAX_THEMES]]
        out.append([f"{bold('主要话题')}：{'；'.join(themes)}"])
    if payload.get("key_accounts"):
        out.append(
            [f"{bold('关键账号')}（{EVIDENCE_SCOPE}）"]
            + [f"- {_account(a, link)}" for a in payload["key_accounts"]]
        )
    posts = payload.get("top_posts") or []
    if posts:
        out.append(
            [bold("负面热帖")]
            + [_post(i, p, link) for i, p in enumerate(posts, 1) if isinstance(p, Mapping)]
        )
    if payload.get("coordination"):
        scope = f"（{EVIDENCE_SCOPE}）"
        out.append([f"{bold('水军迹象')}{scope}：{_coordination(payload['coordination'])}"])
    pictures = _pictures(payload.get("pictures"))
    if pictures:
        out.append(
            [f"{bold('图片')}：" + " ".join(link(f"图{i}", p) for i, p in enumerate(pictures, 1))]
        )
    return out


def fit(parts: list[list[str]], max_bytes: int, *, sep: str = "\n", chars: bool = False) -> str:
    """Join sections within ``max_bytes``, keeping as many sections as possible.

    First the longest lists lose their last items (the 10th post goes before the only spread
    path), down to one item each; then whole sections go from the least important end; only
    then is the text cut, on a character boundary. ``chars``: the limit counts characters, not
    UTF-8 bytes (Slack's 3000 per section is characters; a Chinese one is 3 bytes).
    """
    parts = [list(p) for p in parts]

    def length(text: str) -> int:
        return len(text) if chars else len(text.encode("utf-8"))

    def size(lines: list[str]) -> int:
        return length(sep.join(lines))

    def joined() -> str:
        return (sep * 2).join(sep.join(p) for p in parts if p)

    while length(joined()) > max_bytes:
        # A channel that fits one section at a time (Slack's 3000 per section) trims that
        # section's own list: it was cut mid-line, through a link, with all its posts.
        lists = [p for p in (parts[1:] if len(parts) > 1 else parts) if len(p) > 2]
        if lists:
            max(lists, key=size).pop()
        elif len(parts) > 1:
            parts.pop()
        else:
            break
    text = joined()
    if chars and len(text) > max_bytes:
        return drop_open_markup(text[: max(0, max_bytes - len(TRUNCATED))]) + TRUNCATED
    return text if chars else truncate_utf8(text, max_bytes)


def render_markdown(
    payload: Mapping[str, Any],
    max_bytes: int,
    *,
    heading: str = "### ",
    link: Link = markdown_link,
    footer: str = "",
) -> str:
    """Title, sections and footer (e.g. @-mentions) within ``max_bytes``; the footer is kept."""
    title = f"{heading}{payload.get('title', '口碑告警')}"
    foot = f"\n\n{footer}" if footer else ""
    budget = max_bytes - len(foot.encode("utf-8"))
    return fit([[title], *sections(payload, link=link)], budget) + foot


CRAWL_STATUS = {"blocked": "受阻", "degraded": "部分失败", "empty": "无返回"}


def _freshness(sources: list[Mapping[str, Any]]) -> str:
    """Per source: how long ago its newest post for the brand was crawled, and a bad crawl."""
    parts = []
    for item in sources[:MAX_FRESHNESS_SOURCES]:
        behind = item.get("minutes_behind")
        when = f"{behind} 分钟前" if behind is not None else "暂无数据"
        status = item.get("crawl_status")
        note = "" if status in (None, "ok") else f"（抓取{CRAWL_STATUS.get(str(status), status)}）"
        parts.append(f"{item.get('source')} {when}{note}")
    return "；".join(parts)
