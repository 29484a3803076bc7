"""How the ``isao`` command fails: one line on stderr saying what went wrong, one saying what to do next,
and a non-zero exit; never a traceback.

Commands raise ``Failed`` (or let a known error of a lower layer through); ``Commands``, the class of the
``isao`` group, turns each into that shape once, for every sub-command. ``ISAO_DEBUG=1`` shows the
traceback of an unexpected error instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

stderr = Console(stderr=True)
T = TypeVar("T")


class Failed(typer.TyperException):
    """A failure the user can act on: ``problem``, then ``hint`` (what to do next)."""

    def __init__(self, problem: str, hint: str = "", code: int = 1) -> None:
        super().__init__(problem)
        self.hint = hint
        self.code = code


class Missing(Failed):
    """``No connection conn_…``: a record named on the command line does not exist (exit 1)."""

    def __init__(self, what: str, name: str, hint: str = "") -> None:
        super().__init__(f"No {what} {name}", hint)


def found(row: T | None, what: str, name: str, hint: str) -> T:
    """``row``, unless it is None: then the command fails with ``Missing``."""
    if row is None:
        raise Missing(what, name, hint)
    return row


class Usage(Failed):
    """The command line itself is wrong (exit 2, like Click's own usage errors)."""

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem, hint, code=2)


def report(problem: str, hint: str = "") -> None:
    """Print a failure in the shape every command uses."""
    stderr.print(f"[red]Error:[/red] {escape(problem.rstrip('.'))}.", highlight=False, soft_wrap=True)
    if hint:
        stderr.print(f"  {hint}", highlight=False, soft_wrap=True)


class Commands(TyperGroup):
    """The ``isao`` group: Click runs it without its own error handling, and failures leave here."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        run = (args, prog_name, complete_var, False, windows_expand_args)
        if not standalone_mode:  # the caller handles errors
            return super().main(*run, **extra)
        try:
            code = super().main(*run, **extra)
        except typer.TyperException as exc:  # ours, and Typer's usage errors
            _exit(_code(exc), exc.format_message(), _hint(exc))
        except typer.Abort:
            _exit(1, "Aborted", "")
        except Exception as exc:  # the last resort: a bug, in two lines unless ISAO_DEBUG asks for more
            if os.environ.get("ISAO_DEBUG"):
                raise
            hint = "This is a bug in ISAO: run it again with ISAO_DEBUG=1 to see where, and report it."
            _exit(1, f"Unexpected {type(exc).__name__}: {_first_line(exc)}", hint)
        sys.exit(code if isinstance(code, int) else 0)


def _code(exc: typer.TyperException) -> int:
    return exc.code if isinstance(exc, Failed) else exc.exit_code


def _hint(exc: typer.TyperException) -> str:
    if isinstance(exc, Failed):
        return exc.hint
    context = getattr(exc, "ctx", None)  # a usage error knows the command it was given to
    return f"See `{context.command_path} --help`." if context is not None else ""


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def _exit(code: int, problem: str, hint: str) -> NoReturn:
    report(problem, hint)
    sys.exit(code)
