"""Runs a flow of an enabled recipe on one source record: each step maps the record, finds its target
(ID map → search by the step's key → none), and creates, updates or skips it.

One transaction per step: the step's write to the provider is followed by its ID-map row in its own
transaction (the last step's row commits with the job's completion). A crash between the provider's answer
and that commit leaves the step to run again; the ID map (or, for steps without one yet, the search by key)
turns the second run into an update or a no-op rather than a duplicate. A step whose mapped content hashes
the same as what it wrote last is skipped without a call.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import structlog

from isao import connections, metrics
from isao.connectors.base import RecordApi, recording
from isao.db import Database
from isao.db.models import RecipeBinding
from isao.db.prepared import Writer
from isao.errors import Busy, Conflict, Invalid
from isao.queue.context import JobContext
from isao.queue.jobs import Claimed
from isao.queue.worker import tell
from isao.sync import bindings, catalog, idmap, locks, lookups, twoway
from isao.sync.mapping import evaluate, to_wire
from isao.sync.recipe import Flow, Recipe, Step

log = structlog.get_logger(__name__)
RECORD = "sync.record"


@dataclass
class StepResult:
    step: str
    action: str
    """created, updated, unchanged, exists, skipped (``when`` false or nothing to update)"""
    target_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Planned:
    step: Step
    source: idmap.Source
    connection: str
    client: RecordApi
    fields: dict[str, Any]
    digest: str
    target_id: str | None
    last: twoway.Link | None
    """This step's own last write for the source record (None when the target came from a search or from
    a link written the other way)."""

    @property
    def unchanged(self) -> bool:
        """What the step would write now is what it wrote last: nothing to do."""
        return self.target_id is not None and self.last is not None and self.last.content_hash == self.digest


def flow_context(recipe: Recipe, binding: RecipeBinding) -> dict[str, Any]:
    """What a flow's expressions see besides the record: the options by name and as ``options``, and
    ``steps`` (filled in as each step writes)."""
    options = bindings.options(recipe, binding)
    return {**options, "options": options, "steps": {}}


RECHECK = 5.0
"""Seconds a cached client is used before its connection's row is looked at again."""


@dataclass
class _Cached:
    client: RecordApi
    stamp: datetime | None
    generation: int = -1
    until: float = 0.0


def _mtime(path: Path | None) -> int | None:
    try:
        return path.stat().st_mtime_ns if path is not None else None
    except OSError:
        return None


