"""The state store: cursors, id maps, fingerprints, failures, runs and leases.

SQLite (the embedded default) or PostgreSQL (for several daemon replicas), by
SQLAlchemy URL; the schema is created and upgraded by Alembic migrations that
ship inside the package. Everything a page of a sync changes is written in one
:meth:`SqlStateStore.transaction`, so a crash leaves either all of it or none.

A new SQLite state file is created with mode 0600: it names customers' calls.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from connector.state.schema import (
    enrichment,
    failures,
    id_map,
    leases,
    runs,
    source_records,
    streams,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class StreamState:
    adapter: str
    stream: str
    watermark: datetime | None = None
    window_from: datetime | None = None
    window_to: datetime | None = None
    window_cursor: str | None = None
    run_id: int | None = None
    reconciled_at: datetime | None = None


@dataclass(frozen=True)
class IdMapEntry:
    adapter: str
    object: str
    external_id: str
    crm_id: str | None
    fingerprint: str | None
    pushed_at: datetime


@dataclass(frozen=True)
class Failure:
    id: int
    adapter: str
    stream: str
    object: str
    record_id: str
    error_class: str
    message: str
    payload: Any
    attempts: int
    status: str
    first_failed_at: datetime
    last_failed_at: datetime
    next_attempt_at: datetime


@dataclass(frozen=True)
class Run:
    id: int
    adapter: str
    trigger: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    counts: dict[str, int]
    requests: dict[str, int]
    error: str | None


@dataclass(frozen=True)
class Awaited:
    """A call to fetch again: since when, until when, and how often it was checked."""

    call_id: str
    first_seen_at: datetime
    deadline_at: datetime
    attempts: int


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a lease, and until when."""

    owner: str
    expires_at: datetime


