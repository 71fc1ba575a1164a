"""Calls are fetched again for a reason: a pending summary, or open action items.

A pending summary is checked on every run until ready; a call with open action
items is checked on the reconciliation cadence, so their completion reaches the
CRM without a detail request per call per run. Existing entries were all
waiting for a summary.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrichment") as batch:
        batch.add_column(
            sa.Column("reason", sa.String(20), nullable=False, server_default="summary")
        )


def downgrade() -> None:
    with op.batch_alter_table("enrichment") as batch:
        batch.drop_column("reason")
