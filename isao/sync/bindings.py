"""Enabling a recipe for a company: each role bound to one of the company's connections of the right
provider, options merged over the recipe's defaults, and the flows' poll schedules declared."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Connection as Core
from sqlalchemy import Table, bindparam, event, select
from sqlalchemy.orm import Session

from isao.db import Database
from isao.db.models import Connection, RecipeBinding, Schedule
from isao.ids import new_id
from isao.queue import jobs, scheduler
from isao.sync.recipe import Recipe
from isao.timeutil import utcnow

POLL = "sync.poll"


def schedule_name(binding_id: str, flow: str) -> str:
    return f"{POLL}:{binding_id}:{flow}"


def enable(
    session: Session,
    company_id: str,
    recipe: Recipe,
    connections: dict[str, str],
    options: dict[str, Any] | None = None,
) -> RecipeBinding:
    """Create or update the binding; ``ValueError`` says which role is unbound or bound to the wrong thing."""
    missing = sorted(set(recipe.connections) - set(connections))
    extra = sorted(set(connections) - set(recipe.connections))
    if missing or extra:
        raise ValueError(
            f"recipe {recipe.name} needs connections for roles {', '.join(recipe.connections)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else "")
        )
    for role, connection_id in connections.items():
        row = session.get(Connection, connection_id)
        if row is None or row.company_id != company_id:
            raise ValueError(f"role {role}: no connection {connection_id} in this company")
        wanted = recipe.connections[role]
        if row.provider != wanted:
            raise ValueError(f"role {role} needs a {wanted} connection; {connection_id} is {row.provider}")
    unknown = sorted(set(options or {}) - set(recipe.options))
    if unknown:
        known = ", ".join(recipe.options) or "none"
        raise ValueError(f"unknown options {', '.join(unknown)} (known: {known})")
    binding = get(session, company_id, recipe.name)
    now = utcnow()
    if binding is None:
        binding = RecipeBinding(id=new_id("bind"), company_id=company_id, recipe=recipe.name)
        session.add(binding)
    binding.connections = dict(connections)
    binding.options = dict(options or {})
    binding.enabled = True
    binding.updated_at = now
    session.info[_CHANGED] = True
    session.flush()
    for flow in recipe.flows:
        if flow.trigger.poll:
            scheduler.ensure(
                session, schedule_name(binding.id, flow.name), flow.trigger.poll, POLL,
                {"binding_id": binding.id, "flow": flow.name}, now=now,
            )  # fmt: skip
    _set_schedules(session, binding.id, enabled=True)
    return binding


def disable(session: Session, binding: RecipeBinding) -> None:
    """Stop its webhooks being routed and its polls running; its ID map and cursors are kept."""
    binding.enabled = False
    binding.updated_at = utcnow()
    session.info[_CHANGED] = True
    _set_schedules(session, binding.id, enabled=False)


def poll_now(session: Session, binding: RecipeBinding, flow: str) -> jobs.Queued:
    """The incremental poll the flow's schedule runs, queued now (``isao sync run``, the dashboard's
    "Run now"); whichever worker is running takes it."""
    payload = {"binding_id": binding.id, "flow": flow}
    return jobs.enqueue(session, POLL, payload, company_id=binding.company_id)


def _set_schedules(session: Session, binding_id: str, *, enabled: bool) -> None:
    for row in session.scalars(select(Schedule).where(Schedule.name.startswith(f"{POLL}:{binding_id}:"))):
        row.enabled = enabled


_ROWS = select(*cast(Table, RecipeBinding.__table__).c)
_BY_ID = _ROWS.where(RecipeBinding.id == bindparam("binding_id"))
_CHANGED = "isao_bindings_changed"
_changes = itertools.count()
_generation = next(_changes)


@event.listens_for(Session, "after_commit")
def _bump(session: Session) -> None:
    global _generation
    if session.info.pop(_CHANGED, False):
        _generation = next(_changes)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)


RECHECK = 1.0
"""Seconds the bindings' snapshot is used before it is read again (changes made by another process)."""


class Snapshot:
    """Every binding, as plain objects, read at most once per ``RECHECK`` seconds and at once after this
    process committed a change (``enable``/``disable``): each webhook and each sync job looks its binding
    up, and reading the table for every one of them cost more than the rest of routing."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._rows: dict[str, RecipeBinding] = {}
        self._generation = -1
        self._until = 0.0
        self._lock = threading.Lock()

    def _current(self) -> dict[str, RecipeBinding]:
        generation, now = _generation, time.monotonic()
        with self._lock:
            if self._generation == generation and now < self._until:
                return self._rows
        with self.db.query() as connection:
            rows = {row.id: RecipeBinding(**row._mapping) for row in connection.execute(_ROWS)}
        with self._lock:
            self._rows, self._generation, self._until = rows, generation, now + RECHECK
        return rows

    def enabled(self) -> list[RecipeBinding]:
        return [binding for binding in self._current().values() if binding.enabled]

    def get(self, binding_id: str) -> RecipeBinding | None:
        """The binding; one the snapshot has not seen yet (made by another process) is read at once."""
        found = self._current().get(binding_id)
        if found is not None:
            return found
        with self.db.query() as connection:
            return detached(connection, binding_id)


def detached(session: Session | Core, binding_id: str) -> RecipeBinding | None:
    """The binding as a plain object outside any session: every sync job reads it first, so it is read
    without the ORM's loading and identity bookkeeping."""
    row = session.execute(_BY_ID, {"binding_id": binding_id}).first()
    return RecipeBinding(**row._mapping) if row else None


def get(session: Session, company_id: str, recipe: str) -> RecipeBinding | None:
    return session.scalars(
        select(RecipeBinding).where(RecipeBinding.company_id == company_id, RecipeBinding.recipe == recipe)
    ).one_or_none()


def list_(session: Session, company_id: str | None = None) -> Sequence[RecipeBinding]:
    query = select(RecipeBinding).order_by(RecipeBinding.created_at)
    if company_id:
        query = query.where(RecipeBinding.company_id == company_id)
    return session.scalars(query).all()


def options(recipe: Recipe, binding: RecipeBinding) -> dict[str, Any]:
    """The recipe's defaults with the binding's overrides."""
    return recipe.options | binding.options
