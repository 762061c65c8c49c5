"""clean_record fills the derived fields of a Document record and stays a valid Document."""

from __future__ import annotations

from koubei.model import Document, from_record, make_id, to_record
from koubei.pipeline.clean import clean_record


def _record(text: str, title: str | None = None, platform: str = "articles") -> dict:
    # Articles: plain text, so mentions are read from it (weibo's come from the spider).
    return to_record(
        Document(
            id=make_id(platform, "1"),
            platform=platform,
            source="test",
            kind="post",
            native_id="1",
            title=title,
            text_raw=text,
            created_at="2026-11-24T10:00:00+08:00",  # type: ignore[arg-type]
        )
    )


def test_fields_are_filled_and_record_stays_valid() -> None:
    record = _record(
        "#鲜牧牛奶喝出异物# @鲜牧官方 孩子喝了拉肚子[怒] 再也不買了！詳情 https://t.cn/xyz",
        title="<b>鮮牧牛奶</b>&nbsp;出事了",
    )
    out = clean_record(record)
    assert out["text_clean"] == "#鲜牧牛奶喝出异物# @鲜牧官方 孩子喝了拉肚子[怒] 再也不买了！详情"
    assert out["title"] == "鲜牧牛奶 出事了"
    assert out["topics"] == ["鲜牧牛奶喝出异物"]
    assert out["mentions"] == ["鲜牧官方"]
    assert "拉肚子" in out["terms"] and "牛奶" in out["terms"]
    assert not {"了", "！", " ", "#", "@"} & set(out["terms"])
    assert record["text_clean"] is None  # the input is untouched
    assert from_record(out).text_clean == out["text_clean"]


def test_terms_are_distinct_words_without_stop_words_or_punctuation() -> None:
    out = clean_record(_record("物流很快，物流真的很快！！包装也很好。"))
    assert out["terms"].count("物流") == 1
    assert all(any(ch.isalnum() for ch in term) for term in out["terms"])
    assert "很" not in out["terms"]


def test_email_is_not_a_mention() -> None:
    out = clean_record(_record("联系 service@shop.com 或 @小王 处理"))
    assert out["mentions"] == ["小王"]


def test_platform_mentions_from_markup_are_kept() -> None:
    text = "<a href='/n/鲜牧乳业'>@鲜牧乳业</a> 还有 @鲜牧乳业纯牛奶喝出黑色异物"
    record = _record(text, platform="weibo")
    record["mentions"] = ["鲜牧乳业"]
    assert clean_record(record)["mentions"] == ["鲜牧乳业"]  # no account cut out of text


def test_hostile_author_name_and_url_are_stored_clean_raw_name_marked_raw() -> None:
    record = _record("好评")
    record["author"] = {"id": "42", "name": "<script>alert(1)</script>小\x00明\u202e"}
    record["url"] = "javascript:alert(document.cookie)"
    out = clean_record(record)
    assert out["author"]["name"] == "小明"
    assert out["url"] is None
    assert out["extra"]["raw"] == {"author_name": record["author"]["name"]}
    assert from_record(out).author.name == "小明"  # still a valid Document


def test_clean_names_and_web_urls_are_left_alone() -> None:
    record = _record("好评")
    record["author"] = {"id": "42", "name": "鲜牧_官方-V2"}
    record["url"] = "https://m.weibo.cn/detail/4890"
    out = clean_record(record)
    assert (out["author"]["name"], out["url"]) == ("鲜牧_官方-V2", "https://m.weibo.cn/detail/4890")
    assert "raw" not in out["extra"]


def test_emoji_keep_their_joiners_letters_lose_them() -> None:
    family, flag, heart = "👨\u200d👩\u200d👧", "🏳\ufe0f\u200d🌈", "❤\ufe0f\u200d🔥"
    out = clean_record(_record(f"全家{family}都爱喝{flag}{heart}，垃\u200d圾"))
    assert family in out["text_clean"] and flag in out["text_clean"] and heart in out["text_clean"]
    assert "垃圾" in out["text_clean"]
