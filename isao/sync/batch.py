"""Backfills in batches (``isao sync run … --backfill --batch``): one ``sync.batch`` job takes a page of up
to 100 source records and writes them a step at a time through the destination's batch endpoints, where a
``sync.record`` job per record would search, then write, one record per HTTP call.

For each step, every record is mapped as the engine maps it (same options, same ``steps`` context), the ID
map is read for all of them in one query, records whose content hash is unchanged are skipped, known targets
get one ``batch_update`` and the others one batch upsert on the step's ``match.key``. The upsert needs no
search and cannot create a duplicate, because the key is unique at the provider (HubSpot's unique
properties, Zoho's duplicate-check fields). A step that cannot be written that way (no unique key,
``action: create`` or ``update``, ``update_fields``, field owners, associations, a provider without batch
upserts) runs through the engine record by record, exactly as ``sync.record`` runs it.

The engine's guarantees hold: an earlier step's ID-map links commit once the step is written, the last
step's with the job's completion. A worker that dies in between leaves the job to run again, and the links
or the upsert by unique key turn the second run into no-ops or updates. A record that fails on its own (an
error inside a 207, a requirement it does not meet, a lock another job holds) is handed to a ``sync.record``
job of its own in that same completion transaction, where it retries or dead-letters with its own payload,
as in a per-record backfill.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import structlog
from sqlalchemy import delete, select

from isao import metrics
from isao.connectors.base import BatchResult, RecordApi, json_body
from isao.db import Database, insert_for
from isao.db.models import IdLink, RecipeBinding, SyncLock
from isao.errors import Conflict, Invalid, NotFound
from isao.queue import jobs
from isao.queue.context import JobContext
from isao.queue.jobs import Claimed, LeaseLost
from isao.sync import idmap, locks, lookups, twoway
from isao.sync.engine import RECORD, Engine, StepResult, flow_context
from isao.sync.expressions import Expression
from isao.sync.mapping import evaluate, to_wire
from isao.sync.recipe import Flow, Recipe, Step
from isao.timeutil import utcnow

log = structlog.get_logger(__name__)
BATCH = "sync.batch"
PAGE = 100
"""Records per job, and inputs per batch call: HubSpot's and Zoho's ceiling."""

ZOHO_DUPLICATE_CHECK = {
    "Leads": "Email", "Contacts": "Email", "Accounts": "Account_Name", "Deals": "Deal_Name",
    "Campaigns": "Campaign_Name", "Cases": "Subject", "Solutions": "Solution_Title",
    "Products": "Product_Name", "Vendors": "Vendor_Name", "Price_Books": "Price_Book_Name",
    "Quotes": "Subject", "Sales_Orders": "Subject", "Purchase_Orders": "Subject", "Invoices": "Subject",
}  # fmt: skip
"""Zoho's system-defined duplicate-check fields (its "Upsert Records" page); a module's unique fields are
read from its fields metadata."""

Link = tuple[str, idmap.Source, str, str, str, str, str | None]
"""The arguments of ``idmap.save`` after the session."""


def page_key(run_id: str, page: int, records: int) -> str:
    """A backfill page's job; it ends with the number of records, so a run's progress counts records."""
    return f"sync:{run_id}:batch:{page}:{records}"


def handoff_prefix(run_id: str) -> str:
    return f"sync:{run_id}:retry:"


def records_of(key: str) -> int:
    """How many records the batch job of ``page_key`` holds."""
    return int(key.rsplit(":", 1)[1])


@dataclass
class Item:
    """One source record on its way through the page's steps."""

    record: dict[str, Any]
    id: str
    context: dict[str, Any]
    stamp: str | None = None
    results: list[StepResult] = field(default_factory=list)
    finished: bool = False
    """Nothing more to do (``when`` false, an echo): its remaining steps are not run."""
    handoff: str | None = None
    """Why it went to a ``sync.record`` job of its own."""

    @property
    def live(self) -> bool:
        return not self.finished and self.handoff is None

    def fail(self, reason: BaseException | str) -> None:
        self.handoff = reason if isinstance(reason, str) else f"{type(reason).__name__}: {reason}"

    def done(self, result: StepResult) -> None:
        self.results.append(result)
        self.context["steps"][result.step] = {"id": result.target_id, **result.fields}


