"""The HubSpot adapter's behaviour over HTTP, through the real SDK, against the sandbox."""

from __future__ import annotations

import pytest

from adapters.base import (
    CredentialsError,
    CrmRecord,
    CrmSetupError,
    QuotaExhaustedError,
    RecordLink,
    RequestError,
    TransientError,
    WriteOutcome,
)
from adapters.hubspot import HubSpotAdapter
from connector.sandbox import FaultRule
from tests.hubspot.conftest import SHIPPED_OBJECTS, hubspot_config

T0 = 1_764_000_000_000  # an hs_timestamp in epoch ms


def contact(n: int, email: str | None = None, **values) -> CrmRecord:
    return CrmRecord(
        "contact",
        "contacts",
        "revont_contact_id",
        f"contact_{n:04d}",
        {"email": email or f"person{n}@example.com", "firstname": f"P{n}", **values},
    )


def call(n: int, prospect: str | None = None, **values) -> CrmRecord:
    links = (RecordLink("contact", prospect),) if prospect else ()
    return CrmRecord(
        "call",
        "calls",
        "revont_call_id",
        f"call_{n:04d}",
        {"hs_timestamp": T0 + n, "hs_call_title": f"Call {n}", **values},
        links,
    )


def task(n: int, call_id: str, prospect: str | None = None) -> CrmRecord:
    links = [RecordLink("call", call_id)]
    if prospect:
        links.append(RecordLink("contact", prospect))
    return CrmRecord(
        "task",
        "tasks",
        "revont_action_item_id",
        f"ai_{n:04d}",
        {"hs_timestamp": T0, "hs_task_subject": f"Do {n}", "hs_task_status": "NOT_STARTED"},
        tuple(links),
    )


def by_key(results):
    return {r.key: r for r in results}


# -- setup ------------------------------------------------------------------------------------


def test_setup_creates_group_and_unique_properties_once(hs):
    adapter = HubSpotAdapter(hubspot_config(hs))
    with pytest.raises(CrmSetupError, match="revont-sync setup hubspot") as refused:
        adapter.prepare(SHIPPED_OBJECTS)
    assert "calls.revont_call_id" in str(refused.value)
    first = adapter.setup(SHIPPED_OBJECTS)
    assert {(s.kind, s.action) for s in first} == {("group", "created"), ("property", "created")}
    assert len([s for s in first if s.kind == "property"]) == 4
    again = adapter.setup(SHIPPED_OBJECTS)
    assert {s.action for s in again} == {"exists"}
    for crm_object, name in SHIPPED_OBJECTS.values():
        prop = hs.portal.property(crm_object, name)
        assert prop["hasUniqueValue"] and prop["groupName"] == "revont"
    adapter.prepare(SHIPPED_OBJECTS)  # now it passes, and is not checked again
    before = hs.log.count()
    adapter.prepare(SHIPPED_OBJECTS)
    assert hs.log.count() == before


def test_an_existing_property_without_unique_values_is_a_problem_not_a_silent_pass(hs):
    hs.portal.add_property("calls", "revont_call_id", type="string", field_type="text")
    adapter = HubSpotAdapter(hubspot_config(hs))
    steps = {s.name: s for s in adapter.setup(SHIPPED_OBJECTS)}
    assert steps["revont_call_id"].action == "problem"
    with pytest.raises(CrmSetupError, match="unique values"):
        adapter.prepare(SHIPPED_OBJECTS)


# -- contacts ---------------------------------------------------------------------------------


def test_contacts_match_hand_made_ones_by_email_case_insensitively(hs, make_adapter):
    existing = hs.portal.add_contact(email="Ann.Lee@Example.com", firstname="Ann")
    adapter = make_adapter(hs)
    results = by_key(adapter.upsert([contact(1, "ANN.LEE@example.COM"), contact(2)]))
    ann = results[("contact", "contact_0001")]
    assert ann.outcome == WriteOutcome.UPDATED and ann.crm_id == existing["id"]
    assert results[("contact", "contact_0002")].outcome == WriteOutcome.CREATED
    emails = sorted(c["properties"]["email"] for c in hs.portal.records("contacts"))
    assert emails == ["ann.lee@example.com", "person2@example.com"]
    assert hs.portal.get("contacts", existing["id"])["properties"]["revont_contact_id"] == (
        "contact_0001"
    )


