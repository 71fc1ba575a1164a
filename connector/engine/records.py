"""The record path of the sync engine: a page of Revont records in, CRM writes out.

For each record: an unchanged list fingerprint (and no summary awaited) means
nothing to do; otherwise the call's detail is fetched (once per page, however
many adapters need it, and only when the mapping reads detail fields), the
mapping applied, and each mapped record written in batches unless its payload
fingerprint equals the last one pushed. What a page changes (id map,
fingerprints, failures, late-artifact queue, stream state) is collected in a
:class:`Checkpoint` and committed in one transaction after the adapter
acknowledged the writes.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from adapters.base import CrmRecord, RecordLink, WriteOutcome, WriteResult
from connector.engine.model import Checkpoint, Destination, EngineOptions, fingerprint
from connector.errors import MalformedRecordError, NotFoundError, RetryableError
from connector.mapping import FailedRecord, MappedRecord, SkippedRecord
from connector.quota import Clock
from connector.revont.client import RevontSource
from connector.revont.models import parse_time
from connector.state import IdMapEntry, SqlStateStore, StateTransaction, StreamState


class RecordPath:
    """Processes pages of records for one engine (see the module docstring)."""

    def __init__(
        self,
        client: RevontSource,
        store: SqlStateStore,
        options: EngineOptions,
        clock: Clock,
    ) -> None:
        self.client = client
        self.store = store
        self.options = options
        self.clock = clock
        #: CRM requests per adapter in the current run.
        self.writes: dict[str, int] = {}

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)

    def process(
        self,
        dest: Destination,
        stream: str,
        items: list[Any],
        invalid: list[Any],
        counts: Counter[str],
        *,
        awaited: frozenset[str] = frozenset(),
        remap: bool = False,
        force: bool = False,
        details: dict[str, Any] | None = None,
        defer: bool = False,
    ) -> Checkpoint:
        """Push a page. ``remap`` maps every record even if its list entry is unchanged
        (a resync after a mapping change); ``force`` writes even unchanged payloads;
        ``defer`` leaves the writes in the checkpoint's ``pending`` for :meth:`flush`."""
        cp = Checkpoint()
        counts["pulled"] += len(items) + len(invalid)
        for bad in invalid:
            cp.fail(
                stream, stream, bad.id or "(no id)", "MalformedRecord", bad.error, bad.raw, bad.id
            )
            counts["failed"] += 1
        unique = list({item.id: item for item in items}.values())
        known = self.store.source_fingerprints(dest.name, stream, [i.id for i in unique])
        if stream == "calls" and not awaited:
            awaited = frozenset(a.call_id for a in self.store.awaiting_enrichment(dest.name))
        records = []
        for item in unique:
            raw = item.raw()
            print_ = fingerprint(raw)
            if not remap and known.get(item.id) == print_ and item.id not in awaited:
                counts["unchanged"] += 1
                continue
            if stream == "calls" and dest.mapping.needs_call_detail:
                try:
                    raw = self.detail(item.id, details)
                except NotFoundError:
                    counts["gone"] += 1  # deleted (retention) between the list and now
                    continue
                except MalformedRecordError as exc:
                    cp.fail(stream, stream, item.id, type(exc).__name__, str(exc), exc.raw, item.id)
                    counts["failed"] += 1
                    cp.sources[item.id] = print_  # parked as a failure, retried from there
                    continue
            # Remembered only once the record is in hand: a passing 404 on its detail must
            # not make it look synced.
            cp.sources[item.id] = print_
            records.append(raw)
        self.push(dest, stream, records, cp, counts, force=force, defer=defer)
        return cp

    def detail(self, call_id: str, cache: dict[str, Any] | None) -> dict[str, Any]:
        """A call's detail, fetched once per page however many adapters need it."""
        if cache is None:
            return self.client.get_call(call_id).raw()
        if call_id not in cache:
            try:
                cache[call_id] = self.client.get_call(call_id).raw()
            except (NotFoundError, MalformedRecordError) as exc:
                cache[call_id] = exc
        found = cache[call_id]
        if isinstance(found, Exception):
            raise found
        return dict(found)

    def push(
        self,
        dest: Destination,
        stream: str,
        records: list[dict[str, Any]],
        cp: Checkpoint,
        counts: Counter[str],
        *,
        force: bool = False,
        defer: bool = False,
    ) -> None:
        mapping, mapped = dest.mapping, []
        reads_items = "action_items" in mapping.reads.get("calls", frozenset())
        for raw in records:
            outcomes = mapping.map_call(raw) if stream == "calls" else mapping.map_contact(raw)
            for outcome in outcomes:
                if isinstance(outcome, MappedRecord):
                    mapped.append(outcome)
                elif isinstance(outcome, SkippedRecord):
                    counts["skipped"] += 1
                elif isinstance(outcome, FailedRecord):
                    cp.fail(
                        stream,
                        outcome.object,
                        outcome.source_id or str(raw.get("id")),
                        "MappingError",
                        outcome.reason,
                        raw,
                        str(raw.get("id")),
                    )
                    counts["failed"] += 1
            if stream == "calls" and mapping.needs_call_detail:
                self.note_late_artifacts(raw, cp, reads_action_items=reads_items)
        present = {m.object for m in mapped}
        for obj in (o for o in mapping.objects if o in present):  # mapping order: targets first
            group = [m for m in mapped if m.object == obj]
            stored = self.store.ids(dest.name, obj, [m.external_id for m in group])
            for m in group:
                payload_print = fingerprint([m.values, [(k.to, k.value) for k in m.links]])
                previous = stored.get(m.external_id)
                if not force and previous is not None and previous.fingerprint == payload_print:
                    counts["unchanged"] += 1
                    cp.resolved.append((m.object, m.external_id))
                    continue
                record = CrmRecord(
                    m.object,
                    m.crm_object,
                    m.external_id_field,
                    m.external_id,
                    m.values,
                    tuple(RecordLink(k.to, k.value, k.field) for k in m.links),
                    previous.crm_id if previous else None,
                )
                cp.pending.append((record, payload_print, m.source_id))
        if not defer:
            self.flush(dest, stream, [cp], counts)

    def flush(
        self, dest: Destination, stream: str, cps: list[Checkpoint], counts: Counter[str]
    ) -> None:
        """Write the pending records of ``cps`` (one page's, or several gathered for a bulk
        API) in batches of one object type each, and settle each result into the
        checkpoint of its page."""
        owner: dict[tuple[str, str], list[Checkpoint]] = {}
        latest: dict[tuple[str, str], tuple[CrmRecord, str, str | None]] = {}
        for cp in cps:
            for item in cp.pending:
                # The same record on two pages: written once, as the later page has it.
                owner.setdefault(item[0].key, []).append(cp)
                latest[item[0].key] = item
            cp.pending = []
        pending = list(latest.values())
        size = max(1, dest.writer.batch_size)
        for batch in _batches(pending, size, list(dest.mapping.objects)):
            results = {r.key: r for r in self.write(dest, [b[0] for b in batch])}
            for record, payload_print, source_id in batch:
                result = results.get(record.key)
                for cp in owner[record.key]:
                    if result is None or result.outcome == WriteOutcome.REJECTED:
                        error_class = (result.error_class if result else None) or "NoResult"
                        message = (result.message if result else None) or "no result"
                        cp.fail(
                            stream,
                            record.object,
                            record.external_id,
                            error_class,
                            message,
                            record.values,
                            source_id,
                        )
                        counts["failed"] += 1
                        continue
                    self.settle(dest, record, payload_print, result, cp, counts)

    def note_late_artifacts(
        self, raw: dict[str, Any], cp: Checkpoint, *, reads_action_items: bool
    ) -> None:
        """Remember a call whose summary is pending (checked every run) or, when the
        mapping reads action items, any recent call (checked on the reconciliation
        cadence within the look-back): only a call's detail shows an item added or
        completed, and its list entry does not change when that happens."""
        call_id = str(raw["id"])
        summary = raw.get("summary")
        if not (isinstance(summary, dict) and summary.get("status") == "ready"):
            cp.awaiting.append(call_id)
        elif reads_action_items:
            try:
                created = parse_time(str(raw.get("created_at")))
            except ValueError:
                created = self.now()
            cp.watching.append((call_id, created + self.options.reconcile_lookback))
        else:
            cp.enriched.append(call_id)

    def settle(
        self,
        dest: Destination,
        record: CrmRecord,
        payload_print: str,
        result: WriteResult,
        cp: Checkpoint,
        counts: Counter[str],
    ) -> None:
        cp.ids.append(
            IdMapEntry(
                dest.name,
                record.object,
                record.external_id,
                result.crm_id,
                payload_print,
                self.now(),
            )
        )
        cp.resolved.append((record.object, record.external_id))
        counts[result.outcome.value] += 1

    def write(self, dest: Destination, records: list[CrmRecord]) -> list[WriteResult]:
        """One batch, retried in place on transient errors; the adapter writes idempotently."""
        retrying = Retrying(
            stop=stop_after_attempt(self.options.write_attempts),
            wait=wait_exponential(multiplier=0.5, max=30),
            retry=retry_if_exception_type(RetryableError),
            sleep=self.clock.sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.writes[dest.name] = self.writes.get(dest.name, 0) + 1
                return dest.writer.upsert(records)
        raise AssertionError("unreachable")  # pragma: no cover

    def commit(
        self, dest: Destination, stream: str, cp: Checkpoint, state: StreamState | None
    ) -> None:
        now = self.now()
        with self.store.transaction() as tx:
            self.apply(tx, dest.name, stream, cp, now)
            if state is not None:
                tx.put_stream(state, now)

    def apply(
        self, tx: StateTransaction, adapter: str, stream: str, cp: Checkpoint, now: datetime
    ) -> None:
        tx.put_ids(cp.ids)
        tx.put_source_fingerprints(adapter, stream, cp.sources, now)
        failed = {(f["object"], f["record_id"]) for f in cp.failures}
        if cp.resolved and tx.has_pending_failures(adapter):
            for obj, record_id in cp.resolved:
                if (obj, record_id) not in failed:
                    tx.resolve_failure(adapter, obj, record_id)
        for failure in cp.failures:
            tx.record_failure(adapter=adapter, now=now, **failure)
        for call_id in cp.awaiting:
            tx.await_enrichment(adapter, call_id, now, now + self.options.enrichment_deadline)
        for call_id, until in cp.watching:
            tx.await_enrichment(adapter, call_id, now, until, "action_items")
        for call_id in cp.enriched:
            tx.enriched(adapter, call_id)


def _batches(
    pending: list[tuple[CrmRecord, str, str | None]], size: int, order: list[str]
) -> list[list[tuple[CrmRecord, str, str | None]]]:
    """Batches of at most ``size`` records, one object type each (in mapping order), so
    each batch is one bulk request in the CRM: 130 calls and 70 tasks are written as
    100 + 30 calls and 70 tasks, not as 100 calls and 30 calls + 70 tasks."""
    by_object: dict[str, list[tuple[CrmRecord, str, str | None]]] = {o: [] for o in order}
    for item in pending:
        by_object.setdefault(item[0].object, []).append(item)
    return [
        group[start : start + size]
        for group in by_object.values()
        for start in range(0, len(group), size)
    ]
