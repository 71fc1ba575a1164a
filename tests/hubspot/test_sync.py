"""End to end over HTTP: Revont sandbox -> engine -> HubSpot adapter -> HubSpot sandbox,
with the shipped HubSpot mapping."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from connector.engine import Destination, EngineOptions, SyncEngine
from connector.mapping import load_mapping, shipped_mappings
from connector.revont.models import parse_time
from connector.state import SqlStateStore


@pytest.fixture
def world(make_sandbox, make_client, make_hubspot, make_adapter, tmp_path):
    revont = make_sandbox(calls=200, contacts=150, anchor=datetime.now(UTC))
    client = make_client(revont, page_size=100)
    hs = make_hubspot()
    adapter = make_adapter(hs)
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    mapping = load_mapping(shipped_mappings()["hubspot"])

    def engine(**options) -> SyncEngine:
        dest = Destination("hubspot", adapter, mapping)
        return SyncEngine(client, store, {"hubspot": dest}, options=EngineOptions(**options))

    yield revont, hs, adapter, store, engine
    store.close()


def ids(hs, crm_object, prop):
    """Revont id -> HubSpot ids carrying it (more than one would be a duplicate)."""
    found: dict[str, list[str]] = {}
    for record in hs.portal.records(crm_object):
        value = record["properties"].get(prop)
        if value:
            found.setdefault(value, []).append(record["id"])
    return found


def assert_no_duplicates(hs):
    emails = Counter(c["properties"].get("email") for c in hs.portal.records("contacts"))
    assert [e for e, n in emails.items() if n > 1 and e] == []
    for crm_object, prop in [
        ("calls", "revont_call_id"),
        ("tasks", "revont_action_item_id"),
        ("notes", "revont_note_id"),
    ]:
        assert [k for k, v in ids(hs, crm_object, prop).items() if len(v) > 1] == []


def test_first_incremental_and_repeated_syncs_leave_one_current_copy(world):
    revont, hs, adapter, store, engine = world
    first = engine().run("hubspot")
    assert first.status == "succeeded"
    assert_no_duplicates(hs)
    calls = revont.workspace.calls.by_id
    written = ids(hs, "calls", "revont_call_id")
    kept = {i for i, c in calls.items() if c.get("duration_seconds") is None
            or c["duration_seconds"] >= 10}  # fmt: skip
    assert set(written) == kept
    items = {i["id"] for cid in kept for i in calls[cid]["_action_items"]}
    assert set(ids(hs, "tasks", "revont_action_item_id")) == items
    # Contacts HubSpot refuses (a quoted address with a space...) are failures, the rest land.
    failures = store.failures(adapter="hubspot")
    refused = {f.payload["record"]["email"] for f in failures if f.object == "contact"}
    assert {f.error_class for f in failures} <= {"INVALID_EMAIL"}
    contacts = revont.workspace.contacts.by_id.values()
    assert {c["email"].lower() for c in contacts if c["email"] not in refused} <= {
        c["properties"]["email"] for c in hs.portal.records("contacts")
    }
    # Every call with a prospect is associated with the contact of that email (unless
    # HubSpot refuses the address: then the call is logged without a contact).
    by_id = {c["id"]: c for c in hs.portal.records("contacts")}
    in_hubspot = {c["properties"]["email"] for c in by_id.values()}
    for call_id, [hubspot_id] in written.items():
        prospect = calls[call_id]["prospect_email"]
        linked = hs.portal.associations("calls", hubspot_id, "contacts")
        if prospect and prospect.lower() in in_hubspot:
            assert [by_id[c]["properties"]["email"] for c in linked] == [prospect.lower()]
        else:
            assert linked == []
            assert prospect is None or " " in prospect  # an address HubSpot refuses
    # A transcript longer than one note's 65,536 characters is split into several notes.
    notes = ids(hs, "notes", "revont_note_id")
    parts = Counter(key.split(":")[0] for key in notes)
    assert max(parts.values()) >= 2
    assert all(len(n["properties"]["hs_note_body"]) <= 65_536 for n in hs.portal.records("notes"))

    # A day later: a summary arrives, an item is completed, a call is added, one edited.
    pending = next(i for i in kept if calls[i]["_summary"] is None)
    revont.make_summary_ready(pending, "They want a pilot in January.")
    recent = datetime.now(UTC) - timedelta(days=5)  # within the reconciliation look-back
    item = next(
        i
        for c in kept
        if parse_time(calls[c]["created_at"]) > recent
        for i in calls[c]["_action_items"]
        if i["status"] == "open"
    )
    revont.complete_action_item(item["id"])
    new = revont.add_call(prospect_email="fresh.lead@example.com", duration_seconds=300)
    # (A day has passed: pending summaries are re-checked, recent calls reconciled.)
    second = engine(enrichment_first_check=timedelta(0), reconcile_every=timedelta(0)).run(
        "hubspot"
    )
    assert second.status == "succeeded"
    assert_no_duplicates(hs)
    [pending_hs] = ids(hs, "calls", "revont_call_id")[pending]
    assert "pilot in January" in hs.portal.get("calls", pending_hs)["properties"]["hs_call_body"]
    [item_hs] = ids(hs, "tasks", "revont_action_item_id")[item["id"]]
    assert hs.portal.get("tasks", item_hs)["properties"]["hs_task_status"] == "COMPLETED"
    [new_hs] = ids(hs, "calls", "revont_call_id")[new["id"]]
    [lead] = hs.portal.associations("calls", new_hs, "contacts")
    assert hs.portal.get("contacts", lead)["properties"]["email"] == "fresh.lead@example.com"

    # Nothing changed: the third run writes nothing at all.
    before = hs.log.count()
    third = engine().run("hubspot")
    assert third.status == "succeeded"
    assert third.counts["created"] == third.counts["updated"] == 0
    assert hs.log.count() == before
    assert_no_duplicates(hs)


def test_request_budget_of_a_first_sync(world):
    """N new calls with M contacts cost at most ⌈M/100⌉ + ⌈N/100⌉ + ⌈links/100⌉
    requests, plus the task and note batches (and their links), measured on the
    sandbox's counters."""
    revont, hs, adapter, store, engine = world
    before = hs.log.count()
    report = engine().run("hubspot")
    assert report.status == "succeeded"
    spent = hs.log.count() - before
    m = len(revont.workspace.contacts.by_id)
    n = len(revont.workspace.calls.by_id)
    written = ids(hs, "calls", "revont_call_id")
    links = sum(len(hs.portal.associations("calls", h, "contacts")) for [h] in written.values())
    pages = math.ceil(n / 100)

    def route(path: str) -> int:
        return hs.log.count(path)

    contact_upserts = route("POST /crm/v3/objects/contacts/batch/upsert")
    call_upserts = route("POST /crm/v3/objects/calls/batch/upsert")
    call_links = route("POST /crm/v4/associations/calls/contacts/batch/associate/default")
    # Unknown prospects are found or created by one upsert per page of calls.
    assert contact_upserts <= math.ceil(m / 100) + pages
    assert call_upserts == math.ceil(n / 100)
    assert call_links <= max(math.ceil(links / 100), pages)
    tasks_and_notes = sum(
        route(f"POST /crm/v3/objects/{t}/batch/upsert") for t in ("tasks", "notes")
    ) + sum(
        route(f"POST /crm/v4/associations/{a}/{b}/batch/associate/default")
        for a, b in [("tasks", "calls"), ("tasks", "contacts"), ("notes", "contacts")]
    )
    # Once per process, whether the portal has each pair's association type (4 pairs).
    pair_checks = sum(
        route(f"GET /crm/v4/associations/{a}/{b}/labels")
        for a, b in [("calls", "contacts"), ("tasks", "calls"), ("tasks", "contacts"),
                     ("notes", "contacts")]
    )  # fmt: skip
    assert pair_checks == 4
    # Nothing else: no reads (targets come from this run's own writes), no searches.
    assert spent == contact_upserts + call_upserts + call_links + tasks_and_notes + pair_checks
    assert route("POST /crm/v3/objects/{type}/batch/read") == 0
    # The run reports the HubSpot requests it made.
    assert report.requests["hubspot"] == spent
    print(f"{n} calls, {m} contacts, {links} call links: {spent} HubSpot requests")
