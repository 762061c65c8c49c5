"""Config errors name the file, the field path and why; secrets come only from the env."""

from __future__ import annotations

from pathlib import Path

import pytest

from koubei import paths
from koubei.config import (
    AlertsConfig,
    BrandsConfig,
    ConfigError,
    SourcesConfig,
    load_alerts,
    load_brands,
    load_file,
    load_sources,
    parse_duration,
    platforms,
    secret,
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_is_valid() -> None:
    brands = load_brands(paths.CONFIG_DIR)
    assert [b.name for b in brands.brands][:1] == ["鲜牧"]
    assert brands.get("鲜牧").terms[0] == "鲜牧"
    load_sources(paths.CONFIG_DIR)
    alerts = load_alerts(paths.CONFIG_DIR)
    assert alerts.interval_seconds == 300


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "brands.yaml", "brands:\n  - name: 鲜牧\n    aliases: [a, b\n")
    with pytest.raises(ConfigError) as info:
        load_file(path, BrandsConfig)
    message = str(info.value)
    assert str(path) in message and "line" in message and "invalid YAML" in message


def test_config_that_is_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "brands.yaml"
    path.write_bytes("brands:\n  - name: 鲜牧\n".encode("gbk"))  # saved as GBK by an editor
    with pytest.raises(ConfigError) as info:
        load_file(path, BrandsConfig)
    assert str(info.value) == (
        f"{path}:2: not UTF-8 (byte 0xcf) (it reads as GBK, the ANSI encoding of a Chinese "
        "Windows); save the file as UTF-8"
    )


def test_a_control_character_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "brands.yaml", "brands:\n  - name: a\x00\n")
    with pytest.raises(ConfigError) as info:
        load_file(path, BrandsConfig)
    assert str(info.value).splitlines() == [
        f"{path}: line 2, column 12: invalid YAML: special characters are not allowed (#x0000)"
    ]


def test_unknown_field_names_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, "brands.yaml", "brands:\n  - name: 鲜牧\n    alias: [x]\n")
    with pytest.raises(ConfigError) as info:
        load_file(path, BrandsConfig)
    # the fields that are allowed there, so a typo is fixed without opening the schema
    assert str(info.value) == (
        f"{path}: brands[0].alias: unknown field; known here: aliases, competitors, exclude, name"
    )


