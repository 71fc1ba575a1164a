"""Durable sync state: SQLAlchemy Core on SQLite or PostgreSQL, migrated by Alembic."""

from connector.state.store import (
    Awaited,
    Failure,
    IdMapEntry,
    LeaseHolder,
    Run,
    SqlStateStore,
    StateTransaction,
    StreamState,
    failure_backoff,
)

__all__ = [
    "Awaited",
    "Failure",
    "IdMapEntry",
    "LeaseHolder",
    "Run",
    "SqlStateStore",
    "StateTransaction",
    "StreamState",
    "failure_backoff",
]
