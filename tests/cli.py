"""The ``isao`` command run inside the test process with Typer's runner: the same parsing, output and exit
codes as the console script, without paying its two seconds of start-up on every call. Commands that
serve, or that a test kills, still run as subprocesses (see ``tests/test_demo.py``, the worker tests)."""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass

from typer.testing import CliRunner

from isao import crypto
from isao.cli import app
from isao.cli.common import console
from isao.config import get_settings

WIDTH = 200
"""Tables as a wide terminal shows them (the console reads ``COLUMNS`` once, when it is made)."""


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(env: dict[str, str], *args: str) -> Ran:
    """``isao *args`` with ``env``'s ``ISAO_*`` variables as its whole ISAO configuration."""
    overrides: dict[str, str | None] = {name: None for name in os.environ if name.startswith("ISAO_")}
    overrides |= {name: value for name, value in env.items() if name.startswith("ISAO_")}
    _forget_settings()  # settings and the secrets key are read from the environment once per process
    console.width = WIDTH
    try:
        result = CliRunner().invoke(app, list(args), env=overrides)
    finally:
        _forget_settings()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Ran(result.exit_code, result.stdout, stderr)


def _forget_settings() -> None:
    get_settings.cache_clear()
    crypto._fernet.cache_clear()
