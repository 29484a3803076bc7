"""Connections: add one from its provider's settings, test it, rotate its secrets, show the webhook URL.

Every step goes through ``isao.connections``, the service ``isao connections add|set|test|remove`` uses,
so the form refuses exactly what the command refuses. Secrets are write-only here: password inputs that
are never filled in, except the webhook secret, shown on request because it must be pasted into the
provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from isao import connections
from isao.connectors import catalog
from isao.connectors.base import Setting
from isao.connectors.webhooks import VERIFIERS
from isao.dashboard.roles import AsAdmin, AsOperator, audited
from isao.dashboard.session import CurrentViewer, Db, Viewer
from isao.dashboard.web import NO_STORE, done_flashes, form_values, is_htmx, not_found, redirect, render
from isao.db import Database
from isao.db.models import Connection
from isao.sandbox.runner import PROVIDERS as SANDBOXES
from isao.sandbox.runner import sandbox_class
from isao.sync import bindings

router = APIRouter()

NAME_LENGTH = 255
LABEL_WORDS = {"url": "URL", "id": "ID", "api": "API"}
DONE = {
    "created": "Connection added. Paste the webhook URL and secret below into the provider.",
    "rotated": "Secrets rotated.",
    "rotated-webhook": "Secrets rotated. Show the new webhook secret and paste it into the provider.",
    "saved": "Settings saved.",
    "removed": "Connection removed, with the events received for it.",
}
UNKNOWN_PROVIDER = f"Choose one of {', '.join(connections.PROVIDERS)}"


@dataclass(frozen=True)
class Field:
    """A setting as the form shows it."""

    name: str
    label: str
    secret: bool
    required: bool
    help: str


def _label(name: str) -> str:
    words = [LABEL_WORDS.get(word, word) for word in name.split("_")]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def _fields(provider: str, *, sandbox: bool = False) -> list[Field]:
    def described(setting: Setting) -> str:
        text = setting.help
        if setting.default is not None:
            text += f" (default: {setting.default})"
        if sandbox and setting.secret:
            text = f"{text.rstrip('.')}. Leave empty to use the local sandbox's."
        return text

    return [
        Field(s.name, _label(s.name), s.secret, s.required and not (sandbox and s.secret), described(s))
        for s in connections.fields(provider)
    ]


def _missing(request: Request) -> Response:
    return not_found(request, "Connection", "/connections", "There is no such connection in your company.")


def _typed(values: dict[str, str]) -> dict[str, str]:
    """The fields typed into, trimmed: an empty field is one left alone."""
    return {key: value.strip() for key, value in values.items() if value.strip()}


# --- The list ---------------------------------------------------------------------------------------


@router.get("/connections")
def index(request: Request, viewer: CurrentViewer, database: Db, done: str | None = None) -> Response:
    with database.read() as session:
        rows = [_summary(row) for row in connections.list_(session, viewer.company_id)]
    return render(
        request, "connections/index.html", title="Connections", rows=rows, flashes=done_flashes(done, DONE)
    )


def _summary(row: Connection) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "provider": row.provider,
        "created_at": row.created_at,
        "testable": row.provider in catalog.MODULES,
    }


# --- Adding one -------------------------------------------------------------------------------------


@router.get("/connections/new")
def new(request: Request, viewer: AsAdmin, provider: str | None = None, sandbox: bool = False) -> Response:
    if not provider:
        return _choose(request, {})
    if provider not in connections.PROVIDERS:
        return _choose(request, {"provider": UNKNOWN_PROVIDER})
    values = _sandbox_plain(provider) if sandbox and provider in SANDBOXES else {}
    return _new_form(request, provider, sandbox and provider in SANDBOXES, values, {})


def _choose(request: Request, errors: dict[str, str]) -> Response:
    return render(
        request,
        "connections/choose.html",
        status_code=400 if errors else 200,
        title="Add a connection",
        providers=[("", "Choose a provider")] + [(p, p) for p in connections.PROVIDERS],
        errors=errors,
    )


def _sandbox_plain(provider: str) -> dict[str, str]:
    """The sandbox's settings that are not secret: the form shows them (the secrets stay server-side)."""
    secret = {f.name for f in connections.fields(provider) if f.secret}
    return {k: v for k, v in _sandbox_values(provider).items() if k not in secret}


