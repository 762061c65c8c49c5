"""Property tests: cleaning never raises and is a pure function of its input."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from koubei.pipeline.clean import MAX_CHARS, clean_record, clean_text

FRAGMENTS = st.sampled_from(
    [
        "<p>",
        "</div>",
        "<script>x</script>",
        "<!--",
        "-->",
        "&amp;",
        "&#x1F600;",
        "&nbsp",
        "&#99999999;",
        "[怒]",
        "[赞]",
        "😡",
        "👍",
        "#话题#",
        "#",
        "@",
        "@用户名",
        "http://a.cn/x",
        "www.",
        "\u200b",
        "\ufeff",
        "\ud800",
        "\x00",
        "\r\n",
        "\n\n",
        "　",
        "電商運營",
        "质量很好",
        "版权声明",
        "推荐阅读",
        "國產精品一区二区",
        "•",
        "【标题】",
        "ｆｕｌｌ",
        "\u202e",
        "ﾟ",
    ]
)
MIXED = st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=40).map("".join)
BINARYISH = st.binary(max_size=400).map(lambda b: b.decode("utf-8", errors="surrogateescape"))
LATIN1 = st.binary(max_size=400).map(lambda b: b.decode("latin-1"))
ANY_TEXT = st.one_of(st.text(max_size=300), MIXED, BINARYISH, LATIN1)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(ANY_TEXT)
def test_clean_text_never_raises_and_is_pure(text: str) -> None:
    first = clean_text(text)
    assert isinstance(first, str)
    assert clean_text(text) == first
    assert "\u200b" not in first and "\x00" not in first
    first.encode("utf-8")  # no lone surrogates survive: the result is always storable


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["text_raw", "title", "id", "topics", "extra"]),
        st.one_of(ANY_TEXT, st.none(), st.integers(), st.lists(st.text(max_size=5))),
    )
)
def test_clean_record_never_raises_and_leaves_its_input_alone(record: dict) -> None:
    before = copy.deepcopy(record)
    out = clean_record(record)
    assert record == before
    assert out is not record
    assert isinstance(out["text_clean"], str)
    assert all(isinstance(t, str) for t in out["terms"] + out["topics"] + out["mentions"])
    assert clean_record(record) == out


def test_empty_and_huge_inputs() -> None:
    assert clean_text("") == ""
    assert clean_text(None) == ""  # type: ignore[arg-type]
    huge = ("质量很好&amp;<b>物流</b>快[赞]\n" * 60_000)[: MAX_CHARS * 2]
    out = clean_text(huge)
    assert 0 < len(out) <= MAX_CHARS
    assert "<b>" not in out


SCRIPTS = st.lists(
    st.one_of(
        st.sampled_from(
            ["電商運營", "什么", "這裏", "衞生", "反覆", "一目瞭然", "，", "。", " ", "-", "\n"]
        ),
        st.text(alphabet="么乾干著裡裏电商好的了", max_size=6),
    ),
    max_size=30,
).map("".join)


@SETTINGS
@given(SCRIPTS)
def test_simplified_run_by_run_equals_opencc_on_the_whole_text(text: str) -> None:
    """``to_simplified`` sends only the runs between OpenCC's separators that hold a traditional
    character through OpenCC's slow matcher; the result is what converting the whole text gives."""
    from koubei.pipeline.clean.normalise import _converter, _variants, to_simplified

    whole = _converter().convert(text.translate(_variants()))  # type: ignore[attr-defined]
    assert to_simplified(text) == whole
