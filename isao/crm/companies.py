"""Companies (the tenants) and their users."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from isao.db.models import Company, User
from isao.ids import new_id


def create(session: Session, name: str) -> Company:
    row = Company(id=new_id("company"), name=name)
    session.add(row)
    session.flush()
    return row


def find(session: Session, id_or_name: str) -> Company | None:
    """By id, else by exact name when that name is unambiguous."""
    rows = session.scalars(
        select(Company).where(or_(Company.id == id_or_name, Company.name == id_or_name)).limit(2)
    ).all()
    exact = [row for row in rows if row.id == id_or_name]
    if exact:
        return exact[0]
    return rows[0] if len(rows) == 1 else None


def list_(session: Session) -> Sequence[Company]:
    return session.scalars(select(Company).order_by(Company.created_at)).all()


def create_user(session: Session, company_id: str, name: str, email: str) -> User:
    row = User(id=new_id("user"), company_id=company_id, name=name, email=email.strip().lower())
    session.add(row)
    session.flush()
    return row


def list_users(session: Session, company_id: str) -> Sequence[User]:
    return session.scalars(select(User).where(User.company_id == company_id).order_by(User.created_at)).all()
