"""ISAO and n8n side by side on the same work: a WooCommerce-signed order webhook → mapped to
``{email, name, amount}`` → POSTed to a local sink, 2,000 orders at concurrency 20 after 50 warm-up.

1. ISAO (SQLite, then PostgreSQL with ``--database-url``): a fresh data directory, a company with a
   WooCommerce connection (the webhook secret) and an ``http`` connection to the sink, the
   ``woocommerce-to-http`` recipe enabled; ``isao serve`` with its in-process workers (or, with
   ``--worker-processes N``, beside N ``isao worker`` processes), timed from spawn to ``/healthz``.
   The n8n harness's own ``loadgen.py --wc-secret`` drives ``/hooks/{connection}`` and its
   ``sink.py`` counts what arrives. Measured: events/s end to end (the first request sent to the last
   order arrived at the sink), the acknowledgement p50/p99 the load generator saw, ISAO's resident memory
   peak and CPU (its process tree, sampled from /proc), and every order arrived exactly once.
2. n8n, right after, through the harness's ``run.sh`` (its default settings and its "tuned" ones), when
   it is installed in ``--peer-dir`` (``bash ../shared/bench/peer-n8n/install.sh``, about 8 minutes).
3. One table with both, and the ratios; ``--write-markdown`` puts it in docs/benchmarks.md.

Everything listens on and targets 127.0.0.1; the load stops after a fixed count and a time cap.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import functools
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.ingest import free_port, stop  # noqa: E402

HARNESS = (ROOT.parent / "shared" / "bench" / "peer-n8n").resolve()
DOC = ROOT / "docs" / "benchmarks.md"
ISAO = str(Path(sys.executable).with_name("isao"))
SECRET = "bench-wc-secret"
console = Console()


@dataclass
class Result:
    """One system's run, in the table's terms."""

    label: str
    events_per_s: float
    accepted_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    rss_peak_mib: float
    cpu_percent: float
    ready_s: float
    arrived: int
    distinct: int
    bad: int
    orders: int
    notes: list[str] = field(default_factory=list)

    @property
    def exactly_once(self) -> bool:
        return self.arrived == self.distinct == self.orders and self.bad == 0


# --- the process tree's memory and CPU -----------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo += [int(child) for child in children]
    return found


def _sample(pids: list[int]) -> tuple[float, float]:
    """(resident MiB, CPU seconds) of these processes now."""
    rss = cpu = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        rss += int(re.search(r"VmRSS:\s+(\d+)", status)[1]) / 1024 if "VmRSS" in status else 0  # type: ignore[index]
        cpu += (int(stat[11]) + int(stat[12])) / ticks
    return rss, cpu


class Monitor(threading.Thread):
    """Peak resident memory of process trees (the server and any worker processes), every 0.2 s, and
    their CPU seconds between two marks."""

    def __init__(self, *pids: int) -> None:
        super().__init__(daemon=True)
        self.pids, self.peak, self.stopping = pids, 0.0, threading.Event()

    def _all(self) -> list[int]:
        return [pid for root in self.pids for pid in _tree(root)]

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            self.peak = max(self.peak, _sample(self._all())[0])

    def cpu(self) -> float:
        return _sample(self._all())[1]


# --- ISAO ---------------------------------------------------------------------------------------------


def _start(
    command: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    out = log.open("wb") if log else subprocess.DEVNULL
    return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def _setup(env: dict[str, str], sink_url: str) -> str:
    """The company, its two connections and the recipe, written as ``isao serve`` will read them."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("ISAO_")})
    from isao import connections, crypto
    from isao.config import get_settings
    from isao.connectors import catalog as connectors
    from isao.crm import companies
    from isao.db import Database
    from isao.db.migrate import upgrade
    from isao.sync import bindings, catalog

    get_settings.cache_clear()  # each run has its own data directory, database and secrets key
    crypto._fernet.cache_clear()
    url = get_settings().resolved_database_url()
    upgrade(url)
    db = Database(url)
    with db.write() as session:
        company_id = companies.create(session, f"Bench {time.time_ns()}").id
        shop = {"base_url": "http://127.0.0.1:9", "consumer_key": "ck_bench", "consumer_secret": "cs_bench",
                "webhook_secret": SECRET}  # fmt: skip
        ids = {}
        for role, provider, values in (
            ("shop", "woocommerce", shop),
            ("endpoint", "http", {"base_url": sink_url}),
        ):
            plain, secrets = connectors.split(provider, values)
            ids[role] = connections.create(
                session, company_id, provider, role, config=plain, secrets=secrets
            ).id
        bindings.enable(session, company_id, catalog.get("woocommerce-to-http"), ids)
    db.dispose()
    return ids["shop"]