def failure_backoff(attempts: int) -> timedelta:
    """How long after its n-th failure a record is tried again: 1 min, doubling, at most 1 day."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 24 * 60))


class StateTransaction:
    """The writes of one checkpoint; committed together or not at all."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def put_stream(self, state: StreamState, now: datetime) -> None:
        values = {
            "watermark": state.watermark,
            "window_from": state.window_from,
            "window_to": state.window_to,
            "window_cursor": state.window_cursor,
            "run_id": state.run_id,
            "reconciled_at": state.reconciled_at,
            "updated_at": now,
        }
        where = (streams.c.adapter == state.adapter) & (streams.c.stream == state.stream)
        done = self.connection.execute(update(streams).where(where).values(**values))
        if done.rowcount == 0:
            self.connection.execute(
                insert(streams).values(adapter=state.adapter, stream=state.stream, **values)
            )

    def put_ids(self, entries: Iterable[IdMapEntry]) -> None:
        """Insert or update id-map entries, a page at a time (one SELECT, two batches)."""
        by_key = {(e.adapter, e.object, e.external_id): e for e in entries}
        if not by_key:
            return
        existing: set[tuple[str, str, str]] = set()
        groups: dict[tuple[str, str], list[str]] = {}
        for adapter, obj, external_id in by_key:
            groups.setdefault((adapter, obj), []).append(external_id)
        for (adapter, obj), ids in groups.items():
            scope = (id_map.c.adapter == adapter) & (id_map.c.object == obj)
            rows = _select_in(
                self.connection, [id_map.c.external_id], scope, id_map.c.external_id, ids
            )
            existing.update((adapter, obj, row.external_id) for row in rows)
        rows_new = [_id_row(e) for key, e in by_key.items() if key not in existing]
        rows_old = [_id_row(e, prefix="b_") for key, e in by_key.items() if key in existing]
        if rows_new:
            self.connection.execute(insert(id_map), rows_new)
        if rows_old:
            self.connection.execute(
                update(id_map)
                .where(
                    (id_map.c.adapter == bindparam("b_adapter"))
                    & (id_map.c.object == bindparam("b_object"))
                    & (id_map.c.external_id == bindparam("b_external_id"))
                )
                .values(
                    crm_id=bindparam("b_crm_id"),
                    fingerprint=bindparam("b_fingerprint"),
                    pushed_at=bindparam("b_pushed_at"),
                ),
                rows_old,
            )

    def put_source_fingerprints(
        self, adapter: str, stream: str, fingerprints: dict[str, str], now: datetime
    ) -> None:
        """Insert or update the list fingerprints of a page of records."""
        if not fingerprints:
            return
        scope = (source_records.c.adapter == adapter) & (source_records.c.stream == stream)
        existing = {
            row.record_id
            for row in _select_in(
                self.connection,
                [source_records.c.record_id],
                scope,
                source_records.c.record_id,
                list(fingerprints),
            )
        }
        new = [
            {
                "adapter": adapter,
                "stream": stream,
                "record_id": rid,
                "fingerprint": fp,
                "seen_at": now,
            }
            for rid, fp in fingerprints.items()
            if rid not in existing
        ]
        old = [
            {"b_record_id": rid, "b_fingerprint": fp}
            for rid, fp in fingerprints.items()
            if rid in existing
        ]
        if new:
            self.connection.execute(insert(source_records), new)
        if old:
            self.connection.execute(
                update(source_records)
                .where(
                    (source_records.c.adapter == adapter)
                    & (source_records.c.stream == stream)
                    & (source_records.c.record_id == bindparam("b_record_id"))
                )
                .values(fingerprint=bindparam("b_fingerprint"), seen_at=now),
                old,
            )

    def has_pending_failures(self, adapter: str) -> bool:
        query = select(failures.c.id).where(
            (failures.c.adapter == adapter) & (failures.c.status == "pending")
        )
        return self.connection.execute(query.limit(1)).first() is not None

    def record_failure(
        self,
        *,
        adapter: str,
        stream: str,
        object: str,
        record_id: str,
        error_class: str,
        message: str,
        payload: Any,
        now: datetime,
    ) -> None:
        """Park a record; a repeated failure of the same record counts another attempt."""
        where = (
            (failures.c.adapter == adapter)
            & (failures.c.object == object)
            & (failures.c.record_id == record_id)
        )
        row = self.connection.execute(select(failures.c.attempts).where(where)).first()
        attempts = (row.attempts if row else 0) + 1
        values = {
            "stream": stream,
            "error_class": error_class,
            "message": message,
            "payload": json.dumps(payload, default=str),
            "attempts": attempts,
            "status": "pending",
            "last_failed_at": now,
            "next_attempt_at": now + failure_backoff(attempts),
        }
        if row:
            self.connection.execute(update(failures).where(where).values(**values))
        else:
            self.connection.execute(
                insert(failures).values(
                    adapter=adapter,
                    object=object,
                    record_id=record_id,
                    first_failed_at=now,
                    **values,
                )
            )

    def resolve_failure(self, adapter: str, object: str, record_id: str) -> None:
        """The record went through after all."""
        where = (
            (failures.c.adapter == adapter)
            & (failures.c.object == object)
            & (failures.c.record_id == record_id)
            & (failures.c.status == "pending")
        )
        self.connection.execute(update(failures).where(where).values(status="resolved"))

    def await_enrichment(
        self,
        adapter: str,
        call_id: str,
        now: datetime,
        deadline: datetime,
        reason: str = "summary",
    ) -> None:
        """Fetch the call again later, for ``reason``. A call already waiting for the same
        reason keeps its deadline and counts another attempt; a new reason starts over."""
        where = (enrichment.c.adapter == adapter) & (enrichment.c.call_id == call_id)
        row = self.connection.execute(select(enrichment.c.reason).where(where)).first()
        if row is not None and row.reason == reason:
            self.connection.execute(
                update(enrichment).where(where).values(attempts=enrichment.c.attempts + 1)
            )
            return
        if row is not None:
            self.connection.execute(enrichment.delete().where(where))
        self.connection.execute(
            insert(enrichment).values(
                adapter=adapter,
                call_id=call_id,
                first_seen_at=now,
                deadline_at=deadline,
                attempts=0,
                reason=reason,
            )
        )

    def enriched(self, adapter: str, call_id: str) -> None:
        where = (enrichment.c.adapter == adapter) & (enrichment.c.call_id == call_id)
        self.connection.execute(enrichment.delete().where(where))