@dataclass
class Engine:
    db: Database
    recipes_dir: Path | None = None
    _clients: dict[str, _Cached] = field(default_factory=dict)
    _recipes: dict[str, tuple[tuple[Any, ...], Recipe]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    bindings: bindings.Snapshot = field(init=False)

    def __post_init__(self) -> None:
        self.bindings = bindings.Snapshot(self.db)

    def recipe(self, name: str) -> Recipe:
        """Loaded once per change of its file: fixing a mapping and replaying the dead letters is enough.
        A change is seen by the file's mtime and, for files added, removed or renamed, by the operator
        directory's: two ``stat`` calls per job rather than listing the directories."""
        with self._lock:
            cached = self._recipes.get(name)
        if cached is not None and cached[0] == self._stamp(cached[0][0]):
            return cached[1]
        path = catalog.files(self.recipes_dir).get(name)
        stamp = self._stamp(path)
        with self._lock:
            cached = self._recipes.get(name)
            if cached is None or cached[0] != stamp:
                self._recipes[name] = (stamp, catalog.get(name, self.recipes_dir))
            return self._recipes[name][1]

    def _stamp(self, path: Path | None) -> tuple[Any, ...]:
        directory = self.recipes_dir
        return (path, _mtime(path), directory, _mtime(directory))

    def client(self, connection_id: str) -> RecordApi:
        """One client per connection per process: its HTTP pool and cached token are shared by workers.
        It is made again once the connection changed: at once when this process changed it, within
        ``RECHECK`` seconds when another did (``isao connections set`` while ``isao serve`` runs)."""
        with self._lock:
            cached, now = self._clients.get(connection_id), time.monotonic()
            if cached is not None and cached.generation == connections.generation() and now < cached.until:
                return cached.client
            changed = connections.stamp(self.db, connection_id)
            if cached is None or cached.stamp != changed:
                opened = cast(RecordApi, connections.open_client(self.db, connection_id))
                cached = _Cached(opened, changed)
                self._clients[connection_id] = cached  # the one replaced closes when no job uses it
            cached.generation, cached.until = connections.generation(), now + RECHECK
            return cached.client

    def close(self) -> None:
        with self._lock:
            for cached in self._clients.values():
                cached.client.close()
            self._clients.clear()

    # --- the job ---

    def resolve(self, payload: dict[str, Any]) -> tuple[RecipeBinding, Recipe, Flow] | str:
        """The enabled binding, its recipe and the flow a sync job names, or why the job has nothing to do."""
        binding = self.bindings.get(payload["binding_id"])
        if binding is None or not binding.enabled:
            return "recipe disabled or removed"
        recipe = self.recipe(binding.recipe)
        flow = next((f for f in recipe.flows if f.name == payload["flow"]), None)
        if flow is None:
            return f"recipe {recipe.name} has no flow {payload['flow']!r} any more"
        return binding, recipe, flow

    def handle(self, ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
        """``sync.record``: ``{"binding_id", "flow", "id", "data"?}``."""
        resolved = self.resolve(payload)
        if isinstance(resolved, str):
            return {"skipped": resolved}
        binding, recipe, flow = resolved
        key = locks.key(binding.id, flow.name, payload["id"])
        if key not in ctx.job.locks and not locks.acquire(ctx.db, key, ctx.job):
            raise Busy(f"another job is syncing {flow.source.object} {payload['id']}", retry_after=1)
        ctx.also(lambda session: locks.release_in(session, key, ctx.job))
        try:
            source_connection = binding.connections[flow.source.connection]
            client = self.client(source_connection)
            record = payload.get("data") or client.get(flow.source.object, payload["id"])
            if record is None:
                return {"skipped": "the source record no longer exists"}
            results = self.run(ctx, binding, recipe, flow, record)
        finally:
            if not ctx.done:  # else released with the job's completion
                locks.release(ctx.db, key, ctx.job)
        return {"source": payload["id"], "steps": [r.__dict__ for r in results]}

    def prepare(self, writer: Writer, job: Claimed) -> Claimed:
        """A ``sync.record`` job takes its record's lock in the transaction that gives it to its worker
        (its claim, or the hand-over that made it), rather than in one of its own."""
        payload = job.payload
        key = locks.key(payload["binding_id"], payload["flow"], payload["id"])
        return replace(job, locks=(key,)) if locks.take(writer, key, job) else job

    def run(
        self, ctx: JobContext | None, binding: RecipeBinding, recipe: Recipe, flow: Flow,
        record: dict[str, Any], *, dry_run: bool = False,
    ) -> list[StepResult]:  # fmt: skip
        context = flow_context(recipe, binding)
        if flow.when is not None and not flow.when(record, context):
            return [StepResult(step.name, "skipped") for step in flow.steps]
        source_connection = binding.connections[flow.source.connection]
        source_client = self.client(source_connection)
        source_id = source_client.record_id(record)
        stamp = twoway.version(source_client, record)
        echo = False
        if stamp is not None and twoway.written_by(recipe, binding, source_connection, flow.source.object):
            with self.db.read() as session:
                echo = twoway.is_echo(
                    session, binding.id, source_connection, flow.source.object, source_id, stamp
                )
        if echo:  # this version of the record is ISAO's own write to it: nothing changed on that side
            log.info("sync.echo", flow=flow.name, source=source_id, version=stamp)
            results = [StepResult(step.name, "echo") for step in flow.steps]
        else:
            lookups.read(flow, binding.connections, self.client, record, context, source_id)
            if flow.require and not self._linked(binding, recipe, flow, source_connection, source_id):
                lookups.check(flow, record, context)
            results = []
            for index, step in enumerate(flow.steps):
                last = index == len(flow.steps) - 1
                source = idmap.Source(binding.id, step.name, source_connection, flow.source.object, source_id)
                result = self.step(
                    ctx if last else None,
                    binding,
                    recipe,
                    flow,
                    step,
                    source,
                    record,
                    context,
                    stamp,
                    dry_run,
                )
                context["steps"][step.name] = {"id": result.target_id, **result.fields}
                results.append(result)
        if ctx is not None and not ctx.done and not dry_run:
            ctx.complete_later()
        if not dry_run:
            for result in results:
                metrics.SYNC_STEPS.labels(recipe.name, flow.name, result.action).inc()
        return results

    def _linked(
        self, binding: RecipeBinding, recipe: Recipe, flow: Flow, connection: str, source_id: str
    ) -> bool:
        """The flow's first step already has a target for this record (its own link or one the other way)."""
        step = flow.steps[0]
        source = idmap.Source(binding.id, step.name, connection, flow.source.object, source_id)
        return self._mapped(binding, recipe, step, source)[0] is not None

    def _mapped(
        self, binding: RecipeBinding, recipe: Recipe, step: Step, source: idmap.Source
    ) -> tuple[str | None, twoway.Link | None]:
        """The step's target by the ID map: its own link (and what it wrote last), else a link written the
        other way by a two-way recipe."""
        connection = binding.connections[step.target.connection]
        with self.db.query() as query:
            link = idmap.find(query, source)
        if link is not None:
            return link.target_id, twoway.Link(link.id, link.content_hash, link.target_version)
        if not twoway.written_by(recipe, binding, source.connection, source.object):
            return None, None
        with self.db.read() as session:
            back = idmap.reverse(session, binding.id, source, connection, step.target.object)
        return (back.source_id if back else None), None

    def plan(
        self, binding: RecipeBinding, recipe: Recipe, step: Step, source: idmap.Source,
        record: dict[str, Any], context: dict[str, Any],
    ) -> Planned:  # fmt: skip
        """The step's mapped fields and its target as far as ISAO knows it: the ID map (this step's own
        link, else one written the other way by a two-way recipe), then a search by the step's key."""
        connection = binding.connections[step.target.connection]
        client = self.client(connection)
        fields = to_wire(evaluate(step.fields, record, context))
        target_id, last = self._mapped(binding, recipe, step, source)
        if target_id is None and step.match.key and fields.get(step.match.key) not in (None, ""):
            found = client.search(step.target.object, step.match.key, str(fields[step.match.key]))
            target_id = client.record_id(found[0]) if found else None
        return Planned(step, source, connection, client, fields, idmap.content_hash(fields), target_id, last)

    def step(
        self, ctx: JobContext | None, binding: RecipeBinding, recipe: Recipe, flow: Flow, step: Step,
        source: idmap.Source, record: dict[str, Any], context: dict[str, Any], stamp: str | None,
        dry_run: bool,
    ) -> StepResult:  # fmt: skip
        if step.when is not None and not step.when(record, context):
            return StepResult(step.name, "skipped")
        planned = self.plan(binding, recipe, step, source, record, context)
        target_id, version, calls = planned.target_id, None, []
        if target_id is not None and (planned.unchanged or step.action == "create"):
            action = "unchanged" if planned.unchanged else "exists"
        elif dry_run:
            creates = "skipped" if step.action == "update" else "would create"
            action = "would update" if target_id else creates
        elif target_id is None and step.action == "update":
            return StepResult(step.name, "skipped", None, planned.fields)
        elif target_id is not None and self._keeps_target(binding, recipe, planned, stamp):
            action = "conflict"
        else:
            with recording() as calls:
                target_id, action, version = self.write(recipe, flow, planned)
                version = self._associate(planned, target_id, record, context) or version
        if not dry_run:
            tell(
                {
                    "step": step.name,
                    "connection": planned.connection,
                    "object": step.target.object,
                    "action": action,
                    "targetId": target_id,
                    "fields": planned.fields,
                    "calls": calls,
                }
            )
        if not dry_run and target_id is not None and action not in ("unchanged", "conflict"):
            self.link(ctx, binding, planned, target_id, version)
        log.info("sync.step", step=step.name, source=source.id, target=target_id, action=action)
        return StepResult(step.name, action, target_id, planned.fields)

    def _keeps_target(
        self, binding: RecipeBinding, recipe: Recipe, planned: Planned, stamp: str | None
    ) -> bool:
        """``latest`` in a two-way recipe: the target was edited after the source, so it keeps its values."""
        step, last = planned.step, planned.last
        if recipe.conflict.policy != "latest" or last is None or not twoway.is_two_way(recipe, binding, step):
            return False
        assert planned.target_id is not None
        current = planned.client.get(step.target.object, planned.target_id)
        if current is None:  # deleted over there: write it again
            planned.target_id = None
            return False
        with self.db.write() as session:
            return twoway.target_is_newer(
                session, binding, last, twoway.version(planned.client, current), stamp
            )

    def write(self, recipe: Recipe, flow: Flow, planned: Planned) -> tuple[str, str, str | None]:
        """Update the planned target, or create one: (target id, "updated" or "created", its new version)."""
        step, client = planned.step, planned.client
        if planned.target_id is not None:
            kept = step.update_fields
            written = {k: v for k, v in planned.fields.items() if kept is None or k in kept}
            written = twoway.owned_elsewhere(recipe, flow.source.connection, written)
            record = client.update(step.target.object, planned.target_id, written)
            return planned.target_id, "updated", twoway.version(client, record)
        try:
            record = client.create(step.target.object, planned.fields)
            return client.record_id(record), "created", twoway.version(client, record)
        except Conflict as exc:
            if not exc.existing_id:
                raise
            # Another worker created it between our search and our create (two orders of one customer at
            # once): the provider names the record, so this becomes an update of it.
            planned.target_id = exc.existing_id
        return self.write(recipe, flow, planned)

    def _associate(
        self, planned: Planned, target_id: str, record: dict[str, Any], context: dict[str, Any]
    ) -> str | None:
        """The step's ``associate`` list, for providers that keep associations apart from fields; returns
        the target's version after them (an association may move it), so the echo check stays exact."""
        step, client = planned.step, planned.client
        if not step.associate:
            return None
        associate = getattr(client, "associate", None)
        if associate is None:
            raise Invalid(f"step {step.name}: {step.target.connection} keeps no associations")
        for other_object, template in step.associate.items():
            other_id = template(record, context)
            if other_id not in (None, ""):
                associate(step.target.object, target_id, other_object, str(other_id))
        current = client.get(step.target.object, target_id)
        return twoway.version(client, current) if current else None

    def link(
        self,
        ctx: JobContext | None,
        binding: RecipeBinding,
        planned: Planned,
        target_id: str,
        version: str | None,
    ) -> None:
        """The ID-map row, committed with the job's completion when this is the flow's last step."""
        args = (binding.company_id, planned.source, planned.connection, planned.step.target.object, target_id)
        if ctx is not None:
            ctx.complete_later(lambda writer: idmap.save(writer, *args, planned.digest, version))
            return
        with self.db.core_write() as connection:
            idmap.save(connection, *args, planned.digest, version)
