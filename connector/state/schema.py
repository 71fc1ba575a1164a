"""The state store's tables (SQLAlchemy Core): the schema as of the newest migration.

Migrations in ``migrations/versions`` create and change these tables on disk;
this module describes the result, for queries. Times are stored as UTC ISO
8601 text with microseconds (``2024-03-15T14:32:00.000000Z``), which sorts
correctly as text on every backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Dialect,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as sortable UTC text."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the state store keeps UTC times only")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


metadata = MetaData()

#: Per adapter and stream: how far the sync has come.
streams = Table(
    "streams",
    metadata,
    Column("adapter", String(100), primary_key=True),
    Column("stream", String(50), primary_key=True),
    # Everything created up to here has been consumed and pushed.
    Column("watermark", UtcDateTime, nullable=True),
    # The window in progress: fixed bounds and the cursor to resume it.
    Column("window_from", UtcDateTime, nullable=True),
    Column("window_to", UtcDateTime, nullable=True),
    Column("window_cursor", Text, nullable=True),
    Column("run_id", Integer, nullable=True),
    Column("reconciled_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: Revont id -> CRM id, and the fingerprint of what was last pushed.
id_map = Table(
    "id_map",
    metadata,
    Column("adapter", String(100), primary_key=True),
    Column("object", String(100), primary_key=True),
    Column("external_id", String(200), primary_key=True),
    Column("crm_id", String(200), nullable=True),
    Column("fingerprint", String(64), nullable=True),
    Column("pushed_at", UtcDateTime, nullable=False),
)

#: What each Revont record looked like in its list when last synced (migration 0003).
source_records = Table(
    "source_records",
    metadata,
    Column("adapter", String(100), primary_key=True),
    Column("stream", String(50), primary_key=True),
    Column("record_id", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
)

#: Calls to fetch again: their summary was pending when pushed ("summary", every run),
#: or they have open action items ("action_items", on the reconciliation cadence).
enrichment = Table(
    "enrichment",
    metadata,
    Column("adapter", String(100), primary_key=True),
    Column("call_id", String(200), primary_key=True),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("deadline_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("reason", String(20), nullable=False, default="summary"),  # migration 0004
)

#: Records that could not be pushed: retried later, listed, retried or discarded by hand.
failures = Table(
    "failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("adapter", String(100), nullable=False),
    Column("stream", String(50), nullable=False),
    Column("object", String(100), nullable=False),
    Column("record_id", String(200), nullable=False),
    Column("error_class", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("payload", Text, nullable=True),  # JSON
    Column("attempts", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # pending | discarded | resolved
    Column("first_failed_at", UtcDateTime, nullable=False),
    Column("last_failed_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),  # added by migration 0002
    UniqueConstraint("adapter", "object", "record_id", name="uq_failures_record"),
)

#: Run history.
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("adapter", String(100), nullable=False),
    Column("trigger", String(20), nullable=False),  # schedule | manual | resync | webhook
    Column("status", String(20), nullable=False),  # running | succeeded | failed | aborted
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("counts", Text, nullable=True),  # JSON: pulled, created, updated, unchanged, failed
    Column("requests", Text, nullable=True),  # JSON: requests per service
    Column("error", Text, nullable=True),
)

#: Who may sync an adapter now: one holder at a time, across processes and hosts.
leases = Table(
    "leases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)