def _loadgen(url: str, orders: int, concurrency: int, id_base: int) -> dict[str, Any]:
    command = [sys.executable, str(HARNESS / "loadgen.py"), url, "-n", str(orders), "-c", str(concurrency),
               "--id-base", str(id_base), "--wc-secret", SECRET, "--timeout", "300"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=330)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _sink_stats(port: int) -> dict[str, Any]:
    return dict(httpx.get(f"http://127.0.0.1:{port}/stats", timeout=5).json())


def _wait_for_sink(port: int, orders: int, quiet: float = 15.0) -> dict[str, Any]:
    """Until every order arrived, or nothing more arrived for ``quiet`` seconds."""
    last, since = -1, time.monotonic()
    while True:
        stats = _sink_stats(port)
        if stats["distinct"] >= orders:
            return stats
        if stats["count"] != last:
            last, since = stats["count"], time.monotonic()
        elif time.monotonic() - since > quiet:
            return stats
        time.sleep(0.1)


def run_isao(args: argparse.Namespace, database_url: str | None, processes: int, tmp: Path) -> Result:
    label = "ISAO, PostgreSQL" if database_url else "ISAO, SQLite"
    if processes:
        label += f", {processes} worker processes"
    if args.worker_batch:
        label += f", batch {args.worker_batch}"
    sink_port, port = free_port(), free_port()
    sink = _start([sys.executable, str(HARNESS / "sink.py"), str(sink_port)])
    data = tmp / ("pg" if database_url else "sqlite")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISAO_")} | {
        "ISAO_DATA_DIR": str(data), "ISAO_SECRET_KEY": Fernet.generate_key().decode(),
        "ISAO_LOG_LEVEL": "WARNING", "ISAO_WORKERS": str(args.workers),
    }  # fmt: skip
    if database_url:
        env["ISAO_DATABASE_URL"] = database_url
    if args.worker_batch:
        env["ISAO_WORKER_BATCH"] = str(args.worker_batch)
    try:
        shop = _setup(env, f"http://127.0.0.1:{sink_port}/ingest")
        started = time.monotonic()
        serve = [ISAO, "serve", "--host", "127.0.0.1", "--port", str(port)]
        if processes:
            serve.append("--no-workers")
        server = _start(serve, env, tmp / f"{label}.log")
        workers = [
            _start([ISAO, "worker", "--concurrency", str(args.workers)], env, tmp / f"{label}.worker{i}.log")
            for i in range(processes)
        ]
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() - started > 60:
                raise SystemExit(f"isao serve did not start: {(tmp / f'{label}.log').read_text()}")
            time.sleep(0.02)
        ready = time.monotonic() - started
        monitor = Monitor(server.pid, *(worker.pid for worker in workers))
        monitor.start()
        try:
            hooks = f"http://127.0.0.1:{port}/hooks/{shop}"
            _loadgen(hooks, args.warmup, args.concurrency, id_base=10_000_000)
            _wait_for_sink(sink_port, args.warmup)
            httpx.post(f"http://127.0.0.1:{sink_port}/reset", timeout=5)
            cpu_before, wall_before = monitor.cpu(), time.time()
            load = _loadgen(hooks, args.orders, args.concurrency, id_base=0)
            stats = _wait_for_sink(sink_port, args.orders)
            cpu = monitor.cpu() - cpu_before
        finally:
            monitor.stopping.set()
            for process in (server, *workers):
                stop(process)
    finally:
        stop(sink)
    seconds = max(1e-9, (stats["last_ts"] or time.time()) - wall_before)
    notes = [f"status {load['status']}, errors {load['errors']}"] if load["errors"] else []
    return Result(
        label, stats["distinct"] / seconds, load["accepted_per_s"], load["latency_ms"]["p50"],
        load["latency_ms"]["p99"], monitor.peak, 100 * cpu / seconds, ready, stats["count"],
        stats["distinct"], stats["bad"], args.orders, notes,
    )  # fmt: skip


