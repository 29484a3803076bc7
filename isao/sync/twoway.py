"""Two-way sync: dropping ISAO's own writes when they come back, and the conflict policy.

Each ID-map link keeps the version (modification stamp) the target had right after ISAO wrote it. A change
that arrives carrying exactly that version is ISAO's write echoing back and is dropped, so an update never
ping-pongs between two systems. A target whose version moved since ISAO's write was edited there as well:
a conflict, resolved by the recipe's policy and recorded for the operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm import Session

from isao.connectors.base import RecordApi
from isao.db.models import RecipeBinding, SyncConflict
from isao.ids import new_id
from isao.sync import idmap, transforms
from isao.sync.recipe import Recipe, Step

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Link:
    """What a step knows of its last write, detached from the session it was read in."""

    id: str
    content_hash: str
    version: str | None


def version(client: RecordApi, record: dict[str, Any]) -> str | None:
    """The record's modification stamp, or None when the provider gave none."""
    try:
        return client.modified_at(record)
    except (KeyError, ValueError, TypeError):
        return None


def is_echo(
    session: Session, binding_id: str, connection: str, object_: str, id_: str, stamp: str | None
) -> bool:
    if stamp is None:
        return False
    links = idmap.by_target(session, binding_id, connection, object_, id_)
    return any(link.target_version == stamp for link in links)


def owned_elsewhere(recipe: Recipe, source_role: str, fields: dict[str, Any]) -> dict[str, Any]:
    """``source_of_truth``: on update, leave out the fields another role owns."""
    owners = recipe.conflict.owners if recipe.conflict.policy == "source_of_truth" else {}
    return {k: v for k, v in fields.items() if owners.get(k, source_role) == source_role}


def written_by(recipe: Recipe, binding: RecipeBinding, connection_id: str, object_: str) -> bool:
    """Some step of the recipe writes this connection's records of this object: only then can a change
    from them be ISAO's own write coming back, or have an ID-map link written the other way."""
    return any(
        step.target.object == object_ and binding.connections.get(step.target.connection) == connection_id
        for flow in recipe.flows
        for step in flow.steps
    )


def is_two_way(recipe: Recipe, binding: RecipeBinding, step: Step) -> bool:
    """Some flow of the recipe reads what this step writes."""
    return any(
        flow.source.object == step.target.object
        and binding.connections.get(flow.source.connection) == binding.connections.get(step.target.connection)
        for flow in recipe.flows
    )


def target_is_newer(
    session: Session, binding: RecipeBinding, link: Link, target_stamp: str | None, source_stamp: str | None
) -> bool:
    """``latest``: was the target edited since ISAO's last write, and later than the source? Either way a
    concurrent edit is recorded; only a newer target keeps its values (the source's write is skipped)."""
    if target_stamp is None or link.version is None or target_stamp == link.version:
        return False
    ours, theirs = transforms.timestamp(source_stamp), transforms.timestamp(target_stamp)
    newer = ours is not None and theirs is not None and theirs > ours
    session.add(
        SyncConflict(
            id=new_id("conf"), company_id=binding.company_id, binding_id=binding.id, link_id=link.id,
            field="*", ours={"version": source_stamp}, theirs={"version": target_stamp},
            resolution="kept the target (edited later)" if newer else "wrote the source (edited later)",
        )
    )  # fmt: skip
    log.info("sync.conflict", link=link.id, source=source_stamp, target=target_stamp, target_newer=newer)
    return newer
