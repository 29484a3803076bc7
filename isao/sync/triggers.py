"""What starts a flow: a provider's webhook (routed from ``inbound.route``) or its incremental poll
(``sync.poll``, on the flow's schedule). Both fan out into one ``sync.record`` job per changed record,
enqueued with a dedupe key so a re-run of the fan-out adds nothing."""

from __future__ import annotations

from typing import Any

from isao.connectors.base import RecordApi
from isao.db.models import InboundEvent, RecipeBinding, SyncCursor
from isao.errors import Invalid
from isao.queue import jobs
from isao.queue.context import JobContext
from isao.sync import bindings
from isao.sync.engine import RECORD, Engine
from isao.sync.recipe import Flow, Recipe
from isao.timeutil import utcnow

POLL_PAGES = 20
"""Pages one poll job reads before handing over to the next one (it enqueues its successor at once)."""


def _sources(engine: Engine, connection_id: str) -> list[tuple[RecipeBinding, Recipe, Flow]]:
    """The enabled flows whose source is this connection."""
    flows = []
    for binding in engine.bindings.enabled():
        if connection_id not in binding.connections.values():
            continue
        recipe = engine.recipe(binding.recipe)
        for flow in recipe.flows:
            if binding.connections.get(flow.source.connection) == connection_id:
                flows.append((binding, recipe, flow))
    return flows


def event_key(inbound_event_id: str) -> str:
    """How the ``sync.record`` jobs of one webhook are found again (the start of their dedupe keys)."""
    return f"sync:{inbound_event_id}:"


def _job(binding: RecipeBinding, flow: Flow, record_id: str, data: Any, key: str) -> dict[str, Any]:
    payload = {"binding_id": binding.id, "flow": flow.name, "id": record_id, "data": data}
    return jobs.values(RECORD, payload, company_id=binding.company_id, dedupe_key=key)


class Triggers:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def route(self, event: InboundEvent) -> list[dict[str, Any]]:
        """An inbound webhook → ``sync.record`` jobs for the flows it triggers."""
        rows = []
        for binding, _recipe, flow in _sources(self.engine, event.connection_id):
            client = self.engine.client(event.connection_id)
            for change in client.parse_webhook(event.headers, event.body):
                if (change.topic or event.topic) not in flow.trigger.webhook:
                    continue
                if change.object != flow.source.object or change.action == "deleted":
                    continue
                key = f"{event_key(event.id)}{binding.id}:{flow.name}:{change.id}"
                rows.append(_job(binding, flow, change.id, change.data, key))
        return rows

    def poll(self, ctx: JobContext, payload: dict[str, Any]) -> dict[str, Any]:
        """``sync.poll``: records changed since the flow's cursor → ``sync.record`` jobs; the cursor moves
        to the newest change seen, in the same transaction as the jobs."""
        with ctx.db.read() as session:
            binding = session.get(RecipeBinding, payload["binding_id"])
            if binding is None or not binding.enabled:
                return {"skipped": "recipe disabled or removed"}
            session.expunge(binding)
            cursor_row = session.get(SyncCursor, (binding.id, payload["flow"]))
            since = cursor_row.cursor if cursor_row else None
        recipe = self.engine.recipe(binding.recipe)
        flow = next(f for f in recipe.flows if f.name == payload["flow"])
        client = self.engine.client(binding.connections[flow.source.connection])
        if flow.trigger.scan is not None:
            return self._scan(ctx, binding, recipe, flow, client, payload)
        page_cursor = payload.get("page")
        enqueued = 0
        newest = since
        for _ in range(POLL_PAGES):
            page = client.list_changed(flow.source.object, since=since, cursor=page_cursor)
            rows = []
            for record in page.records:
                modified = client.modified_at(record)
                newest = max(newest or modified, modified)
                key = f"sync:{binding.id}:{flow.name}:{client.record_id(record)}:{modified}"
                rows.append(_job(binding, flow, client.record_id(record), record, key))
            with ctx.db.write() as session:
                jobs.enqueue_unique(session, rows)
                if page.cursor is None:
                    _store_cursor(session, binding.id, flow.name, newest)
            enqueued += len(rows)
            ctx.heartbeat()
            if page.cursor is None:
                return {"enqueued": enqueued, "cursor": newest}
            page_cursor = page.cursor
        with ctx.transaction() as session:  # more to read: the next poll job takes over from here
            jobs.enqueue(session, "sync.poll", payload | {"page": page_cursor}, company_id=binding.company_id)
        return {"enqueued": enqueued, "continued_at": page_cursor}

    def _scan(
        self, ctx: JobContext, binding: RecipeBinding, recipe: Recipe, flow: Flow, client: RecordApi,
        payload: dict[str, Any],
    ) -> dict[str, Any]:  # fmt: skip
        """A scan trigger's poll: every record matching the filters, whatever its age; the dedupe key holds
        the record's version, so one left unchanged since the last scan is not run again."""
        list_matching = getattr(client, "list_matching", None)
        if list_matching is None:
            raise Invalid(f"flow {flow.name}: {flow.source.connection} cannot list by filters (scan)")
        options = bindings.options(recipe, binding)
        assert flow.trigger.scan is not None
        filters = {name: template({}, options) for name, template in flow.trigger.scan.items()}
        page_cursor, enqueued = payload.get("page"), 0
        for _ in range(POLL_PAGES):
            page = list_matching(flow.source.object, filters, page_cursor)
            rows = [
                _job(binding, flow, client.record_id(r), r,
                     f"sync:{binding.id}:{flow.name}:{client.record_id(r)}:{client.modified_at(r)}")
                for r in page.records
            ]  # fmt: skip
            with ctx.db.write() as session:
                jobs.enqueue_unique(session, rows)
            enqueued += len(rows)
            ctx.heartbeat()
            if page.cursor is None:
                return {"enqueued": enqueued, "filters": filters}
            page_cursor = page.cursor
        with ctx.transaction() as session:
            jobs.enqueue(session, "sync.poll", payload | {"page": page_cursor}, company_id=binding.company_id)
        return {"enqueued": enqueued, "continued_at": page_cursor}


def _store_cursor(session: Any, binding_id: str, flow: str, cursor: str | None) -> None:
    row = session.get(SyncCursor, (binding_id, flow))
    if row is None:
        session.add(SyncCursor(binding_id=binding_id, flow=flow, cursor=cursor, updated_at=utcnow()))
    else:
        row.cursor, row.updated_at = cursor, utcnow()
