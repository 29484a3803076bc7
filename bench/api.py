"""External API throughput on one server run: the bare ``/healthz``, a page of 50 deals, contact inserts.

    .venv/bin/python bench/api.py [--duration 10] [--concurrency 32] [--database-url URL] [--write-markdown]

The server is ``isao serve`` in a subprocess on a fresh data dir; the load comes from another process
holding ``--concurrency`` keep-alive HTTP/1.1 connections (raw asyncio protocol on uvloop: cheap, since
server and load share the machine's cores). Figures go to a Rich table and, with ``--write-markdown``,
to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import multiprocessing
import os
import re
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
ISAO = str(Path(sys.executable).parent / "isao")
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
console = Console()


@dataclass(frozen=True)
class Scenario:
    label: str
    method: str
    path: str


BARE = Scenario("GET /healthz (bare)", "GET", "/healthz")
READ = Scenario("GET /deals?limit=50", "GET", "/api/external/deals?limit=50")
WRITE = Scenario("POST /contacts", "POST", "/api/external/contacts")


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, measured window only
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    client_cpu: float = 0.0  # load generator CPU seconds over the whole run
    server_cpu: float = 0.0  # filled by the parent from /proc

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


class Run:
    """One scenario's state in the load process: request factory, clock window and tallies."""

    def __init__(self, scenario: Scenario, port: int, token: str, warmup: float, duration: float) -> None:
        self.port = port
        self.head = f"{scenario.method} {scenario.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        self.head += f"Authorization: Bearer {token}\r\n"
        self.post = scenario.method == "POST"
        self.count = 0
        self.start = time.perf_counter() + warmup
        self.stop = self.start + duration
        self.result = Result()
        self.open = 0
        self.idle = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()

    def request(self) -> bytes:
        if not self.post:
            return (self.head + "\r\n").encode()
        self.count += 1  # unique email and E.164 phone: every request is a real insert
        n = self.count
        body = f'{{"name":"Load {n}","email":"load{n}@bench.local","phoneNumber":"+336{n:08d}"}}'
        return (
            f"{self.head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
        )

    def record(self, sent: float, status: int) -> None:
        now = time.perf_counter()
        if self.start <= now < self.stop:
            self.result.latencies.append(now - sent)
            self.result.statuses[status] = self.result.statuses.get(status, 0) + 1
            self.result.errors += not 200 <= status < 300


class Client(asyncio.Protocol):
    """A keep-alive connection sending its next request as soon as the previous answer is complete."""

    def __init__(self, run: Run) -> None:
        self.run, self.buffer, self.sent = run, b"", 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass
        self.run.open += 1
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.sent = time.perf_counter()
        if self.sent >= self.run.stop:
            self.transport.close()
        else:
            self.transport.write(self.run.request())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            match = CONTENT_LENGTH.search(self.buffer, 0, end + 2)
            size = end + 4 + (int(match.group(1)) if match else 0)
            if len(self.buffer) < size:
                return
            status = int(self.buffer[9:12])
            self.buffer = self.buffer[size:]
            self.run.record(self.sent, status)
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.open -= 1
        if time.perf_counter() < self.run.stop:  # dropped by the server: an error, and reconnect
            self.run.result.errors += 1
            self.run.tasks.add(asyncio.get_running_loop().create_task(connect(self.run)))
        elif self.run.open == 0:
            self.run.idle.set()


async def connect(run: Run) -> None:
    await asyncio.get_running_loop().create_connection(lambda: Client(run), "127.0.0.1", run.port)


async def drive(
    scenario: Scenario, port: int, token: str, concurrency: int, warmup: float, duration: float
) -> Result:
    run = Run(scenario, port, token, warmup, duration)
    await asyncio.gather(*(connect(run) for _ in range(concurrency)))
    await asyncio.sleep(max(0.0, run.stop - time.perf_counter()))
    await asyncio.wait_for(run.idle.wait(), timeout=30)
    return run.result


def load(
    scenario: Scenario, port: int, token: str, concurrency: int, warmup: float, duration: float
) -> Result:
    """Runs in the load process."""
    import uvloop

    before = resource.getrusage(resource.RUSAGE_SELF)
    result = uvloop.run(drive(scenario, port, token, concurrency, warmup, duration))
    after = resource.getrusage(resource.RUSAGE_SELF)
    result.client_cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return result


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int, key: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in open(f"/proc/{pid}/status") if line.startswith(key))


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([ISAO, *args], env=env, check=True, capture_output=True, text=True).stdout


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        cmd = [ISAO, "serve", "--host", "127.0.0.1", "--port", str(port)]
        server = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    sys.exit(f"server did not answer /healthz:\n{log.read_text()}")


