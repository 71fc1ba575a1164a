"""An in-memory CRM adapter: the engine's test double, built like a real adapter.

It behaves like a CRM where it matters for the sync: idempotent upserts keyed
by ``(object type, external-id field, external id)``, CRM ids that never
change once given, one result per record (created, updated, unchanged or
rejected), a batch limit, and failures on demand: records rejected by a rule
(as a CRM's validation would), and transient errors that fail a whole batch
before anything is written (as a 503 or a dropped connection would).

Its records live in SQLite: in memory by default, or in the file ``path``
names, so a sync process can be killed and the "CRM" still holds exactly what
was acknowledged (the crash tests rely on that).

It registers in the ``revont_sync.adapters`` entry-point group as ``memory``,
like any other adapter.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import Field, ValidationInfo, model_validator

from adapters.base import (
    AdapterConfig,
    CrmRecord,
    QuotaState,
    RequestError,
    TransientError,
    WriteOutcome,
    WriteResult,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    crm_object TEXT NOT NULL,
    external_id_field TEXT NOT NULL,
    external_id TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    record_values TEXT NOT NULL,
    links TEXT NOT NULL,
    writes INTEGER NOT NULL,
    PRIMARY KEY (crm_object, external_id_field, external_id)
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class MemoryConfig(AdapterConfig):
    """The ``[adapters.memory]`` table."""

    #: Keep the records in this SQLite file (relative to the config file) instead of memory.
    path: Path | None = None
    #: The most records one upsert takes.
    batch_size: int = Field(default=100, ge=1, le=10_000)
    #: Ask the engine to gather this many records across pages before writing, as an
    #: adapter with a bulk API does (0: write every page at once).
    gather_rows: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _relative_to_config(self, info: ValidationInfo) -> Self:
        base_dir = (info.context or {}).get("base_dir")
        if self.path is not None and not self.path.is_absolute() and base_dir is not None:
            object.__setattr__(self, "path", Path(base_dir) / self.path)
        return self


@dataclass(frozen=True)
class StoredRecord:
    crm_object: str
    external_id_field: str
    external_id: str
    crm_id: str
    values: dict[str, Any]
    links: list[dict[str, Any]]
    writes: int  # how many times this record was created or changed


Rule = Callable[[CrmRecord], tuple[str, str] | None]


class MemoryAdapter:
    """The in-memory CRM (see the module docstring)."""

    name: ClassVar[str] = "memory"
    config_model: ClassVar[type[MemoryConfig]] = MemoryConfig

    def __init__(self, config: MemoryConfig | None = None) -> None:
        config = config or MemoryConfig()
        self.batch_size = config.batch_size
        self.gather_rows = config.gather_rows
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(
            str(config.path) if config.path else ":memory:", check_same_thread=False
        )
        self._db.executescript(_SCHEMA)
        self._rules: list[Rule] = []
        self._failures: list[Exception] = []
        self.batches: list[int] = []  # sizes of the batches received, for request counting

    # -- failures on demand ------------------------------------------------------------

    def reject_when(self, rule: Rule) -> None:
        """Reject records for which ``rule(record)`` returns ``(error_class, message)``."""
        self._rules.append(rule)

    def fail_next(self, count: int = 1, error: Exception | None = None) -> None:
        """Make the next ``count`` upserts fail whole, writing nothing."""
        for _ in range(count):
            self._failures.append(
                error
                or TransientError(
                    "the CRM is unavailable (503)",
                    service=self.name,
                    method="POST",
                    path="/upsert",
                    status=503,
                )
            )

    # -- the contract ------------------------------------------------------------------

    def upsert(self, records: Sequence[CrmRecord]) -> list[WriteResult]:
        if len(records) > self.batch_size:
            raise RequestError(
                f"a batch of {len(records)} records is over the limit of {self.batch_size}",
                service=self.name,
            )
        with self._lock:
            self.batches.append(len(records))
            if self._failures:
                raise self._failures.pop(0)
            db = self._connection()
            results: list[WriteResult] = []
            seen: set[tuple[str, str]] = set()
            with db:  # one transaction: the whole batch or nothing
                for record in records:
                    results.append(self._write(db, record, seen))
            return results

    def quota(self) -> QuotaState | None:
        return None  # no quota: it is memory

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- reading what landed (for tests and the demo) ----------------------------------

    def records(self, crm_object: str | None = None) -> list[StoredRecord]:
        with self._lock:
            query = "SELECT * FROM records"
            args: tuple[Any, ...] = ()
            if crm_object is not None:
                query += " WHERE crm_object = ?"
                args = (crm_object,)
            rows = self._connection().execute(query + " ORDER BY crm_id", args).fetchall()
        return [
            StoredRecord(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6])
            for r in rows
        ]

    # -- plumbing ----------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RequestError("the adapter is closed", service=self.name)
        return self._db

    def _write(
        self, db: sqlite3.Connection, record: CrmRecord, seen: set[tuple[str, str]]
    ) -> WriteResult:
        def rejected(error_class: str, message: str) -> WriteResult:
            return WriteResult(
                record.object, record.external_id, WriteOutcome.REJECTED, None, error_class, message
            )

        key = (record.crm_object, record.external_id)
        if key in seen:
            return rejected("DUPLICATE_IN_BATCH", "the same external id twice in one batch")
        seen.add(key)
        for rule in self._rules:
            verdict = rule(record)
            if verdict is not None:
                return rejected(*verdict)
        values = json.dumps(record.values, sort_keys=True, default=str)
        links = json.dumps(
            [{"to": k.to, "value": k.value, "field": k.field} for k in record.links],
            sort_keys=True,
        )
        where = (record.crm_object, record.external_id_field, record.external_id)
        row = db.execute(
            "SELECT crm_id, record_values, links FROM records WHERE crm_object = ? AND "
            "external_id_field = ? AND external_id = ?",
            where,
        ).fetchone()
        if row is None:
            crm_id = f"mem-{self._next_id(db)}"
            db.execute(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, 1)",
                (*where, crm_id, values, links),
            )
            return WriteResult(record.object, record.external_id, WriteOutcome.CREATED, crm_id)
        crm_id, old_values, old_links = row
        if (old_values, old_links) == (values, links):
            return WriteResult(record.object, record.external_id, WriteOutcome.UNCHANGED, crm_id)
        db.execute(
            "UPDATE records SET record_values = ?, links = ?, writes = writes + 1 "
            "WHERE crm_object = ? AND external_id_field = ? AND external_id = ?",
            (values, links, *where),
        )
        return WriteResult(record.object, record.external_id, WriteOutcome.UPDATED, crm_id)

    @staticmethod
    def _next_id(db: sqlite3.Connection) -> int:
        db.execute("INSERT OR IGNORE INTO counters VALUES ('crm_id', 0)")
        db.execute("UPDATE counters SET value = value + 1 WHERE name = 'crm_id'")
        return int(db.execute("SELECT value FROM counters WHERE name = 'crm_id'").fetchone()[0])