# --- n8n ------------------------------------------------------------------------------------------------


def run_n8n(args: argparse.Namespace, tuned: bool, tmp: Path) -> Result | None:
    if not (Path(args.peer_dir) / "app" / "node_modules" / ".bin" / "n8n").exists():
        console.print(f"[yellow]n8n is not installed in {args.peer_dir}[/yellow]: "
                      f"bash {HARNESS / 'install.sh'} (about 8 minutes), then run this again.")  # fmt: skip
        return None
    label = "n8n 2.41.1, tuned" if tuned else "n8n 2.41.1, default"
    results = tmp / ("n8n-tuned" if tuned else "n8n-default")
    env = os.environ | {"PEER_DIR": args.peer_dir, "RESULTS": str(results), "N": str(args.orders),
                        "C": str(args.concurrency), "WARMUP": str(args.warmup)}  # fmt: skip
    if tuned:
        env |= {"N8N_EXPRESSION_ENGINE": "legacy", "SAVE_SUCCESS": "none"}
    subprocess.run(["bash", str(HARNESS / "run.sh")], env=env, check=True, timeout=1800,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return n8n_result(label, json.loads((results / "summary.json").read_text()), args.orders)


def n8n_result(label: str, summary: dict[str, Any], orders: int) -> Result:
    """The harness's summary.json (written by its report.py) in this table's terms."""
    load, sink = summary["webhook"], summary["sink"]
    tree = summary["n8n_process_tree"]
    during = tree["load_plus_drain"]
    return Result(
        label, sink["end_to_end_per_s"], load["accepted_per_s"], load["latency_ms"]["p50"],
        load["latency_ms"]["p99"], during["rss_mib_peak"], during["cpu_pct_of_one_core"],
        tree["startup_to_ready_s"], sink["received"], sink["distinct_orders"], sink["bad_shape"], orders,
    )  # fmt: skip


# --- the report -------------------------------------------------------------------------------------


def table(results: list[Result]) -> list[list[str]]:
    header = ["System", "events/s end to end", "accepted/s", "ack p50 ms", "ack p99 ms", "RSS peak MiB",
              "CPU (of one core)", "ready s", "arrived exactly once"]  # fmt: skip
    rows = [header]
    for r in results:
        once = "yes" if r.exactly_once else f"NO: {r.distinct:,} distinct of {r.orders:,}, {r.arrived:,} sent"
        rows.append([r.label, f"{r.events_per_s:,.1f}", f"{r.accepted_per_s:,.1f}", _ms(r.p50_ms),
                     _ms(r.p99_ms), f"{r.rss_peak_mib:,.0f}", f"{r.cpu_percent:,.0f}%",
                     f"{r.ready_s:.2f}", once])  # fmt: skip
    return rows


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def verdict(results: list[Result]) -> str:
    """The aims, checked for each SQLite configuration run."""
    tuned = next((r for r in results if r.label.endswith("tuned")), None)
    return " ".join(_aims(r, tuned) for r in results if r.label.startswith("ISAO, SQLite"))


def _aims(isao: Result, tuned: Result | None) -> str:
    p99_met = isao.p99_ms is not None and isao.p99_ms < 50
    parts = [f"{isao.label}: {isao.events_per_s:,.0f} events/s end to end, ack p99 {_ms(isao.p99_ms)} ms "
             f"(aim < 50 ms: {'met' if p99_met else 'NOT met'}), ready in {isao.ready_s:.2f} s "
             f"(aim < 2 s: {'met' if isao.ready_s < 2 else 'NOT met'})"]  # fmt: skip
    if tuned:
        ratio, memory = isao.events_per_s / tuned.events_per_s, isao.rss_peak_mib / tuned.rss_peak_mib
        parts.append(f"{ratio:,.1f}× n8n tuned (aim ≥ 10×: {'met' if ratio >= 10 else 'NOT met'})")
        parts.append(f"memory {memory:.0%} of n8n's (aim ≤ 25%: {'met' if memory <= 0.25 else 'NOT met'})")
    else:
        parts.append("n8n not run (not installed)")
    return "; ".join(parts) + "."


def write_markdown(args: argparse.Namespace, rows: list[list[str]], line: str) -> None:
    name = "e2e"
    command = " ".join(["python", "bench/e2e.py", *sys.argv[1:]])
    command = command.replace(args.database_url or "\0", '"$PG_URL"')
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "isao"], cwd=ROOT, capture_output=True, text=True)
    changed = " (with uncommitted changes in `isao/`)" if dirty.stdout else ""
    block = [
        f"<!-- bench:{name} -->",
        f"`.venv/bin/{command}` at {head.stdout.strip()}{changed}, "
        f"{datetime.date.today().isoformat()}: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version}; {args.orders:,} orders at concurrency {args.concurrency} after "
        f"{args.warmup} warm-up; load average before the run {args.load_before:.2f}.",
        "",
        "| " + " | ".join(rows[0]) + " |",
        "|" + "---|" * len(rows[0]),
        *("| " + " | ".join(row) + " |" for row in rows[1:]),
        "",
        line,
        f"<!-- /bench:{name} -->",
    ]
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: "\n".join(block), text)
    else:
        text = (
            text.rstrip() + "\n\n## Webhook to endpoint, side by side with n8n\n\n" + "\n".join(block) + "\n"
        )
    DOC.write_text(text, encoding="utf-8")
    console.print(f"Updated {DOC.relative_to(ROOT)}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="worker threads (per worker process)")
    parser.add_argument(
        "--worker-processes",
        type=int,
        nargs="+",
        default=[0],
        help="run the workers in this many `isao worker` processes instead of in `isao serve` (0); "
        "several numbers run each configuration in turn",
    )
    parser.add_argument("--database-url", help="also run on this PostgreSQL database (a throwaway one)")
    parser.add_argument("--worker-batch", type=int, help="jobs a worker claims at once (ISAO_WORKER_BATCH)")
    parser.add_argument("--peer-dir", default=os.environ.get("PEER_DIR", "/tmp/peer-n8n"))
    parser.add_argument("--skip-n8n", action="store_true")
    parser.add_argument("--write-markdown", action="store_true")
    args = parser.parse_args()
    args.load_before = os.getloadavg()[0]
    compileall.compile_dir(ROOT / "isao", quiet=1)  # as `make install` does: ISAO starts from bytecode
    results = []
    with tempfile.TemporaryDirectory(prefix="isao-e2e-") as directory:
        tmp = Path(directory)
        databases = [None, args.database_url] if args.database_url else [None]
        runs: list[Callable[[], Result | None]] = [
            functools.partial(run_isao, args, url, processes, tmp)
            for url in databases
            for processes in args.worker_processes
        ]
        if not args.skip_n8n:
            runs += [lambda: run_n8n(args, False, tmp), lambda: run_n8n(args, True, tmp)]
        for run in runs:
            result = run()
            if result is not None:
                console.print(json.dumps(result.__dict__))  # as soon as it is measured
                results.append(result)
    rows = table(results)
    view = Table(*rows[0])
    for row in rows[1:]:
        view.add_row(*row)
    console.print(view)
    line = verdict(results)
    console.print(line)
    for r in results:
        for note in r.notes:
            console.print(f"{r.label}: {note}")
    if args.write_markdown:
        write_markdown(args, rows, line)


if __name__ == "__main__":
    main()