def _sandbox_values(provider: str) -> dict[str, str]:
    return connections.known_settings(provider, sandbox_class(provider)().credentials())


def _new_form(
    request: Request, provider: str, sandbox: bool, values: dict[str, str], errors: dict[str, str]
) -> Response:
    return render(
        request,
        "connections/new.html",
        status_code=400 if errors else 200,
        title=f"Add a {provider} connection",
        provider=provider,
        sandbox=sandbox,
        has_sandbox=provider in SANDBOXES,
        fields=_fields(provider, sandbox=sandbox),
        values=values,
        errors=errors,
    )


@router.post("/connections/new")
async def create(request: Request, viewer: AsAdmin, database: Db) -> Response:
    values = await form_values(request)
    provider = values.pop("provider", "")
    if provider not in connections.PROVIDERS:
        return _choose(request, {"provider": UNKNOWN_PROVIDER})
    sandbox = values.pop("sandbox", "") == "1" and provider in SANDBOXES
    name = values.pop("name", "").strip()
    given = _typed(values)
    created = await run_in_threadpool(_create, database, viewer, provider, name, given, sandbox)
    if isinstance(created, dict):
        return _new_form(request, provider, sandbox, {"name": name, **values}, created)
    return redirect(f"/connections/{created}?done=created")


def _create(
    database: Database, viewer: Viewer, provider: str, name: str, given: dict[str, str], sandbox: bool
) -> str | dict[str, str]:
    """The new connection's id, or the problems to show next to each field."""
    if sandbox:  # like `isao connections add --sandbox`: what the form leaves empty comes from the sandbox
        given = _sandbox_values(provider) | given
    errors = _name_problem(name)
    plain: dict[str, str] = {}
    secrets: dict[str, str] = {}
    try:
        plain, secrets = connections.new_settings(provider, given)
    except catalog.SettingsError as exc:
        errors |= _placed(exc.problems, provider)
    taken = f"Your company already has a connection named {name!r}: choose another name"
    with database.write() as session:
        if not errors.get("name") and connections.name_taken(session, viewer.company_id, name):
            errors["name"] = taken
        if errors:
            return errors
        row = connections.create(session, viewer.company_id, provider, name, config=plain, secrets=secrets)
        audited(
            session,
            viewer,
            "connection.created",
            f"Added the {provider} connection {name}",
            target=("connection", row.id),
        )
        return row.id


def _name_problem(name: str) -> dict[str, str]:
    if not name:
        return {"name": "Enter a name, e.g. shop or crm"}
    if len(name) > NAME_LENGTH:
        return {"name": f"Use at most {NAME_LENGTH} characters"}
    return {}


def _placed(problems: dict[str, str], provider: str) -> dict[str, str]:
    """Each problem next to its field; one about a field the form does not have goes on top of the form."""
    shown = {f.name for f in connections.fields(provider)}
    placed = {name: message for name, message in problems.items() if name in shown}
    stray = [message for name, message in problems.items() if name not in shown]
    return placed | ({"form": "; ".join(stray)} if stray else {})


# --- One connection ---------------------------------------------------------------------------------


