"""Structured logs (structlog) at ``ISAO_LOG_LEVEL``; calls below the level cost next to nothing."""

from __future__ import annotations

import logging
import sys

import structlog


def configure(level: str = "INFO") -> None:
    """Logs go to stderr, so a command's output (tables, ids) stays clean to read or pipe."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