@dataclass
class Write:
    """One record's write in a batched step."""

    item: Item
    source: idmap.Source
    fields: dict[str, Any]
    digest: str
    target_id: str | None = None
    last: twoway.Link | None = None
    """The step's own last write for the record (None when the target came from a reverse link)."""

    @property
    def unchanged(self) -> bool:
        return self.target_id is not None and self.last is not None and self.last.content_hash == self.digest


class BatchApi(RecordApi, Protocol):
    """What a destination needs for a batched step (HubSpot's and Zoho's clients have it)."""

    def batch_update(self, object: str, items: Sequence[dict[str, Any]]) -> BatchResult: ...

    def batch_upsert(
        self, object: str, items: Sequence[dict[str, Any]], key_field: str | None = None
    ) -> BatchResult: ...


@dataclass
class Batcher:
    engine: Engine
    _unique: dict[tuple[str, str, str], bool] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def db(self) -> Database:
        return self.engine.db

    # --- the job ---

    def handle(self, ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
        """``sync.batch``: ``{"binding_id", "flow", "records": [...], "run"?}``."""
        resolved = self.engine.resolve(payload)
        if isinstance(resolved, str):
            return {"skipped": resolved}
        binding, recipe, flow = resolved
        source_client = self.engine.client(binding.connections[flow.source.connection])
        records = {source_client.record_id(record): record for record in payload["records"]}  # once each
        page = [Item(r, i, flow_context(recipe, binding)) for i, r in records.items()]
        keys = {item.id: locks.key(binding.id, flow.name, item.id) for item in page}
        held = _lock_all(ctx.db, list(keys.values()), ctx.job)
        prefix = handoff_prefix(payload["run"]) if payload.get("run") else f"{BATCH}:"
        try:
            for item in page:
                if keys[item.id] not in held:
                    item.fail(f"another job is syncing {flow.source.object} {item.id}")
            pending = self.run(binding, recipe, flow, page)
            handoffs = [
                _handoff(binding, flow, item, f"{prefix}{ctx.job.id}:{item.id}")
                for item in page
                if item.handoff is not None
            ]
            with ctx.transaction() as session:
                for link in pending:
                    idmap.save(session, *link)
                jobs.enqueue_unique(session, handoffs)
        finally:
            _release_all(ctx.db, list(held), ctx.job)
        for item in page:
            if item.handoff is not None:
                log.info("sync.batch.handoff", flow=flow.name, source=item.id, reason=item.handoff)
        last = Counter(item.results[-1].action for item in page if item.handoff is None and item.results)
        return {"records": len(page), "handed_off": len(handoffs), "last_step": dict(last)}

    def run(self, binding: RecipeBinding, recipe: Recipe, flow: Flow, page: list[Item]) -> list[Link]:
        """Every step over the page; returns the last step's links, for the caller's completion."""
        source_connection = binding.connections[flow.source.connection]
        source_client = self.engine.client(source_connection)
        for item in page:
            try:
                if item.live and not _holds(flow.when, item):
                    item.results = [StepResult(step.name, "skipped") for step in flow.steps]
                    item.finished = True
                elif item.live:
                    item.stamp = twoway.version(source_client, item.record)
            except Exception as exc:  # a condition that fails on this record only
                item.fail(exc)
        self._drop_echoes(binding, flow, source_connection, page)
        clients = self.engine.client
        for item in page:
            if item.live:
                try:
                    lookups.read(flow, binding.connections, clients, item.record, item.context, item.id)
                    lookups.check(flow, item.record, item.context)
                except (LeaseLost, KeyboardInterrupt):
                    raise
                except Exception as exc:  # its own job reports it with the record as payload
                    item.fail(exc)
        pending: list[Link] = []
        for index, step in enumerate(flow.steps):
            links = self._step(binding, recipe, flow, step, [item for item in page if item.live])
            if index == len(flow.steps) - 1:
                pending = links
            elif links:
                with self.db.write() as session:
                    for link in links:
                        idmap.save(session, *link)
        for item in page:
            for result in item.results if item.handoff is None else ():  # its own job counts it
                metrics.SYNC_STEPS.labels(recipe.name, flow.name, result.action).inc()
        return pending

    def _drop_echoes(self, binding: RecipeBinding, flow: Flow, connection: str, page: list[Item]) -> None:
        """A record whose version is ISAO's own write to it (two-way recipes): nothing changed there."""
        stamped = {item.id: item for item in page if item.live and item.stamp is not None}
        if not stamped:
            return
        with self.db.read() as session:
            links = session.execute(
                select(IdLink.target_id, IdLink.target_version).where(
                    IdLink.binding_id == binding.id, IdLink.target_connection == connection,
                    IdLink.target_object == flow.source.object, IdLink.target_id.in_(list(stamped)),
                )
            ).all()  # fmt: skip
        for target_id, version in links:
            item = stamped[target_id]
            if item.live and version == item.stamp:
                log.info("sync.echo", flow=flow.name, source=item.id, version=item.stamp)
                item.results = [StepResult(step.name, "echo") for step in flow.steps]
                item.finished = True

    # --- one step over the page ---

    def _step(
        self, binding: RecipeBinding, recipe: Recipe, flow: Flow, step: Step, live: list[Item]
    ) -> list[Link]:
        connection = binding.connections[step.target.connection]
        client = self.engine.client(connection)
        if not self.batchable(recipe, step, connection, client):
            self._one_by_one(binding, recipe, flow, step, live)
            return []
        source_connection = binding.connections[flow.source.connection]
        writes: list[Write] = []
        for item in live:
            try:
                if not _holds(step.when, item):
                    item.done(StepResult(step.name, "skipped"))
                    continue
                fields = to_wire(evaluate(step.fields, item.record, item.context))
            except Exception as exc:  # a condition or mapping that fails on this record only
                item.fail(exc)
                continue
            source = idmap.Source(binding.id, step.name, source_connection, flow.source.object, item.id)
            writes.append(Write(item, source, fields, idmap.content_hash(fields)))
        self._targets(binding, connection, step, writes)
        for write in writes:
            if write.unchanged:
                write.item.done(StepResult(step.name, "unchanged", write.target_id, write.fields))
        known = [w for w in writes if w.target_id is not None and not w.unchanged]
        updates, gone = self._conflicts(binding, recipe, step, client, known)
        key = str(step.match.key)
        news = [w for w in writes if w.target_id is None] + gone
        upserts = [w for w in news if w.fields.get(key) not in (None, "")]
        api = cast(BatchApi, client)

        def upsert(object_: str, items: Sequence[dict[str, Any]]) -> BatchResult:
            return api.batch_upsert(object_, items, key_field=key)

        links = self._write(binding, connection, step, client, updates, "id", api.batch_update)
        links += self._write(binding, connection, step, client, upserts, key, upsert)
        self._one_by_one(binding, recipe, flow, step, [w.item for w in news if w not in upserts])
        return links

    def batchable(self, recipe: Recipe, step: Step, connection: str, client: RecordApi) -> bool:
        """Whether a batch upsert on the step's key does what the engine would do record by record."""
        key = step.match.key
        if key is None or step.action != "upsert" or step.associate or step.update_fields is not None:
            return False
        if recipe.conflict.policy == "source_of_truth" and recipe.conflict.owners:
            return False
        if not all(callable(getattr(client, name, None)) for name in ("batch_update", "batch_upsert")):
            return False
        cache = (connection, step.target.object, key)
        with self._lock:
            known = self._unique.get(cache)
        if known is None:
            known = unique_key(client, step.target.object, key)
            with self._lock:
                self._unique[cache] = known
        return known

    def _targets(self, binding: RecipeBinding, connection: str, step: Step, writes: list[Write]) -> None:
        """Each write's target from the ID map, in one query (a second one for links written the other way
        by a two-way recipe)."""
        if not writes:
            return
        first = writes[0].source
        by_id = {w.source.id: w for w in writes}
        with self.db.read() as session:
            for link in session.scalars(
                select(IdLink).where(
                    IdLink.binding_id == binding.id, IdLink.step == step.name,
                    IdLink.source_connection == first.connection, IdLink.source_object == first.object,
                    IdLink.source_id.in_(list(by_id)),
                )
            ):  # fmt: skip
                write = by_id[link.source_id]
                write.target_id = link.target_id
                write.last = twoway.Link(link.id, link.content_hash, link.target_version)
            unknown = [w.source.id for w in writes if w.target_id is None]
            if not unknown:
                return
            for link in session.scalars(
                select(IdLink).where(
                    IdLink.binding_id == binding.id, IdLink.target_connection == first.connection,
                    IdLink.target_object == first.object, IdLink.target_id.in_(unknown),
                    IdLink.source_connection == connection, IdLink.source_object == step.target.object,
                )
            ):  # fmt: skip
                write = by_id[link.target_id]
                if write.target_id is None:
                    write.target_id = link.source_id

    def _conflicts(
        self, binding: RecipeBinding, recipe: Recipe, step: Step, client: RecordApi, updates: list[Write]
    ) -> tuple[list[Write], list[Write]]:
        """``latest`` in a two-way recipe, as the engine decides it: a target edited after the source keeps
        its values; a target deleted over there is written again. Returns (to update, to upsert)."""
        checked = [w for w in updates if w.last is not None]
        if not checked or recipe.conflict.policy != "latest" or not twoway.is_two_way(recipe, binding, step):
            return updates, []
        ids = [str(w.target_id) for w in checked]
        read = getattr(client, "batch_read", None)
        if callable(read):
            found: BatchResult = read(step.target.object, ids)
            current = {client.record_id(record): record for record in found.results}
        else:
            current = {i: r for i in ids if (r := client.get(step.target.object, i)) is not None}
        kept, gone = [], []
        with self.db.write() as session:
            for write in updates:
                record = current.get(str(write.target_id))
                if write.last is None:
                    kept.append(write)
                elif record is None:
                    write.target_id, write.last = None, None
                    gone.append(write)
                elif twoway.target_is_newer(
                    session, binding, write.last, twoway.version(client, record), write.item.stamp
                ):
                    write.item.done(StepResult(step.name, "conflict", write.target_id, write.fields))
                else:
                    kept.append(write)
        return kept, gone

    def _write(
        self, binding: RecipeBinding, connection: str, step: Step, client: RecordApi, writes: list[Write],
        key: str, call: Callable[[str, Sequence[dict[str, Any]]], BatchResult],
    ) -> list[Link]:  # fmt: skip
        """One batch call per 100 distinct targets; several records of one target (two orders of one
        customer) write the last one's fields and all link to the result."""
        groups: dict[str, list[Write]] = {}
        for write in writes:
            value = write.target_id if key == "id" else write.fields[key]
            groups.setdefault(_folded(value), []).append(write)
        links: list[Link] = []
        ordered = list(groups.values())
        for start in range(0, len(ordered), PAGE):
            chunk = ordered[start : start + PAGE]
            inputs = [
                {"id": group[-1].target_id, **group[-1].fields} if key == "id" else dict(group[-1].fields)
                for group in chunk
            ]
            try:
                result = call(step.target.object, inputs)
            except (Invalid, NotFound, Conflict) as exc:  # the whole call refused: each record on its own
                for group in chunk:
                    for write in group:
                        write.item.fail(exc)
                continue
            errors = "; ".join(str(error) for error in result.errors)[:500]
            for group, record in zip(chunk, matched(inputs, result, key), strict=True):
                if record is None:
                    for write in group:
                        write.item.fail(errors or "the batch answer has no result for it")
                    continue
                target_id, version = client.record_id(record), twoway.version(client, record)
                new = record.get("new")
                action = "updated" if key == "id" or new is False else "created" if new else "upserted"
                for write in group:
                    write.item.done(StepResult(step.name, action, target_id, write.fields))
                    links.append((binding.company_id, write.source, connection, step.target.object,
                                  target_id, write.digest, version))  # fmt: skip
        return links

    def _one_by_one(
        self, binding: RecipeBinding, recipe: Recipe, flow: Flow, step: Step, items: Iterable[Item]
    ) -> None:
        """The engine's own step for each record (its links commit as it writes them)."""
        source_connection = binding.connections[flow.source.connection]
        for item in items:
            source = idmap.Source(binding.id, step.name, source_connection, flow.source.object, item.id)
            try:
                result = self.engine.step(
                    None, binding, recipe, flow, step, source, item.record, item.context, item.stamp, False
                )
            except (LeaseLost, KeyboardInterrupt):
                raise
            except Exception as exc:  # its own job retries it or dead-letters it
                item.fail(exc)
                continue
            item.done(result)


def matched(inputs: list[dict[str, Any]], result: BatchResult, key: str) -> list[dict[str, Any] | None]:
    """Each input's record in a batch answer: by ``objectWriteTraceId`` (HubSpot numbers the inputs of a
    call) or by the key's value (Zoho answers with the values sent); None for an input that failed."""
    found: list[dict[str, Any] | None] = [None] * len(inputs)
    position = {_folded(item.get(key)): n for n, item in enumerate(inputs)}
    for record in result.results:
        if not isinstance(record, dict) or "error" in record:
            continue
        trace = str(record.get("objectWriteTraceId", ""))
        if trace.isdigit() and int(trace) < len(inputs):
            found[int(trace)] = record
            continue
        value = record[key] if key in record else (record.get("properties") or {}).get(key)
        index = position.get(_folded(value))
        if index is not None:
            found[index] = record
    return found


def unique_key(client: RecordApi, object_: str, key: str) -> bool:
    """Whether the provider upserts on ``key`` natively and keeps it unique: a HubSpot unique property, a
    Zoho duplicate-check or unique field. Other providers have no such upsert."""
    provider = getattr(client, "provider", "")
    if provider == "hubspot":
        return bool(getattr(client, "is_unique")(object_, key))  # noqa: B009
    if provider == "zohocrm":
        if ZOHO_DUPLICATE_CHECK.get(object_) == key:
            return True
        request = getattr(client, "request")  # noqa: B009 - the connector has no call for it (yet)
        version = getattr(client, "api_version", "v4")
        answer = json_body(request("GET", f"/crm/{version}/settings/fields", params={"module": object_}))
        fields = (answer or {}).get("fields") or []
        return any(isinstance(f, dict) and f.get("api_name") == key and f.get("unique") for f in fields)
    return False


def _holds(condition: Expression | None, item: Item) -> bool:
    """A flow's or step's ``when`` (none: true)."""
    return condition is None or bool(condition(item.record, item.context))


def _handoff(binding: RecipeBinding, flow: Flow, item: Item, key: str) -> dict[str, Any]:
    """The ``sync.record`` job of a record that failed on its own: the payload a per-record backfill gives."""
    payload = {"binding_id": binding.id, "flow": flow.name, "id": item.id, "data": item.record}
    return jobs.values(RECORD, payload, company_id=binding.company_id, dedupe_key=key)


def _folded(value: Any) -> str:
    """Keys compare as the providers compare them: text without regard to case."""
    return str(value).casefold()


def _lock_all(db: Database, keys: list[str], job: Claimed) -> set[str]:
    """``locks.acquire`` for a page of records: one insert for the free keys, then the usual check of
    each key another attempt holds (it may be a dead worker's, free to take)."""
    if not keys:
        return set()
    with db.write() as session:
        rows = [{"key": k, "job_id": job.id, "attempt": job.attempt, "acquired_at": utcnow()} for k in keys]
        session.execute(insert_for(session, SyncLock).on_conflict_do_nothing(index_elements=["key"]), rows)
        owners = session.execute(
            select(SyncLock.key, SyncLock.job_id, SyncLock.attempt).where(SyncLock.key.in_(keys))
        ).all()
    held = {key for key, job_id, attempt in owners if (job_id, attempt) == (job.id, job.attempt)}
    for key in keys:
        if key not in held and locks.acquire(db, key, job):
            held.add(key)
    return held


def _release_all(db: Database, keys: list[str], job: Claimed) -> None:
    if keys:
        with db.write() as session:
            session.execute(delete(SyncLock).where(SyncLock.key.in_(keys), SyncLock.job_id == job.id))
