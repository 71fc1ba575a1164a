"""The first schema: streams, id map, enrichment, failures, runs, leases.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.String(32)  # UTC ISO 8601 text, see connector.state.schema.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "streams",
        sa.Column("adapter", sa.String(100), primary_key=True),
        sa.Column("stream", sa.String(50), primary_key=True),
        sa.Column("watermark", TIME, nullable=True),
        sa.Column("window_from", TIME, nullable=True),
        sa.Column("window_to", TIME, nullable=True),
        sa.Column("window_cursor", sa.Text, nullable=True),
        sa.Column("run_id", sa.Integer, nullable=True),
        sa.Column("reconciled_at", TIME, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
    )
    op.create_table(
        "id_map",
        sa.Column("adapter", sa.String(100), primary_key=True),
        sa.Column("object", sa.String(100), primary_key=True),
        sa.Column("external_id", sa.String(200), primary_key=True),
        sa.Column("crm_id", sa.String(200), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("pushed_at", TIME, nullable=False),
    )
    op.create_table(
        "enrichment",
        sa.Column("adapter", sa.String(100), primary_key=True),
        sa.Column("call_id", sa.String(200), primary_key=True),
        sa.Column("first_seen_at", TIME, nullable=False),
        sa.Column("deadline_at", TIME, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("adapter", sa.String(100), nullable=False),
        sa.Column("stream", sa.String(50), nullable=False),
        sa.Column("object", sa.String(100), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("error_class", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("first_failed_at", TIME, nullable=False),
        sa.Column("last_failed_at", TIME, nullable=False),
        sa.UniqueConstraint("adapter", "object", "record_id", name="uq_failures_record"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("adapter", sa.String(100), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("counts", sa.Text, nullable=True),
        sa.Column("requests", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
    )


def downgrade() -> None:
    for table in ("leases", "runs", "failures", "enrichment", "id_map", "streams"):
        op.drop_table(table)