def _load(database: Database, viewer: Viewer, connection_id: str) -> dict[str, Any] | None:
    """What the page shows, read in one go; None for a missing connection or another company's."""
    with database.read() as session:
        row = connections.get(session, connection_id, viewer.company_id)
        if row is None:
            return None
        stored = connections.secrets(row)
        own = stored.get("webhook_secret")
        return _summary(row) | {
            "updated_at": row.updated_at,
            "config": dict(sorted(row.config.items())),
            "stored_secrets": sorted(stored),
            "webhook_secret": own,
            # HubSpot signs with the app's client secret, which it already knows: nothing to paste.
            "signed_with_client_secret": not own and connections.webhook_secret(row) is not None,
            "receives_webhooks": row.provider in VERIFIERS,
            "used_by": [
                f"{binding.recipe} (as {role})"
                for binding in bindings.list_(session, viewer.company_id)
                for role, bound in sorted(binding.connections.items())
                if bound == row.id
            ],
        }


def _show(
    request: Request,
    connection: dict[str, Any],
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    provider = connection["provider"]
    fields = _fields(provider)
    context.setdefault("values", connection["config"])
    return render(
        request,
        "connections/show.html",
        status_code=status_code,
        headers=NO_STORE,
        title=connection["name"],
        connection=connection,
        webhook_url=str(request.url_for("inbound_webhook", connection_id=connection["id"])),
        secret_fields=[f for f in fields if f.secret],
        plain_fields=[f for f in fields if not f.secret],
        can_generate=any(f.name == "webhook_secret" for f in fields),
        errors=errors or {},
        **context,
    )


@router.get("/connections/{connection_id}")
def show(
    request: Request, viewer: CurrentViewer, database: Db, connection_id: str, done: str | None = None
) -> Response:
    connection = _load(database, viewer, connection_id)
    if connection is None:
        return _missing(request)
    return _show(request, connection, flashes=done_flashes(done, DONE))


@router.post("/connections/{connection_id}/test")
async def test(request: Request, viewer: AsOperator, database: Db, connection_id: str) -> Response:
    connection = await run_in_threadpool(_load, database, viewer, connection_id)
    if connection is None:
        return _missing(request)
    try:
        result = await run_in_threadpool(connections.check, database, connection_id)
    except KeyError:
        result = connections.CheckResult(
            False, f"{connection['provider']} connections have no API client to call", "NotTestable"
        )
    except LookupError:
        return _missing(request)
    if is_htmx(request):
        return render(request, "connections/_test.html", result=result)
    return _show(request, connection, result=result)


@router.get("/connections/{connection_id}/webhook-secret")
def reveal(request: Request, viewer: AsAdmin, database: Db, connection_id: str) -> Response:
    connection = _load(database, viewer, connection_id)
    if connection is None:
        return _missing(request)
    if is_htmx(request):
        return render(request, "connections/_secret.html", headers=NO_STORE, connection=connection)
    return _show(request, connection, revealed=True)


@router.post("/connections/{connection_id}/secrets")
async def rotate(request: Request, viewer: AsAdmin, database: Db, connection_id: str) -> Response:
    values = await form_values(request)
    generate = values.pop("generate_webhook_secret", "") == "1"
    given = _typed(values)

    def apply(row: Connection) -> dict[str, str]:
        secret_names = {f.name for f in connections.fields(row.provider) if f.secret}
        errors = _rotation_problems(given, secret_names, generate)
        if errors:
            return errors
        if generate:
            given["webhook_secret"] = connections.new_webhook_secret()
        connections.update(row, given)
        return {}

    found = await run_in_threadpool(_changed, database, viewer, connection_id, apply, "connection.rotated")
    if found is None:
        return _missing(request)
    if found:
        return await run_in_threadpool(_refused, request, database, viewer, connection_id, found)
    _forget_cached(request, connection_id)
    done = "rotated-webhook" if "webhook_secret" in given else "rotated"
    return redirect(f"/connections/{connection_id}?done={done}")


def _rotation_problems(given: dict[str, str], secret_names: set[str], generate: bool) -> dict[str, str]:
    errors = {name: "Only secrets are rotated here" for name in given if name not in secret_names}
    if generate and "webhook_secret" in given:
        errors["webhook_secret"] = "Either type a webhook secret or generate one, not both"  # noqa: S105
    if not given and not generate:
        errors["secrets_form"] = "Enter a new value for at least one secret"
    return errors


@router.post("/connections/{connection_id}/settings")
async def change(request: Request, viewer: AsAdmin, database: Db, connection_id: str) -> Response:
    values = await form_values(request)

    def apply(row: Connection) -> dict[str, str]:
        plain = {f.name: f for f in connections.fields(row.provider) if not f.secret}
        if not plain:
            return {"settings_form": f"{row.provider} connections have no settings besides secrets"}
        given = _typed(values)
        unset = [name for name in plain if name in values and not values[name].strip()]
        errors = {name: f"{_label(name)} is required" for name in unset if plain[name].required}
        errors |= {name: "Secrets are rotated above" for name in given if name not in plain}
        if not errors:
            connections.update(row, given, unset)
        return errors

    found = await run_in_threadpool(_changed, database, viewer, connection_id, apply, "connection.changed")
    if found is None:
        return _missing(request)
    if found:
        return await run_in_threadpool(_refused, request, database, viewer, connection_id, found, values)
    return redirect(f"/connections/{connection_id}?done=saved")


def _changed(
    database: Database, viewer: Viewer, connection_id: str, apply: Callable[[Connection], dict[str, str]],
    action: str,
) -> dict[str, str] | None:  # fmt: skip
    """Run ``apply`` on the company's connection in a write transaction: the problems it found (nothing
    was changed then), or None for a connection that is missing or another company's. A change is
    audited as ``action``, naming the settings changed (never their values)."""
    with database.write() as session:
        row = connections.get(session, connection_id, viewer.company_id)
        if row is None:
            return None
        before = (dict(row.config), row.secrets_encrypted)
        try:
            problems = apply(row)
        except catalog.SettingsError as exc:
            return _placed(exc.problems, row.provider)
        except ValueError as exc:
            return {"form": str(exc)}
        if not problems:
            changed = sorted(
                k for k in set(before[0]) | set(row.config) if before[0].get(k) != row.config.get(k)
            )
            rotated = row.secrets_encrypted != before[1]
            what = ", ".join(changed + (["secrets"] if rotated else [])) or "nothing"
            audited(session, viewer, action, f"{row.name}: changed {what}", target=("connection", row.id))
        return problems


def _refused(
    request: Request,
    database: Database,
    viewer: Viewer,
    connection_id: str,
    errors: dict[str, str],
    values: dict[str, str] | None = None,
) -> Response:
    """The page again, status 400, each message next to its field; typed settings kept, secrets not."""
    connection = _load(database, viewer, connection_id)
    if connection is None:
        return _missing(request)
    return _show(request, connection, status_code=400, errors=errors, values=values or connection["config"])


def _forget_cached(request: Request, connection_id: str) -> None:
    """The webhook receiver of this process checks the new secret at once, not after its cache expires."""
    receiver = getattr(request.app.state, "receiver", None)
    if receiver is not None:
        receiver.sources.pop(connection_id, None)


# --- Removing one -----------------------------------------------------------------------------------


@router.get("/connections/{connection_id}/remove")
def confirm_remove(request: Request, viewer: AsAdmin, database: Db, connection_id: str) -> Response:
    connection = _load(database, viewer, connection_id)
    if connection is None:
        return _missing(request)
    return render(
        request, "connections/remove.html", title=f"Remove {connection['name']}", connection=connection
    )


@router.post("/connections/{connection_id}/remove")
def remove(request: Request, viewer: AsAdmin, database: Db, connection_id: str) -> Response:
    with database.write() as session:
        row = connections.get(session, connection_id, viewer.company_id)
        if row is None:
            return _missing(request)
        audited(
            session,
            viewer,
            "connection.removed",
            f"Removed the {row.provider} connection {row.name}",
            target=("connection", row.id),
        )
        connections.delete(session, row.id)
    _forget_cached(request, connection_id)
    return redirect("/connections?done=removed")