def test_unknown_field_lists_the_fields_of_its_own_level(tmp_path: Path) -> None:
    text = (
        "paging: {quite: 6h}\n"
        "routes: [{channels: [a], contine: true}]\n"
        "channels: [{name: a, type: webhook}]\n"
    )
    path = write(tmp_path, "alerts.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_file(path, AlertsConfig)
    lines = str(info.value).splitlines()
    known = "escalate, outage_cap, quiet, settling"
    assert f"{path}: paging.quite: unknown field; known here: {known}" in lines
    # YAML names (the alias `continue`), not the Python attribute
    assert any(
        line.startswith(
            f"{path}: routes[0].contine: unknown field; known here: channels, continue,"
        )
        for line in lines
    ), lines


def test_wrong_type_and_all_errors_reported_at_once(tmp_path: Path) -> None:
    text = (
        "sources:\n"
        "  - {name: Bad Name, platform: weibo}\n"
        "  - {name: ok, platform: weibo, max_pages: zero}\n"
    )
    path = write(tmp_path, "sources.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_file(path, SourcesConfig)
    lines = str(info.value).splitlines()
    assert any("sources[0].name" in line and "pattern" in line for line in lines)
    assert any("sources[1].max_pages" in line and "integer" in line for line in lines)


def test_competitor_must_be_a_configured_brand(tmp_path: Path) -> None:
    path = write(tmp_path, "brands.yaml", "brands:\n  - {name: 鲜牧, competitors: [无名]}\n")
    with pytest.raises(ConfigError, match=r"competitors.*无名.*not brands here"):
        load_file(path, BrandsConfig)


def test_empty_alias_is_refused_with_its_path(tmp_path: Path) -> None:
    text = "brands:\n  - {name: 鲜牧, aliases: [XianMu, ''], exclude: ['  ']}\n"
    path = write(tmp_path, "brands.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_file(path, BrandsConfig)
    lines = str(info.value).splitlines()
    assert any(
        line.startswith(f"{path}: brands[0].aliases:") and "entry 1 is empty" in line
        for line in lines
    )
    assert any("brands[0].exclude:" in line and "match every text" in line for line in lines)


def test_inline_secret_is_refused(tmp_path: Path) -> None:
    text = "channels:\n  - name: hook\n    type: webhook\n    options: {url: http://x}\n"
    path = write(tmp_path, "alerts.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_file(path, AlertsConfig)
    assert "channels[0].options" in str(info.value) and "url_env" in str(info.value)


def test_missing_secret_names_variable_file_and_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KOUBEI_TEST_SECRET", raising=False)
    with pytest.raises(ConfigError) as info:
        secret("KOUBEI_TEST_SECRET", file="config/alerts.yaml", field="channels[0].secret_env")
    assert str(info.value) == (
        "config/alerts.yaml: channels[0].secret_env: "
        "environment variable KOUBEI_TEST_SECRET is not set"
    )
    monkeypatch.setenv("KOUBEI_TEST_SECRET", "s3cret")
    assert secret("KOUBEI_TEST_SECRET", file="f", field="x") == "s3cret"


@pytest.mark.parametrize("value", ["", "  "])
def test_a_secret_variable_set_but_empty_is_not_called_unset(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("KOUBEI_TEST_SECRET", value)
    with pytest.raises(ConfigError) as info:
        secret("KOUBEI_TEST_SECRET", file="config/alerts.yaml", field="channels[0].url_env")
    assert str(info.value) == (
        "config/alerts.yaml: channels[0].url_env: "
        "environment variable KOUBEI_TEST_SECRET is set but empty"
    )


def test_durations() -> None:
    assert parse_duration("5m") == 300
    assert parse_duration("2h") == 7200
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("five minutes")


def test_a_duration_too_long_for_a_clock_is_refused() -> None:
    # 10**20 days overflowed timedelta at the first detection: a traceback in every cycle
    with pytest.raises(ValueError, match="too long"):
        parse_duration("99999999999999999999d")
    assert parse_duration("36500d") == 36500 * 86400


def test_bad_duration_in_alerts_file(tmp_path: Path) -> None:
    path = write(tmp_path, "alerts.yaml", "interval: soon\n")
    with pytest.raises(ConfigError, match=r"alerts.yaml: interval: .*not a duration"):
        load_file(path, AlertsConfig)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"brands.yaml: cannot read config file"):
        load_brands(tmp_path)


def test_platforms_are_the_spider_names() -> None:
    from koubei.crawlers.spiders import spider_classes

    assert platforms() == sorted(spider_classes())


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "paging:\n  quiet: 6\n",
            "paging.quiet: expected text, got 6: a duration needs its unit ('6h'); quote a number",
        ),
        (
            "detectors:\n  - name: off\n    type: negative_volume\n",
            "detectors[0].name: expected text, got false: YAML reads yes/no/on/off as false; "
            "quote the text",
        ),
        (
            "detectors:\n  - {name: a, type: negative_volume, enabled: nope}\n",
            "detectors[0].enabled: expected true or false, got 'nope'",
        ),
        ("detectors: 5\n", "detectors: expected a list (lines starting with '- '), got 5"),
        ("paging: 6h\n", "paging: expected a mapping (key: value lines), got '6h'"),
    ],
    ids=["duration-without-unit", "yaml-boolean-name", "not-a-boolean", "not-a-list", "not-a-map"],
)
def test_a_value_of_the_wrong_type_is_said_in_the_words_of_the_yaml(
    tmp_path: Path, text: str, line: str
) -> None:
    """Were pydantic's "Input should be a valid string" (for `quiet: 6` and `name: off`), "...
    valid boolean, unable to interpret input", "... valid list"."""
    write(tmp_path, "alerts.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_alerts(tmp_path)
    assert str(info.value) == f"{tmp_path / 'alerts.yaml'}: {line}"


def test_source_ids_written_as_numbers_are_ids(tmp_path: Path) -> None:
    """YAML reads an unquoted id as an int; it was refused with a message about durations."""
    path = write(
        tmp_path,
        "sources.yaml",
        "sources:\n  - {name: jd, platform: shop_json, product_ids: [100012043978, '7']}\n"
        "  - {name: bili, platform: video_comments, post_ids: [170001, BV1xx]}\n",
    )
    config = load_file(path, SourcesConfig)
    assert config.get("jd").product_ids == ["100012043978", "7"]
    assert config.get("bili").post_ids == ["170001", "BV1xx"]


def test_a_source_url_without_scheme_names_file_and_field(tmp_path: Path) -> None:
    """It crawled nothing: Scrapy refused every request ("Missing scheme") inside the crawl,
    and the health read ``empty``, "no entries on 0 parsed page(s)"."""
    path = write(
        tmp_path,
        "sources.yaml",
        "sources:\n  - name: wb\n    platform: weibo\n    base_url: m.weibo.cn\n"
        "  - name: news\n    platform: articles\n    feeds: ['https://a.cn/rss', a.cn/atom]\n",
    )
    with pytest.raises(ConfigError) as info:
        load_file(path, SourcesConfig)
    assert str(info.value).splitlines() == [
        f"{path}: sources[0].base_url: 'm.weibo.cn' is not an http(s) URL like https://m.weibo.cn",
        f"{path}: sources[1].feeds: entry 1 'a.cn/atom' is not an http(s) URL like "
        "https://m.weibo.cn",
    ]


def test_a_key_written_twice_is_refused_naming_its_line(tmp_path: Path) -> None:
    # PyYAML keeps the last of two equal keys: a second `brands:` dropped every brand above it
    # without a word (the first two brands were never watched).
    text = "brands:\n  - name: 鲜牧\n  - name: 北岭\nbrands:\n  - name: 云朵\n"
    write(tmp_path, "brands.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_brands(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'brands.yaml'}: line 4, column 1: invalid YAML: key 'brands' is written "
        "twice in one mapping (first on line 1); only one may stay"
    )
    write(tmp_path, "brands.yaml", "brands:\n  - name: 鲜牧\n    aliases: [a]\n    aliases: [b]\n")
    with pytest.raises(ConfigError, match=r"line 4, column 5: .*key 'aliases' is written twice"):
        load_brands(tmp_path)


def test_yaml_keys_are_the_text_written(tmp_path: Path) -> None:
    # `yes:` was the key True and `1:` the key 1: "brands[0][1]: Keys should be strings".
    write(tmp_path, "brands.yaml", "brands:\n  - name: 鲜牧\n    yes: [x]\n    1: 2\n")
    with pytest.raises(ConfigError) as info:
        load_brands(tmp_path)
    assert [line.split(": ")[1] for line in str(info.value).splitlines()] == [
        "brands[0].yes",
        "brands[0].1",
    ]


def test_numbers_in_names_and_ids_are_the_text_written(tmp_path: Path) -> None:
    # A brand called 361 and a JD product id written without quotes were refused as "a duration
    # needs its unit"; a leading 0 (YAML 1.1 octal) made the id 0123 the number 83.
    write(tmp_path, "brands.yaml", "brands:\n  - name: 361\n    aliases: [0361, 361度]\n")
    assert load_brands(tmp_path).brands[0].terms == ["361", "0361", "361度"]
    text = "sources:\n  - {name: jd, platform: shop_json, product_ids: [100012043978, 0123]}\n"
    write(tmp_path, "sources.yaml", text)
    assert load_sources(tmp_path).sources[0].product_ids == ["100012043978", "0123"]
    write(tmp_path, "sources.yaml", "sources:\n  - {name: jd, platform: weibo, max_pages: 050}\n")
    assert load_sources(tmp_path).sources[0].max_pages == 50


def test_a_number_where_text_is_wanted_is_not_called_a_duration(tmp_path: Path) -> None:
    write(tmp_path, "sources.yaml", "sources:\n  - {name: a, platform: weibo, schedule: 5}\n")
    with pytest.raises(ConfigError) as info:
        load_sources(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'sources.yaml'}: sources[0].schedule: expected text, got the number 5; "
        "quote it if it is meant as text"
    )


def test_a_brand_listed_twice_or_a_term_two_brands_share_is_named_at_its_path(
    tmp_path: Path,
) -> None:
    # Was one "(top level): brand names must be unique" for a repeat, and nothing at all for
    # another brand's name written as an alias (every text naming it counted for both brands).
    text = (
        "brands:\n  - {name: 鲜牧, aliases: [北岭]}\n  - {name: 北岭}\n"
        "  - {name: 鲜牧, competitors: [鲜牧]}\n"
    )
    write(tmp_path, "brands.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_brands(tmp_path)
    path = tmp_path / "brands.yaml"
    assert str(info.value).splitlines() == [
        f"{path}: brands[1].name: '北岭' is also brands[0].aliases[0]: a brand is listed once, "
        "and a name or alias belongs to one brand",
        f"{path}: brands[2].name: '鲜牧' is also brands[0].name: a brand is listed once, "
        "and a name or alias belongs to one brand",
        f"{path}: brands[2].competitors: brand '鲜牧' is not its own competitor",
    ]


def test_a_source_listed_twice_is_named_at_its_path(tmp_path: Path) -> None:
    text = "sources:\n  - {name: a, platform: weibo}\n  - {name: a, platform: weibo}\n"
    write(tmp_path, "sources.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_sources(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'sources.yaml'}: sources[1].name: 'a' is already the name of sources[0]"
    )


def test_brand_terms_lose_surrounding_spaces(tmp_path: Path) -> None:
    # ' 鲜牧 ' (quoted with spaces) never matched a text like '鲜牧酸奶'.
    write(tmp_path, "brands.yaml", "brands:\n  - {name: ' 鲜牧 ', aliases: ['XianMu ']}\n")
    assert load_brands(tmp_path).brands[0].terms == ["鲜牧", "XianMu"]


def test_a_brand_without_a_name_says_the_name_is_missing(tmp_path: Path) -> None:
    write(tmp_path, "brands.yaml", "brands:\n  - aliases: [鲜牧乳业]\n")
    with pytest.raises(ConfigError) as info:
        load_brands(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'brands.yaml'}: brands[0].name: missing: required here"
    )


def test_a_tab_indent_says_to_indent_with_spaces(tmp_path: Path) -> None:
    write(tmp_path, "brands.yaml", "brands:\n\t- name: 鲜牧\n")
    with pytest.raises(ConfigError, match=r"line 2, column 1: .*indent with spaces"):
        load_brands(tmp_path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "sources.yaml",
            "sources:\n  - name: wb\n    platform: weibo\n"
            "    cookie_env: 'SUB=_2A25SECRETCOOKIE; SUBP=0033'\n",
        ),
        (
            "alerts.yaml",
            "channels:\n  - name: ding\n    type: dingtalk\n    options:\n"
            "      url_env: https://oapi.dingtalk.com/robot/send?access_token=SECRETCOOKIE\n"
            "      secret_env: SECRETCOOKIE0123abc\n",
        ),
    ],
    ids=["cookie", "webhook-url"],
)
def test_a_secret_written_where_its_variable_is_named_is_refused_unechoed(
    tmp_path: Path, name: str, text: str
) -> None:
    # A cookie in cookie_env crawled without any cookie and said nothing; a webhook URL in
    # url_env was printed back as "environment variable https://oapi... is not set".
    write(tmp_path, name, text)
    with pytest.raises(ConfigError) as info:
        load_file(tmp_path / name, SourcesConfig if name == "sources.yaml" else AlertsConfig)
    message = str(info.value)
    assert "SECRETCOOKIE" not in message
    assert "oapi" not in message
    field = "sources[0].cookie_env" if name == "sources.yaml" else "channels[0].options: url_env"
    assert f"{tmp_path / name}: {field}: must be the name of an environment variable" in message


