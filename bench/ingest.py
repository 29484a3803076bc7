"""Durable webhook ingest and queue throughput: signed WooCommerce order webhooks, then no-op jobs.

1. Ingest: `isao serve --no-workers` on a fresh data dir (SQLite, or --database-url) receives
   WooCommerce-signed order webhooks (~2 KB, each with its own delivery id) at `POST /hooks/{id}` from
   --concurrency keep-alive connections (bench/loadgen.py; requests are signed before the measured
   window), then the database is checked: every acknowledged delivery stored once, with one job.
2. Queue: --jobs `bench.noop` jobs are enqueued straight into the database, then `isao worker
   --concurrency K` runs them, for each K in --workers; jobs/s from the first claim to the last finish.

See bench/README.md; --write-markdown updates the "Ingest and queue" sections of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import random
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# `bench` as a package when run as a script (and so in the spawned load process, which inherits sys.path)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, func, select

from bench import loadgen
from bench.noop_plugin import KIND as NOOP
from isao.config import Settings
from isao.connectors import woocommerce
from isao.db import Database
from isao.db.models import Connection, InboundEvent, Job, JobAttempt
from isao.hooks.inbound import ROUTE
from isao.queue import enqueue

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
ISAO = str(Path(sys.executable).parent / "isao")
console = Console(width=None if sys.stdout.isatty() else 130)
ISO = "%Y-%m-%dT%H:%M:%S"

# --- WooCommerce order webhooks ---------------------------------------------------------------------

FIRST = ("Camille", "Léa", "Hugo", "Manon", "Louis", "Chloé", "Jules", "Inès", "Arthur", "Sarah")
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau")
CITIES = (("Paris", "75011"), ("Lyon", "69003"), ("Marseille", "13006"), ("Nantes", "44000"))
PRODUCTS = (
    (31, "Organic Cotton T-Shirt", "TS-ORG-BLK-M", 24.90),
    (47, "Merino Wool Beanie", "BN-MER-GRY", 29.00),
    (52, "Canvas Tote Bag", "TB-CNV-NAT", 18.50),
    (68, "Recycled Denim Jacket", "JK-DNM-IND-L", 119.00),
    (73, "Linen Shirt", "SH-LIN-WHT-S", 59.90),
)
SHOP = "https://shop.example.com"
USER_AGENT = "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)"


def delivery_id(seed: str, i: int) -> str:
    """WooCommerce's delivery ids are 32 hex digits (``wp_hash(webhook id . time)``)."""
    return hashlib.md5(f"{seed}:{i}".encode()).hexdigest()


def money(value: float) -> str:
    return f"{value:.2f}"


