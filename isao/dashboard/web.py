"""Rendering: the templates, their filters, and the answers pages give (page, fragment, redirect)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from isao.crm.messages import validation_details
from isao.dashboard.roles import allows
from isao.dashboard.session import CSRF_FIELD, csrf_token
from isao.timeutil import parse_iso, utcnow

M = TypeVar("M", bound=BaseModel)
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

NAV = (
    ("/", "Overview"),
    ("/connections", "Connections"),
    ("/recipes", "Recipes"),
    ("/activity", "Activity"),
    ("/dead-letters", "Dead letters"),
    ("/crm/contacts", "Contacts"),
    ("/crm/deals", "Deals"),
    ("/crm/pipeline", "Pipeline"),
    ("/settings", "Settings"),
)


def ago(value: datetime | None) -> str:
    """``3 min ago`` / ``in 2 h``: how operators read times on a status page."""
    if value is None:
        return "never"
    seconds = (utcnow() - value).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            amount = f"{int(seconds // size)} {unit}"
            break
    else:
        amount = f"{int(seconds)} s"
    return f"in {amount}" if future else f"{amount} ago"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def money(value: Decimal | float | int | None, currency: str = "") -> str:
    if value is None:
        return ""
    text = f"{Decimal(value):,.2f}"
    return f"{text} {currency}".strip()


def pretty(value: Any) -> str:
    """JSON for a ``<pre>``: bytes are decoded, JSON strings parsed, so payloads read the same everywhere."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except ValueError:
            return text
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


templates.env.filters.update(ago=ago, when=when, money=money, pretty=pretty, urlquote=quote)
templates.env.globals.update(nav=NAV, csrf_field=CSRF_FIELD)


def render(
    request: Request, name: str, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    role = context["viewer"].role if context["viewer"] is not None else None
    context["can"] = lambda needed: role is not None and allows(role, needed)
    context["csrf_token"] = csrf_token(request)
    context["path"] = request.url.path
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)


def problem(request: Request, status_code: int, heading: str, message: str, back: str = "/") -> HTMLResponse:
    return render(
        request, "problem.html", status_code=status_code, heading=heading, message=message, back=back
    )


def not_found(request: Request, what: str, back: str, message: str | None = None) -> HTMLResponse:
    """``Deal not found``: another company's record answers exactly like a missing one."""
    return problem(request, 404, f"{what} not found", message or f"There is no such {what.lower()}.", back)


def done_flashes(done: str | None, messages: Mapping[str, str]) -> list[tuple[str, str]]:
    """The flash after a redirect to ``?done=key``: only known keys, so a link cannot put words on a page."""
    message = messages.get(done or "")
    return [("ok", message)] if message else []


def redirect(url: str, *, htmx: bool = False) -> Response:
    """After a successful POST: see-other for a form, ``HX-Redirect`` for htmx."""
    if htmx:
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if key != CSRF_FIELD and isinstance(value, str)}


def validate(model: type[M], values: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """The model, or the messages to show next to each field (the External API's wording)."""
    try:
        return model.model_validate(values), {}
    except ValidationError as exc:
        return None, validation_details(exc.errors())


def confirm(
    request: Request, heading: str, message: str, *, action: str, button: str, cancel: str,
    fields: dict[str, str] | None = None, consequences: list[str] | None = None,
) -> HTMLResponse:  # fmt: skip
    """The question a destructive action asks first: its form posts to ``action`` again, ``confirm=yes``."""
    return render(
        request, "confirm.html", title=heading, heading=heading, message=message, action=action,
        button=button, cancel=cancel, fields=fields or {}, consequences=consequences or [],
    )  # fmt: skip


def confirmed(values: Mapping[str, Any]) -> bool:
    return values.get("confirm") == "yes"


def read_moment(text: str | None) -> datetime | None:
    """A "from" or "to" field of a time-range filter: a date or an ISO time, else ``ValueError`` with the
    message for the field."""
    if not text or not text.strip():
        return None
    try:
        return parse_iso(text)
    except ValueError:
        raise ValueError("Enter a date or time like 2026-11-01 or 2026-11-01T08:00:00Z") from None


NO_STORE = {"Cache-Control": "no-store"}
"""For pages showing a secret once: never kept by the browser's cache."""