def test_an_empty_file_says_it_is_empty(tmp_path: Path) -> None:
    write(tmp_path, "brands.yaml", "# every brand commented out\n")
    with pytest.raises(ConfigError) as info:
        load_brands(tmp_path)
    assert str(info.value) == f"{tmp_path / 'brands.yaml'}: brands: missing: the file is empty"


@pytest.mark.parametrize(
    ("encoding", "said"),
    [("gbk", "it reads as GBK"), ("utf-16", "it is UTF-16")],
)
def test_a_file_saved_by_a_windows_editor_says_its_encoding(
    tmp_path: Path, encoding: str, said: str
) -> None:
    (tmp_path / "brands.yaml").write_bytes("brands:\n  - name: 鲜牧\n".encode(encoding))
    with pytest.raises(ConfigError) as info:
        load_brands(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'brands.yaml'}:")
    assert f"({said}" in str(info.value) and str(info.value).endswith("save the file as UTF-8")
    # Notepad's "Unicode" writes a byte order mark; a config file is read as UTF-8 only, so
    # saving it "as UTF-16 with its byte order mark" (the old advice, after calling it UTF-16
    # without one) was refused alike
    assert "byte order mark" not in str(info.value)


def test_a_config_file_in_utf16_without_its_byte_order_mark_is_told_to_be_utf8(
    tmp_path: Path,
) -> None:
    path = tmp_path / "brands.yaml"
    path.write_bytes("brands:\n  - name: 鲜牧\n".encode("utf-16-le"))
    with pytest.raises(ConfigError) as info:
        load_brands(tmp_path)
    assert str(info.value) == (
        f"{path}:1: UTF-16 without its byte order mark (a 0 byte every other byte); save the "
        "file as UTF-8"
    )