def seed(port: int, token: str, user_id: str, contacts: int, deals: int) -> None:
    """Contacts, then deals each linked to a contact and assigned to the user, through the API itself."""
    base, auth = f"http://127.0.0.1:{port}/api/external", {"Authorization": f"Bearer {token}"}
    stages = ("lead", "proposal", "negotiation")
    with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
        ids = []
        for n in range(contacts):
            person = {"name": f"Seed {n}", "email": f"seed{n}@bench.local", "phoneNumber": f"+337{n:08d}"}
            ids.append(http.post("/contacts", json=person).raise_for_status().json()["data"]["id"])
        for n in range(deals):
            deal = {"title": f"Deal {n}", "value": 1000 + n, "stage": stages[n % 3], "probability": n % 100}
            deal |= {"contactId": ids[n % contacts], "assignedToId": user_id}
            http.post("/deals", json=deal).raise_for_status()
        page = http.get("/deals", params={"limit": 50}).raise_for_status().json()["data"]
        assert len(page) == 50 and all(d["contact"] and d["assignedTo"] for d in page), page[:1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--database-url", help="e.g. postgresql://… (default: SQLite in a temp dir)")
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--deals", type=int, default=500)
    parser.add_argument(
        "--write-markdown", action="store_true", help=f"update this database's section in {DOC}"
    )
    args = parser.parse_args()

    results: dict[Scenario, Result] = {}
    with tempfile.TemporaryDirectory(prefix="isao-bench-") as tmp:
        env = {**os.environ, "ISAO_DATA_DIR": tmp, "ISAO_RATE_LIMIT": "100000000", "COLUMNS": "200"}
        env.pop("ISAO_DATABASE_URL", None)
        if args.database_url:
            env["ISAO_DATABASE_URL"] = args.database_url
        company = f"Bench {time.time_ns()}"  # unique, so a reused PostgreSQL database is no obstacle
        cli(env, "companies", "create", company)
        token = cli(
            env, "keys", "create", "--company", company, "--scopes", "all", "--name", "bench"
        ).split()[-1]
        user = cli(
            env,
            "users",
            "create",
            "--company",
            company,
            "--name",
            "Sales Rep",
            "--email",
            "sales@bench.local",
        )
        user_id = re.findall(r"user_\w+", user)[0]
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = start_server(env, port, Path(tmp) / "server.log")
        try:
            console.print(f"Seeding {args.contacts} contacts and {args.deals} deals…")
            seed(port, token, user_id, args.contacts, args.deals)
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                for scenario in (BARE, READ, WRITE):
                    console.print(
                        f"{scenario.label}: {args.warmup:g} s warm-up, {args.duration:g} s measured…"
                    )
                    cpu = proc_cpu(server.pid)
                    job = pool.submit(
                        load, scenario, port, token, args.concurrency, args.warmup, args.duration
                    )
                    results[scenario] = job.result()
                    results[scenario].server_cpu = proc_cpu(server.pid) - cpu
            peak = proc_status(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(10)
    report(args, results, peak)


def machine(url: str | None) -> str:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?"
    )
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        database = f"PostgreSQL {row[0] if row else '?'}"
    else:
        database = f"SQLite {sqlite3.sqlite_version} (WAL)"
    return f"{os.cpu_count()} CPUs ({cpu}), Python {sys.version.split()[0]}, {database}"


def report(args: argparse.Namespace, results: dict[Scenario, Result], peak: str) -> None:
    window = args.warmup + args.duration
    bare = len(results[BARE].latencies) / args.duration
    header = ["Benchmark", "req/s", "p50 ms", "p99 ms", "errors", "vs bare", "server CPU", "load-gen CPU"]
    rows = []
    for scenario, result in results.items():
        rate = len(result.latencies) / args.duration
        errors = f"{result.errors}" + (f" {result.statuses}" if result.errors else "")
        cpu = f"{result.server_cpu / window:.0%}", f"{result.client_cpu / window:.0%}"
        latency = f"{result.pct(0.5):.1f}", f"{result.pct(0.99):.1f}"
        rows.append([scenario.label, f"{rate:,.0f}", *latency, errors, f"{rate / bare:.0%}", *cpu])
    table = Table(*header, title=f"{args.concurrency} connections, {args.duration:g} s per endpoint")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    reads = len(results[READ].latencies) / args.duration / bare
    writes = (len(results[WRITE].latencies) - results[WRITE].errors) / args.duration
    verdict = (
        f"Reads at {reads:.0%} of the bare rate (aim ≥ 50%: {'met' if reads >= 0.5 else 'NOT met'}); "
        f"{writes:,.0f} successful writes/s (aim ≥ 500/s: {'met' if writes >= 500 else 'NOT met'}); "
        f"server peak RSS (VmHWM) {peak}."
    )
    console.print(verdict)
    if not args.write_markdown:
        return
    name = "postgresql" if args.database_url else "sqlite"
    command = ".venv/bin/python bench/api.py" + (
        f" --duration {args.duration:g}" if args.duration != 10 else ""
    )
    command += f" --concurrency {args.concurrency}" if args.concurrency != 32 else ""
    command += ' --database-url "$PG_URL"' if args.database_url else ""
    lines = [
        f"<!-- bench:{name} -->",
        f"### {'PostgreSQL' if args.database_url else 'SQLite'}",
        "",
        f"`{command} --write-markdown` on {datetime.date.today().isoformat()}: {machine(args.database_url)}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows),
        "",
        verdict,
        f"<!-- /bench:{name} -->",
    ]
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    section = "\n".join(lines)
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.DOTALL)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + section + "\n"
    )
    DOC.write_text(text)
    console.print(f"Updated {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
