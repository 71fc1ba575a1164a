"""End to end over HTTP: Revont sandbox -> engine -> Salesforce adapter -> Salesforce
sandbox, with the shipped Salesforce mapping; and a resync large enough for Bulk API 2.0."""

from __future__ import annotations

import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from connector.engine import Destination, EngineOptions, SyncEngine
from connector.mapping import load_mapping, shipped_mappings
from connector.revont.models import parse_time
from connector.state import SqlStateStore


@pytest.fixture
def world(make_sandbox, make_client, make_salesforce, make_sf_adapter, tmp_path):
    revont = make_sandbox(calls=150, contacts=60, anchor=datetime.now(UTC))
    client = make_client(revont, page_size=50)
    sf = make_salesforce()
    adapter = make_sf_adapter(sf)
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    mapping = load_mapping(shipped_mappings()["salesforce"])

    def engine(**options) -> SyncEngine:
        dest = Destination("salesforce", adapter, mapping)
        return SyncEngine(client, store, {"salesforce": dest}, options=EngineOptions(**options))

    yield revont, sf, store, engine
    store.close()


def by_external_id(sf, sobject, field):
    found: dict[str, list[dict]] = {}
    for record in sf.org.records(sobject):
        if record.get(field):
            found.setdefault(record[field], []).append(record)
    return found


def assert_no_duplicates(sf):
    for sobject, field in [("Task", "Revont_Call_Id__c"), ("Task", "Revont_Action_Item_Id__c")]:
        assert [k for k, v in by_external_id(sf, sobject, field).items() if len(v) > 1] == []
    emails = Counter(
        (r.get("Email") or "").lower()
        for sobject in ("Contact", "Lead")
        for r in sf.org.records(sobject)
    )
    assert [e for e, n in emails.items() if e and n > 1] == []


def test_first_incremental_and_repeated_syncs_leave_one_current_copy(world):
    revont, sf, store, engine = world
    first = engine().run("salesforce")
    assert first.status == "succeeded", first.error
    assert_no_duplicates(sf)
    calls = revont.workspace.calls.by_id
    kept = {i for i, c in calls.items() if c.get("duration_seconds") is None
            or c["duration_seconds"] >= 10}  # fmt: skip
    tasks = by_external_id(sf, "Task", "Revont_Call_Id__c")
    assert set(tasks) == kept
    people = {r["Id"]: r for s in ("Contact", "Lead") for r in sf.org.records(s)}
    failures = store.failures(adapter="salesforce")
    refused = {str(f.payload["record"].get("Email", "")).lower() for f in failures}
    for call_id, [task] in tasks.items():
        prospect = (calls[call_id]["prospect_email"] or "").lower()
        if prospect and task["WhoId"]:
            assert people[task["WhoId"]]["Email"].lower() == prospect
        else:  # no prospect, or an address Salesforce refuses (then it is a failure)
            assert not prospect or " " in prospect or prospect in refused
        assert task["TaskSubtype"] == "Call" and task["Status"] == "Completed"

    # Later: a summary arrives, an item is completed, a call is added.
    pending = next(i for i in kept if calls[i]["_summary"] is None)
    revont.make_summary_ready(pending, "They want a pilot in January.")
    recent = datetime.now(UTC) - timedelta(days=5)
    item = next(
        i
        for c in kept
        if parse_time(calls[c]["created_at"]) > recent
        for i in calls[c]["_action_items"]
        if i["status"] == "open"
    )
    revont.complete_action_item(item["id"])
    new = revont.add_call(prospect_email="fresh.lead@acme.example", duration_seconds=300)
    second = engine(enrichment_first_check=timedelta(0), reconcile_every=timedelta(0)).run(
        "salesforce"
    )
    assert second.status == "succeeded", second.error
    assert_no_duplicates(sf)
    [task] = by_external_id(sf, "Task", "Revont_Call_Id__c")[pending]
    assert "pilot in January" in task["Description"]
    [done] = by_external_id(sf, "Task", "Revont_Action_Item_Id__c")[item["id"]]
    assert done["Status"] == "Completed"
    [fresh] = by_external_id(sf, "Task", "Revont_Call_Id__c")[new["id"]]
    lead = sf.org.get("Lead", fresh["WhoId"])
    assert lead["Email"] == "fresh.lead@acme.example" and lead["Company"] == "Acme"

    # Nothing changed: nothing is written.
    before = sf.log.count()
    third = engine().run("salesforce")
    assert third.status == "succeeded"
    assert third.counts["created"] == third.counts["updated"] == 0
    assert sf.log.count() == before  # no request at all
    assert_no_duplicates(sf)