def order(number: int, rng: random.Random, created: datetime.datetime) -> dict[str, Any]:
    """An order as WooCommerce's REST API (wc/v3) renders it, which is what its order webhooks carry
    (trimmed of ``_links``, ``payment_url`` and the line items' ``taxes`` and ``image``: about 2 KB)."""
    i = rng.randrange(1000)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    city, postcode = rng.choice(CITIES)
    email = f"{first.lower()}.{last.lower()}{i % 1000}@example.fr".replace("é", "e").replace("è", "e")
    address = {
        "first_name": first,
        "last_name": last,
        "company": "",
        "address_1": f"{rng.randint(1, 120)} rue de la République",
        "address_2": "",
        "city": city,
        "state": "",
        "postcode": postcode,
        "country": "FR",
    }
    lines, subtotal = [], 0.0
    for n, (product_id, name, sku, price) in enumerate(rng.sample(PRODUCTS, 1 if rng.random() < 0.75 else 2)):
        quantity = rng.randint(1, 3)
        total = price * quantity / 1.2
        subtotal += total
        lines.append(
            {
                "id": 1000 + n,
                "name": name,
                "product_id": product_id,
                "variation_id": 0,
                "quantity": quantity,
                "tax_class": "",
                "subtotal": money(total),
                "subtotal_tax": money(total * 0.2),
                "total": money(total),
                "total_tax": money(total * 0.2),
                "meta_data": [],
                "sku": sku,
                "price": round(price / 1.2, 4),
                "parent_name": None,
            }
        )
    shipping = 4.90 if subtotal < 50 else 0.0
    stamp = created.strftime(ISO)
    return {
        "id": number,
        "parent_id": 0,
        "status": "processing",
        "currency": "EUR",
        "version": "9.4.2",
        "prices_include_tax": True,
        "date_created": stamp,
        "date_modified": stamp,
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": money(shipping),
        "shipping_tax": "0.00",
        "cart_tax": money(subtotal * 0.2),
        "total": money(subtotal * 1.2 + shipping),
        "total_tax": money(subtotal * 0.2),
        "customer_id": rng.randint(0, 5000),
        "order_key": f"wc_order_{rng.getrandbits(64):016x}"[:22],
        "billing": address | {"email": email, "phone": f"+336{rng.randint(0, 99_999_999):08d}"},
        "shipping": address | {"phone": ""},
        "payment_method": "stripe",
        "payment_method_title": "Credit Card (Stripe)",
        "transaction_id": f"pi_{rng.getrandbits(96):024x}",
        "customer_ip_address": f"203.0.113.{rng.randint(1, 254)}",
        "customer_user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
        "created_via": "checkout",
        "customer_note": "",
        "date_completed": None,
        "date_paid": stamp,
        "cart_hash": f"{rng.getrandbits(128):032x}",
        "number": str(number),
        "meta_data": [{"id": 9000 + i % 1000, "key": "_stripe_currency", "value": "EUR"}],
        "line_items": lines,
        "tax_lines": [
            {
                "id": 2000,
                "rate_code": "FR-TVA-1",
                "rate_id": 1,
                "label": "TVA",
                "compound": False,
                "tax_total": money(subtotal * 0.2),
                "shipping_tax_total": "0.00",
                "rate_percent": 20,
                "meta_data": [],
            }
        ],
        "shipping_lines": [
            {
                "id": 3000,
                "method_title": "Colissimo",
                "method_id": "flat_rate",
                "instance_id": "2",
                "total": money(shipping),
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [],
            }
        ],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
        "is_editable": False,
        "needs_payment": False,
        "needs_processing": True,
        "date_created_gmt": stamp,
        "date_modified_gmt": stamp,
        "date_paid_gmt": stamp,
        "currency_symbol": "€",
    }


class WooOrders(loadgen.Prebuilt):
    """Order webhooks signed as WooCommerce signs them, built in the load process before the run.

    Bodies come from ``TEMPLATES`` random orders, each request's with its own order number (so every
    body differs too): encoding JSON is what costs, and it is done ``TEMPLATES`` times, not per request.
    """

    track = True
    TEMPLATES = 64
    SENTINEL = 9_876_543_210  # the order number in a template, replaced in the encoded bytes

    def __init__(self, count: int, port: int, connection_id: str, secret: str, seed: str) -> None:
        super().__init__(count)
        self.port, self.path, self.secret, self.seed = port, f"/hooks/{connection_id}", secret, seed
        self.templates: list[bytes] = []

    def body(self, i: int) -> bytes:
        if not self.templates:
            rng, created = random.Random(self.seed), datetime.datetime.now(datetime.UTC)
            created = created.replace(tzinfo=None, microsecond=0)
            # WooCommerce sends trim(wp_json_encode($payload)): compact, ASCII-escaped, "/" as "\/"
            encoded = (
                json.dumps(order(self.SENTINEL, rng, created), separators=(",", ":")) for _ in range(64)
            )
            self.templates = [text.replace("/", "\\/").encode() for text in encoded]
        template = self.templates[i % len(self.templates)]
        return template.replace(b"%d" % self.SENTINEL, b"%d" % (10_000 + i))

    def build(self, i: int) -> bytes:
        body = self.body(i)
        topic = "order.updated" if i % 4 == 3 else "order.created"
        headers = woocommerce.sign(
            self.secret, body, topic=topic, webhook_id=7, delivery_id=delivery_id(self.seed, i), source=SHOP
        )
        headers["User-Agent"] = USER_AGENT
        return loadgen.http_request("POST", self.path, headers, body, host=f"127.0.0.1:{self.port}")


# --- Running the server and the CLI -----------------------------------------------------------------


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()


