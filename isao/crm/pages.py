"""List pages rendered to JSON by the database itself.

A page of 50 deals costs far more to turn into Python objects and back into JSON than to query, so
the list endpoints ask SQLite (``json_object``) or PostgreSQL (``json_build_object``) for each
row as JSON text and the API splices the rows into the envelope. The shape is declared once below per
object; ``isao.crm.serialize`` builds the same shape from rows for single records and events, and
the tests hold the two equal on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from isao.crm.listing import Page

# (JSON key, SQL expression, kind) — kind: "text" as is, "date" ISO 8601 with ms and Z,
# "number" a JSON number, "json" a stored JSON value.
Field = tuple[str, str, str]

CONTACT: Sequence[Field] = (
    ("id", "c.id", "text"),
    ("name", "c.name", "text"),
    ("firstName", "c.first_name", "text"),
    ("lastName", "c.last_name", "text"),
    ("email", "c.email", "text"),
    ("phoneNumber", "c.phone_number", "text"),
    ("position", "c.position", "text"),
    ("currentCompany", "c.current_company", "text"),
    ("city", "c.city", "text"),
    ("country", "c.country", "text"),
    ("tags", "c.tags", "json"),
    ("createdAt", "c.created_at", "date"),
    ("updatedAt", "c.updated_at", "date"),
)
CONTACT_REF: Sequence[Field] = (
    ("id", "c.id", "text"),
    ("name", "c.name", "text"),
    ("email", "c.email", "text"),
    ("phoneNumber", "c.phone_number", "text"),
    ("currentCompany", "c.current_company", "text"),
)
USER_REF: Sequence[Field] = (("id", "u.id", "text"), ("name", "u.name", "text"), ("email", "u.email", "text"))
DEAL_HEAD: Sequence[Field] = (
    ("id", "d.id", "text"),
    ("title", "d.title", "text"),
    ("description", "d.description", "text"),
    ("value", "d.value", "number"),
    ("currency", "d.currency", "text"),
    ("stage", "d.stage", "text"),
    ("priority", "d.priority", "text"),
    ("probability", "d.probability", "number"),
    ("status", "d.status", "text"),
    ("expectedCloseDate", "d.expected_close_date", "date"),
    ("actualCloseDate", "d.actual_close_date", "date"),
    ("source", "d.source", "text"),
)
DEAL_TAIL: Sequence[Field] = (("createdAt", "d.created_at", "date"), ("updatedAt", "d.updated_at", "date"))


class Dialect:
    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def value(self, expr: str, kind: str) -> str:
        if kind == "date":
            if self.pg:
                return f'to_char({expr}, \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\')'
            return f"strftime('%Y-%m-%dT%H:%M:%fZ', {expr})"
        if kind == "number":
            return f"{expr}::float8" if self.pg else expr
        if kind == "json":
            return expr if self.pg else f"json({expr})"
        return expr

    def obj(self, fields: Sequence[Field], extra: Sequence[tuple[str, str]] = ()) -> str:
        pairs = [f"'{key}', {self.value(expr, kind)}" for key, expr, kind in fields]
        pairs += [f"'{key}', {expr}" for key, expr in extra]
        return f"{'json_build_object' if self.pg else 'json_object'}({', '.join(pairs)})"

    def ref(self, alias: str, fields: Sequence[Field]) -> str:
        return f"CASE WHEN {alias}.id IS NULL THEN NULL ELSE {self.obj(fields)} END"

    def as_text(self, obj: str) -> str:
        """Each row's object as JSON text (psycopg would otherwise parse PostgreSQL's json into dicts)."""
        return f"({obj})::text" if self.pg else obj

    def has_tag(self) -> str:
        if self.pg:
            return "c.tags @> jsonb_build_array(CAST(:tag AS text))"
        return "EXISTS (SELECT 1 FROM json_each(c.tags) WHERE json_each.value = :tag)"


@dataclass
class Where:
    """A WHERE clause built from fixed fragments; values only ever travel as bound parameters."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, clause: str, **params: Any) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def sql(self) -> str:
        return " AND ".join(self.clauses)


