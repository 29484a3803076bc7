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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import structlog

from isao import connections
from isao.connectors.base import RecordApi
from isao.db import Database
from isao.db.models import RecipeBinding
from isao.queue.worker import JobContext
from isao.sync import bindings, catalog, idmap
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
class Engine:
    db: Database
    recipes_dir: Path | None = None
    _clients: dict[str, RecordApi] = field(default_factory=dict)
    _recipes: dict[str, tuple[Any, Recipe]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def recipe(self, name: str) -> Recipe:
        """Loaded once per change of its file: fixing a mapping and replaying the dead letters is enough."""
        path = catalog.files(self.recipes_dir).get(name)
        stamp = (str(path), path.stat().st_mtime_ns) if path else None
        with self._lock:
            cached = self._recipes.get(name)
            if cached is None or cached[0] != stamp:
                self._recipes[name] = (stamp, catalog.get(name, self.recipes_dir))
            return self._recipes[name][1]

    def client(self, connection_id: str) -> RecordApi:
        """One client per connection per process: its HTTP pool and cached token are shared by workers."""
        with self._lock:
            if connection_id not in self._clients:
                opened = connections.open_client(self.db, connection_id)
                self._clients[connection_id] = cast(RecordApi, opened)
            return self._clients[connection_id]

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    # --- the job ---

    def handle(self, ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
        """``sync.record``: ``{"binding_id", "flow", "id", "data"?}``."""
        with ctx.db.read() as session:
            binding = session.get(RecipeBinding, payload["binding_id"])
            if binding is None or not binding.enabled:
                return {"skipped": "recipe disabled or removed"}
            session.expunge(binding)
        recipe = self.recipe(binding.recipe)
        flow = next((f for f in recipe.flows if f.name == payload["flow"]), None)
        if flow is None:
            return {"skipped": f"recipe {recipe.name} has no flow {payload['flow']!r} any more"}
        source_connection = binding.connections[flow.source.connection]
        record = payload.get("data") or self.client(source_connection).get(flow.source.object, payload["id"])
        if record is None:
            return {"skipped": "the source record no longer exists"}
        results = self.run(ctx, binding, recipe, flow, record)
        return {"source": payload["id"], "steps": [r.__dict__ for r in results]}

    def run(
        self, ctx: JobContext | None, binding: RecipeBinding, recipe: Recipe, flow: Flow,
        record: dict[str, Any], *, dry_run: bool = False,
    ) -> list[StepResult]:  # fmt: skip
        options = bindings.options(recipe, binding)
        context: dict[str, Any] = {**options, "options": options, "steps": {}}
        if flow.when is not None and not flow.when(record, context):
            return [StepResult(step.name, "skipped") for step in flow.steps]
        source_connection = binding.connections[flow.source.connection]
        source_id = self.client(source_connection).record_id(record)
        results = []
        for index, step in enumerate(flow.steps):
            last = index == len(flow.steps) - 1
            source = idmap.Source(binding.id, step.name, source_connection, flow.source.object, source_id)
            result = self._step(ctx if last else None, binding, step, source, record, context, dry_run)
            context["steps"][step.name] = {"id": result.target_id, **result.fields}
            results.append(result)
        if ctx is not None and not ctx.done and not dry_run:
            with ctx.transaction():
                pass
        return results

    def _step(
        self, ctx: JobContext | None, binding: RecipeBinding, step: Step, source: idmap.Source,
        record: dict[str, Any], context: dict[str, Any], dry_run: bool,
    ) -> StepResult:  # fmt: skip
        if step.when is not None and not step.when(record, context):
            return StepResult(step.name, "skipped")
        target_connection = binding.connections[step.target.connection]
        client = self.client(target_connection)
        fields = to_wire(evaluate(step.fields, record, context))
        digest = idmap.content_hash(fields)
        with self.db.read() as session:
            link = idmap.find(session, source)
            target_id, last_hash = (link.target_id, link.content_hash) if link else (None, None)
        if target_id is None and step.match.key and fields.get(step.match.key) not in (None, ""):
            found = client.search(step.target.object, step.match.key, str(fields[step.match.key]))
            target_id = client.record_id(found[0]) if found else None
        if target_id is not None and (last_hash == digest or step.action == "create"):
            action = "unchanged" if last_hash == digest else "exists"
        elif dry_run:
            creates = "skipped" if step.action == "update" else "would create"
            action = "would update" if target_id else creates
        elif target_id is not None:
            kept = step.update_fields
            written = {k: v for k, v in fields.items() if kept is None or k in kept}
            client.update(step.target.object, target_id, written)
            action = "updated"
        elif step.action == "update":
            return StepResult(step.name, "skipped", None, fields)
        else:
            target_id = client.record_id(client.create(step.target.object, fields))
            action = "created"
        if not dry_run and target_id is not None and last_hash != digest:
            self._link(ctx, binding, source, target_connection, step.target.object, target_id, digest)
        log.info("sync.step", step=step.name, source=source.id, target=target_id, action=action)
        return StepResult(step.name, action, target_id, fields)

    def _link(
        self, ctx: JobContext | None, binding: RecipeBinding, source: idmap.Source, connection: str,
        object_: str, target_id: str, digest: str,
    ) -> None:  # fmt: skip
        if ctx is not None:
            with ctx.transaction() as session:
                idmap.save(session, binding.company_id, source, connection, object_, target_id, digest)
            return
        with self.db.write() as session:
            idmap.save(session, binding.company_id, source, connection, object_, target_id, digest)
