"""Roles per company, enforced on every page and form.

- **viewer** reads everything but secrets, people and the audit log, and changes nothing;
- **operator** also runs things: enables and disables recipes, polls, backfills, dry runs, replays dead
  letters, works the CRM and the pipeline, tests connections;
- **admin** also changes the setup: connections and their credentials, recipe mappings, alert rules, API
  keys, ISAO's webhook subscriptions, people (up to admin), and reads the audit log;
- **owner** also makes and unmakes owners. A company always keeps one owner.

A route states what it needs with ``AsOperator``, ``AsAdmin`` or ``AsOwner`` in place of ``CurrentViewer``;
every state-changing route must (a test walks them all), and as a net under that, a viewer's POST is refused
whatever the route says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from isao.crm import audit
from isao.crm.audit import Actor
from isao.dashboard.session import Viewer, viewer

VIEWER, OPERATOR, ADMIN, OWNER = "viewer", "operator", "admin", "owner"
ROLES = (VIEWER, OPERATOR, ADMIN, OWNER)
DESCRIPTIONS = {
    VIEWER: "Reads the dashboard; changes nothing",
    OPERATOR: "Runs recipes, polls, backfills and replays; works the CRM",
    ADMIN: "Changes connections, mappings, alerts, keys, webhooks and people",
    OWNER: "Everything, including who is an owner or an admin",
}
_SAFE = ("GET", "HEAD", "OPTIONS")


class Forbidden(Exception):
    """The viewer's role does not allow this; answered with a 403 page saying which role would."""

    def __init__(self, needed: str, role: str) -> None:
        super().__init__(f"needs {needed}, has {role}")
        self.needed = needed
        self.role = role


def allows(role: str, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _requiring(needed: str) -> Callable[[Request], Viewer]:
    def check(request: Request) -> Viewer:
        found = viewer(request)
        if not allows(found.role, needed):
            raise Forbidden(needed, found.role)
        return found

    check.__name__ = f"as_{needed}"
    check.required_role = needed  # type: ignore[attr-defined]  # read by the test that walks the routes
    return check


as_operator = _requiring(OPERATOR)
as_admin = _requiring(ADMIN)
as_owner = _requiring(OWNER)
AsOperator = Annotated[Viewer, Depends(as_operator)]
AsAdmin = Annotated[Viewer, Depends(as_admin)]
AsOwner = Annotated[Viewer, Depends(as_owner)]


def read_only_net(request: Request) -> None:
    """Under every dashboard route: a viewer changes nothing, even through a route that forgot to say."""
    if request.method not in _SAFE:
        found = viewer(request)
        if found.role == VIEWER:
            raise Forbidden(OPERATOR, found.role)


def grantable(role: str) -> tuple[str, ...]:
    """The roles someone with ``role`` may give (and take away): owners any, admins up to admin."""
    if role == OWNER:
        return ROLES
    if role == ADMIN:
        return (VIEWER, OPERATOR, ADMIN)
    return ()


def actor(who: Viewer) -> Actor:
    """The audit log's name for a dashboard user."""
    return Actor(who.admin_id, who.email)


def audited(session: Session, who: Viewer, action: str, summary: str, **extra: Any) -> None:
    """An audit entry for what ``who`` did, in ``session``'s transaction (``extra``: target, details)."""
    audit.record(session, who.company_id, actor(who), action, summary, **extra)
