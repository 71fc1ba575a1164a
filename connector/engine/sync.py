"""The sync engine: Revont pages in, idempotent CRM writes out, state checkpointed per page.

How a run of one adapter goes (``shared/revont-api.md`` explains why):

1. **Lease.** ``sync:<adapter>`` in the state store: never two runs of one
   adapter at once, across processes and hosts.
2. **Windows, per stream (contacts, then calls, so links resolve).** Revont
   lists newest first and has no "updated since", so each stream works through
   a creation-time *window* with a fixed ``to``: from the watermark minus a lag
   (windows overlap; records are told apart by id) up to the run's start. The
   window and its resume cursor are stored before the first page; a crash
   resumes the same window from the stored cursor. The watermark moves to the
   window's ``to`` only when its last page is pushed.
3. **Pages.** For each record: a list fingerprint unchanged since the last
   sync (and no summary awaited) means nothing to do, no detail request and
   no write. Otherwise the call's detail is fetched (only when the mapping
   reads detail fields), the mapping applied, and each mapped record written
   unless its payload fingerprint equals the last one pushed. The adapter's
   per-record results, the id map, fingerprints, failures and the cursor are
   committed in one transaction after the adapter acknowledged the page.
4. **Enrichment.** Calls pushed while their summary was pending are fetched
   again on later runs until it is ready, or reported as failures at the
   deadline.
5. **Reconciliation.** On its cadence, calls with open action items (within
   the look-back) are fetched again, since only a call's detail shows an item
   added or completed; then the look-back window of calls is listed again and
   only calls whose list fields changed are fetched and pushed. (Webhooks,
   issue #7, bring such changes sooner.)

Records the mapping or the CRM refuses become failures (with error class,
message and payload) and never block the cursor. Transient errors are
retried in place; when retries run out the run ends, and the state stays at
the last checkpoint. The engine is handed everything it uses (Revont client,
destinations, state store, clock) and reads no configuration.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from connector.engine.model import (
    STREAMS,
    ActiveRun,
    Checkpoint,
    Destination,
    EngineOptions,
    RunReport,
)
from connector.engine.records import RecordPath
from connector.errors import (
    InvalidCursorError,
    LeaseHeldError,
    MalformedRecordError,
    NotFoundError,
    QuotaExhaustedError,
    StopRequestedError,
)
from connector.logs import log_context
from connector.quota import Clock, SystemClock
from connector.revont.client import RevontSource
from connector.revont.pagination import Page
from connector.state import SqlStateStore, StreamState

log = logging.getLogger(__name__)


def _is_dead_local_process(owner: str) -> bool:
    """True when ``owner`` (host:pid:nonce) names a process of this host that is gone,
    such as a killed sync: its lease need not be waited out."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class SyncEngine:
    def __init__(
        self,
        client: RevontSource,
        store: SqlStateStore,
        destinations: dict[str, Destination],
        *,
        clock: Clock | None = None,
        options: EngineOptions | None = None,
        owner: str | None = None,
        progress: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.destinations = destinations
        self.clock = clock or SystemClock()
        self.options = options or EngineOptions()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.records = RecordPath(client, store, self.options, self.clock)
        #: Told (adapter, stream, records) after each page is committed: progress bars, logs.
        self.progress = progress or (lambda adapter, stream, n: None)
        #: Set (by a signal handler) to stop runs at the next page boundary, checkpointed.
        self.stop_requested = threading.Event()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)

    # -- runs --------------------------------------------------------------------------

    def run(
        self, adapter: str, *, trigger: str = "manual", streams: Iterable[str] = STREAMS
    ) -> RunReport:
        """One incremental run of ``adapter``; raises what stopped it, after recording it."""
        [report] = self.run_all([adapter], trigger=trigger, streams=streams)
        if report.exception is not None:
            raise report.exception
        return report

    def run_all(
        self,
        adapters: Iterable[str] | None = None,
        *,
        trigger: str = "manual",
        streams: Iterable[str] = STREAMS,
    ) -> list[RunReport]:
        """One incremental run of each adapter (default: all), pulling pages once for the
        adapters whose windows coincide (as they do once they have run together).

        Each adapter keeps its own state, lease, run record and failures; one adapter's
        failure stops that adapter only. Returns a report per adapter, never raises for
        an adapter's failure (see each report's ``exception``)."""
        streams = tuple(streams)
        runs: list[ActiveRun] = []
        refused: list[RunReport] = []
        for name in adapters or list(self.destinations):
            try:
                run = self._begin(name, trigger)
            except LeaseHeldError as exc:
                refused.append(RunReport(0, name, "refused", Counter(), {}, str(exc), exc))
                continue
            runs.append(run)
            try:
                run.dest.prepare()
            except Exception as exc:  # e.g. the CRM lacks the id fields: this adapter stops
                run.exception = exc
        now = self.now()
        for stream in streams:
            groups: dict[tuple[Any, ...], list[ActiveRun]] = {}
            for run in runs:
                if run.exception is None and self.stop_requested.is_set():
                    run.exception = StopRequestedError("asked to stop before " + stream)
                if run.exception is None:
                    state = self._open_window(run, stream, now)
                    key = (state.window_from, state.window_to, state.window_cursor)
                    groups.setdefault(key, []).append(run)
            for members in groups.values():
                self._sync_group(stream, members, runs)
        for run in runs:
            if run.exception is None and self.stop_requested.is_set():
                run.exception = StopRequestedError("asked to stop before enrichment")
            if run.exception is None:
                try:
                    with log_context(run.name, run.run_id):
                        if "calls" in streams:
                            self._enrich(run.dest, run.started, run.counts)
                            self._reconcile(run.dest, run.counts)
                        self._retry_failures(run.dest, run.counts, now=run.started)
                except Exception as exc:
                    run.exception = exc
        return [self._finish(run, shared_by=len(runs)) for run in runs] + refused

    def resync(
        self,
        adapter: str,
        *,
        streams: Iterable[str] = STREAMS,
        since: datetime | None = None,
        until: datetime | None = None,
        force: bool = False,
    ) -> RunReport:
        """Map every record created in [since, until] (default: all) again and push what
        changed (everything with ``force``), without touching the incremental window or
        watermark: for after a mapping change. An interrupted resync is started again."""
        streams = tuple(streams)

        def work(run: ActiveRun) -> None:
            gather = _gather_rows(run.dest)
            for stream in streams:
                buffer: list[tuple[Checkpoint, StreamState | None]] = []
                for page in self._lister(stream)(since=since, until=until or run.started):
                    self._renew_lease(run.name)
                    cp = self.records.process(
                        run.dest,
                        stream,
                        page.items,
                        page.invalid,
                        run.counts,
                        remap=True,
                        force=force,
                        defer=gather > 0,
                    )
                    buffer.append((cp, None))
                    waiting = _gathered(buffer)
                    if waiting == 0 or waiting >= gather:
                        self._flush(run, stream, buffer)
                    self.progress(run.name, stream, len(page.items) + len(page.invalid))
                if buffer:
                    self._flush(run, stream, buffer)

        return self._leased(adapter, "resync", work)

    def sync_calls(self, adapter: str, call_ids: Iterable[str]) -> RunReport:
        """Push these calls now (a webhook said they changed), under the adapter's lease:
        each call's detail fetched once, mapped, written if its payload changed; the
        incremental window and watermark are not touched (polling stays the source of
        truth). Raises what stopped it, after recording it."""
        wanted = list(dict.fromkeys(call_ids))

        def work(run: ActiveRun) -> None:
            for call_id in wanted:
                self._renew_lease(run.name)
                cp = Checkpoint()
                try:
                    raw = self.client.get_call(call_id).raw()
                except NotFoundError:
                    run.counts["gone"] += 1
                    continue
                run.counts["pulled"] += 1
                self.records.push(run.dest, "calls", [raw], cp, run.counts)
                self.records.commit(run.dest, "calls", cp, None)

        return self._leased(adapter, "webhook", work)

    def retry_failures(self, adapter: str) -> RunReport:
        """Retry the adapter's pending failures now, whatever their backoff says."""
        return self._leased(
            adapter, "manual", lambda run: self._retry_failures(run.dest, run.counts, now=None)
        )

    def _leased(self, adapter: str, trigger: str, work: Callable[[ActiveRun], None]) -> RunReport:
        """Run ``work`` under the adapter's lease, recorded in the run history; raises what
        stopped it, after recording it."""
        run = self._begin(adapter, trigger)
        try:
            with log_context(run.name, run.run_id):
                run.dest.prepare()
                work(run)
        except Exception as exc:
            run.exception = exc
        report = self._finish(run)
        if report.exception is not None:
            raise report.exception
        return report

    def _begin(self, adapter: str, trigger: str) -> ActiveRun:
        """Take the adapter's lease (from a dead local holder too) and open its run record."""
        lease = f"sync:{adapter}"
        holder = self.store.acquire_lease(
            lease, self.owner, now=self.now(), ttl=self.options.lease_ttl
        )
        if holder is not None and not (
            _is_dead_local_process(holder.owner)
            and self.store.take_over_lease(
                lease, holder.owner, self.owner, now=self.now(), ttl=self.options.lease_ttl
            )
        ):
            raise LeaseHeldError(adapter, holder.owner, holder.expires_at)
        started = self.now()
        run_id = self.store.start_run(adapter, trigger, started)
        self.records.writes[adapter] = 0
        return ActiveRun(
            adapter,
            self.destinations[adapter],
            run_id,
            started,
            revont_before=self.client.stats.total,
            crm_before=getattr(self.destinations[adapter].writer, "requests", None),
        )

    def _finish(self, run: ActiveRun, *, shared_by: int = 1) -> RunReport:
        crm_now = getattr(run.dest.writer, "requests", None)
        requests = {
            "revont": self.client.stats.total - run.revont_before,
            # The adapter's own HTTP count when it keeps one; else its batch writes.
            run.name: (
                crm_now - run.crm_before
                if crm_now is not None and run.crm_before is not None
                else self.records.writes.get(run.name, 0)
            ),
        }
        if shared_by > 1:
            requests["revont_shared_by"] = shared_by  # Revont pages served several adapters
        error = (
            None if run.exception is None else (f"{type(run.exception).__name__}: {run.exception}")
        )
        if run.exception is None:
            status = "succeeded"
        elif isinstance(run.exception, QuotaExhaustedError | StopRequestedError):
            status = "stopped"  # cleanly (a quota, a shutdown): state intact, next run resumes
        else:
            status = "failed"
        self.store.finish_run(
            run.run_id,
            status=status,
            now=self.now(),
            counts=dict(run.counts),
            requests=requests,
            error=error,
        )
        self.store.release_lease(f"sync:{run.name}", self.owner)
        return RunReport(run.run_id, run.name, status, run.counts, requests, error, run.exception)

    def _renew_lease(self, adapter: str) -> None:
        """Keep the lease while a long run works (it would expire after lease_ttl)."""
        holder = self.store.acquire_lease(
            f"sync:{adapter}", self.owner, now=self.now(), ttl=self.options.lease_ttl
        )
        if holder is not None:  # someone took an expired lease: stop before writing more
            raise LeaseHeldError(adapter, holder.owner, holder.expires_at)

    def _lister(self, stream: str) -> Callable[..., Iterator[Page[Any]]]:
        """The Revont list a stream reads."""
        return self.client.iter_call_pages if stream == "calls" else self.client.iter_contact_pages

    # -- windows -----------------------------------------------------------------------

    def _open_window(self, run: ActiveRun, stream: str, now: datetime) -> StreamState:
        """The stream's window in progress, or a new one (stored before the first page)."""
        state = self.store.stream(run.name, stream)
        if state.window_to is None:
            start = state.watermark - self.options.lag if state.watermark else self.options.since
            state = replace(
                state, window_from=start, window_to=now, window_cursor=None, run_id=run.run_id
            )
            with self.store.transaction() as tx:
                tx.put_stream(state, self.now())
        run.states[stream] = state
        return state

    def _sync_group(self, stream: str, members: list[ActiveRun], everyone: list[ActiveRun]) -> None:
        """Walk one window for every member, each page pulled (and each call's detail
        fetched) once, each member checkpointed on its own."""
        lead = members[0].states[stream]
        # Pages processed but not yet written (adapters that gather rows for a bulk API).
        buffers: dict[str, list[tuple[Checkpoint, StreamState | None]]] = {
            r.name: [] for r in members
        }
        latest: dict[str, StreamState] = {}
        try:
            for items, invalid, lead_next in self._pages(stream, lead):
                details: dict[str, Any] = {}
                for other in everyone:  # adapters waiting for their group keep their leases
                    if other not in members and other.exception is None:
                        try:
                            self._renew_lease(other.name)
                        except LeaseHeldError as exc:
                            other.exception = exc
                for run in members:
                    if run.exception is not None:
                        continue
                    state = latest.get(run.name, run.states[stream])
                    after = replace(
                        state,
                        watermark=lead_next.watermark,
                        window_from=lead_next.window_from,
                        window_to=lead_next.window_to,
                        window_cursor=lead_next.window_cursor,
                    )
                    if after.window_to is None and state.watermark is None:
                        after = replace(after, reconciled_at=state.window_to)
                    with log_context(run.name, run.run_id):
                        try:
                            self._renew_lease(run.name)  # before writing, not after
                            gather = _gather_rows(run.dest)
                            cp = self.records.process(
                                run.dest,
                                stream,
                                items,
                                invalid,
                                run.counts,
                                details=details,
                                defer=gather > 0,
                            )
                            buffers[run.name].append((cp, after))
                            latest[run.name] = after
                            waiting = _gathered(buffers[run.name])
                            stopping = self.stop_requested.is_set()
                            if waiting == 0 or waiting >= gather or stopping:
                                self._flush(run, stream, buffers[run.name])
                            if stopping:
                                raise StopRequestedError(
                                    "asked to stop; the run stopped after checkpointing its page"
                                )
                        except Exception as exc:  # this adapter stops; the others go on
                            run.exception = exc
                            continue
                        self.progress(run.name, stream, len(items) + len(invalid))
                if all(run.exception is not None for run in members):
                    return
        except Exception as exc:  # Revont failed: every member of the group stops here
            for run in members:
                if run.exception is None and buffers[run.name]:
                    try:  # keep what the gathered pages paid for
                        self._flush(run, stream, buffers[run.name])
                    except Exception as flush_exc:
                        run.exception = flush_exc
                run.exception = run.exception or exc
            return
        for run in members:  # the window's end: write what was gathered
            if run.exception is None and buffers[run.name]:
                try:
                    self._flush(run, stream, buffers[run.name])
                except Exception as exc:
                    run.exception = exc

    def _flush(
        self, run: ActiveRun, stream: str, buffer: list[tuple[Checkpoint, StreamState | None]]
    ) -> None:
        """Write the gathered pages' records, then commit each page's checkpoint in order."""
        self.records.flush(run.dest, stream, [cp for cp, _ in buffer], run.counts)
        self._renew_lease(run.name)  # a long (bulk) write: still ours before committing
        for cp, after in buffer:
            self.records.commit(run.dest, stream, cp, after)
            if after is not None:
                run.states[stream] = after
        buffer.clear()

    def _pages(
        self, stream: str, state: StreamState
    ) -> Iterator[tuple[list[Any], list[Any], StreamState]]:
        """The window's pages, each with the stream state to store once it is pushed."""
        cursor = state.window_cursor
        while True:
            pages = self._lister(stream)(
                since=state.window_from, until=state.window_to, cursor=cursor
            )
            try:
                for page in pages:
                    if page.has_more:
                        after = replace(state, window_cursor=page.next_cursor)
                    else:  # the window is done: the watermark moves to its end
                        after = replace(
                            state,
                            watermark=state.window_to,
                            window_from=None,
                            window_to=None,
                            window_cursor=None,
                        )
                    yield page.items, page.invalid, after
                    state = after
                return
            except InvalidCursorError:
                if cursor is None:
                    raise
                log.warning("%s: the stored cursor expired; restarting the window", stream)
                cursor = None  # records seen again are recognised by their fingerprints

    # -- records -----------------------------------------------------------------------

    # -- failures, enrichment and reconciliation ----------------------------------------

    def _retry_failures(
        self, dest: Destination, counts: Counter[str], *, now: datetime | None
    ) -> None:
        """Fetch the Revont records behind due failures again and push them (with backoff:
        ``now`` None means every pending failure, for a retry by hand)."""
        due = self.store.failures(adapter=dest.name, due_at=now)
        sources: dict[tuple[str, str], list[int]] = {}
        for failure in due:
            payload = failure.payload if isinstance(failure.payload, dict) else {}
            source_id = payload.get("source_id") or failure.record_id
            sources.setdefault((failure.stream, str(source_id)), []).append(failure.id)
        for (stream, source_id), failure_ids in sources.items():
            self._renew_lease(dest.name)
            counts["retried"] += 1
            cp = Checkpoint()
            try:
                if stream == "calls":
                    raw = self.client.get_call(source_id).raw()
                else:
                    raw = self.client.get_contact(source_id).raw()
            except NotFoundError:
                self.store.set_failure_status(failure_ids, "gone", self.now())
                continue
            except MalformedRecordError as exc:
                cp.fail(stream, stream, source_id, type(exc).__name__, str(exc), exc.raw, source_id)
                self.records.commit(dest, stream, cp, None)
                continue
            cp.resolved.append((stream, source_id))  # the record itself now reads fine
            self.records.push(dest, stream, [raw], cp, counts, force=True)
            self.records.commit(dest, stream, cp, None)

    # -- enrichment and reconciliation -------------------------------------------------

    def _enrich(self, dest: Destination, run_started: datetime, counts: Counter[str]) -> None:
        """Fetch calls whose summary was pending (from earlier runs) again."""
        now = self.now()
        for awaited in self.store.awaiting_enrichment(dest.name, seen_before=run_started):
            self._renew_lease(dest.name)
            call_id, deadline = awaited.call_id, awaited.deadline_at
            due = awaited.first_seen_at + self.options.enrichment_first_check * (
                2**awaited.attempts
            )
            if now < due and now <= deadline:
                continue  # checked again later: a detail request per run would waste quota
            cp = Checkpoint()
            if now > deadline:
                cp.fail(
                    "calls",
                    "calls",
                    call_id,
                    "SummaryNotReady",
                    f"the summary was still pending at the deadline ({deadline})",
                    None,
                    call_id,
                )
                cp.enriched.append(call_id)
                counts["failed"] += 1
            else:
                try:
                    raw = self.client.get_call(call_id).raw()
                except NotFoundError:
                    cp.enriched.append(call_id)
                    counts["gone"] += 1
                else:
                    counts["enrichment_checked"] += 1
                    self.records.push(dest, "calls", [raw], cp, counts)
            self.records.commit(dest, "calls", cp, None)

    def _reconcile(self, dest: Destination, counts: Counter[str]) -> None:
        """Re-list the look-back window on its cadence; push only what changed."""
        state = self.store.stream(dest.name, "calls")
        now = self.now()
        due = state.reconciled_at is None or now - state.reconciled_at >= (
            self.options.reconcile_every
        )
        if not due:
            return
        counts["reconciled"] += 1
        # Calls with open action items: only their detail shows a new or completed item.
        for watched in self.store.awaiting_enrichment(
            dest.name, seen_before=now, reason="action_items"
        ):
            call_id, until = watched.call_id, watched.deadline_at
            self._renew_lease(dest.name)
            cp = Checkpoint()
            if now > until:
                cp.enriched.append(call_id)  # past the look-back: no longer watched
            else:
                try:
                    raw = self.client.get_call(call_id).raw()
                except NotFoundError:
                    cp.enriched.append(call_id)
                else:
                    counts["action_items_checked"] += 1
                    self.records.push(dest, "calls", [raw], cp, counts)
            self.records.commit(dest, "calls", cp, None)
        # Contacts have no update time either: edits show only by listing them again.
        for stream in ("contacts", "calls"):
            lister = self._lister(stream)
            for page in lister(since=now - self.options.reconcile_lookback, until=now):
                self._renew_lease(dest.name)
                cp = self.records.process(dest, stream, page.items, page.invalid, counts)
                self.records.commit(dest, stream, cp, None)
        state = self.store.stream(dest.name, "calls")
        with self.store.transaction() as tx:
            tx.put_stream(replace(state, reconciled_at=now), now)


def _gather_rows(dest: Destination) -> int:
    """How many records the adapter wants gathered across pages before a write (an
    adapter with a bulk API says so in ``gather_rows``); 0 writes every page at once."""
    return max(0, int(getattr(dest.writer, "gather_rows", 0) or 0))


def _gathered(buffer: list[tuple[Checkpoint, StreamState | None]]) -> int:
    """The most records of one object type waiting in ``buffer`` (a bulk job is per type)."""
    per_object: Counter[str] = Counter(r.object for cp, _ in buffer for r, _, _ in cp.pending)
    return max(per_object.values(), default=0)
