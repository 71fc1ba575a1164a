"""Failures are retried with backoff: remember when each may be tried next.

Existing failures become due at once (their last failure time).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("failures") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.String(32), nullable=True))
    op.execute("UPDATE failures SET next_attempt_at = last_failed_at")
    with op.batch_alter_table("failures") as batch:
        batch.alter_column("next_attempt_at", existing_type=sa.String(32), nullable=False)
        batch.create_index("ix_failures_due", ["adapter", "status", "next_attempt_at"])


def downgrade() -> None:
    with op.batch_alter_table("failures") as batch:
        batch.drop_index("ix_failures_due")
        batch.drop_column("next_attempt_at")