#: The PostgreSQL advisory lock that serialises schema migrations ("revont-s" in ASCII).
MIGRATION_LOCK = 0x7265766F6E742D73


class SqlStateStore:
    """The state store on SQLAlchemy Core (SQLite or PostgreSQL)."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            _create_private_file(Path(parsed.database))
        self.engine: Engine = create_engine(url, future=True)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate:
            self.upgrade()

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ----------------------------------------------------------------------

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (normally the newest)."""
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Replicas starting together on a fresh database: one migrates, the others
                # wait here (a lock released at commit), then find the schema current.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        return ScriptDirectory.from_config(config).get_current_head()

    # -- writes ----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[StateTransaction]:
        with self.engine.begin() as connection:
            yield StateTransaction(connection)

    # -- reads -----------------------------------------------------------------------

    def stream(self, adapter: str, stream: str) -> StreamState:
        where = (streams.c.adapter == adapter) & (streams.c.stream == stream)
        with self.engine.connect() as connection:
            row = connection.execute(select(streams).where(where)).first()
        if row is None:
            return StreamState(adapter, stream)
        data = row._asdict()
        data.pop("updated_at")
        return StreamState(**data)

    def ids(self, adapter: str, object: str, external_ids: Iterable[str]) -> dict[str, IdMapEntry]:
        scope = (id_map.c.adapter == adapter) & (id_map.c.object == object)
        with self.engine.connect() as connection:
            rows = _select_in(
                connection, [id_map], scope, id_map.c.external_id, list(dict.fromkeys(external_ids))
            )
            return {row.external_id: IdMapEntry(**row._asdict()) for row in rows}

    def source_fingerprints(
        self, adapter: str, stream: str, record_ids: Iterable[str]
    ) -> dict[str, str]:
        scope = (source_records.c.adapter == adapter) & (source_records.c.stream == stream)
        columns = [source_records.c.record_id, source_records.c.fingerprint]
        with self.engine.connect() as connection:
            rows = _select_in(
                connection,
                columns,
                scope,
                source_records.c.record_id,
                list(dict.fromkeys(record_ids)),
            )
            return {row.record_id: row.fingerprint for row in rows}

    def failures(
        self,
        *,
        adapter: str | None = None,
        status: str | None = "pending",
        due_at: datetime | None = None,
    ) -> list[Failure]:
        query = select(failures).order_by(failures.c.id)
        if adapter is not None:
            query = query.where(failures.c.adapter == adapter)
        if status is not None:
            query = query.where(failures.c.status == status)
        if due_at is not None:
            query = query.where(failures.c.next_attempt_at <= due_at)
        with self.engine.connect() as connection:
            return [_failure(row._asdict()) for row in connection.execute(query)]

    def set_failure_status(self, ids: Iterable[int], status: str, now: datetime) -> int:
        """Discard failures (``discarded``) or make them due now (``pending``)."""
        ids = list(ids)
        values: dict[str, Any] = {"status": status}
        if status == "pending":
            values["next_attempt_at"] = now
        with self.engine.begin() as connection:
            done = connection.execute(
                update(failures).where(failures.c.id.in_(ids)).values(**values)
            )
            return int(done.rowcount)

    def awaiting_enrichment(
        self, adapter: str, *, seen_before: datetime | None = None, reason: str = "summary"
    ) -> list[Awaited]:
        """Calls to fetch again for ``reason``;
        ``seen_before`` leaves out the ones first queued since then (e.g. in this run)."""
        query = select(enrichment).where(
            (enrichment.c.adapter == adapter) & (enrichment.c.reason == reason)
        )
        if seen_before is not None:
            query = query.where(enrichment.c.first_seen_at < seen_before)
        with self.engine.connect() as connection:
            return [
                Awaited(r.call_id, r.first_seen_at, r.deadline_at, r.attempts)
                for r in connection.execute(query)
            ]

    # -- runs --------------------------------------------------------------------------

    def start_run(self, adapter: str, trigger: str, now: datetime) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(
                insert(runs).values(
                    adapter=adapter, trigger=trigger, status="running", started_at=now
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        now: datetime,
        counts: dict[str, int],
        requests: dict[str, int],
        error: str | None = None,
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(
                    status=status,
                    ended_at=now,
                    counts=json.dumps(counts),
                    requests=json.dumps(requests),
                    error=error,
                )
            )

    def runs(self, *, adapter: str | None = None, limit: int = 20) -> list[Run]:
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        if adapter is not None:
            query = query.where(runs.c.adapter == adapter)
        with self.engine.connect() as connection:
            return [
                Run(
                    **{
                        **row._asdict(),
                        "counts": json.loads(row.counts or "{}"),
                        "requests": json.loads(row.requests or "{}"),
                    }
                )
                for row in connection.execute(query)
            ]

    # -- leases ------------------------------------------------------------------------

    def acquire_lease(
        self, name: str, owner: str, *, now: datetime, ttl: timedelta
    ) -> LeaseHolder | None:
        """Take or renew the lease ``name``. None means it is ours; else who holds it.

        A conditional UPDATE (ours, or expired) or else an INSERT that the primary
        key makes unique: each atomic on SQLite and PostgreSQL alike, so two
        processes (or hosts) can never both hold it.
        """
        expires = now + ttl
        mine_or_expired = (leases.c.name == name) & (
            (leases.c.owner == owner) | (leases.c.expires_at < now)
        )
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(leases).where(mine_or_expired).values(owner=owner, expires_at=expires)
            )
            if taken.rowcount == 1:
                return None
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(leases).values(name=name, owner=owner, expires_at=expires)
                )
            return None
        except IntegrityError:
            pass  # someone holds it (or took it between our two statements)
        with self.engine.connect() as connection:
            row = connection.execute(select(leases).where(leases.c.name == name)).first()
        if row is None:  # released in between: try once more
            return self.acquire_lease(name, owner, now=now, ttl=ttl)
        return LeaseHolder(row.owner, row.expires_at)

    def take_over_lease(
        self, name: str, dead_owner: str, owner: str, *, now: datetime, ttl: timedelta
    ) -> bool:
        """Take a lease from an owner known to be dead (a killed process on this host)."""
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(leases)
                .where((leases.c.name == name) & (leases.c.owner == dead_owner))
                .values(owner=owner, expires_at=now + ttl)
            )
            return bool(taken.rowcount == 1)

    def release_lease(self, name: str, owner: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                leases.delete().where((leases.c.name == name) & (leases.c.owner == owner))
            )


def _select_in(
    connection: Connection, columns: list[Any], scope: Any, column: Any, values: list[str]
) -> Iterator[Any]:
    """Rows within ``scope`` whose ``column`` is one of ``values``, asked 500 at a time
    (databases cap the parameters of one statement)."""
    for start in range(0, len(values), 500):
        yield from connection.execute(
            select(*columns).where(scope & column.in_(values[start : start + 500]))
        )


def _id_row(entry: IdMapEntry, prefix: str = "") -> dict[str, Any]:
    return {
        f"{prefix}adapter": entry.adapter,
        f"{prefix}object": entry.object,
        f"{prefix}external_id": entry.external_id,
        f"{prefix}crm_id": entry.crm_id,
        f"{prefix}fingerprint": entry.fingerprint,
        f"{prefix}pushed_at": entry.pushed_at,
    }


def _failure(data: dict[str, Any]) -> Failure:
    data["payload"] = json.loads(data["payload"]) if data["payload"] else None
    return Failure(**data)


def _create_private_file(path: Path) -> None:
    """Create the SQLite file with mode 0600 before SQLite does (with the umask's mode)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def _sqlite_pragmas(dbapi_connection: Any, record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
