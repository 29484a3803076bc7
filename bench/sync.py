"""Recipe backfills against rate-limited provider sandboxes: records/s, the provider requests/s they
achieve as a share of the sandbox's ceiling, lost and duplicated records, and what batch endpoints gain.

1. `isao sandbox up` (WooCommerce, HubSpot, Zoho CRM) in a process of its own on free local ports.
2. For each run: the sandboxes are reset, the destination gets its rate ceiling (`rate_limit` requests per
   `rate_window` seconds, answered 429 beyond), the shop is seeded through the WooCommerce connector's
   `batch_create`, and a fresh company gets both connections (the destination's `rate_limit` setting is
   the same ceiling, so ISAO paces itself) and the recipe.
3. The backfill runs as `isao sync run --backfill [--batch]` runs it, in this process: `backfill.pages`
   enqueues while `Runtime(settings).pool(--workers)` works the jobs, until none is queued or running.
4. Then the destination's records are listed through its API and compared with the shop's: one contact
   per customer email, one deal per order (lost = missing, duplicates = extra records for one key).

See bench/README.md; --write-markdown updates the "Sync backfills" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, text

from isao import connections
from isao.config import Settings
from isao.connectors import catalog as connectors
from isao.connectors.base import MemoryCredentials, RecordApi, paginate
from isao.crm import companies
from isao.db import Database
from isao.db.migrate import upgrade
from isao.db.models import Schedule
from isao.queue import jobs
from isao.runtime import Runtime
from isao.sandbox.runner import sandbox_class
from isao.sync import backfill, bindings

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
ISAO = str(Path(sys.executable).parent / "isao")
RECIPES = ROOT / "bench" / "recipes"
console = Console(width=None if sys.stdout.isatty() else 200)
PROVIDERS = ("woocommerce", "hubspot", "zohocrm")

FIRST = ("Camille", "Léa", "Hugo", "Manon", "Louis", "Chloé", "Jules", "Inès", "Arthur", "Sarah")
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau")
CITIES = (("Paris", "75011"), ("Lyon", "69003"), ("Marseille", "13006"), ("Nantes", "44000"))


# --- the sandboxes, in a process of their own ------------------------------------------------------


def free_offset() -> int:
    """A port offset at which all three sandboxes' ports are free."""
    for _ in range(50):
        offset = random.randrange(10_000, 50_000, 10)
        ports = [sandbox_class(p).default_port + offset for p in PROVIDERS]
        if all(_free(port) for port in ports):
            return offset
    raise RuntimeError("no free ports for the sandboxes")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class Sandboxes:
    process: subprocess.Popen[bytes]
    urls: dict[str, str]

    def reset(self, provider: str, **faults: Any) -> None:
        httpx.post(f"{self.urls[provider]}/_sandbox/reset").raise_for_status()
        if faults:
            httpx.put(f"{self.urls[provider]}/_sandbox/faults", json=faults).raise_for_status()

    def stats(self, provider: str) -> dict[str, Any]:
        return dict(httpx.get(f"{self.urls[provider]}/_sandbox/stats").json())

    def cpu(self) -> float:
        """CPU seconds the sandboxes' process has used."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_sandboxes(log: Path) -> Sandboxes:
    offset = free_offset()
    only = [arg for provider in PROVIDERS for arg in ("--only", provider)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [ISAO, "sandbox", "up", *only, "--port-offset", str(offset)], stdout=out, stderr=subprocess.STDOUT
        )
    urls = {p: f"http://127.0.0.1:{sandbox_class(p).default_port + offset}" for p in PROVIDERS}
    deadline = time.monotonic() + 30
    while any(_free(int(url.rsplit(":", 1)[1])) for url in urls.values()):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"the sandboxes did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return Sandboxes(process, urls)


def credentials(provider: str) -> dict[str, str]:
    return dict(sandbox_class(provider)().credentials())


def api(provider: str, url: str) -> RecordApi:
    """An unpaced client of a sandbox, for seeding and counting (not through ISAO's buckets)."""
    values: dict[str, Any] = {"base_url": url} | ({"accounts_url": url} if provider == "zohocrm" else {})
    secrets = credentials(provider)
    values["client_id"] = secrets.get("client_id", "")
    client = connectors.client(provider, values, MemoryCredentials(secrets))
    return client  # type: ignore[return-value]


# --- the shop's records -------------------------------------------------------------------------------


def customers(count: int, rng: random.Random) -> list[dict[str, Any]]:
    made = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, postcode = rng.choice(CITIES)
        billing = {"first_name": first, "last_name": last, "email": f"customer{n}@example.com",
                   "phone": f"+33 6 {n // 10000 % 100:02d} {n // 100 % 100:02d} {n % 100:02d} 00",
                   "address_1": f"{1 + n % 90} rue de la Paix", "city": city, "postcode": postcode,
                   "country": "FR"}  # fmt: skip
        made.append({"email": billing["email"], "first_name": first, "last_name": last, "billing": billing})
    return made


def orders(count: int, buyers: int, rng: random.Random) -> list[dict[str, Any]]:
    """Orders of ``buyers`` customers (a customer orders several times); a tenth of them with a company."""
    made = []
    for n in range(count):
        buyer = n % buyers
        city, postcode = CITIES[buyer % len(CITIES)]
        billing = {"first_name": FIRST[buyer % 10], "last_name": f"{LAST[buyer % 10]} {buyer}",
                   "email": f"buyer{buyer}@example.com", "city": city, "postcode": postcode,
                   "country": "FR", "company": f"Company {buyer % 7}" if buyer % 10 == 0 else ""}  # fmt: skip
        items = [{"product_id": rng.choice((10, 11, 12, 13, 14)), "quantity": rng.randint(1, 3)}]
        made.append({"status": rng.choice(("completed", "processing", "on-hold")), "billing": billing,
                     "line_items": items})  # fmt: skip
    return made


def seed(url: str, object_: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shop = api("woocommerce", url)
    try:
        created = shop.batch_create(object_, items)  # type: ignore[attr-defined]
    finally:
        shop.close()
    if created.errors:
        raise RuntimeError(f"seeding {object_}: {created.errors[0]}")
    results: list[dict[str, Any]] = created.results
    return results


# --- one run -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    label: str
    recipe: str
    flow: str
    provider: str
    batch: bool
    source: str
    """``orders`` or ``customers``"""
    count: int
    ceiling: tuple[int, float]


@dataclass
class Outcome:
    scenario: Scenario
    records: int
    seconds: float
    requests: int
    throttled: int
    lost: int
    duplicates: int
    dead: int
    cpu: float
    """CPU seconds of this process (ISAO's workers) during the run"""
    sandbox_cpu: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds

    @property
    def accepted_rate(self) -> float:
        """Requests the provider answered (not 429) per second."""
        return (self.requests - self.throttled) / self.seconds

    @property
    def ceiling_rate(self) -> float:
        requests, window = self.scenario.ceiling
        return requests / window

    @property
    def ratio(self) -> float:
        return self.accepted_rate / self.ceiling_rate


def connect(db: Database, company_id: str, provider: str, url: str, name: str, **extra: str) -> str:
    values = credentials(provider) | {"base_url": url} | extra
    if provider == "zohocrm":
        values["accounts_url"] = url
    names = {setting.name for setting in connectors.settings(provider)}
    plain, secrets = connectors.split(provider, {k: v for k, v in values.items() if k in names})
    with db.write() as session:
        return connections.create(session, company_id, provider, name, config=plain, secrets=secrets).id


def run(scenario: Scenario, sandboxes: Sandboxes, runtime: Runtime, workers: int, seed_: int) -> Outcome:
    db, rng = runtime.db, random.Random(seed_)
    requests, window = scenario.ceiling
    sandboxes.reset("woocommerce")
    sandboxes.reset(scenario.provider, rate_limit=requests, rate_window=window)
    if scenario.source == "orders":
        made = orders(scenario.count, max(1, scenario.count // 5), rng)
    else:
        made = customers(scenario.count, rng)
    seeded = seed(sandboxes.urls["woocommerce"], scenario.source, made)
    with db.write() as session:
        company_id = companies.create(session, f"Bench {scenario.label} {time.time_ns()}").id
    shop = connect(db, company_id, "woocommerce", sandboxes.urls["woocommerce"], "shop")
    crm = connect(db, company_id, scenario.provider, sandboxes.urls[scenario.provider], "crm",
                  rate_limit=f"{requests}/{window:g}")  # fmt: skip
    recipe = runtime.engine.recipe(scenario.recipe)
    flow = next(f for f in recipe.flows if f.name == scenario.flow)
    with db.write() as session:
        binding = bindings.enable(session, company_id, recipe, {"shop": shop, "crm": crm})
        session.expunge(binding)
        session.execute(delete(Schedule).where(Schedule.name.startswith(f"{bindings.POLL}:{binding.id}:")))
    stats = sandboxes.stats(scenario.provider)["faults"]
    cpu, sandbox_cpu = time.process_time(), sandboxes.cpu()
    started = time.perf_counter()
    pool = runtime.pool(workers)
    pool.start()
    try:
        sync_run = backfill.start(db, binding, flow, None)
        for _ in backfill.pages(runtime.engine, binding, flow, sync_run, batch=scenario.batch):
            pass
        while True:
            states = backfill.outcome(db, sync_run.id)
            if not states.get(jobs.QUEUED, 0) + states.get(jobs.RUNNING, 0):
                break
            time.sleep(0.1)  # the bench's own polling: a few % of the CPU at 20 per second
        seconds = time.perf_counter() - started
    finally:
        pool.stop()
    cpu, sandbox_cpu = time.process_time() - cpu, sandboxes.cpu() - sandbox_cpu
    after = sandboxes.stats(scenario.provider)["faults"]
    lost, duplicates = check(scenario, sandboxes, seeded)
    return Outcome(
        scenario, len(seeded), seconds, after["requests"] - stats["requests"],
        after["rate_limited"] - stats["rate_limited"], lost, duplicates, states.get(jobs.DEAD, 0), cpu,
        sandbox_cpu,
    )  # fmt: skip


def check(scenario: Scenario, sandboxes: Sandboxes, seeded: list[dict[str, Any]]) -> tuple[int, int]:
    """(lost, duplicates) among the destination's records: each key once, expected from the shop's."""
    crm = api(scenario.provider, sandboxes.urls[scenario.provider])
    try:
        if scenario.provider == "zohocrm":
            wanted = Counter(f"WooCommerce Order #{o['id']} ({o['billing']['first_name']} "
                             f"{o['billing']['last_name']})" for o in seeded)  # fmt: skip
            found = Counter(str(r.get("Deal_Name")) for r in listed(crm, "Deals"))
            emails = Counter(str(r.get("Email")).lower() for r in listed(crm, "Contacts"))
            wanted_emails = Counter({o["billing"]["email"].lower(): 1 for o in seeded})
        else:
            wanted, found = Counter(), Counter()
            emails = Counter(str(r["properties"].get("email")).lower() for r in listed(crm, "contacts"))
            wanted_emails = Counter({c["email"].lower(): 1 for c in seeded})
    finally:
        crm.close()
    lost = len(set(wanted) - set(found)) + len(set(wanted_emails) - set(emails))
    duplicates = sum(n - 1 for n in (found + emails).values() if n > 1)
    return lost, duplicates


def listed(client: RecordApi, object_: str) -> Iterator[dict[str, Any]]:
    return paginate(lambda cursor: client.list_changed(object_, cursor=cursor, limit=100))


# --- the report ----------------------------------------------------------------------------------------


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "?",
    )  # fmt: skip
    vendor = "AMD EPYC" if "EPYC" in model else model
    return f"{os.cpu_count()} CPUs ({vendor}), Python {sys.version.split()[0]}"


def table(outcomes: list[Outcome]) -> Table:
    view = Table(
        "Run", "records", "seconds", "records/s", "requests", "429s", "requests/s", "ceiling/s", "of ceiling",
        "lost", "dupl.", "dead", "ISAO CPU", "sandbox CPU",
    )  # fmt: skip
    for o in outcomes:
        view.add_row(
            o.scenario.label, f"{o.records:,}", f"{o.seconds:.1f}", f"{o.rate:,.1f}", f"{o.requests:,}",
            f"{o.throttled:,}", f"{o.accepted_rate:,.1f}", f"{o.ceiling_rate:g}", f"{o.ratio:.0%}",
            str(o.lost), str(o.duplicates), str(o.dead), f"{o.cpu / o.seconds:.0%}",
            f"{o.sandbox_cpu / o.seconds:.0%}",
        )  # fmt: skip
    return view


def markdown(view: Table) -> list[str]:
    headers = [str(column.header) for column in view.columns]
    rows = [[str(cell) for cell in column._cells] for column in view.columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in zip(*rows, strict=True)]
    return lines


def verdict(outcomes: list[Outcome]) -> str:
    parts = []
    for o in outcomes:
        if not o.scenario.batch:
            met = "met" if o.ratio >= 0.95 else "NOT met"
            bound = ", bound by ISAO's CPU" if o.cpu / o.seconds >= 0.9 and o.ratio < 0.95 else ""
            parts.append(f"{o.scenario.label}: {o.ratio:.1%} of the ceiling (aim ≥ 95%: {met}{bound})")
    clean = all(o.lost == 0 and o.duplicates == 0 for o in outcomes)
    parts.append(f"lost and duplicated: {'0 in every run' if clean else 'SOME (see the table)'}")
    hubspot = {o.scenario.batch: o for o in outcomes if o.scenario.provider == "hubspot"}
    if len(hubspot) == 2:
        gain = hubspot[True].rate / hubspot[False].rate
        met = "met" if gain >= 50 else "NOT met"
        parts.append(f"HubSpot batch {gain:,.0f}× the per-record records/s (aim ≥ 50×: {met})")
    return "; ".join(parts) + "."


def database(db: Database) -> str:
    if db.is_sqlite:
        return f"SQLite {sqlite3.sqlite_version} (WAL)"
    with db.read() as session:
        return f"PostgreSQL {session.execute(text('SHOW server_version')).scalar_one()}"


def write_markdown(
    args: argparse.Namespace, view: Table, line: str, started: str, load: float, engine: str
) -> None:
    name = "sync-postgresql" if args.database_url else "sync-sqlite"
    title = "PostgreSQL" if args.database_url else "SQLite"
    command = " ".join(["python", "bench/sync.py", *sys.argv[1:]])
    command = command.replace(args.database_url or "\0", '"$PG_URL"')
    dirty = " (with uncommitted changes in `isao/`)" if git("status", "--porcelain", "isao") else ""
    block = [
        f"<!-- bench:{name} -->",
        f"### {title}",
        "",
        f"`.venv/bin/{command}` at {git('rev-parse', '--short', 'HEAD')}{dirty}, {started}: {machine()}, "
        f"{engine}; load average before the run {load:.2f}.",
        "",
        *markdown(view),
        "",
        line,
        f"<!-- /bench:{name} -->",
    ]
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"docs/benchmarks.md has no <!-- bench:{name} --> section to replace")
    DOC.write_text(pattern.sub(lambda _: "\n".join(block), text), encoding="utf-8")
    console.print(f"Updated the {title} section of {DOC.relative_to(ROOT)}.")


# --- main ----------------------------------------------------------------------------------------------


def ceiling(text: str) -> tuple[int, float]:
    requests, _, window = text.partition("/")
    return int(requests), float(window or 1)


def ceilings(text: str) -> list[tuple[int, float]]:
    return [ceiling(part) for part in text.split(",")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--orders", type=int, default=600, help="orders backfilled into Zoho CRM")
    add("--customers", type=int, default=3000, help="customers batched into HubSpot")
    add("--single-customers", type=int, default=100, help="customers synced one by one into HubSpot")
    add(
        "--zoho-ceiling",
        type=ceilings,
        default="1000/10,3000/10",
        metavar="N/S[,N/S]",
        help="Zoho sandbox: N requests per S seconds; one per-record run each, batch at the last",
    )
    add(
        "--hubspot-ceiling",
        type=ceiling,
        default="100/10",
        metavar="N/S",
        help="HubSpot sandbox (default: HubSpot's published ceiling)",
    )
    add("--workers", type=int, default=4, help="worker threads, as `isao sync run --workers`")
    add("--hubspot-recipe", default="woocommerce-hubspot", help="a recipe with a `customers` flow")
    add("--recipes-dir", type=Path, default=RECIPES, help="ISAO_RECIPES_DIR (default: bench/recipes)")
    add("--only", choices=("zoho", "hubspot"), help="one provider's runs")
    add("--database-url", help="PostgreSQL (default: SQLite in a temporary directory)")
    add("--seed", type=int, default=5, help="seed of the generated shop data")
    add("--write-markdown", action="store_true", help="update docs/benchmarks.md")
    return parser.parse_args()


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    """Zoho per record at each ceiling, then batched at the last; HubSpot per record and batched."""
    orders = ("woocommerce-to-zohocrm", "orders", "zohocrm")
    customers = (args.hubspot_recipe, "customers", "hubspot")
    zoho = [
        Scenario(f"Zoho, per record, {n}/{w:g}", *orders, False, "orders", args.orders, (n, w))
        for n, w in args.zoho_ceiling
    ]
    n, w = args.zoho_ceiling[-1]
    zoho.append(Scenario(f"Zoho, batch, {n}/{w:g}", *orders, True, "orders", args.orders, (n, w)))
    n, w = args.hubspot_ceiling
    hubspot = [
        Scenario(f"HubSpot, per record, {n}/{w:g}", *customers, False, "customers", args.single_customers,
                 (n, w)),
        Scenario(f"HubSpot, batch, {n}/{w:g}", *customers, True, "customers", args.customers, (n, w)),
    ]  # fmt: skip
    return {"zoho": zoho, "hubspot": hubspot}.get(args.only or "", zoho + hubspot)


def main() -> None:
    args = parse_args()
    if args.only and args.write_markdown:
        raise SystemExit("--write-markdown records every run: drop --only")
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="isao-bench-sync-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), database_url=args.database_url, workers=0, recipes_dir=args.recipes_dir,
            worker_poll_seconds=0.05, log_level="WARNING",
        )  # fmt: skip
        url = settings.resolved_database_url()
        upgrade(url)
        db = Database(url)
        sandboxes = start_sandboxes(Path(tmp) / "sandboxes.log")
        runtime = Runtime(settings, db)
        outcomes, engine = [], database(db)
        try:
            for scenario in scenarios(args):
                console.print(f"[bold]{scenario.label}[/bold]: {scenario.count:,} {scenario.source}…")
                outcomes.append(run(scenario, sandboxes, runtime, args.workers, args.seed))
                console.print(table(outcomes[-1:]))
        finally:
            runtime.close()
            sandboxes.process.terminate()
            sandboxes.process.wait(10)
            db.dispose()
    view = table(outcomes)
    line = verdict(outcomes)
    console.print(view)
    console.print(line)
    if args.write_markdown:
        write_markdown(args, view, line, started, load, engine)


if __name__ == "__main__":
    main()