def _search(where: Where, search: str, columns: Sequence[str]) -> None:
    """Case-insensitive substring match on any of ``columns`` (constants), LIKE wildcards escaped."""
    pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    where.add(
        "(" + " OR ".join(f"lower({col}) LIKE :search ESCAPE '\\'" for col in columns) + ")",
        search=pattern,
    )


def _order(alias: str, sort: str) -> str:
    column = "created_at" if sort.endswith("createdAt") else "updated_at"
    direction = "DESC" if sort.startswith("-") else "ASC"
    return f"{alias}.{column} {direction}, {alias}.id {direction}"


def _since(where: Where, alias: str, created: datetime | None, updated: datetime | None) -> None:
    """Inclusive, so a poller that passes back the last ``updatedAt`` it saw misses nothing."""
    if created is not None:
        where.add(f"{alias}.created_at >= :created_since", created_since=_stored(created))
    if updated is not None:
        where.add(f"{alias}.updated_at >= :updated_since", updated_since=_stored(updated))


def _stored(value: datetime) -> str:
    """The text both databases compare with stored UTC timestamps (SQLAlchemy's SQLite format)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _run(
    session: Session, source: str, select_obj: str, where: Where, alias: str, page: Page
) -> tuple[str, int]:
    # Every fragment is a constant of this module; values travel only as bound parameters.
    dialect = Dialect(session.get_bind().dialect.name)
    condition = where.sql()
    count = f"SELECT count(*) FROM {source} WHERE {condition}"  # noqa: S608
    total = session.execute(text(count), where.params).scalar_one()
    rows = (
        f"SELECT {dialect.as_text(select_obj)} FROM {source} WHERE {condition} "  # noqa: S608
        f"ORDER BY {_order(alias, page.sort)} LIMIT :limit OFFSET :offset"
    )
    params = where.params | {"limit": page.limit, "offset": page.offset}
    objects = session.execute(text(rows), params).scalars().all()
    return "[" + ",".join(objects) + "]", int(total)


def deals(
    session: Session,
    company_id: str,
    page: Page,
    *,
    status: str | None = None,
    stage: str | None = None,
    contact_id: str | None = None,
    search: str | None = None,
    created_since: datetime | None = None,
    updated_since: datetime | None = None,
) -> tuple[str, int]:
    """(JSON array of deals, total matching). ``search`` matches the title or the contact's name."""
    dialect = Dialect(session.get_bind().dialect.name)
    where = Where()
    where.add("d.company_id = :company_id", company_id=company_id)
    if search:
        _search(where, search, ("d.title", "c.name"))
    if status:
        where.add("d.status = :status", status=status)
    if stage:
        where.add("d.stage = :stage", stage=stage)
    if contact_id:
        where.add("d.contact_id = :contact_id", contact_id=contact_id)
    _since(where, "d", created_since, updated_since)
    obj = dialect.obj(
        [*DEAL_HEAD],
        extra=[
            ("contact", dialect.ref("c", CONTACT_REF)),
            ("assignedTo", dialect.ref("u", USER_REF)),
            *[(key, dialect.value(expr, kind)) for key, expr, kind in DEAL_TAIL],
        ],
    )
    source = (
        "deals AS d LEFT JOIN contacts AS c ON c.id = d.contact_id "
        "LEFT JOIN users AS u ON u.id = d.assigned_to_id"
    )
    return _run(session, source, obj, where, "d", page)


def contacts(
    session: Session,
    company_id: str,
    page: Page,
    *,
    search: str | None = None,
    tag: str | None = None,
    email: str | None = None,
    created_since: datetime | None = None,
    updated_since: datetime | None = None,
) -> tuple[str, int]:
    """(JSON array of contacts, total matching)."""
    dialect = Dialect(session.get_bind().dialect.name)
    where = Where()
    where.add("c.company_id = :company_id", company_id=company_id)
    if search:
        _search(where, search, ("c.name", "c.email", "c.phone_number", "c.current_company"))
    if email:
        where.add("c.email = :email", email=email.strip().lower())
    if tag:
        where.add(dialect.has_tag(), tag=tag)
    _since(where, "c", created_since, updated_since)
    return _run(session, "contacts AS c", dialect.obj(CONTACT), where, "c", page)
