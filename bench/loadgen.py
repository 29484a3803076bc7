"""The load generator the benchmarks share: keep-alive HTTP/1.1 connections in a separate process.

One process (spawned once, see ``LoadProcess``) opens ``concurrency`` connections and keeps each busy:
the next request goes out as soon as the previous answer is complete. It is a raw asyncio protocol on
uvloop that writes pre-built request bytes and reads answers by ``Content-Length``, far cheaper than
an HTTP client library, which matters when server and load share the machine's cores.

What to send comes from a ``Source``: the same bytes every time (``Fixed``), bytes built per request,
or requests built in the load process before the first is sent (``Prebuilt``), so that costly work
such as signing stays out of the measured window. Each request carries a tag (its index for
``Prebuilt``), and a source with ``track = True`` gets the tags of every 2xx answer back, warm-up and
drain included, so that the caller can check what the server acknowledged.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, cast

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


def http_request(
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    host: str = "127.0.0.1",
) -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive is HTTP/1.1's default)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Source:
    """What the connections send. Made in the calling process and pickled to the load process, where
    ``prepare`` runs once before any connection opens; then ``next`` gives each request (tag, bytes)."""

    track = False  # return the tags of all 2xx answers in Result.acked
    built_late = 0  # requests built during the run although they were meant to be built beforehand

    def prepare(self) -> None:
        return None

    def next(self) -> tuple[int, bytes]:
        raise NotImplementedError


class Fixed(Source):
    """The same request every time (tag 0)."""

    def __init__(self, request: bytes) -> None:
        self.request = request

    def next(self) -> tuple[int, bytes]:
        return 0, self.request


class Prebuilt(Source):
    """``count`` requests built by ``build(i)`` in ``prepare``, then sent in order with tag ``i``; past
    ``count`` they are built on the fly (counted in ``built_late``: make ``count`` large enough)."""

    def __init__(self, count: int) -> None:
        self.count, self.index = count, 0
        self.requests: list[bytes] = []

    def build(self, i: int) -> bytes:
        raise NotImplementedError

    def prepare(self) -> None:
        self.requests = [self.build(i) for i in range(self.count)]

    def next(self) -> tuple[int, bytes]:
        i, self.index = self.index, self.index + 1
        if i < len(self.requests):
            request, self.requests[i] = self.requests[i], b""  # sent once: let the memory go
            return i, request
        self.built_late += 1
        return i, self.build(i)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, of answers within the window
    statuses: Counter[int] = field(default_factory=Counter)  # of answers within the window
    dropped: int = 0  # connections the server closed during the run
    server_cpu: float = 0.0  # share of one core over the window
    client_cpu: float = 0.0
    machine_cpu: float = 0.0  # busy cores over the window, everything on the machine included
    sent: int = 0  # requests written, whole run (warm-up and drain included)
    answered: int = 0  # complete answers read, whole run
    acked: list[int] = field(default_factory=list)  # tags of the 2xx answers, whole run (Source.track)
    built_late: int = 0
    prepare_seconds: float = 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def errors(self) -> int:
        return self.dropped + len(self.latencies) - self.ok

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


class Job(NamedTuple):
    source: Source
    port: int
    server_pid: int
    concurrency: int
    warmup: float
    duration: float


class Run:
    """One job in the load process: the source, the measured window, the tallies."""

    def __init__(self, job: Job) -> None:
        self.source, self.port = job.source, job.port
        self.track = job.source.track
        self.start = time.perf_counter() + job.warmup
        self.stop = self.start + job.duration
        self.result, self.open, self.idle = Result(), 0, asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()

    def record(self, sent: float, status: int, tag: int) -> None:
        now = time.perf_counter()
        self.result.answered += 1
        if self.track and 200 <= status < 300:
            self.result.acked.append(tag)
        if self.start <= now < self.stop:
            self.result.latencies.append(now - sent)
            self.result.statuses[status] += 1

    async def connect(self) -> None:
        await asyncio.get_running_loop().create_connection(lambda: Client(self), "127.0.0.1", self.port)


class Client(asyncio.Protocol):
    """A keep-alive connection that sends its next request as soon as the previous answer is complete."""

    def __init__(self, run: Run) -> None:
        self.run, self.buffer, self.sent, self.tag = run, b"", 0.0, -1
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no asyncio.Transport subclass
        self.run.open += 1
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.sent = time.perf_counter()
        if self.sent < self.run.stop:
            self.tag, request = self.run.source.next()
            self.run.result.sent += 1
            self.transport.write(request)
        else:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = CONTENT_LENGTH.search(self.buffer, 0, end + 2)
            size = end + 4 + (int(length.group(1)) if length else 0)
            if len(self.buffer) < size:
                return
            status, self.buffer = int(self.buffer[9:12]), self.buffer[size:]
            self.run.record(self.sent, status, self.tag)
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.open -= 1
        if time.perf_counter() < self.run.stop:  # closed by the server: count it, and reconnect
            self.run.result.dropped += 1
            self.run.tasks.add(asyncio.get_running_loop().create_task(self.run.connect()))
        elif self.run.open == 0:
            self.run.idle.set()


async def drive(job: Job) -> Result:
    began = time.perf_counter()
    job.source.prepare()
    prepared = time.perf_counter() - began
    run = Run(job)
    run.result.prepare_seconds = prepared
    await asyncio.gather(*(run.connect() for _ in range(job.concurrency)))
    await asyncio.sleep(run.start - time.perf_counter())
    cpu = proc_cpu(job.server_pid), time.process_time(), machine_busy()
    await asyncio.sleep(run.stop - time.perf_counter())
    run.result.server_cpu = (proc_cpu(job.server_pid) - cpu[0]) / job.duration
    run.result.client_cpu = (time.process_time() - cpu[1]) / job.duration
    run.result.machine_cpu = (machine_busy() - cpu[2]) / job.duration
    await asyncio.wait_for(run.idle.wait(), timeout=30)
    run.result.built_late = job.source.built_late
    return run.result


def load(job: Job) -> Result:
    """The load process's entry point."""
    import uvloop

    return uvloop.run(drive(job))


class LoadProcess:
    """The load process, spawned once and reused: ``with LoadProcess() as gen: gen.run(job)``."""

    def __init__(self) -> None:
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    def run(self, job: Job) -> Result:
        return self.pool.submit(load, job).result()

    def __enter__(self) -> LoadProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.pool.shutdown()


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait), from /proc/stat."""
    with open("/proc/stat") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def proc_line(path: str, key: str) -> str:
    return next((ln.split(":", 1)[1].strip() for ln in open(path) if ln.startswith(key)), "?")
