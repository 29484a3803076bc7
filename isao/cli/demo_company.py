"""The demo company, its API key and its dashboard login: what ``isao serve --demo`` and ``isao demo`` both
set up and print."""

from __future__ import annotations

import secrets

from isao.crm import companies, keys
from isao.dashboard import admins
from isao.db import Database

DEMO_COMPANY = "Demo Company"
DEMO_ADMIN = "admin@demo.isao.local"


def ensure_demo(db: Database) -> tuple[str, str]:
    """The demo company with a sales user, and a fresh full-scope key (earlier demo keys are revoked)."""
    with db.write() as session:
        company = companies.find(session, DEMO_COMPANY) or companies.create(session, DEMO_COMPANY)
        if not companies.list_users(session, company.id):
            companies.create_user(session, company.id, "Sales Rep", "sales@demo.isao.local")
        for row in keys.list_(session, company.id):
            if row.name == "demo":
                keys.revoke(session, row.id)
        _, token = keys.create(session, company.id, "demo", list(keys.SCOPES))
        return company.id, token


def ensure_demo_admin(db: Database, company_id: str) -> tuple[str, str]:
    """The demo company's dashboard login, with a fresh password each start (printed, like the key)."""
    password = secrets.token_urlsafe(12)
    with db.write() as session:
        if admins.set_password(session, DEMO_ADMIN, password) is None:
            admins.create(session, company_id, DEMO_ADMIN, password)
    return DEMO_ADMIN, password
