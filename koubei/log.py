"""Structured logging: key=value lines on stderr (JSON with ``KOUBEI_LOG_JSON=1``).

Every log line goes through one redaction (:func:`koubei.redact.redact`): ours (structlog)
after rendering, and every standard-library record (httpx, urllib3, elastic_transport, prefect,
scrapy, ...) when it is created, through the record factory, so no library handler, formatter
or Prefect's API log handler ever sees a secret. Uncaught tracebacks are redacted too.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from types import TracebackType

import structlog

from koubei.redact import redact

OFF_WORDS = ("", "0", "false", "no", "off")

_formatter = logging.Formatter()


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now (test runners and daemons swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _clean(value: object) -> object:
    if isinstance(value, int | float | bool) or value is None:
        return value
    text = str(value)
    clean = redact(text)
    return value if clean == text else clean


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record's message, arguments and traceback in place (keeps the args' shape)."""
    record.msg = _clean(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_clean(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _clean(arg) for key, arg in record.args.items()}
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(_formatter.formatException(record.exc_info))
    return record


def install_redaction() -> None:
    """Redact every standard-library record when it is created and every uncaught traceback,
    whatever handler writes them: :func:`configure_logging` installs it, and so does a process
    whose handlers are another's (the crawl subprocess, whose log lines Scrapy's handler writes
    to ``logs/crawl/``). Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "koubei_redacts", False):
        return

    def redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return redact_record(factory(*args, **kwargs))

    redacting_factory.koubei_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)
    hook = sys.excepthook

    def redacting_hook(
        kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        text = "".join(traceback.format_exception(kind, exc, tb))
        sys.stderr.write(redact(text))

    if hook is sys.__excepthook__:
        sys.excepthook = redacting_hook


def _redacting(renderer: structlog.typing.Processor) -> structlog.typing.Processor:
    def render(logger: object, name: str, event: structlog.typing.EventDict) -> str:
        return redact(str(renderer(logger, name, event)))

    return render


def configure_logging(*, verbose: bool = False, stdlib_handler: bool = True) -> None:
    """Redacted logging on stderr: ours (structlog) and, with ``stdlib_handler``, the standard
    library's. Without it the records are still redacted but written by the handler the process
    installs itself (Scrapy's, in the crawl subprocess, at ``LOG_LEVEL``)."""
    install_redaction()
    level = logging.DEBUG if verbose else logging.INFO
    if stdlib_handler:
        logging.basicConfig(
            handlers=[logging.StreamHandler(_CurrentStderr())], level=level, format="%(message)s"
        )
    # Prefect's API client logs every HTTP request at INFO, and the ES transport logs each
    # retry with a full traceback; the final error is reported once. fontTools' subsetter logs
    # its timings at INFO for every incident page. Keep them all for --verbose.
    for noisy, quiet in (
        ("httpx", logging.WARNING),
        ("httpcore", logging.WARNING),
        ("elastic_transport", logging.ERROR),
        ("fontTools", logging.WARNING),
    ):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else quiet)
    # KOUBEI_LOG_JSON=0 (or false, no, off) means off, as people write it.
    as_json = os.environ.get("KOUBEI_LOG_JSON", "").strip().lower() not in OFF_WORDS
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            _redacting(renderer),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
    )


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)
