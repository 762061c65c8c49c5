"""Line-level boilerplate: footers, prompts, share bars, captions, SEO spam and repeated titles.

Works on lines because crawled pages put boilerplate on lines of its own; a prose sentence that
merely mentions 评论 or 版权 is kept because every pattern is anchored to a short whole line or to
phrases that only site furniture uses.
"""

from __future__ import annotations

import re

# Prompts and share bars end in a few words from a small vocabulary ("扫码关注公众号", "扫一扫，
# 分享到朋友圈", "分享到：微信 微博 QQ空间"). Their rules used to end in ".*", so a short complaint
# starting with the same words ("扫码付款后一直没发货，垃圾商家", "分享到朋友圈后才发现是假货")
# went whole and was scored as having no opinion. Now a prompt's line may hold only these words,
# spaces and punctuation after its lead: a complaint always has a word outside them (付款, 假货).
_PROMPT_WORD = (
    "关注|我们|本站|官方|微信|公众号|公众平台|订阅号|服务号|微博|下载|安装|app|客户端|小程序"
    "|阅读|全文|原文|本文|文章|分享|到|给|朋友圈|好友|朋友|手机版|手机|上|在|用|打开|访问|浏览"
    "|查看|看|二维码|更多|精彩|内容|资讯|获取|领取|优惠券|优惠|加入|加|群|免费|即可|网页|随时随地"
    "|随时|添加|咨询|客服|观看|视频|了解|详情|最新|动态|长按|识别|图中|下方|上方|进入|参与|讨论"
    "|评论|注册|登录|立即|马上|请"
)
_PROMPT = rf"(?:[\s,，.。:：、!！|/·]|{_PROMPT_WORD})*"
_SHARE_TARGET = (
    r"(?:[\s,，:：、|/·]|新浪微博|腾讯微博|微博|微信好友|微信|QQ空间|QQ好友|QQ|豆瓣|朋友圈|好友"
    r"|人人网|百度贴吧|贴吧|facebook|twitter)*"
)
# A picture caption is a title and its number ("社交电商如何运营,第1张", pages/003): one comma,
# no other sentence punctuation before it, nothing after but "/共N张".
_CAPTION = r"[^,，。！？!?；;]{1,30}[,，]\s*第\s*\d{1,3}\s*张(?:\s*/\s*共\s*\d{1,3}\s*张)?"
# Account prompts and footer links, alone or several on one line.
_ACCOUNT = "(?:(?:请|立即|免费|快速)?(?:登录|登陆|注册)|忘记密码|找回密码|退出登录)"
_SITE_LINK = (
    "(?:关于我们|联系我们|网站地图|免责声明|隐私政策|用户协议|服务条款|意见反馈|帮助中心|广告服务"
    "|商务合作|加入我们|投诉建议)"
)
# Whole-line furniture (after stripping), matched with fullmatch on lines of at most 40 chars.
# No rule ends in an unbounded ".*" after a lead that prose can start with: each is a fixed
# phrase, a lead plus prompt words (above), or a title bounded by ":" and a length.
_SHORT_LINE = re.compile(
    r"(?:推荐阅读|相关阅读|延伸阅读|猜你喜欢|相关推荐|相关文章|热门推荐|热门文章"
    r"|(?:上一篇|下一篇)(?:文章)?(?:\s*[:：].{0,36})?"
    r"|发表评论|我要评论|写评论|查看评论|评论区|\d+\s*条评论|暂无评论"
    rf"|登录后才能(?:发表)?评论{_PROMPT}"
    r"|网友评论(?:\s*[(（]?\s*\d+\s*[)）]?\s*条?)?[:：]?"
    # the portals' disclaimer: "网友评论仅供其表达个人看法，并不表明本站同意其观点或证实其描述"
    r"|网友评论仅供其?表达个人看法.*"
    rf"|分享到{_SHARE_TARGET}|分享|点赞|收藏|转发|打赏|举报|返回顶部|回到顶部"
    rf"|(?:微信|手机|用手机|长按)?(?:扫一扫|扫码|扫描(?:下方|上方)?二维码){_PROMPT}"
    rf"|关注我们{_PROMPT}|立即查看{_PROMPT}|了解详情|查看更多|阅读全文|展开全文|加载更多|点击加载更多"
    rf"|(?:图片|图)(?:来源|源自)[:：][^,，。！？!?；;]{{0,20}}|{_CAPTION}|\(?图\s*\d+\)?|\[图片\]"
    r"|(?:微信|微博|QQ空间|QQ|豆瓣|朋友圈)(?:\s*[|/、 ]\s*(?:微信|微博|QQ空间|QQ|豆瓣|朋友圈))+"
    r"|.{0,30}\s»\s.{0,30}|首页(?:\s*[>›»]\s*[^>›»,，。！？!?；;]{1,15})+"
    r"|(?:文章|本文)插图|(?:点击)?(?:查看|阅读)原文"
    r"|(?:本文|文章|新闻)来源[:：].{1,20}|责任编辑[:：].{1,12}"
    # Account bars and navigation: 登录 | 注册, 首页 | 新闻 | 关于我们, site links.
    rf"|(?:您好[,，]?\s*)?{_ACCOUNT}(?:\s*[|/丨·]?\s*{_ACCOUNT})*"
    r"|首页(?:\s*[|/丨·]\s*[^|/丨·\s]{1,8}){2,}"
    rf"|{_SITE_LINK}(?:\s*[|/丨·]?\s*{_SITE_LINK})*|友情链接[:：].*"
    # A hotline on its own: 客服电话：400-123-4567 (工作日 9:00-18:00).
    r"|(?:客服|服务|咨询|投诉|订购)?(?:电话|热线)[:：]?\s*\+?[\d() （）-]{7,20}"
    r"(?:\s*[(（][^()（）]{1,20}[)）])?"
    r"|提供最优质的资源集合|有问题就有答案)",
    re.I,
)
# Phrases that mark a line as a legal notice or site footer wherever they occur.
_FOOTER = re.compile(
    r"版权声明|版权所有|©|\(c\)\s*\d{4}|copyright|all rights reserved|本站仅提供信息存储空间"
    r"|不拥有所有权|不承担相关法律责任|未经授权.{0,10}转载|转载请注明|ICP备|公网安备"
    r"|本文内容由互联网用户自发贡献|如有侵权|请联系.{0,6}删除|主题是一个优秀的主题"
    # the last sentence of pages/001's notice: "如发现本站有涉嫌抄袭侵权/…, 一经查实, …"
    r"|涉嫌抄袭|一经查实",
    re.I,
)
# SEO spam lines: keyword-stuffed lines typical of hijacked pages ("国产精品区一区二区免费").
# One of these phrases in prose is no spam (real reviews: "音效更是国产精品！", "根本没有码",
# "在线观看视频时不能横屏"): a line is spam when it holds two, or one that is more than half
# of it (``_is_spam``).
_SPAM = re.compile(
    r"国产.{0,6}(?:精品|视频|一区|在线)|[一二三]区.{0,4}[二三四]区|(?:免费|在线)(?:观看|视频)"
    r"|av(?:在线|网站)|成人(?:视频|网站|电影)|午夜.{0,4}(?:福利|影院)|澳门.{0,4}(?:赌场|娱乐)"
    r"|百家乐|六合彩|时时彩|代孕|裸聊|(?:无码|有码)",
    re.I,
)
_CONTENT_CHAR = re.compile("[0-9A-Za-z\u3400-\u9fff]")
_SENTENCE = re.compile(r"[^。！？!?；;]+[。！？!?；;]*")
_TITLE_BRACKET = re.compile(r"^[【\[](.+)[】\]]$")
_BULLET = re.compile(r"^(?:[•·▪◆●◇■□○►▶]+|[-*]+(?=\s))\s*")
# A line with no letter, digit, CJK character or emoji is a bullet or separator left by markup.
_HAS_CONTENT = re.compile("[0-9A-Za-z\u3400-\u9fff\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2b55]")


