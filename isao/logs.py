"""Structured logs (structlog) at ``ISAO_LOG_LEVEL``; calls below the level cost next to nothing."""

from __future__ import annotations

import logging
import sys

import structlog


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at each write: a caller that swaps it for a while (a test runner capturing
    a command's output) does not leave the logs writing to a file it has since closed."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO") -> None:
    """Logs go to stderr, so a command's output (tables, ids) stays clean to read or pipe."""
    # Plain tracebacks: rendering a rich one takes a core for a tenth of a second, which a burst of
    # failing requests turns into a stalled server.
    renderer = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    structlog.configure(
        processors=[*structlog.get_config()["processors"][:-1], renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
