"""``isao sandbox``: run the providers' local emulators, and inject faults into a running one."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from isao.cli.common import console
from isao.sandbox import runner
from isao.sandbox.base import Sandbox
from isao.sandbox.faults import Faults

app = typer.Typer(
    help="Local emulators of the providers' APIs, for rehearsals and tests.", no_args_is_help=True
)

RateLimit = Annotated[
    int | None, typer.Option(help="Requests allowed per window; beyond it, the provider's 429")
]
RateWindow = Annotated[float | None, typer.Option(help="Seconds in a rate window (default 10)")]
RetryAfter = Annotated[bool | None, typer.Option(help="Send Retry-After with a 429")]
SearchLimit = Annotated[int | None, typer.Option(help="Search requests allowed per second")]
ErrorRate = Annotated[float | None, typer.Option(help="Share of requests answered 5xx (0-1)")]
ThrottleRate = Annotated[float | None, typer.Option(help="Share of requests answered 429 at random (0-1)")]
TimeoutRate = Annotated[float | None, typer.Option(help="Share of requests that stall, then 504 (0-1)")]
TimeoutSeconds = Annotated[float | None, typer.Option(help="How long a stalled request stalls")]
TokenTtl = Annotated[int | None, typer.Option(help="Access-token lifetime in seconds")]
Seed = Annotated[int | None, typer.Option(help="Seed for the fault generator (repeatable runs)")]


def _knobs(arguments: dict[str, Any]) -> dict[str, Any]:
    """The fault options a command was given (its ``locals()``): those named like a ``Faults`` field."""
    return {name: arguments[name] for name in Faults.model_fields if arguments.get(name) is not None}


@app.command("up")
def up(
    only: Annotated[
        list[str] | None, typer.Option("--only", help=f"Start just these ({', '.join(runner.PROVIDERS)})")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port_offset: Annotated[
        int, typer.Option(help="Add this to every fixed port (run a second set beside the first)")
    ] = 0,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep the sandboxes' records in SQLite files here (default: memory)")
    ] = None,
    rate_limit: RateLimit = None,
    rate_window: RateWindow = None,
    retry_after: RetryAfter = None,
    search_rate_limit: SearchLimit = None,
    error_rate: ErrorRate = None,
    throttle_rate: ThrottleRate = None,
    timeout_rate: TimeoutRate = None,
    timeout_seconds: TimeoutSeconds = None,
    token_ttl: TokenTtl = None,
    seed: Seed = None,
) -> None:
    """Start the sandboxes on their fixed local ports and print how to connect to each."""
    knobs = _knobs(locals())
    providers = only or list(runner.PROVIDERS)
    try:
        faults = Faults(**knobs)
        if data_dir:
            data_dir.mkdir(parents=True, exist_ok=True)
        shared: dict[str, Any] = {}
        sandboxes = [
            runner.build(p, host=host, port=runner.sandbox_class(p).default_port + port_offset,
                         data_dir=data_dir, faults=faults, shared=shared)
            for p in providers
        ]  # fmt: skip
    except (KeyError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner.serve(sandboxes, host=host, on_ready=lambda: describe(sandboxes)))


def describe(sandboxes: list[tuple[Sandbox, int]]) -> None:
    for sandbox, _port in sandboxes:
        table = Table(title=f"{sandbox.name} sandbox at {sandbox.base_url}", show_header=False)
        for key, value in sandbox.credentials().items():
            table.add_row(key, value)
        console.print(table)
    console.print(
        "Connect ISAO to one with `isao connections add <provider> --sandbox --company … --name …`.\n"
        "Faults: `isao sandbox faults <provider> --error-rate 0.1` or PUT /_sandbox/faults."
    )


def start_in_background(host: str = "127.0.0.1") -> list[tuple[Sandbox, int]]:
    """Every sandbox on its fixed port, served from a daemon thread (``isao serve --sandboxes``)."""
    shared: dict[str, Any] = {}
    sandboxes = [runner.build(provider, host=host, shared=shared) for provider in runner.PROVIDERS]
    ready = threading.Event()
    thread = threading.Thread(
        target=lambda: asyncio.run(runner.serve(sandboxes, host=host, on_ready=ready.set)),
        name="sandboxes",
        daemon=True,
    )
    thread.start()
    if not ready.wait(timeout=20):
        raise RuntimeError("the sandboxes did not start (is a port in use? see `isao sandbox up`)")
    return sandboxes


@app.command("faults")
def faults(
    provider: Annotated[str, typer.Argument(help=", ".join(runner.PROVIDERS))],
    url: Annotated[str | None, typer.Option(help="The sandbox's URL (default: its fixed local port)")] = None,
    rate_limit: RateLimit = None,
    rate_window: RateWindow = None,
    retry_after: RetryAfter = None,
    search_rate_limit: SearchLimit = None,
    error_rate: ErrorRate = None,
    throttle_rate: ThrottleRate = None,
    timeout_rate: TimeoutRate = None,
    timeout_seconds: TimeoutSeconds = None,
    token_ttl: TokenTtl = None,
    seed: Seed = None,
    clear: Annotated[bool, typer.Option(help="Back to no faults at all")] = False,
) -> None:
    """Change the faults of a running sandbox (the knobs not given keep their values) and print them."""
    try:
        base = url or f"http://127.0.0.1:{runner.sandbox_class(provider).default_port}"
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    knobs = _knobs(locals())
    body = Faults(**knobs).model_dump() if clear else knobs
    try:
        response = httpx.put(f"{base}/_sandbox/faults", json=body, timeout=10)
    except httpx.HTTPError as exc:
        console.print(f"[red]No sandbox answering at {base}: {exc}[/red] (start it with `isao sandbox up`)")
        raise typer.Exit(1) from None
    if response.status_code != 200:
        console.print(f"[red]{response.text}[/red]")
        raise typer.Exit(2)
    for key, value in response.json().items():
        console.print(f"{key} = {value}")
