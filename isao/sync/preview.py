"""A dry run of a flow: the writes it would make for the first records of its source, and nothing written.

Shared by ``isao sync run --dry-run`` and the dashboard's preview, so both show the engine's own plan."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from isao.connectors.base import paginate
from isao.db.models import RecipeBinding
from isao.sync.engine import Engine
from isao.sync.recipe import Flow, Recipe


@dataclass
class PlannedWrite:
    source_id: str
    step: str
    action: str
    """would create, would update, unchanged, exists, skipped, echo"""
    target_id: str | None
    fields: dict[str, Any]


@dataclass
class Preview:
    records: int = 0
    """Source records looked at (a record may plan no write, or one per step)"""
    writes: list[PlannedWrite] = field(default_factory=list)


def preview(
    engine: Engine, binding: RecipeBinding, recipe: Recipe, flow: Flow, since: str | None, limit: int
) -> Preview:
    """Map the first ``limit`` records changed since ``since`` (or from the start); it searches the
    destination to find targets but writes nothing, not even to the ID map."""
    client = engine.client(binding.connections[flow.source.connection])
    records = paginate(
        lambda cursor: client.list_changed(
            flow.source.object, since=since, cursor=cursor, limit=min(100, limit)
        )
    )
    found = Preview()
    for record in itertools.islice(records, limit):
        found.records += 1
        source_id = client.record_id(record)
        for result in engine.run(None, binding, recipe, flow, record, dry_run=True):
            found.writes.append(
                PlannedWrite(source_id, result.step, result.action, result.target_id, result.fields)
            )
    return found