def test_a_bad_contact_does_not_sink_its_batch(hs, make_adapter):
    adapter = make_adapter(hs)
    # Caught before sending: not an email address at all.
    records = [contact(n) for n in range(40)]
    records[7] = contact(7, "not-an-email")
    # Refused by HubSpot (a validation rule): the email-keyed batch fails whole and is
    # halved until the bad record is alone.
    hs.portal.add_validation_rule("contacts", "jobtitle", "[^!]*", "no exclamation marks")
    records[23] = contact(23, jobtitle="CEO!")
    before = hs.log.count("POST /crm/v3/objects/contacts/batch/upsert")
    results = by_key(adapter.upsert(records))
    spent = hs.log.count("POST /crm/v3/objects/contacts/batch/upsert") - before
    assert results[("contact", "contact_0007")].error_class == "INVALID_EMAIL"
    bad = results[("contact", "contact_0023")]
    assert bad.outcome == WriteOutcome.REJECTED
    assert bad.error_class == "INVALID_PROPERTY_VALUE" and "exclamation" in bad.message
    landed = [r for r in results.values() if r.outcome == WriteOutcome.CREATED]
    assert len(landed) == 38 and len(hs.portal.records("contacts")) == 38
    assert spent <= 1 + 2 * 6  # one try, then two halves per level down to one record


# -- calls, tasks, links ----------------------------------------------------------------------


def test_calls_link_to_contacts_and_tasks_to_calls_and_contacts(hs, make_adapter):
    adapter = make_adapter(hs)
    [ann] = adapter.upsert([contact(1, "ann@example.com")])
    calls = by_key(adapter.upsert([call(1, "Ann@Example.com"), call(2, "new@example.com")]))
    tasks = by_key(adapter.upsert([task(1, "call_0001", "ann@example.com")]))
    c1 = calls[("call", "call_0001")].crm_id
    assert hs.portal.associations("calls", c1, "contacts") == [ann.crm_id]
    # An unknown prospect becomes a contact (unknown_prospect = "create").
    c2 = calls[("call", "call_0002")].crm_id
    [new] = hs.portal.associations("calls", c2, "contacts")
    assert hs.portal.get("contacts", new)["properties"]["email"] == "new@example.com"
    t1 = tasks[("task", "ai_0001")].crm_id
    assert hs.portal.associations("tasks", t1, "calls") == [c1]
    assert hs.portal.associations("tasks", t1, "contacts") == [ann.crm_id]


def test_unknown_prospects_can_be_skipped(hs, make_adapter):
    adapter = make_adapter(hs, unknown_prospect="skip")
    [result] = adapter.upsert([call(1, "stranger@example.com")])
    assert result.outcome == WriteOutcome.CREATED
    assert hs.portal.associations("calls", result.crm_id, "contacts") == []
    assert hs.portal.records("contacts") == []


def test_a_task_whose_call_is_missing_waits_for_it(hs, make_adapter):
    adapter = make_adapter(hs)
    [result] = adapter.upsert([task(1, "call_that_failed")])
    assert result.outcome == WriteOutcome.REJECTED
    assert result.error_class == "LINK_TARGET_MISSING"
    assert hs.portal.records("tasks") == []


def test_one_refused_call_is_reported_and_the_rest_land_in_one_request(hs, make_adapter):
    adapter = make_adapter(hs)
    hs.portal.add_validation_rule("calls", "hs_call_title", "(?!Call 3$).*", "not that title")
    before = hs.log.count("POST /crm/v3/objects/calls/batch/upsert")
    results = by_key(adapter.upsert([call(n) for n in range(6)]))
    assert hs.log.count("POST /crm/v3/objects/calls/batch/upsert") - before == 1  # a 207
    assert results[("call", "call_0003")].outcome == WriteOutcome.REJECTED
    assert sum(r.outcome == WriteOutcome.CREATED for r in results.values()) == 5


