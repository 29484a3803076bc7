"""The claim index in the claim's order: (status, priority, run_at).

The claim takes the first due jobs by priority then age. With ``run_at`` second in the index, the
database had to sort every queued job to find them, so each claim cost more the longer the backlog.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index("ix_jobs_claim", "jobs", ["status", "priority", "run_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index("ix_jobs_claim", "jobs", ["status", "run_at", "priority"], unique=False)
