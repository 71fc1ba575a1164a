"""The state store, on SQLite always and on PostgreSQL where the environment provides one.

Every test runs against both backends. PostgreSQL tests read their server from
REVONT_SYNC_TEST_POSTGRES_URL (``.ci/run`` sets it to the machine's local
server); without it they skip, saying so.
"""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from connector.state import IdMapEntry, SqlStateStore, StreamState, failure_backoff
from tests.conftest import create_postgres_database, drop_postgres_database

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'revont-sync.db'}"
        return
    url, admin, name = create_postgres_database()
    yield url
    drop_postgres_database(admin, name)


@pytest.fixture
def store(url):
    s = SqlStateStore(url)
    yield s
    s.close()


def test_a_new_store_is_at_the_newest_schema(store, url):
    assert store.revision() == SqlStateStore.head_revision() == "0004"
    if url.startswith("sqlite"):
        path = make_url(url).database
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "the state file is private"


def test_upgrade_from_the_older_schema_keeps_the_data(url):
    old = SqlStateStore(url, migrate=False)
    old.upgrade("0001")
    assert old.revision() == "0001"
    with old.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO failures (adapter, stream, object, record_id, error_class, message, "
            "payload, attempts, status, first_failed_at, last_failed_at) VALUES ('hubspot', "
            "'calls', 'call', 'call_1', 'MappingError', 'bad', NULL, 2, 'pending', "
            "'2026-12-01T09:00:00.000000Z', '2026-12-01T09:05:00.000000Z')"
        ))
    old.close()
    store = SqlStateStore(url)  # migrates to the newest schema on open
    assert store.revision() == "0004"
    [failure] = store.failures()
    assert failure.record_id == "call_1" and failure.attempts == 2
    assert failure.next_attempt_at == T0 + timedelta(minutes=5)  # due at once
    store.close()


def test_stream_state_round_trip_and_atomic_checkpoints(store):
    assert store.stream("hubspot", "calls") == StreamState("hubspot", "calls")
    state = StreamState("hubspot", "calls", watermark=T0, window_from=T0,
                        window_to=T0 + timedelta(hours=1), window_cursor="cur_abc", run_id=3)
    with store.transaction() as tx:
        tx.put_stream(state, now=T0)
        tx.put_ids([IdMapEntry("hubspot", "call", "call_1", "901", "f1", T0)])
    assert store.stream("hubspot", "calls") == state
    # A checkpoint that fails halfway writes nothing.
    moved = StreamState("hubspot", "calls", watermark=T0 + timedelta(hours=1))
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put_stream(moved, now=T0)
        tx.put_ids([IdMapEntry("hubspot", "call", "call_2", "902", "f2", T0)])
        raise RuntimeError("the adapter did not acknowledge the page")
    assert store.stream("hubspot", "calls") == state
    assert set(store.ids("hubspot", "call", ["call_1", "call_2"])) == {"call_1"}


def test_id_map_updates_in_place_and_reads_in_chunks(store):
    entries = [IdMapEntry("sf", "Task", f"call_{i}", f"00T{i}", f"fp{i}", T0) for i in range(1200)]
    with store.transaction() as tx:
        tx.put_ids(entries)
        tx.put_ids([IdMapEntry("sf", "Task", "call_7", "00T7", "changed", T0 + timedelta(1))])
    found = store.ids("sf", "Task", [f"call_{i}" for i in range(1300)])
    assert len(found) == 1200
    assert found["call_7"].fingerprint == "changed" and found["call_7"].crm_id == "00T7"
    assert store.ids("other", "Task", ["call_7"]) == {}


def test_failures_count_attempts_back_off_and_can_be_handled(store):
    for attempt in range(3):
        with store.transaction() as tx:
            tx.record_failure(adapter="hubspot", stream="calls", object="call",
                              record_id="call_9", error_class="MappingError",
                              message=f"bad #{attempt}", payload={"id": "call_9"},
                              now=T0 + timedelta(hours=attempt))
    [failure] = store.failures(adapter="hubspot")
    assert failure.attempts == 3 and failure.message == "bad #2"
    assert failure.payload == {"id": "call_9"}
    assert failure.first_failed_at == T0
    assert failure.next_attempt_at == T0 + timedelta(hours=2) + failure_backoff(3)
    assert store.failures(due_at=T0 + timedelta(hours=2)) == []
    assert len(store.failures(due_at=failure.next_attempt_at)) == 1
    store.set_failure_status([failure.id], "discarded", now=T0)
    assert store.failures() == []
    assert store.failures(status="discarded")[0].id == failure.id
    store.set_failure_status([failure.id], "pending", now=T0)
    assert store.failures(due_at=T0)[0].id == failure.id  # retry by hand: due now
    with store.transaction() as tx:
        tx.resolve_failure("hubspot", "call", "call_9")
    assert store.failures() == []