def code_state() -> str:
    """The commit, and whether (and how) isao/ differs from it: the code a run measures."""
    code = git("rev-parse", "--short", "HEAD")
    changes = git("diff", "HEAD", "--", "isao") + git("ls-files", "--others", "--exclude-standard", "isao")
    if changes:
        code += (
            f" with uncommitted changes to isao/ (diff {hashlib.sha256(changes.encode()).hexdigest()[:8]})"
        )
    return code


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([ISAO, *args], env=env, check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`isao serve --no-workers`: ingest only, no queue workers competing for the CPU or the database."""
    with log.open("wb") as out:
        command = [ISAO, "serve", "--no-workers", "--host", "127.0.0.1", "--port", str(port)]
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


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- 1. Ingest --------------------------------------------------------------------------------------


@dataclass
class Stored:
    """What the database holds for the run's connection, against what the server acknowledged."""

    acked: int  # distinct deliveries answered 2xx (warm-up and drain included)
    acked_twice: int  # deliveries answered 2xx more than once (never expected: each is sent once)
    unanswered: int  # requests sent without a complete answer (a dropped connection)
    events: int  # inbound_events rows for the connection
    jobs: int  # inbound.route jobs of the run's company
    missing: int  # acknowledged deliveries with no row
    unacked: int  # rows for deliveries not acknowledged (allowed up to `unanswered`)
    jobs_per_event: Counter[int]  # how many events have 0, 1, 2… jobs
    orphan_jobs: int  # jobs whose event is not among the connection's

    @property
    def exact(self) -> bool:
        return (
            self.missing == 0
            and self.acked_twice == 0
            and self.unacked <= self.unanswered
            and set(self.jobs_per_event) == {1}
            and self.orphan_jobs == 0
        )

    def summary(self) -> str:
        verdict = "every acknowledged delivery stored exactly once" if self.exact else "MISMATCH"
        text = (
            f"Database check: {self.acked:,} deliveries acknowledged, {self.events:,} `inbound_events` rows "
            f"and {self.jobs:,} `inbound.route` jobs for the connection: {verdict}"
        )
        if not self.exact:
            text += (
                f" (missing {self.missing}, acknowledged twice {self.acked_twice}, stored unacknowledged "
                f"{self.unacked} for {self.unanswered} unanswered, events by job count "
                f"{dict(self.jobs_per_event)}, orphan jobs {self.orphan_jobs})"
            )
        return text + "."


@dataclass
class Ingest:
    result: loadgen.Result
    stored: Stored
    body_bytes: float  # mean body size
    peak: str  # server peak RSS


def ingest(args: argparse.Namespace, env: dict[str, str], db: Database, tmp: Path) -> Ingest:
    company, secret, seed = f"bench-ingest-{time.time_ns()}", secrets.token_urlsafe(32), secrets.token_hex(8)
    cli(env, "companies", "create", company)
    added = cli(
        env, *f"connections add woocommerce --company {company} --name shop --webhook-secret".split(), secret
    )
    connection_id = re.findall(r"conn_\w+", added)[0]
    with db.read() as session:
        company_id = session.scalar(select(Connection.company_id).where(Connection.id == connection_id))
    assert company_id is not None
    port = free_port()
    requests = args.requests or int(4000 * (args.warmup + args.duration))
    source = WooOrders(requests, port, connection_id, secret, seed)
    sample = WooOrders(200, port, connection_id, secret, seed + "-sample")
    body_bytes = sum(len(sample.body(i)) for i in range(200)) / 200
    server = start_server(env, port, tmp / "server.log")
    try:
        console.print(
            f"Ingest: {requests:,} signed order webhooks (~{body_bytes / 1024:.1f} KB), built in the load "
            f"process; {args.warmup:g} s warm-up + {args.duration:g} s at {args.concurrency} connections…"
        )
        console.print(f"  server pid {server.pid}")
        with loadgen.LoadProcess() as generator:
            job = loadgen.Job(source, port, server.pid, args.concurrency, args.warmup, args.duration)
            result = generator.run(job)
        peak = loadgen.proc_line(f"/proc/{server.pid}/status", "VmHWM")
        peak = f"{int(peak.split()[0]) / 1024:.0f} MiB" if peak != "?" else peak
    finally:
        stop(server)
    console.print(f"  requests built in {result.prepare_seconds:.1f} s; checking the database…")
    stored = check(db, connection_id, company_id, seed, result)
    with db.write() as session:  # leave no queued work behind, in a reused PostgreSQL database above all
        session.execute(delete(Job).where(Job.kind == ROUTE, Job.company_id == company_id))
        session.execute(delete(InboundEvent).where(InboundEvent.connection_id == connection_id))
    return Ingest(result, stored, body_bytes, peak)


def check(db: Database, connection_id: str, company_id: str, seed: str, result: loadgen.Result) -> Stored:
    with db.read() as session:
        rows = session.execute(
            select(InboundEvent.dedupe_key, InboundEvent.id).where(
                InboundEvent.connection_id == connection_id
            )
        ).all()
        payloads = session.scalars(select(Job.payload).where(Job.kind == ROUTE, Job.company_id == company_id))
        per_event = Counter(str(payload.get("inbound_event_id")) for payload in payloads)
    events: dict[str, str] = dict(rows)
    acked = {delivery_id(seed, tag) for tag in result.acked}
    jobs_per_event = Counter(per_event.get(event_id, 0) for event_id in events.values())
    event_ids = set(events.values())
    return Stored(
        acked=len(acked),
        acked_twice=len(result.acked) - len(acked),
        unanswered=result.sent - result.answered,
        events=len(rows),
        jobs=sum(per_event.values()),
        missing=len(acked - events.keys()),
        unacked=len(events.keys() - acked),
        jobs_per_event=jobs_per_event,
        orphan_jobs=sum(n for event_id, n in per_event.items() if event_id not in event_ids),
    )


# --- 2. Queue ---------------------------------------------------------------------------------------


@dataclass
class QueueRun:
    workers: int
    jobs: int
    done: int
    enqueue_seconds: float
    seconds: float  # first claim to last finish, from the job attempts' timestamps
    wall: float  # from starting `isao worker` until the poll saw all done (process start included)
    worker_cpu: float  # share of one core, while jobs were running
    machine_cpu: float  # busy cores, everything included, while jobs were running
    errors: int  # "[error" lines (structlog) in the worker's output

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else float("nan")


def clear_noop(db: Database) -> None:
    with db.write() as session:
        ours = select(Job.id).where(Job.kind == NOOP)
        session.execute(delete(JobAttempt).where(JobAttempt.job_id.in_(ours)))
        session.execute(delete(Job).where(Job.kind == NOOP))


def queue_run(
    args: argparse.Namespace, env: dict[str, str], db: Database, workers: int, log: Path
) -> QueueRun:
    clear_noop(db)
    began = time.perf_counter()
    for first in range(0, args.jobs, args.batch):
        with db.write() as session:
            for n in range(first, min(args.jobs, first + args.batch)):
                enqueue(session, NOOP, {"n": n})
    enqueued = time.perf_counter() - began
    remaining = select(func.count()).select_from(Job).where(Job.kind == NOOP, Job.status != "done")
    offset = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        started = time.perf_counter()
        worker = subprocess.Popen(
            [ISAO, "worker", "--concurrency", str(workers)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    console.print(f"  worker pid {worker.pid}; {args.jobs:,} jobs enqueued in {enqueued:.1f} s")
    busy: tuple[float, float, float] | None = None  # (wall, worker CPU, machine CPU) at the first done job
    deadline = started + max(120.0, args.jobs / 20)
    try:
        while True:
            time.sleep(0.25)
            with db.read() as session:
                left = session.scalar(remaining) or 0
            now = time.perf_counter()
            if busy is None and left < args.jobs:
                busy = now, loadgen.proc_cpu(worker.pid), loadgen.machine_busy()
            if left == 0 or now > deadline or worker.poll() is not None:
                break
        finished = time.perf_counter()
        cpu = loadgen.proc_cpu(worker.pid) if worker.poll() is None else float("nan")
        machine = loadgen.machine_busy()
    finally:
        stop(worker)
    if left:
        console.print(f"[red]{left:,} jobs not done[/red] (worker log: {log})")
    with db.read() as session:
        attempts = (
            select(func.min(JobAttempt.started_at), func.max(JobAttempt.finished_at), func.count())
            .join(Job, Job.id == JobAttempt.job_id)
            .where(Job.kind == NOOP, JobAttempt.outcome == "done")
        )
        first_claim, last_finish, done = session.execute(attempts).one()
    seconds = (last_finish - first_claim).total_seconds() if first_claim and last_finish else 0.0
    span = max(finished - busy[0], 1e-9) if busy else float("nan")
    return QueueRun(
        workers=workers,
        jobs=args.jobs,
        done=done,
        enqueue_seconds=enqueued,
        seconds=seconds,
        wall=finished - started,
        worker_cpu=(cpu - busy[1]) / span if busy else float("nan"),
        machine_cpu=(machine - busy[2]) / span if busy else float("nan"),
        errors=log.read_bytes()[offset:].count(b"[error"),
    )


def queue(args: argparse.Namespace, env: dict[str, str], db: Database, tmp: Path) -> list[QueueRun]:
    env = env | {"ISAO_PLUGINS": json.dumps(["bench.noop_plugin"])}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)]))
    with db.read() as session:
        due = ("queued", "running")
        others = session.scalar(
            select(func.count()).select_from(Job).where(Job.kind != NOOP, Job.status.in_(due))
        )
    if others:
        console.print(
            f"[yellow]{others:,} other queued or running jobs in this database: the workers run them too[/]"
        )
    runs = []
    for workers in args.workers:
        console.print(f"Queue: {args.jobs:,} no-op jobs, then `isao worker --concurrency {workers}`…")
        runs.append(queue_run(args, env, db, workers, tmp / "worker.log"))
    clear_noop(db)
    return runs


