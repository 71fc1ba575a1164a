"""Remember what each Revont record looked like in its list, per adapter.

A call whose list fields are unchanged, and whose summary is not awaited, needs
no detail request and no write: this table makes that decision possible.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_records",
        sa.Column("adapter", sa.String(100), primary_key=True),
        sa.Column("stream", sa.String(50), primary_key=True),
        sa.Column("record_id", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("source_records")
