"""Job kinds for the queue tests, loaded into worker processes through ISAO_PLUGINS."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from isao.crm import contacts
from isao.crm.schemas import ContactCreate
from isao.queue.context import JobContext
from isao.runtime import Runtime


def record(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Append ``job-id worker pid`` to a log file: O_APPEND keeps concurrent lines whole.

    With ``peers``, first wait (bounded) until that many processes have run a job: a worker that
    starts sooner cannot drain the whole queue before the other one is up."""
    if "peers" in payload:
        rendezvous = Path(payload["rendezvous"])
        rendezvous.mkdir(exist_ok=True)
        (rendezvous / str(os.getpid())).touch()
        deadline = time.monotonic() + 60
        while len(list(rendezvous.iterdir())) < payload["peers"] and time.monotonic() < deadline:
            time.sleep(0.02)
    line = f"{ctx.job.id} {ctx.job.worker} {os.getpid()}\n".encode()
    fd = os.open(payload["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def slow_effect(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Signal that the attempt started; hang on the first attempt; then create a contact and finish the
    job in one transaction."""
    Path(payload["marker"] + f".{ctx.job.attempt}").write_text(str(os.getpid()))
    if ctx.job.attempt == 1:
        time.sleep(120)
    with ctx.transaction() as session:
        contacts.create(
            session, payload["company_id"], ContactCreate(name="Exactly once", email=payload["email"])
        )


def register(runtime: Runtime) -> None:
    runtime.registry.register("test.record", record)
    runtime.registry.register("test.slow_effect", slow_effect)