def is_boilerplate(line: str) -> bool:
    """True when a single stripped line is site furniture rather than content."""
    if not line:
        return False
    if not _HAS_CONTENT.search(line):
        return True
    if len(line) <= 40 and _SHORT_LINE.fullmatch(line):
        return True
    if len(line) <= 300 and _FOOTER.search(line):
        return True
    return len(line) <= 120 and _is_spam(line)


def _is_spam(line: str) -> bool:
    hits = [m.group(0) for m in _SPAM.finditer(line)]
    if len(hits) >= 2:
        return True
    if not hits:
        return False
    spam = len(_CONTENT_CHAR.findall(hits[0]))
    return spam > len(_CONTENT_CHAR.findall(line)) - spam


def _without_footer_sentences(line: str) -> str:
    """``line`` without its sentences that hold a footer phrase: posters append "如有侵权请联系删除"
    or "转载请注明出处" to their own words, which stay; a footer line is one sentence and goes."""
    sentences = (m.group(0) for m in _SENTENCE.finditer(line))
    return "".join(s for s in sentences if not _FOOTER.search(s)).strip()


def drop_boilerplate(text: str) -> str:
    """Remove boilerplate lines and later repeats of a title-like line.

    A line of at most 80 characters that already appeared (also as ``【line】``) is a repeated
    title or heading; its first occurrence stays.
    """
    seen: set[str] = set()
    kept: list[str] = []
    for raw in text.split("\n"):
        stripped = raw.strip()
        if len(stripped) <= 300 and _FOOTER.search(stripped):
            stripped = _without_footer_sentences(stripped)
            if not stripped:
                continue
        line = _BULLET.sub("", stripped)
        # (a line without a bullet, nearly every one, is judged once)
        if (
            is_boilerplate(stripped)
            or (line != stripped and is_boilerplate(line))
            or (stripped and not line)
        ):
            continue
        if line and len(line) <= 80:
            bracketed = _TITLE_BRACKET.match(line)
            key = bracketed.group(1).strip() if bracketed else line
            if key in seen:
                continue
            seen.add(key)
        kept.append(line)
    return "\n".join(kept)