def test_an_updated_call_keeps_its_id_and_changes_in_place(hs, make_adapter):
    adapter = make_adapter(hs)
    [first] = adapter.upsert([call(1, hs_call_body="<p>The summary is not ready yet.</p>")])
    [second] = adapter.upsert([call(1, hs_call_body="<p>They will sign.</p>")])
    assert second.outcome == WriteOutcome.UPDATED and second.crm_id == first.crm_id
    [stored] = hs.portal.records("calls")
    assert stored["properties"]["hs_call_body"] == "<p>They will sign.</p>"


def test_company_associations_when_configured(hs, make_adapter):
    company = hs.portal.add_company(name="Acme", domain="acme.example")
    person = hs.portal.add_contact(email="buyer@acme.example")
    hs.portal.associate("contacts", person["id"], "companies", company["id"])
    adapter = make_adapter(hs, associate_company=True)
    [result] = adapter.upsert([call(1, "buyer@acme.example")])
    assert hs.portal.associations("calls", result.crm_id, "companies") == [company["id"]]


# -- errors, quotas ---------------------------------------------------------------------------


def test_transient_errors_are_retried_then_raised_and_auth_errors_never(hs, make_adapter):
    adapter = make_adapter(hs, max_attempts=3)
    hs.faults.add(FaultRule("status", status=503, count=2, path="*/calls/batch/upsert"))
    [ok] = adapter.upsert([call(1)])
    assert ok.outcome == WriteOutcome.CREATED
    hs.faults.add(FaultRule("drop", count=3, path="*/calls/batch/upsert"))
    with pytest.raises(TransientError) as dropped:
        adapter.upsert([call(2)])
    assert dropped.value.attempts == 3
    hs.faults.add(FaultRule("status", status=401, count=1))
    with pytest.raises(CredentialsError, match="HUBSPOT_ACCESS_TOKEN"):
        adapter.upsert([call(3)])


def test_a_slow_answer_times_out_into_the_error_tree(hs, make_adapter):
    adapter = make_adapter(hs, max_attempts=1, read_timeout=0.3)
    hs.faults.add(FaultRule("latency", seconds=1.0, count=1, path="*/calls/batch/upsert"))
    with pytest.raises(TransientError, match="no answer in time"):
        adapter.upsert([call(1)])


def test_a_ten_second_429_is_waited_out_and_a_daily_one_stops_the_run(hs, make_adapter):
    adapter = make_adapter(hs)
    hs.set_rate_limit(interval_ms=500)
    hs.faults.add(FaultRule("rate_limit", count=1, policy="TEN_SECONDLY_ROLLING"))
    [ok] = adapter.upsert([call(1)])
    assert ok.outcome == WriteOutcome.CREATED
    assert adapter.api.pacer.stats.rate_limited == 1
    hs.faults.add(FaultRule("rate_limit", count=1, policy="DAILY"))
    with pytest.raises(QuotaExhaustedError, match="daily"):
        adapter.upsert([call(2)])


def test_the_daily_reserve_is_left_to_other_integrations(hs, make_adapter):
    adapter = make_adapter(hs, daily_reserve=0.1)
    hs.set_rate_limit(daily_limit=1_000)
    hs.set_daily_remaining(103)
    sent = 0
    with pytest.raises(QuotaExhaustedError, match="reserve") as stopped:
        for n in range(50):
            adapter.upsert([call(n)])
            sent += 1
    assert stopped.value.resume_at is not None
    # 103 left, a reserve of 100: three one-request upserts, then a stop before the fourth.
    assert sent == 3
    quota = adapter.quota()
    assert quota is not None and (quota.remaining, quota.limit) == (100, 1_000)
    assert len(hs.portal.records("calls")) == 3


def test_describe_fields_reports_hubspot_properties(hs):
    fields = HubSpotAdapter.describe_fields(hubspot_config(hs))
    assert fields["calls"]["hs_call_direction"].picklist == {"INBOUND", "OUTBOUND"}
    assert fields["calls"]["hs_timestamp"].required
    assert fields["notes"]["hs_note_body"].max_length == 65_536


# -- from review: changes, refusals, stale ids ---------------------------------------------


