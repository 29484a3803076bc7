"""The audit log: who did what and when, one row per consequential action, written in the action's own
transaction (an action that rolls back leaves no entry, one that commits always has one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from isao.db.models import AuditEntry
from isao.ids import new_id
from isao.timeutil import utcnow


@dataclass(frozen=True)
class Actor:
    id: str | None
    """The dashboard login, or None for the command line and ISAO itself."""
    name: str


CLI = Actor(None, "cli")
SYSTEM = Actor(None, "system")

ACTIONS = {
    "recipe.enabled": "Recipe enabled",
    "recipe.disabled": "Recipe disabled",
    "recipe.version_saved": "Mapping version saved",
    "recipe.rolled_back": "Mapping rolled back",
    "recipe.imported": "Recipe imported",
    "recipe.polled": "Poll run",
    "recipe.backfill": "Backfill started",
    "recipe.repaired": "Drift repaired",
    "deadletters.replayed": "Dead letters replayed",
    "deadletters.discarded": "Dead letters discarded",
    "connection.created": "Connection added",
    "connection.connected": "OAuth connected",
    "connection.rotated": "Credentials rotated",
    "connection.changed": "Connection settings changed",
    "connection.removed": "Connection removed",
    "key.created": "API key created",
    "key.revoked": "API key revoked",
    "webhook.subscribed": "Webhook subscription added",
    "webhook.deleted": "Webhook subscription deleted",
    "user.created": "User added",
    "user.role_changed": "Role changed",
    "user.removed": "User removed",
    "alert.rule_saved": "Alert rule saved",
    "alert.rule_deleted": "Alert rule deleted",
    "pipeline.changed": "Pipeline stages changed",
}
"""Every action the log knows, with its label for the audit page's filter."""


def record(
    session: Session,
    company_id: str,
    actor: Actor,
    action: str,
    summary: str,
    *,
    target: tuple[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry in ``session``'s transaction; ``target`` is (type, id), e.g. ``("recipe", "<name>")``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    row = AuditEntry(
        id=new_id("aud"),
        company_id=company_id,
        actor_id=actor.id,
        actor=actor.name,
        action=action,
        target_type=target[0] if target else None,
        target_id=target[1] if target else None,
        summary=summary,
        details=details or {},
        at=utcnow(),
    )
    session.add(row)
    return row


@dataclass(frozen=True)
class Filter:
    company_id: str
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    target_id: str | None = None

    def apply(self, query: Any) -> Any:
        query = query.where(AuditEntry.company_id == self.company_id)
        if self.action:
            query = query.where(AuditEntry.action == self.action)
        if self.actor:
            query = query.where(AuditEntry.actor == self.actor)
        if self.since:
            query = query.where(AuditEntry.at >= self.since)
        if self.until:
            query = query.where(AuditEntry.at < self.until)
        if self.target_id:
            query = query.where(AuditEntry.target_id == self.target_id)
        return query


def list_(
    session: Session, where: Filter, *, offset: int = 0, limit: int = 50
) -> tuple[Sequence[AuditEntry], int]:
    """Newest first, and how many match in all."""
    total = session.scalar(where.apply(select(func.count()).select_from(AuditEntry))) or 0
    rows = session.scalars(
        where.apply(select(AuditEntry)).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(offset)
        .limit(limit)
    ).all()  # fmt: skip
    return rows, total


def actors(session: Session, company_id: str) -> list[str]:
    """Everyone who appears in the company's log, for the filter."""
    query = select(AuditEntry.actor).where(AuditEntry.company_id == company_id).distinct()
    return sorted(session.scalars(query))