# --- The command ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds of ingest")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before them")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent senders (connections)")
    parser.add_argument("--database-url", help="postgresql://… (default: SQLite in a temporary dir)")
    parser.add_argument("--requests", type=int, default=0, help="webhooks pre-built (default 4,000/s)")
    parser.add_argument("--jobs", type=int, default=20_000, help="no-op jobs per queue run")
    parser.add_argument("--batch", type=int, default=1000, help="jobs enqueued per transaction")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(k) for k in text.split(",")],
        default=[1, 4, 8],
        help="worker threads (`isao worker --concurrency K`), comma-separated",
    )
    parser.add_argument("--only", choices=("ingest", "queue"), help="run one part only")
    parser.add_argument("--write-markdown", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if args.only and args.write_markdown:
        parser.error("--write-markdown needs both parts: drop --only")
    names = ("duration", "warmup", "concurrency", "requests", "jobs", "batch")
    options = [f"--{n} {getattr(args, n):g}" for n in names if getattr(args, n) != parser.get_default(n)]
    options += [f"--workers {','.join(map(str, args.workers))}"] if args.workers != [1, 4, 8] else []
    options += ['--database-url "$PG_URL"'] if args.database_url else []
    args.command = " ".join([".venv/bin/python bench/ingest.py", *options, "--write-markdown"])
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("Terminated"))  # unwind: stop the server and workers
    args.load_before = os.getloadavg()[0]  # other work on the machine skews the figures: say so
    args.code = code_state()  # servers and workers start during the run: the code they load is this one…
    with tempfile.TemporaryDirectory(prefix="isao-bench-") as name:
        tmp = Path(name)
        env = {**os.environ, "ISAO_DATA_DIR": name, "COLUMNS": "200"}
        for key in ("ISAO_DATABASE_URL", "ISAO_PLUGINS", "ISAO_WORKERS"):
            env.pop(key, None)
        env |= {"ISAO_DATABASE_URL": args.database_url} if args.database_url else {}
        cli(env, "db", "upgrade")
        url = Settings(data_dir=tmp, database_url=args.database_url).resolved_database_url()
        db = Database(url, pool_size=2)
        try:
            taken = ingest(args, env, db, tmp) if args.only != "queue" else None
            runs = queue(args, env, db, tmp) if args.only != "ingest" else []
        finally:
            db.dispose()
    if (now := code_state()) != args.code:  # … unless it changed meanwhile
        console.print(f"[yellow]isao/ changed during the run: {args.code} → {now}[/]")
        args.code += f", changed during the run to {now}: the figures may mix the two"
    report(args, taken, runs)


