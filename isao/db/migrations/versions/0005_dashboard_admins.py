"""dashboard logins, and attempts indexed by outcome and time (the overview's retry counts)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import isao.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admins",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("company_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", isao.db.types.UTCDateTime(), nullable=False),
        sa.Column("last_login_at", isao.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index(op.f("ix_admins_company_id"), "admins", ["company_id"], unique=False)
    op.create_index(
        "ix_job_attempts_outcome_finished", "job_attempts", ["outcome", "finished_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_job_attempts_outcome_finished", table_name="job_attempts")
    op.drop_index(op.f("ix_admins_company_id"), table_name="admins")
    op.drop_table("admins")
