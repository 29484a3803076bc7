"""sync engine: recipe bindings, id map, cursors, runs, conflicts

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import isao.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recipe_bindings",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("company_id", sa.String(length=40), nullable=False),
        sa.Column("recipe", sa.String(length=100), nullable=False),
        sa.Column("connections", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("options", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", isao.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", isao.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "recipe", name="uq_recipe_bindings_company_recipe"),
    )
    with op.batch_alter_table("recipe_bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recipe_bindings_company_id"), ["company_id"], unique=False)

    op.create_table(
        "id_links",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("company_id", sa.String(length=40), nullable=False),
        sa.Column("binding_id", sa.String(length=40), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("source_connection", sa.String(length=40), nullable=False),
        sa.Column("source_object", sa.String(length=100), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("target_connection", sa.String(length=40), nullable=False),
        sa.Column("target_object", sa.String(length=100), nullable=False),
        sa.Column("target_id", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("written_at", isao.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["binding_id"], ["recipe_bindings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "binding_id", "step", "source_connection", "source_object", "source_id", name="uq_id_links_source"
        ),
    )
    with op.batch_alter_table("id_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_id_links_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            "ix_id_links_target", ["target_connection", "target_object", "target_id"], unique=False
        )

    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("company_id", sa.String(length=40), nullable=False),
        sa.Column("binding_id", sa.String(length=40), nullable=False),
        sa.Column("link_id", sa.String(length=40), nullable=True),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("ours", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("theirs", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("resolution", sa.String(length=40), nullable=False),
        sa.Column("created_at", isao.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["binding_id"], ["recipe_bindings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_conflicts_binding_id"), ["binding_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_conflicts_company_id"), ["company_id"], unique=False)

    op.create_table(
        "sync_cursors",
        sa.Column("binding_id", sa.String(length=40), nullable=False),
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("cursor", sa.String(length=500), nullable=True),
        sa.Column("updated_at", isao.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["binding_id"], ["recipe_bindings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("binding_id", "flow"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("company_id", sa.String(length=40), nullable=False),
        sa.Column("binding_id", sa.String(length=40), nullable=False),
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cursor", sa.String(length=500), nullable=True),
        sa.Column("counts", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("report", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("started_at", isao.db.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", isao.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["binding_id"], ["recipe_bindings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_binding_id"), ["binding_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_runs_company_id"), ["company_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_company_id"))
        batch_op.drop_index(batch_op.f("ix_sync_runs_binding_id"))

    op.drop_table("sync_runs")
    op.drop_table("sync_cursors")
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_conflicts_company_id"))
        batch_op.drop_index(batch_op.f("ix_sync_conflicts_binding_id"))

    op.drop_table("sync_conflicts")
    with op.batch_alter_table("id_links", schema=None) as batch_op:
        batch_op.drop_index("ix_id_links_target")
        batch_op.drop_index(batch_op.f("ix_id_links_company_id"))

    op.drop_table("id_links")
    with op.batch_alter_table("recipe_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recipe_bindings_company_id"))

    op.drop_table("recipe_bindings")
