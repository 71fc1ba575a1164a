"""Durable sync state: SQLAlchemy Core on SQLite or PostgreSQL, migrated by Alembic."""

from connector.state.store import (
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
    "Failure",
    "IdMapEntry",
    "LeaseHolder",
    "Run",
    "SqlStateStore",
    "StateTransaction",
    "StreamState",
    "failure_backoff",
]
