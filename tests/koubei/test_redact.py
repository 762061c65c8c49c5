"""One redaction for every log line and error: known secrets from the environment, URL tokens."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from koubei.demo.receiver import start_receiver
from koubei.log import configure_logging
from koubei.redact import redact

TOKEN = "tok3n-SECRET-abc123"
HOOK = f"https://oapi.dingtalk.example/robot/send?access_token={TOKEN}"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOUBEI_DINGTALK_URL", HOOK)
    monkeypatch.setenv("KOUBEI_DINGTALK_SECRET", "SECdingtalk-signing-key")
    monkeypatch.setenv("KOUBEI_ES_PASSWORD", "hunter2-es-pw")
    monkeypatch.setenv("KOUBEI_ES_URL", "https://es.internal:9200")
    monkeypatch.setenv("KOUBEI_WEIBO_COOKIE", "SUB=_2A25weibo-cookie")
    monkeypatch.setenv("KOUBEI_INDEX_PREFIX", "koubei")  # not a secret name


def test_known_secrets_are_replaced_by_the_variable_name(secrets: None) -> None:
    line = (
        f"POST {HOOK} failed; signed with SECdingtalk-signing-key as elastic:hunter2-es-pw "
        "cookie SUB=_2A25weibo-cookie prefix koubei at https://es.internal:9200"
    )
    assert redact(line) == (
        "POST [REDACTED:KOUBEI_DINGTALK_URL] failed; signed with [REDACTED:KOUBEI_DINGTALK_SECRET]"
        " as elastic:[REDACTED:KOUBEI_ES_PASSWORD] cookie [REDACTED:KOUBEI_WEIBO_COOKIE] prefix"
        " koubei at https://es.internal:9200"  # a bare origin names a place, not a secret
    )
    # The token alone (e.g. in a library's own message) and its URL-encoded form are covered.
    assert TOKEN not in redact(f"token={TOKEN}") and TOKEN not in redact(f"got {TOKEN}")


def test_url_credentials_are_redacted_even_when_no_variable_holds_them() -> None:
    text = "GET https://open.feishu.example/hook?sign=abcdef123&timestamp=17&key=zzz999 ok"
    assert redact(text) == (
        "GET https://open.feishu.example/hook?sign=[REDACTED]&timestamp=17&key=[REDACTED] ok"
    )


def test_httpx_debug_logging_of_a_webhook_call_never_shows_its_token(
    secrets: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = start_receiver("s3cret-receiver", tmp_path / "received.jsonl")
    url = f"{receiver.url}?access_token={TOKEN}"
    monkeypatch.setenv("KOUBEI_SLACK_URL", url)
    configure_logging(verbose=True)
    caplog.set_level(logging.DEBUG)
    try:
        with httpx.Client() as client:
            client.post(url, json={"x": 1})
            logging.getLogger("koubei.test").warning("sending to %s", httpx.URL(url))
            try:
                raise RuntimeError(f"receiver at {url} refused")
            except RuntimeError:
                logging.getLogger("koubei.test").exception("delivery failed")
    finally:
        receiver.stop()
    err = caplog.text  # pytest's own handler: a library handler, not ours
    assert "HTTP Request: POST" in err  # httpx did log the request...
    assert "[REDACTED:KOUBEI_SLACK_URL]" in err  # ...and the traceback was redacted too
    assert TOKEN not in err and str(receiver.url) + "?" not in err


def test_variables_config_names_are_secrets_whatever_they_are_called(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``cookie_env: WB_LOGIN`` or a channel's ``url_env: HOOK_ADDR``: not ``KOUBEI_*``, yet
    their values never reach a log line once the config naming them is validated."""
    from koubei.config import AlertsConfig, Source

    cookie, hook = "SUB=_2A25-plain-name-cookie", "https://hooks.example/T000/B000/xyzSECRET"
    monkeypatch.setenv("WB_LOGIN_T7", cookie)
    monkeypatch.setenv("HOOK_ADDR_T7", hook)
    line = f"GET with cookie {cookie} then POST {hook}"
    assert redact(line) == line  # unknown names: nothing says they are secrets yet
    Source(name="wb", platform="weibo", cookie_env="WB_LOGIN_T7")
    AlertsConfig.model_validate(
        {"channels": [{"name": "s", "type": "slack", "options": {"url_env": "HOOK_ADDR_T7"}}]}
    )
    assert redact(line) == (
        "GET with cookie [REDACTED:WB_LOGIN_T7] then POST [REDACTED:HOOK_ADDR_T7]"
    )


@pytest.mark.parametrize(("value", "as_json"), [("1", True), ("0", False), ("false", False)])
def test_log_json_is_switched_off_by_zero_as_people_write_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str, as_json: bool
) -> None:
    import json

    from koubei.log import get_logger

    monkeypatch.setenv("KOUBEI_LOG_JSON", value)
    configure_logging()
    get_logger("koubei.test").info("crawl_done", items=3)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    if as_json:
        assert json.loads(line)["event"] == "crawl_done"
    else:
        assert line.startswith("20") and "crawl_done" in line and "items=3" in line


def test_the_redis_password_in_redis_url_never_reaches_a_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """REDIS_URL is scrapy-redis's name, not ``KOUBEI_*``: its password was logged as given."""
    url = "redis://:hunter2-redis-pw@10.0.0.5:6379/0"
    monkeypatch.setenv("REDIS_URL", url)
    configure_logging()
    caplog.set_level(logging.INFO)
    logging.getLogger("scrapy_redis.test").error("cannot reach %s", url)
    logging.getLogger("koubei.test").warning("auth with hunter2-redis-pw refused")
    assert "hunter2-redis-pw" not in caplog.text
    assert caplog.text.count("[REDACTED:REDIS_URL]") == 2
    assert redact(f"at {url}") == "at [REDACTED:REDIS_URL]"