def test_backoff_grows_and_is_capped():
    assert [failure_backoff(n) for n in (1, 2, 3)] == [
        timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert failure_backoff(30) == timedelta(days=1)


def test_run_history(store):
    first = store.start_run("hubspot", "manual", T0)
    second = store.start_run("salesforce", "schedule", T0 + timedelta(minutes=1))
    store.finish_run(first, status="succeeded", now=T0 + timedelta(minutes=2),
                     counts={"pulled": 10, "created": 4}, requests={"revont": 3, "hubspot": 2})
    runs = store.runs()
    assert [r.id for r in runs] == [second, first]
    done = runs[1]
    assert done.status == "succeeded" and done.counts == {"pulled": 10, "created": 4}
    assert done.requests["revont"] == 3 and done.ended_at == T0 + timedelta(minutes=2)
    assert store.runs(adapter="salesforce")[0].status == "running"


def test_source_fingerprints(store):
    with store.transaction() as tx:
        tx.put_source_fingerprints("hubspot", "calls", {"call_1": "a", "call_2": "b"}, T0)
        tx.put_source_fingerprints("hubspot", "calls", {"call_1": "c"}, T0)
    assert store.source_fingerprints("hubspot", "calls", ["call_1", "call_2", "call_3"]) == {
        "call_1": "c", "call_2": "b"}
    assert store.source_fingerprints("salesforce", "calls", ["call_1"]) == {}


def test_enrichment_queue(store):
    with store.transaction() as tx:
        tx.await_enrichment("hubspot", "call_1", T0, T0 + timedelta(hours=6))
        tx.await_enrichment("hubspot", "call_1", T0 + timedelta(minutes=5), T0)
    assert [(a.call_id, a.first_seen_at, a.deadline_at, a.attempts)
            for a in store.awaiting_enrichment("hubspot")] == [
        ("call_1", T0, T0 + timedelta(hours=6), 1)]
    assert store.awaiting_enrichment("hubspot", seen_before=T0) == []
    # The summary arrived, action items stay open: the call is watched for another reason.
    with store.transaction() as tx:
        tx.await_enrichment("hubspot", "call_1", T0, T0 + timedelta(days=7), "action_items")
    assert store.awaiting_enrichment("hubspot") == []
    [watched] = store.awaiting_enrichment("hubspot", reason="action_items")
    assert (watched.deadline_at, watched.attempts) == (T0 + timedelta(days=7), 0)
    with store.transaction() as tx:
        tx.enriched("hubspot", "call_1")
    assert store.awaiting_enrichment("hubspot", reason="action_items") == []


def test_leases_have_one_holder(store):
    ttl = timedelta(minutes=5)
    assert store.acquire_lease("sync:hubspot", "host-a:1", now=T0, ttl=ttl) is None
    held = store.acquire_lease("sync:hubspot", "host-b:2", now=T0, ttl=ttl)
    assert held is not None and held.owner == "host-a:1" and held.expires_at == T0 + ttl
    # The holder renews; after expiry anyone may take it.
    assert store.acquire_lease("sync:hubspot", "host-a:1", now=T0 + ttl / 2, ttl=ttl) is None
    assert store.acquire_lease("sync:hubspot", "host-b:2", now=T0 + ttl * 2, ttl=ttl) is None
    store.release_lease("sync:hubspot", "host-a:1")  # not the holder any more: no effect
    assert store.acquire_lease("sync:hubspot", "host-c:3", now=T0 + ttl * 2, ttl=ttl) is not None
    store.release_lease("sync:hubspot", "host-b:2")
    assert store.acquire_lease("sync:hubspot", "host-c:3", now=T0 + ttl * 2, ttl=ttl) is None


def test_concurrent_contenders_never_share_a_lease(url):
    """Twelve threads, each with its own engine (as separate processes would be)."""
    SqlStateStore(url).close()  # migrate once
    winners: list[str] = []
    barrier = threading.Barrier(12)

    def contend(n: int) -> None:
        store = SqlStateStore(url, migrate=False)
        try:
            barrier.wait()
            if store.acquire_lease("sync:x", f"worker-{n}", now=T0, ttl=timedelta(minutes=1)) \
                    is None:
                winners.append(f"worker-{n}")
        finally:
            store.close()

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_replicas_opening_a_fresh_postgresql_together_migrate_it_once(postgres_url):
    """Several processes starting at once on an empty database: one migrates, the others
    wait for it and find the schema current (none fails on the migration table)."""
    errors: list[BaseException] = []
    stores: list[SqlStateStore] = []

    def open_store() -> None:
        try:
            stores.append(SqlStateStore(postgres_url))
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert {s.revision() for s in stores} == {SqlStateStore.head_revision()}
    for store in stores:
        store.close()
