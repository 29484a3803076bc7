"""Structured logs (structlog) at ``ISAO_LOG_LEVEL``; calls below the level cost next to nothing."""

from __future__ import annotations

import logging

import structlog


def configure(level: str = "INFO") -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
