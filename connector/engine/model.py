"""The sync engine's value types: options, destinations, run reports, checkpoints."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from adapters.base import CrmRecord, CrmWriter
from connector.mapping import Mapping
from connector.state import IdMapEntry, StreamState

STREAMS = ("contacts", "calls")


@dataclass(frozen=True)
class EngineOptions:
    """How the engine paces its windows and retries (from the configuration, via wiring)."""

    #: Windows start this long before the watermark, for late-indexed records.
    lag: timedelta = timedelta(minutes=5)
    #: The first run syncs records created since then (None: everything).
    since: datetime | None = None
    #: How long a pending summary is waited for before the call is reported.
    enrichment_deadline: timedelta = timedelta(hours=6)
    #: A pending summary is checked this long after the call was pushed, then at doubling
    #: intervals (summaries typically take about two minutes).
    enrichment_first_check: timedelta = timedelta(minutes=2)
    reconcile_lookback: timedelta = timedelta(days=7)
    reconcile_every: timedelta = timedelta(hours=6)
    #: Attempts per batch write on transient CRM errors.
    write_attempts: int = 4
    lease_ttl: timedelta = timedelta(minutes=15)


@dataclass
class Destination:
    """An enabled adapter: where records go, and the mapping that shapes them."""

    name: str
    writer: CrmWriter
    mapping: Mapping

    def prepare(self) -> None:
        """Tell an adapter with a ``prepare`` capability the mapping's objects (name ->
        (CRM object, external-id field)) before each run's first write. It may refuse
        (e.g. the CRM lacks the id fields) with a CrmSetupError; it caches what it
        checked, and forgets what it knew of quotas that may have reset since."""
        prepare = getattr(self.writer, "prepare", None)
        if prepare is not None:
            prepare(
                {o.name: (o.crm_object, o.external_id_field) for o in self.mapping.objects.values()}
            )


@dataclass
class RunReport:
    run_id: int
    adapter: str
    status: str  # succeeded | failed | refused (another process holds the lease)
    counts: Counter[str]
    requests: dict[str, int]
    error: str | None = None
    exception: BaseException | None = field(default=None, repr=False)


@dataclass
class ActiveRun:
    """One adapter's run in progress."""

    name: str
    dest: Destination
    run_id: int
    started: datetime
    revont_before: int
    #: The adapter's own request counter at the start (adapters that count requests).
    crm_before: int | None = None
    counts: Counter[str] = field(default_factory=Counter)
    states: dict[str, StreamState] = field(default_factory=dict)
    exception: BaseException | None = None


@dataclass
class Checkpoint:
    """Everything one page changes, committed in one transaction."""

    ids: list[IdMapEntry] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[tuple[str, str]] = field(default_factory=list)
    awaiting: list[str] = field(default_factory=list)  # summary pending
    watching: list[tuple[str, datetime]] = field(default_factory=list)  # open action items
    enriched: list[str] = field(default_factory=list)  # nothing more to wait for
    #: Records mapped but not written yet (record, payload fingerprint, source id), when
    #: the engine gathers several pages into one write for an adapter with a bulk API.
    pending: list[tuple[CrmRecord, str, str | None]] = field(default_factory=list)

    def fail(
        self,
        stream: str,
        obj: str,
        record_id: str,
        error_class: str,
        message: str,
        record: Any,
        source_id: str | None,
    ) -> None:
        """Park ``record_id`` of ``obj``; ``source_id`` is the Revont record to fetch again
        when the failure is retried (a call for its tasks, a contact for itself)."""
        self.failures.append(
            {
                "stream": stream,
                "object": obj,
                "record_id": record_id,
                "error_class": error_class,
                "message": message,
                "payload": {"source_id": source_id, "record": record},
            }
        )


def fingerprint(data: Any) -> str:
    """A stable digest of JSON-like data (key order does not matter)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
