"""sync locks (one job at a time per source record) and the version of each ID-map target

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import isao.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_locks",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("acquired_at", isao.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("id_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_version", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("id_links", schema=None) as batch_op:
        batch_op.drop_column("target_version")
    op.drop_table("sync_locks")