def test_unquoted_clock_times_are_times(tmp_path: Path) -> None:
    # YAML 1.1 reads 22:30 as the base-60 number 1350: `start: 22:30` was refused as "expected
    # text, got 1350: a duration needs its unit", and `digest_at: 10:00` as 600.
    write(tmp_path, "alerts.yaml", "quiet_hours: {start: 22:30, end: 07:00}\ndigest_at: 10:00\n")
    alerts = load_alerts(tmp_path)
    assert alerts.quiet_hours is not None
    assert (alerts.quiet_hours.start, alerts.quiet_hours.end) == ("22:30", "07:00")
    assert alerts.digest_at == "10:00"


def test_a_boolean_is_no_page_count(tmp_path: Path) -> None:
    # pydantic reads true as 1: `max_pages: true` crawled one page per target, unsaid.
    text = (
        "sources:\n  - {name: a, platform: weibo, max_pages: true, concurrency_per_domain: 1.5}\n"
    )
    write(tmp_path, "sources.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_sources(tmp_path)
    path = tmp_path / "sources.yaml"
    assert str(info.value).splitlines() == [
        f"{path}: sources[0].max_pages: expected a whole number, got true",
        f"{path}: sources[0].concurrency_per_domain: expected a whole number, got 1.5",
    ]


def test_a_misspelt_severity_or_a_repeated_channel_or_detector_name_is_refused(
    tmp_path: Path,
) -> None:
    # `match: {severity: critcal}` matched nothing ever; two channels (or detectors) of one name
    # were one for routes, the outbox and the history. All passed without a word.
    hook = "{url_env: KOUBEI_WEBHOOK_URL, secret_env: KOUBEI_WEBHOOK_SECRET}"
    text = (
        "detectors:\n  - {name: d, type: negative_volume}\n  - {name: d, type: negative_share}\n"
        f"channels:\n  - {{name: hook, type: webhook, options: {hook}}}\n"
        f"  - {{name: hook, type: webhook, options: {hook}}}\n"
        "routes:\n  - {match: {severity: [warning, critical]}, channels: [hook]}\n"
    )
    write(tmp_path, "alerts.yaml", text)
    path = tmp_path / "alerts.yaml"
    with pytest.raises(ConfigError) as info:
        load_alerts(tmp_path)
    assert str(info.value).splitlines() == [
        f"{path}: channels[1].name: 'hook' is already the name of channels[0]",
        f"{path}: detectors[1].name: 'd' is already the name of detectors[0]",
    ]
    write(tmp_path, "alerts.yaml", "routes:\n  - {match: {severity: critcal}, channels: [x]}\n")
    with pytest.raises(ConfigError) as info:
        load_alerts(tmp_path)
    assert str(info.value) == (
        f"{path}: routes[0].match: severity 'critcal' is not one of info, warning, critical"
    )


def test_a_route_takes_numbers_as_the_brand_names_and_mobiles_they_are(tmp_path: Path) -> None:
    # A brand may be called 361 (brands.yaml takes it), and DingTalk @-mentions are mobile
    # numbers: unquoted, a route refused both as "expected text".
    text = (
        "channels:\n  - {name: x, type: webhook, options: {url_env: A, secret_env: B}}\n"
        "routes:\n  - {match: {brand: 361}, channels: [x], mentions: [13800000000]}\n"
    )
    write(tmp_path, "alerts.yaml", text)
    (route,) = load_alerts(tmp_path).routes
    assert route.match == {"brand": "361"} and route.mentions == ["13800000000"]
    assert route.matches({"brand": "361"})
