"""External API throughput on one server run: bare /healthz, a page of 50 deals, contact inserts.

The server is `isao serve` in a subprocess on a fresh data dir (SQLite, or --database-url). The load
comes from one other process holding --concurrency keep-alive HTTP/1.1 connections, written as a raw
asyncio protocol on uvloop so that it stays cheap: server and load share the machine's cores.
See bench/README.md; --write-markdown updates docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

# `bench` as a package when run as a script (and so in the spawned load process, which inherits sys.path)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from rich.console import Console
from rich.table import Table

from bench import loadgen
from bench.loadgen import Result, proc_line

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
ISAO = str(Path(sys.executable).parent / "isao")
console = Console(width=None if sys.stdout.isatty() else 130)


class Scenario(NamedTuple):
    label: str
    method: str
    path: str


BARE = Scenario("GET /healthz (bare)", "GET", "/healthz")
READ = Scenario("GET /deals?limit=50", "GET", "/api/external/deals?limit=50")
WRITE = Scenario("POST /contacts", "POST", "/api/external/contacts")


def source(scenario: Scenario, token: str) -> loadgen.Source:
    auth = {"Authorization": f"Bearer {token}"}
    if scenario.method == "POST":
        return Contacts(scenario.path, auth)
    return loadgen.Fixed(loadgen.http_request(scenario.method, scenario.path, auth))


class Contacts(loadgen.Source):
    """A unique email and E.164 phone each time: every request is a real insert."""

    def __init__(self, path: str, headers: dict[str, str]) -> None:
        self.path, self.headers, self.count = path, headers | {"Content-Type": "application/json"}, 0

    def next(self) -> tuple[int, bytes]:
        self.count += 1
        n = self.count
        body = f'{{"name":"Load {n}","email":"load{n}@bench.local","phoneNumber":"+336{n:08d}"}}'
        return n, loadgen.http_request("POST", self.path, self.headers, body.encode())


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([ISAO, *args], env=env, check=True, capture_output=True, text=True).stdout


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        command = [ISAO, "serve", "--host", "127.0.0.1", "--port", str(port)]
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    sys.exit(f"The server did not answer /healthz:\n{log.read_text()}")


def seed(port: int, token: str, user_id: str, contacts: int, deals: int) -> None:
    """Contacts, then deals each linked to a contact and assigned to the user, through the API itself."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/external", headers=auth, timeout=30) as http:
        ids = []
        for n in range(contacts):
            person = {"name": f"Seed {n}", "email": f"seed{n}@bench.local", "phoneNumber": f"+337{n:08d}"}
            ids.append(http.post("/contacts", json=person).raise_for_status().json()["data"]["id"])
        for n in range(deals):
            stage = ("lead", "proposal", "negotiation")[n % 3]
            deal = {"title": f"Deal {n}", "value": 1000 + n, "stage": stage, "probability": n % 100}
            deal |= {"contactId": ids[n % contacts], "assignedToId": user_id}
            http.post("/deals", json=deal).raise_for_status()
        page = http.get("/deals", params={"limit": 50}).raise_for_status().json()["data"]
        assert len(page) == 50 and all(d["contact"] and d["assignedTo"] for d in page), page[:1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--database-url", help="postgresql://… (default: SQLite in a temporary dir)")
    parser.add_argument("--contacts", type=int, default=200, help="contacts seeded")
    parser.add_argument("--deals", type=int, default=500, help="deals seeded")
    parser.add_argument("--write-markdown", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    names = ("duration", "warmup", "concurrency", "contacts", "deals")
    options = [f"--{n} {getattr(args, n):g}" for n in names if getattr(args, n) != parser.get_default(n)]
    options += ['--database-url "$PG_URL"'] if args.database_url else []
    args.command = " ".join([".venv/bin/python bench/api.py", *options, "--write-markdown"])
    return args


def setup(env: dict[str, str]) -> tuple[str, str]:
    """A company, a full-scope API key and a user, made with the CLI as an operator would: (key, user id)."""
    company = f"bench-{time.time_ns()}"  # unique, so that a reused PostgreSQL database does no harm
    cli(env, "companies", "create", company)
    key = cli(env, *f"keys create --company {company} --scopes all --name bench".split()).split()[-1]
    user = cli(
        env, *f"users create --company {company} --email sales@bench.local --name".split(), "Sales Rep"
    )
    return key, re.findall(r"user_\w+", user)[0]


def main() -> None:
    args = parse_args()
    args.load_before = os.getloadavg()[0]  # other work on the machine skews the figures: say so
    results: dict[Scenario, Result] = {}
    with tempfile.TemporaryDirectory(prefix="isao-bench-") as tmp:
        env = {**os.environ, "ISAO_DATA_DIR": tmp, "ISAO_RATE_LIMIT": "100000000", "COLUMNS": "200"}
        env.pop("ISAO_DATABASE_URL", None)
        env |= {"ISAO_DATABASE_URL": args.database_url} if args.database_url else {}
        key, user_id = setup(env)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = start_server(env, port, Path(tmp) / "server.log")
        try:
            console.print(f"Seeding {args.contacts} contacts and {args.deals} deals…")
            seed(port, key, user_id, args.contacts, args.deals)
            with loadgen.LoadProcess() as generator:
                for scenario in (BARE, READ, WRITE):
                    console.print(f"{scenario.label}: {args.warmup:g} s warm-up + {args.duration:g} s…")
                    job = loadgen.Job(
                        source(scenario, key), port, server.pid, args.concurrency, args.warmup, args.duration
                    )
                    results[scenario] = generator.run(job)
            peak = f"{int(proc_line(f'/proc/{server.pid}/status', 'VmHWM').split()[0]) / 1024:.0f} MiB"
        finally:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
    report(args, results, peak)


def report(args: argparse.Namespace, results: dict[Scenario, Result], peak: str) -> None:
    rates = {scenario: len(result.latencies) / args.duration for scenario, result in results.items()}
    bare = rates[BARE] or float("nan")
    header = ["Benchmark", "req/s", "p50 ms", "p99 ms", "errors", "vs bare", "server CPU", "load-gen CPU"]
    rows = []
    for scenario, result in results.items():
        errors = f"{result.errors}" + (f" {dict(result.statuses)}" if result.errors else "")
        latency = f"{result.pct(0.5):.1f}", f"{result.pct(0.99):.1f}"
        shares = f"{rates[scenario] / bare:.0%}", f"{result.server_cpu:.0%}", f"{result.client_cpu:.0%}"
        rows.append([scenario.label, f"{rates[scenario]:,.0f}", *latency, errors, *shares])
    table = Table(*header, title=f"{args.concurrency} connections, {args.duration:g} s per endpoint")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    reads, writes = rates[READ] / bare, results[WRITE].ok / args.duration
    verdict = (
        f"Reads at {reads:.0%} of the bare rate (aim ≥ 50%: {'met' if reads >= 0.5 else 'NOT met'}); "
        f"{writes:,.0f} successful writes/s (aim ≥ 500/s: {'met' if writes >= 500 else 'NOT met'}); "
        f"server peak RSS (VmHWM) {peak}."
    )
    console.print(verdict)
    if args.write_markdown:
        write_markdown(args, header, rows, verdict)


def write_markdown(args: argparse.Namespace, header: list[str], rows: list[list[str]], verdict: str) -> None:
    """Replace (or append) this database's section of docs/benchmarks.md."""
    name = "postgresql" if args.database_url else "sqlite"
    if args.database_url:
        import psycopg

        with psycopg.connect(args.database_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        database = f"PostgreSQL {version[0] if version else '?'}"
    else:
        database = f"SQLite {sqlite3.sqlite_version} (WAL)"
    cpu = proc_line("/proc/cpuinfo", "model name")
    code = git("rev-parse", "--short", "HEAD")
    code += " with uncommitted changes to isao/" if git("status", "--porcelain", "isao") else ""
    lines = [
        f"<!-- bench:{name} -->",
        f"### {'PostgreSQL' if args.database_url else 'SQLite'}",
        "",
        f"`{args.command}` at {code}, {datetime.date.today().isoformat()}: {os.cpu_count()} CPUs ({cpu}), "
        f"Python {sys.version.split()[0]}, {database}; load average before the run {args.load_before:.2f}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows),
        "",
        verdict,
        f"<!-- /bench:{name} -->",
    ]
    text, section = DOC.read_text() if DOC.exists() else "# Benchmarks\n", "\n".join(lines)
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.DOTALL)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else f"{text.rstrip()}\n\n{section}\n"
    DOC.write_text(text)
    console.print(f"Updated {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