def test_a_contact_whose_email_changes_is_updated_in_place(hs, make_adapter):
    adapter = make_adapter(hs)
    [first] = adapter.upsert([contact(1, "old@example.com")])
    # The engine hands back the id it stored: the contact goes by its Revont id now.
    moved = CrmRecord(
        "contact", "contacts", "revont_contact_id", "contact_0001",
        {"email": "new@example.com"}, crm_id=first.crm_id,
    )  # fmt: skip
    [second] = adapter.upsert([moved])
    assert second.outcome == WriteOutcome.UPDATED and second.crm_id == first.crm_id
    [stored] = hs.portal.records("contacts")
    assert stored["properties"]["email"] == "new@example.com"
    # Without the stored id (state lost, or a resync from scratch): the conflict on the
    # Revont id is recognised and the same contact is updated, not refused.
    [third] = adapter.upsert([contact(1, "newest@example.com")])
    assert third.outcome == WriteOutcome.UPDATED and third.crm_id == first.crm_id
    assert [c["properties"]["email"] for c in hs.portal.records("contacts")] == [
        "newest@example.com"
    ]


def test_associations_refused_whole_become_per_record_failures(hs, make_adapter):
    adapter = make_adapter(hs)
    adapter.upsert([contact(1, "ann@example.com")])
    hs.faults.add(
        FaultRule("status", status=400, count=1, path="*/calls/contacts/batch/associate/default")
    )
    results = by_key(adapter.upsert([call(1, "ann@example.com"), call(2, "ann@example.com")]))
    assert {r.error_class for r in results.values()} == {"ASSOCIATION_FAILED"}
    # Retried (as the engine's failure retry does), they are associated.
    results = by_key(adapter.upsert([call(1, "ann@example.com"), call(2, "ann@example.com")]))
    assert {r.outcome for r in results.values()} == {WriteOutcome.UPDATED}
    for r in results.values():
        assert len(hs.portal.associations("calls", r.crm_id, "contacts")) == 1


def test_a_contact_deleted_in_hubspot_is_looked_up_again(hs, make_adapter):
    adapter = make_adapter(hs)
    [ann] = adapter.upsert([contact(1, "ann@example.com")])
    hs.portal.archive("contacts", ann.crm_id)  # someone deleted it in HubSpot
    [refused] = adapter.upsert([call(1, "ann@example.com")])
    assert refused.error_class == "ASSOCIATION_FAILED"
    [retried] = adapter.upsert([call(1, "ann@example.com")])
    assert retried.outcome == WriteOutcome.UPDATED
    [linked] = hs.portal.associations("calls", retried.crm_id, "contacts")
    assert linked != ann.crm_id
    assert hs.portal.get("contacts", linked)["properties"]["email"] == "ann@example.com"


def test_a_request_level_refusal_is_not_halved_record_by_record(hs, make_adapter):
    adapter = make_adapter(hs)
    hs.faults.add(FaultRule("status", status=400, count=None, path="*/calls/batch/upsert"))
    before = hs.log.count()
    with pytest.raises(RequestError):
        adapter.upsert([call(n) for n in range(100)])
    assert hs.log.count() - before == 1
    hs.faults.clear()


def test_an_answer_of_the_wrong_shape_is_an_invalid_response_not_a_crash(hs, make_adapter):
    adapter = make_adapter(hs, max_attempts=2)
    hs.faults.add(FaultRule("malformed_json", count=2, path="*/calls/batch/upsert"))
    with pytest.raises(TransientError, match="not the documented JSON"):
        adapter.upsert([call(1)])


def test_a_pair_of_types_the_portal_cannot_associate_is_left_out_once(hs, make_adapter, caplog):
    adapter = make_adapter(hs)
    [c] = adapter.upsert([call(1)])
    note = CrmRecord(
        "note", "notes", "revont_note_id", "call_0001:1",
        {"hs_timestamp": T0, "hs_note_body": "<p>Transcript</p>"},
        (RecordLink("call", "call_0001"),),
    )  # fmt: skip
    [written] = adapter.upsert([note])
    assert written.outcome == WriteOutcome.CREATED
    assert hs.portal.associations("notes", written.crm_id, "calls") == []
    assert "no association type from notes to calls" in caplog.text
    before = hs.log.count("GET /crm/v4/associations/notes/calls/labels")
    adapter.upsert([note])
    assert hs.log.count("GET /crm/v4/associations/notes/calls/labels") == before  # asked once
    assert c.crm_id