def report(args: argparse.Namespace, taken: Ingest | None, runs: list[QueueRun]) -> None:
    blocks: list[tuple[list[str], list[list[str]], str]] = []  # (header, rows, note) for each table
    acked_rate = p99 = float("nan")
    if taken:
        result = taken.result
        rate, acked_rate, p99 = (
            len(result.latencies) / args.duration,
            result.ok / args.duration,
            result.pct(0.99),
        )
        errors = f"{result.errors}" + (f" {dict(result.statuses)}" if result.errors else "")
        header = [
            "Benchmark",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "server CPU",
            "load-gen CPU",
            "machine CPU",
        ]
        label = f"POST /hooks/{{id}} (WooCommerce order, {taken.body_bytes / 1024:.1f} KB)"
        cpu = f"{result.server_cpu:.0%}", f"{result.client_cpu:.0%}", f"{result.machine_cpu:.0%}"
        row = [label, f"{rate:,.0f}", f"{result.pct(0.5):.1f}", f"{p99:.1f}", errors, *cpu]
        per = f"{result.server_cpu / rate * 1000:.2f} ms" if rate else "?"
        note = taken.stored.summary() + f" Server CPU per webhook {per}; peak RSS (VmHWM) {taken.peak}."
        if result.built_late:
            note += f" {result.built_late:,} requests were built during the run (raise --requests)."
        blocks.append((header, [row], note))
    if runs:
        header = ["Queue (no-op jobs)", "jobs/s", "seconds", "worker CPU", "machine CPU", "enqueue jobs/s"]
        rows = [
            [
                f"{run.jobs:,} jobs, `isao worker --concurrency {run.workers}`",
                f"{run.rate:,.0f}",
                f"{run.seconds:.1f}",
                f"{run.worker_cpu:.0%}",
                f"{run.machine_cpu:.0%}",
                f"{run.jobs / run.enqueue_seconds:,.0f}",
            ]
            for run in runs
        ]
        incomplete = [run for run in runs if run.done < run.jobs]
        note = "".join(f"Only {run.done:,} of {run.jobs:,} done at K={run.workers}. " for run in incomplete)
        note += "".join(
            f"The worker logged {run.errors:,} errors at K={run.workers}. " for run in runs if run.errors
        )
        blocks.append((header, rows, note.strip()))
    for header, rows, note in blocks:
        table = Table(*header)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        if note:
            console.print(note)
    verdict = verdict_line(args, acked_rate, p99, taken, runs)
    console.print(verdict)
    if args.write_markdown:
        write_markdown(args, blocks, verdict)


