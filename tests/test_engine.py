"""The sync engine over HTTP against the Revont sandbox, into the in-memory CRM."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory import MemoryAdapter, MemoryConfig
from connector.engine import Destination, EngineOptions, SyncEngine
from connector.errors import LeaseHeldError, TransientError
from connector.mapping import load_mapping
from connector.sandbox import FaultRule
from connector.state import SqlStateStore

MAPPING = """
version = 1

[objects.contact]
source = "contacts"
external_id = "revont_contact_id"
[objects.contact.fields]
email = { path = "email", transforms = [{ email = "null" }] }
name = "name"

[objects.call]
source = "calls"
external_id = "revont_call_id"
links = [{ to = "contact", by = "prospect_email", transforms = [{ email = "null" }] }]
[objects.call.fields]
created = "created_at"
outcome = "outcome"
score = "coaching_score"
summary = { template = "{{ summary.text or 'pending' }}" }

[objects.task]
source = "action_items"
external_id = "revont_action_item_id"
[objects.task.fields]
text = { path = "text", default = "(none)" }
status = "status"
"""


@pytest.fixture
def world(make_sandbox, make_client, tmp_path):
    """A sandbox, a client, a SQLite state store, an in-memory CRM and an engine factory."""
    # Generated around now, so the newest calls fall inside the reconciliation look-back.
    sandbox = make_sandbox(calls=240, contacts=60, anchor=datetime.now(UTC))
    client = make_client(sandbox, page_size=25)
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    path = tmp_path / "mapping.toml"
    path.write_text(textwrap.dedent(MAPPING))
    crm = MemoryAdapter()

    def engine(**options) -> SyncEngine:
        dest = Destination("memory", crm, load_mapping(path))
        return SyncEngine(client, store, {"memory": dest}, options=EngineOptions(**options))

    yield sandbox, client, store, crm, engine
    store.close()


def landed(crm: MemoryAdapter, crm_object: str) -> dict[str, int]:
    """External id -> how many times the CRM record was written."""
    return {r.external_id: r.writes for r in crm.records(crm_object)}


def test_first_sync_lands_every_record_once(world):
    sandbox, client, store, crm, engine = world
    report = engine().run("memory")
    assert report.status == "succeeded"
    calls = sandbox.workspace.calls.by_id
    assert set(landed(crm, "call")) == set(calls)
    assert set(landed(crm, "contact")) == set(sandbox.workspace.contacts.by_id)
    items = {i["id"] for c in calls.values() for i in c["_action_items"]}
    assert set(landed(crm, "task")) == items
    assert all(n == 1 for n in landed(crm, "call").values())
    [run] = store.runs()
    assert run.status == "succeeded" and run.counts["created"] == len(crm.records())
    assert run.requests["revont"] == report.requests["revont"] > 0
    assert store.stream("memory", "calls").watermark is not None
    assert store.stream("memory", "calls").window_to is None


def test_a_run_with_nothing_new_is_nearly_free(world):
    sandbox, client, store, crm, engine = world
    engine().run("memory")
    before = sandbox.requests.snapshot()["routes"]
    writes = len(crm.batches)
    report = engine().run("memory")
    after = sandbox.requests.snapshot()["routes"]

    def delta(route):
        return sum(after.get(route, {}).values()) - sum(before.get(route, {}).values())

    assert delta("GET /calls") + delta("GET /contacts") <= 2
    # Pending summaries are not checked again yet (first check after two minutes).
    assert store.awaiting_enrichment("memory"), "the data has calls awaiting their summary"
    assert delta("GET /calls/{id}") == 0
    assert len(crm.batches) == writes, "no adapter writes"
    assert report.counts["created"] == report.counts["updated"] == 0


def test_changes_after_the_first_sync_push_exactly_those_records(world):
    sandbox, client, store, crm, engine = world
    engine().run("memory")
    ws = sandbox.workspace
    # Calls inside the 7-day reconciliation look-back: older edits wait for a resync.
    cutoff = (datetime.now(UTC) - timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = [c for c in ws.calls.by_id.values() if c["created_at"] >= cutoff]
    pending = next(c for c in recent if c["_summary"] is None)
    with_items = next(c for c in recent if c["_action_items"] and c is not pending)
    edited = next(c for c in recent if c not in (pending, with_items))
    item = next(i for i in with_items["_action_items"] if i["status"] == "open") if any(
        i["status"] == "open" for i in with_items["_action_items"]) else None
    sandbox.make_summary_ready(pending["id"], "Agreed on a pilot.")
    new_item = sandbox.add_action_item(with_items["id"], text="Send the contract")
    if item:
        sandbox.complete_action_item(item["id"])
    sandbox.update_call(edited["id"], outcome="won" if edited["outcome"] != "won" else "lost")
    before_calls, before_tasks = landed(crm, "call"), landed(crm, "task")

    report = engine(reconcile_every=timedelta(0),
                    enrichment_first_check=timedelta(0)).run("memory")

    calls, tasks = landed(crm, "call"), landed(crm, "task")
    changed_calls = {k for k in calls if calls[k] != before_calls.get(k)}
    changed_tasks = {k for k in tasks if tasks[k] != before_tasks.get(k)}
    assert changed_calls == {pending["id"], edited["id"]}
    assert changed_tasks == {new_item["id"]} | ({item["id"]} if item else set())
    assert report.counts["created"] == 1 and report.counts["updated"] == len(changed_calls) + (
        1 if item else 0)
    summary = next(r for r in crm.records("call") if r.external_id == pending["id"])
    assert summary.values["summary"] == "Agreed on a pilot."


def test_ties_and_overlapping_windows_push_nothing_twice(world):
    sandbox, client, store, crm, engine = world
    engine().run("memory")
    watermark = store.stream("memory", "calls").watermark
    second = watermark.strftime("%Y-%m-%dT%H:%M:%SZ")
    burst = [sandbox.add_call(created_at=second)["id"] for _ in range(60)]  # across pages
    engine().run("memory")
    more = [sandbox.add_call(created_at=second)["id"] for _ in range(5)]  # inside the lag
    engine().run("memory")
    calls = landed(crm, "call")
    assert set(burst + more) <= set(calls)
    assert all(calls[c] == 1 for c in burst + more), "each written once"
    assert len(calls) == len(sandbox.workspace.calls.by_id)


def test_a_malformed_call_fails_alone(world):
    sandbox, client, store, crm, engine = world
    bad = sandbox.add_call(coaching_score="excellent")
    huge = sandbox.add_call(_transcript_chars=300_000)
    engine().run("memory")
    [failure] = store.failures()
    assert failure.record_id == bad["id"] and "coaching_score" in failure.message
    assert failure.payload["source_id"] == bad["id"] == failure.payload["record"]["id"]
    calls = landed(crm, "call")
    assert bad["id"] not in calls and huge["id"] in calls
    assert len(calls) == len(sandbox.workspace.calls.by_id) - 1


def test_rejected_records_become_failures_and_do_not_block(world):
    sandbox, client, store, crm, engine = world
    victim = next(iter(sandbox.workspace.contacts.by_id))
    crm.reject_when(lambda r: ("INVALID_EMAIL", "Email is invalid")
                    if r.external_id == victim else None)
    engine().run("memory")
    [failure] = store.failures()
    assert failure.object == "contact" and failure.error_class == "INVALID_EMAIL"
    assert len(landed(crm, "contact")) == len(sandbox.workspace.contacts.by_id) - 1
    assert store.stream("memory", "contacts").watermark is not None


def test_a_crash_mid_window_resumes_without_loss_or_duplicates(world):
    """The CRM goes down after a few pages: the run fails, state stays at the last
    acknowledged page, and the next run finishes the same window."""
    sandbox, client, store, crm, engine = world
    real_upsert = crm.upsert
    calls_made = []

    def flaky(records):
        calls_made.append(len(records))
        if len(calls_made) == 6:
            crm.fail_next(10)  # more than the engine's attempts
        return real_upsert(records)

    crm.upsert = flaky  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        engine(write_attempts=2).run("memory")
    state = store.stream("memory", "calls")
    assert store.runs()[0].status == "failed"
    crm.upsert = real_upsert  # type: ignore[method-assign]
    crm._failures.clear()
    engine().run("memory")
    after = store.stream("memory", "calls")
    assert after.window_to is None and after.watermark is not None
    calls = landed(crm, "call")
    assert set(calls) == set(sandbox.workspace.calls.by_id)
    assert all(n == 1 for n in calls.values())
    assert state.window_to is not None or state.watermark is not None


def test_one_run_at_a_time(world):
    sandbox, client, store, crm, engine = world
    store.acquire_lease("sync:memory", "other-host:99", now=datetime.now(UTC),
                        ttl=timedelta(minutes=5))
    with pytest.raises(LeaseHeldError, match="other-host:99"):
        engine().run("memory")
    assert crm.records() == []


def test_a_summary_that_never_comes_is_reported_at_the_deadline(world):
    sandbox, client, store, crm, engine = world
    engine(enrichment_deadline=timedelta(0)).run("memory")  # pending summaries: due at once
    pending = {a.call_id for a in store.awaiting_enrichment("memory")}
    assert pending
    report = engine().run("memory")
    reported = {f.record_id for f in store.failures() if f.error_class == "SummaryNotReady"}
    assert reported == pending
    assert report.counts["failed"] == len(pending)
    assert store.awaiting_enrichment("memory") == []


def test_resync_keeps_the_watermark_and_force_pushes_again(world):
    sandbox, client, store, crm, engine = world
    engine().run("memory")
    state = store.stream("memory", "calls")
    before = landed(crm, "call")
    report = engine().resync("memory", streams=["calls"])
    assert report.counts["created"] == report.counts["updated"] == 0  # nothing changed
    assert store.stream("memory", "calls") == state
    report = engine().resync("memory", streams=["calls"], force=True)
    assert report.counts["unchanged"] >= len(before)  # written again; the CRM saw no change
    assert landed(crm, "call").keys() == before.keys()
    assert store.stream("memory", "calls") == state
    assert store.runs()[0].trigger == "resync"


def test_resync_of_a_range_after_fixing_a_mapping(world, tmp_path):
    """A changed mapping changes payloads: a resync pushes exactly the records in range."""
    sandbox, client, store, crm, engine = world
    engine().run("memory")
    calls = sorted(sandbox.workspace.calls.by_id.values(), key=lambda c: c["created_at"])
    since, until = calls[100]["created_at"], calls[119]["created_at"]
    path = tmp_path / "mapping.toml"
    path.write_text(path.read_text().replace('outcome = "outcome"',
                                             'outcome = { path = "outcome", default = "n/a" }'))
    report = engine().resync("memory", streams=["calls"],
                             since=datetime.fromisoformat(since), until=datetime.fromisoformat(until))
    in_range = {c["id"] for c in calls if since <= c["created_at"] <= until}
    changed = {c for c in in_range if sandbox.workspace.calls.by_id[c]["outcome"] is None}
    assert report.counts["updated"] == len(changed)


def test_failures_are_retried_with_backoff_and_by_hand(world):
    sandbox, client, store, crm, engine = world
    victim = next(iter(sandbox.workspace.contacts.by_id))
    crm.reject_when(lambda r: ("INVALID_EMAIL", "Email is invalid")
                    if r.external_id == victim else None)
    engine().run("memory")
    [failure] = store.failures()
    engine().run("memory")  # not due yet: a minute of backoff
    assert store.failures()[0].attempts == 1
    crm._rules.clear()  # the CRM accepts it now (say, after the user fixed the field)
    report = engine().retry_failures("memory")
    assert store.failures() == []
    assert victim in landed(crm, "contact")
    assert report.counts["retried"] == 1


def test_several_adapters_pull_shared_pages_once(make_sandbox, make_client, tmp_path):
    """Two adapters in one run: each gets everything, Revont is read as if for one."""
    sandbox = make_sandbox(calls=240, contacts=60, anchor=datetime.now(UTC))
    client = make_client(sandbox, page_size=25)
    path = tmp_path / "mapping.toml"
    path.write_text(textwrap.dedent(MAPPING))
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    crms = {"one": MemoryAdapter(), "two": MemoryAdapter()}
    engine = SyncEngine(client, store, {name: Destination(name, crm, load_mapping(path))
                                        for name, crm in crms.items()})

    alone = SyncEngine(make_client(sandbox, page_size=25), SqlStateStore(
        f"sqlite:///{tmp_path / 'alone.db'}"), {"solo": Destination("solo", MemoryAdapter(),
                                                                    load_mapping(path))})
    before = sandbox.requests.count()
    alone.run("solo")
    cost_of_one = sandbox.requests.count() - before

    before = sandbox.requests.count()
    reports = engine.run_all(["one", "two"])
    assert [r.status for r in reports] == ["succeeded", "succeeded"]
    assert sandbox.requests.count() - before == cost_of_one, "pages and details pulled once"
    for crm in crms.values():
        assert set(landed(crm, "call")) == set(sandbox.workspace.calls.by_id)
    assert reports[0].requests["revont_shared_by"] == 2

    sandbox.add_call()
    reports = engine.run_all()
    assert all(r.counts["created"] >= 1 for r in reports)
    for crm in crms.values():
        assert set(landed(crm, "call")) == set(sandbox.workspace.calls.by_id)
    store.close()


def test_one_adapter_failing_does_not_stop_the_other(make_sandbox, make_client, tmp_path):
    sandbox = make_sandbox(calls=120, contacts=30, anchor=datetime.now(UTC))
    client = make_client(sandbox, page_size=25)
    path = tmp_path / "mapping.toml"
    path.write_text(textwrap.dedent(MAPPING))
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    good, bad = MemoryAdapter(), MemoryAdapter()
    bad.fail_next(100)
    engine = SyncEngine(client, store, {
        "good": Destination("good", good, load_mapping(path)),
        "bad": Destination("bad", bad, load_mapping(path)),
    }, options=EngineOptions(write_attempts=2))
    reports = {r.adapter: r for r in engine.run_all()}
    assert reports["good"].status == "succeeded" and reports["bad"].status == "failed"
    assert isinstance(reports["bad"].exception, TransientError)
    assert set(landed(good, "call")) == set(sandbox.workspace.calls.by_id)
    assert bad.records() == []
    assert store.stream("bad", "contacts").window_to is not None  # failed there; resumes next
    store.close()


def test_an_action_item_added_after_the_summary_reaches_the_crm(world):
    """A ready call with no open items gets a new item: only its detail shows it, and
    reconciliation re-checks recent calls, so the task lands."""
    sandbox, client, store, crm, engine = world
    engine().run("memory")
    cutoff = (datetime.now(UTC) - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    quiet = next(c for c in sandbox.workspace.calls.by_id.values()
                 if c["created_at"] >= cutoff and c["_summary"] is not None
                 and all(i["status"] == "completed" for i in c["_action_items"]))
    item = sandbox.add_action_item(quiet["id"], text="Added by hand later")
    engine(reconcile_every=timedelta(0)).run("memory")
    assert item["id"] in landed(crm, "task")


def test_a_passing_404_on_a_detail_does_not_mark_the_call_synced(world):
    sandbox, client, store, crm, engine = world
    engine().run("memory")
    new = sandbox.add_call()
    sandbox.inject(FaultRule(kind="status", status=404, path=f"/calls/{new['id']}"))
    engine().run("memory")
    assert new["id"] not in landed(crm, "call")
    engine(reconcile_every=timedelta(0)).run("memory")  # the look-back lists it again
    assert new["id"] in landed(crm, "call")


def test_an_edited_contact_is_caught_by_reconciliation(world):
    sandbox, client, store, crm, engine = world
    engine().run("memory")
    contact = max(sandbox.workspace.contacts.by_id.values(), key=lambda c: c["created_at"])
    with sandbox.workspace.lock:
        sandbox.workspace.contacts.by_id[contact["id"]]["name"] = "Renamed Person"
    engine(reconcile_every=timedelta(0)).run("memory")
    [record] = [r for r in crm.records("contact") if r.external_id == contact["id"]]
    assert record.values["name"] == "Renamed Person"


def gathering(make_sandbox, make_client, tmp_path, rows):
    """A sandbox, store, memory CRM asking for ``rows`` gathered, and an engine."""
    sandbox = make_sandbox(calls=240, contacts=60, anchor=datetime.now(UTC))
    client = make_client(sandbox, page_size=25, max_attempts=1)
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    path = tmp_path / "mapping.toml"
    path.write_text(textwrap.dedent(MAPPING))
    crm = MemoryAdapter(MemoryConfig(batch_size=5_000, gather_rows=rows))
    dest = Destination("memory", crm, load_mapping(path))
    return sandbox, store, crm, SyncEngine(client, store, {"memory": dest})


def test_pages_are_gathered_for_an_adapter_with_a_bulk_api(make_sandbox, make_client, tmp_path):
    """An adapter that asks for ``gather_rows`` gets several pages in one write; every
    record still lands once, and every page's checkpoint is committed."""
    sandbox, store, crm, engine = gathering(make_sandbox, make_client, tmp_path, 150)
    report = engine.run("memory")
    assert report.status == "succeeded"
    calls = sandbox.workspace.calls.by_id
    assert set(landed(crm, "call")) == set(calls)
    assert all(n == 1 for n in landed(crm, "call").values())
    # 240 calls in pages of 25 (and their tasks): a few batches of 150 and more, not one
    # small batch per page and object.
    assert max(crm.batches) >= 150 and len(crm.batches) <= 6
    assert store.stream("memory", "calls").window_to is None  # the window completed
    before = len(crm.batches)
    resync = engine.resync("memory", force=True)
    assert resync.status == "succeeded"
    assert max(crm.batches[before:]) >= 150
    assert resync.counts["unchanged"] >= len(calls)  # sent again; the CRM had them all
    assert all(n == 1 for n in landed(crm, "call").values())
    store.close()


def test_gathered_pages_are_kept_when_revont_fails_mid_window(
    make_sandbox, make_client, tmp_path
):
    """Revont fails after some gathered pages: they are written and committed before the
    run stops, so the next run starts after them."""
    sandbox, store, crm, engine = gathering(make_sandbox, make_client, tmp_path, 2_000)
    sandbox.inject(FaultRule(kind="status", status=500, path="/calls", skip=3, count=None))
    report = engine.run_all(["memory"])[0]
    assert report.status == "failed"
    assert len(landed(crm, "call")) == 75  # three pages of 25, written before stopping
    assert store.stream("memory", "calls").window_cursor is not None
    store.close()
