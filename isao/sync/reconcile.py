"""Compare both sides of a flow and report the drift: records the destination is **missing**, records
that are **different** from what the mapping says they should be (changed behind ISAO's back), and ID-map
links that are **orphaned** (their source record is gone). ``repair`` writes the missing and different
records again and forgets orphaned links; it never deletes anyone's data."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import delete, select

from isao.connectors.base import paginate
from isao.db.models import IdLink, RecipeBinding
from isao.errors import Invalid
from isao.sync import idmap, lookups
from isao.sync.engine import Engine, Planned, flow_context
from isao.sync.recipe import Flow, Recipe


@dataclass
class Drift:
    kind: Literal["missing", "different", "orphaned"]
    flow: str
    step: str
    source_id: str
    target_id: str | None = None
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """field → (what the mapping says, what the destination holds)"""
    repaired: bool = False


def reconcile(
    engine: Engine, binding: RecipeBinding, recipe: Recipe, flow: Flow, *, repair: bool = False
) -> Iterator[Drift]:
    """When several source records map onto one target (orders onto their customer's contact), the target
    should hold what the most recently modified of them maps to; only that one is compared (or, when
    several were modified in the same second, any of them: workers running in parallel wrote them in
    some order, and each result is as right as the others)."""
    source_connection = binding.connections[flow.source.connection]
    source_client = engine.client(source_connection)
    latest: dict[tuple[str, str], tuple[str, list[Planned]]] = {}
    seen: set[str] = set()
    for record in _all(engine, binding, flow):
        source_id = source_client.record_id(record)
        seen.add(source_id)
        modified = source_client.modified_at(record)
        context = flow_context(recipe, binding)
        if flow.when is not None and not flow.when(record, context):
            continue
        try:
            lookups.read(flow, binding.connections, engine.client, record, context, source_id)
            lookups.check(flow, record, context)
        except Invalid:  # the flow refuses this record (its dead letter says why): nothing to compare
            continue
        for step in flow.steps:
            if step.when is not None and not step.when(record, context):
                continue
            source = idmap.Source(binding.id, step.name, source_connection, flow.source.object, source_id)
            planned = engine.plan(binding, recipe, step, source, record, context)
            key = (step.name, planned.target_id or f"new:{source_id}")
            if key not in latest or latest[key][0] < modified:
                latest[key] = (modified, [planned])
            elif latest[key][0] == modified:
                latest[key][1].append(planned)
            context["steps"][step.name] = {"id": planned.target_id, **planned.fields}
    for _, candidates in latest.values():
        drifts = [_compare(planned) for planned in candidates]
        planned, drift = candidates[-1], None if None in drifts else drifts[-1]
        if drift is not None and repair:
            target_id, _, version = engine.write(recipe, flow, planned)
            drift.target_id, drift.repaired = target_id, True
            engine.link(None, binding, planned, target_id, version)
        elif drift is None and planned.target_id is not None and planned.last is None:
            engine.link(
                None, binding, planned, planned.target_id, None
            )  # found by key and in step: remember it
        if drift is not None:
            yield Drift(**{**drift.__dict__, "flow": flow.name})
    yield from _orphans(engine, binding, flow, seen, repair)


def _compare(planned: Planned) -> Drift | None:
    step = planned.step
    actual = planned.client.get(step.target.object, planned.target_id) if planned.target_id else None
    if actual is None:
        if step.action == "update":
            return None
        planned.target_id = None
        return Drift("missing", "", step.name, planned.source.id)
    if step.action == "create":
        return None
    differences = _differences(planned.fields, actual, step.update_fields)
    if not differences:
        return None
    return Drift("different", "", step.name, planned.source.id, planned.target_id, differences)


def _all(engine: Engine, binding: RecipeBinding, flow: Flow) -> Iterator[dict[str, Any]]:
    client = engine.client(binding.connections[flow.source.connection])
    return paginate(lambda cursor: client.list_changed(flow.source.object, cursor=cursor))


def _orphans(
    engine: Engine, binding: RecipeBinding, flow: Flow, seen: set[str], repair: bool
) -> Iterator[Drift]:
    steps = [step.name for step in flow.steps]
    connection = binding.connections[flow.source.connection]
    with engine.db.read() as session:
        links = session.scalars(
            select(IdLink).where(
                IdLink.binding_id == binding.id, IdLink.step.in_(steps),
                IdLink.source_connection == connection, IdLink.source_object == flow.source.object,
            )
        ).all()  # fmt: skip
        orphaned = [
            (row.id, row.step, row.source_id, row.target_id) for row in links if row.source_id not in seen
        ]
    if repair and orphaned:
        with engine.db.write() as session:
            session.execute(delete(IdLink).where(IdLink.id.in_([row[0] for row in orphaned])))
    for _, step, source_id, target_id in orphaned:
        yield Drift("orphaned", flow.name, step, source_id, target_id, repaired=repair)


def _differences(
    want: dict[str, Any], record: dict[str, Any], only: tuple[str, ...] | None
) -> dict[str, tuple[Any, Any]]:
    have = record.get("properties") if isinstance(record.get("properties"), dict) else record
    assert isinstance(have, dict)
    return {
        name: (value, have.get(name))
        for name, value in want.items()
        if (only is None or name in only) and not _same(value, have.get(name))
    }


def _same(want: Any, have: Any) -> bool:
    """Equal as a CRM means it: lookups by id, numbers by value ("98.25" == 98.25), blank == missing."""
    if isinstance(want, dict):
        if isinstance(have, dict) and "id" in want:
            return str(want["id"]) == str(have.get("id"))
        return isinstance(have, dict) and all(_same(v, have.get(k)) for k, v in want.items())
    if want in (None, "") or have in (None, ""):
        return want in (None, "") and have in (None, "")
    if isinstance(want, bool) or isinstance(have, bool):
        return str(want).lower() == str(have).lower()
    try:
        return Decimal(str(want)) == Decimal(str(have))
    except InvalidOperation:
        return str(want).strip() == str(have).strip()