def verdict_line(
    args: argparse.Namespace, acked_rate: float, p99: float, taken: Ingest | None, runs: list[QueueRun]
) -> str:
    parts = []
    if taken:
        aims = "aims, for SQLite" if args.database_url else "aims"
        rate_met, p99_met = "met" if acked_rate >= 2000 else "NOT met", "met" if p99 < 50 else "NOT met"
        parts.append(
            f"{acked_rate:,.0f} webhooks/s acknowledged ({aims}: ≥ 2,000/s {rate_met}; p99 {p99:.1f} ms "
            f"< 50 ms {p99_met})"
        )
    if runs:
        best = max(runs, key=lambda run: run.rate)
        parts.append(f"queue best {best.rate:,.0f} jobs/s at --concurrency {best.workers}")
    return "; ".join(parts) + "."


def write_markdown(
    args: argparse.Namespace, blocks: list[tuple[list[str], list[list[str]], str]], verdict: str
) -> None:
    """Replace (or append) this database's "Ingest and queue" section of docs/benchmarks.md."""
    name = "ingest-postgresql" if args.database_url else "ingest-sqlite"
    if args.database_url:
        import psycopg

        with psycopg.connect(args.database_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        database = f"PostgreSQL {version[0] if version else '?'}"
    else:
        database = f"SQLite {sqlite3.sqlite_version} (WAL)"
    cpu = loadgen.proc_line("/proc/cpuinfo", "model name")
    lines = [
        f"<!-- bench:{name} -->",
        f"### {'PostgreSQL' if args.database_url else 'SQLite'}",
        "",
        f"`{args.command}` at {args.code}, {datetime.date.today().isoformat()}: {os.cpu_count()} CPUs "
        f"({cpu}), Python {sys.version.split()[0]}, {database}; load average before the run "
        f"{args.load_before:.2f}.",
    ]
    for header, rows, note in blocks:
        lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
        lines += ["", note] if note else []
    lines += ["", verdict, f"<!-- /bench:{name} -->"]
    text, section = DOC.read_text() if DOC.exists() else "# Benchmarks\n", "\n".join(lines)
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.DOTALL)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else f"{text.rstrip()}\n\n{section}\n"
    DOC.write_text(text)
    console.print(f"Updated {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
