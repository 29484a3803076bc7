"""Dashboard logins: scrypt password hashes, created by ``isao admin create``."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from isao.dashboard.roles import OWNER, ROLES
from isao.db.models import Admin
from isao.ids import new_id
from isao.timeutil import utcnow

MIN_PASSWORD = 10
_N, _R, _P = 2**14, 8, 1
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class AdminError(ValueError):
    """Bad input for an admin: ``field`` names what to correct."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
    )
    return hmac.compare_digest(got.hex(), digest)


@functools.cache
def _dummy() -> str:
    """Checked when the email is unknown, so a wrong email costs as long as a wrong password (made on
    first use: hashing costs start-up time)."""
    return hash_password(secrets.token_hex(8))


def create(session: Session, company_id: str, email: str, password: str, role: str = OWNER) -> Admin:
    """``role`` defaults to owner: the command line makes a company's first login (the dashboard's user
    page always says which role)."""
    email = email.strip().lower()
    if role not in ROLES:
        raise AdminError("role", f"Choose a role: {', '.join(ROLES)}")
    if not _EMAIL.match(email):
        raise AdminError("email", "Enter an email address like ops@example.com")
    if len(password) < MIN_PASSWORD:
        raise AdminError("password", f"The password needs at least {MIN_PASSWORD} characters")
    if session.scalar(select(Admin.id).where(Admin.email == email)):
        raise AdminError("email", f"An admin with the email {email} already exists")
    row = Admin(
        id=new_id("admin"),
        company_id=company_id,
        email=email,
        password_hash=hash_password(password),
        role=role,
    )
    session.add(row)
    session.flush()
    return row


def set_password(session: Session, email: str, password: str) -> Admin | None:
    if len(password) < MIN_PASSWORD:
        raise AdminError("password", f"The password needs at least {MIN_PASSWORD} characters")
    row = find(session, email)
    if row is not None:
        row.password_hash = hash_password(password)
    return row


def find(session: Session, email: str) -> Admin | None:
    return session.scalar(select(Admin).where(Admin.email == email.strip().lower()))


def authenticate(session: Session, email: str, password: str) -> Admin | None:
    row = find(session, email)
    if row is None:
        check_password(password, _dummy())
        return None
    if not check_password(password, row.password_hash):
        return None
    row.last_login_at = utcnow()
    return row


def list_(session: Session) -> Sequence[Admin]:
    return session.scalars(select(Admin).order_by(Admin.created_at)).all()


def of_company(session: Session, company_id: str) -> Sequence[Admin]:
    return session.scalars(
        select(Admin).where(Admin.company_id == company_id).order_by(Admin.created_at)
    ).all()


def get(session: Session, company_id: str, admin_id: str) -> Admin | None:
    row = session.get(Admin, admin_id)
    return row if row is not None and row.company_id == company_id else None


def _last_owner(session: Session, row: Admin) -> bool:
    owners = select(Admin.id).where(Admin.company_id == row.company_id, Admin.role == OWNER)
    return row.role == OWNER and list(session.scalars(owners)) == [row.id]


def set_role(session: Session, row: Admin, role: str) -> None:
    if role not in ROLES:
        raise AdminError("role", f"Choose a role: {', '.join(ROLES)}")
    if role != OWNER and _last_owner(session, row):
        raise AdminError("role", f"{row.email} is the company's only owner: make someone else owner first")
    row.role = role


def remove(session: Session, row: Admin) -> None:
    if _last_owner(session, row):
        raise AdminError("form", f"{row.email} is the company's only owner: make someone else owner first")
    session.delete(row)
