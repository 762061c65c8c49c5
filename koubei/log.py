"""Structured logging: key=value lines on stderr (JSON with ``KOUBEI_LOG_JSON=1``)."""

from __future__ import annotations

import logging
import os
import sys

import structlog


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now (test runners and daemons swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(*, verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(
        handlers=[logging.StreamHandler(_CurrentStderr())], level=level, format="%(message)s"
    )
    # Prefect's API client logs every HTTP request at INFO, and the ES transport logs each
    # retry with a full traceback; the final error is reported once. Keep them for --verbose.
    for noisy, quiet in (
        ("httpx", logging.WARNING),
        ("httpcore", logging.WARNING),
        ("elastic_transport", logging.ERROR),
    ):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else quiet)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if os.environ.get("KOUBEI_LOG_JSON")
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
    )


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)
