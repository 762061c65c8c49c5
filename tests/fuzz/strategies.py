"""Shared Hypothesis strategies: text as strangers write it, and the shapes our parsers know."""

from __future__ import annotations

from hypothesis import strategies as st

# Characters that break naive parsers: CJK, emoji (with joiners and variation selectors), NUL and
# other controls, lone surrogates, bidi overrides, full-width forms, markup and chain syntax.
SPECIAL = (
    "鲜牧北岭牛奶質量好差，。！？：；（）【】#@/:："
    "\x00\x01\x1b\x7f\u0085\u200b\u200d\u202e\u2028\ufeff\ufe0f\ufffd"
    "👨👩👧🏳🌈❤🔥１２３Ｔａ<>&;\"'=/\\ \t\r\n"
)
hostile_text = st.text(
    alphabet=st.one_of(st.sampled_from(SPECIAL), st.characters(codec=None, exclude_categories=())),
    max_size=100,
)
markupish = st.lists(
    st.sampled_from(
        [
            "<script>",
            "</script>",
            "<p>",
            "</p>",
            "<br/>",
            "<img alt='[笑]'>",
            "<!--",
            "-->",
            "&amp;",
            "&#0;",
            "&#x1F600;",
            "&nbsp;",
            "&lt;script&gt;",
            "//@",
            "//@小明:",
            "：",
            "@鲜牧官方",
            "#话题#",
            "https://t.cn/x",
            "javascript:alert(1)",
            "\u200d",
            "👨",
            "鲜牧",
            "鮮牧",
            "XianMu",
            "鲜牧场",
            "12.3万",
            "10万+",
            "\x00",
        ]
    )
    | hostile_text,
    max_size=8,
).map("".join)
any_text = st.one_of(hostile_text, markupish)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def utf8(text: str) -> bytes:
    """Text as a crawler might write it; lone surrogates become the invalid bytes they would."""
    return text.encode("utf-8", errors="surrogatepass")