MAPPING = """
version = 1
[objects.CallTask]
source = "calls"
crm_object = "Task"
external_id = "Revont_Call_Id__c"
[objects.CallTask.fields]
Subject = { template = "Call with {{ prospect_email or 'an unknown prospect' }}", transforms = [{ truncate = 255 }] }
ActivityDate = { path = "created_at", transforms = ["date"] }
Status = { value = "Completed" }
TaskSubtype = { value = "Call" }
CallDurationInSeconds = { path = "duration_seconds", transforms = ["to_int"] }
"""


def test_a_resync_of_5000_calls_goes_through_bulk(
    make_sandbox, make_client, make_salesforce, make_sf_adapter, tmp_path
):
    """5,000 call Tasks through Bulk API 2.0 cost at most 30 API calls, counted by the
    sandbox (page by page through Collections they would take 50)."""
    revont = make_sandbox(calls=5_000, contacts=10)
    client = make_client(revont, page_size=100)
    sf = make_salesforce()
    adapter = make_sf_adapter(sf)  # bulk_threshold 2,000: the engine gathers 2,000 rows
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    path = tmp_path / "calls.toml"
    path.write_text(textwrap.dedent(MAPPING))
    engine = SyncEngine(
        client, store, {"salesforce": Destination("salesforce", adapter, load_mapping(path))}
    )
    before = {k: v for k, v in sf.log.snapshot()["details"].items()}
    report = engine.resync("salesforce", streams=["calls"])
    assert report.status == "succeeded", report.error
    after = sf.log.snapshot()["details"]
    spent = {
        route: sum(after[route].values()) - sum(before.get(route, {}).values())
        for route in after
    }
    bulk = sum(n for route, n in spent.items() if "/jobs/ingest" in route)
    collections = sum(n for route, n in spent.items() if "composite/sobjects" in route)
    assert len(by_external_id(sf, "Task", "Revont_Call_Id__c")) == 5_000
    assert report.counts["created"] == 5_000
    # Two Bulk jobs of 2,000 rows; the last 1,000 (under the threshold) go through
    # Collections, which is cheaper for them (5 requests against a job's 6 or 7).
    assert bulk > 0 and bulk + collections <= 30
    print(f"5,000 call Tasks: {bulk} Bulk API calls, {collections} Collections requests")
    store.close()


def test_the_reserve_stops_a_run_cleanly_and_the_next_run_resumes(world):
    revont, sf, store, engine = world
    sf.set_api_usage(used=11_995, limit=15_000)  # 3,005 left; the reserve is 3,000
    [stopped] = engine().run_all(["salesforce"])
    assert stopped.status == "stopped"
    assert "daily_reserve" in (stopped.error or "")
    assert_no_duplicates(sf)
    sf.set_api_usage(used=0)  # the rolling 24 hours moved on
    [resumed] = engine().run_all(["salesforce"])
    assert resumed.status == "succeeded", resumed.error
    assert_no_duplicates(sf)
    kept = {
        i
        for i, c in revont.workspace.calls.by_id.items()
        if c.get("duration_seconds") is None or c["duration_seconds"] >= 10
    }
    assert set(by_external_id(sf, "Task", "Revont_Call_Id__c")) == kept


def test_transcripts_as_content_notes_when_configured(
    make_sandbox, make_client, make_salesforce, make_sf_adapter, tmp_path
):
    revont = make_sandbox(calls=60, contacts=20, anchor=datetime.now(UTC))
    client = make_client(revont, page_size=50)
    sf = make_salesforce()
    adapter = make_sf_adapter(sf)
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    mapping = load_mapping(shipped_mappings()["salesforce"], vars={"transcript_note": True})
    engine = SyncEngine(client, store, {"salesforce": Destination("salesforce", adapter, mapping)})
    assert engine.run("salesforce").status == "succeeded"
    tasks = by_external_id(sf, "Task", "Revont_Call_Id__c")
    notes = sf.org.records("ContentNote")
    ws = revont.workspace
    with_transcript = [c for c in tasks if ws.detail_view(ws.calls.by_id[c]).get("transcript")]
    assert len(notes) == len(with_transcript) > 0
    linked = {r["LinkedEntityId"] for r in sf.org.records("ContentDocumentLink")}
    assert linked <= {t["Id"] for [t] in tasks.values()}
    # Run again, and resync everything: still one note per call.
    engine.run("salesforce")
    engine.resync("salesforce", force=True)
    assert len(sf.org.records("ContentNote")) == len(notes)
    store.close()
