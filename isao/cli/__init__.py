"""The ``isao`` command line (Typer)."""

from isao.cli.main import app

__all__ = ["app"]
