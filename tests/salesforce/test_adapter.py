"""The Salesforce adapter's behaviour over HTTP, through simple-salesforce, against the sandbox."""

from __future__ import annotations

import logging

import pytest

from adapters.base import (
    CredentialsError,
    CrmRecord,
    CrmSetupError,
    QuotaExhaustedError,
    RecordLink,
    WriteOutcome,
)
from adapters.salesforce import SalesforceAdapter
from tests.salesforce.conftest import SHIPPED_OBJECTS, salesforce_config


def person(n: int, email: str, crm_id: str | None = None, **values) -> CrmRecord:
    return CrmRecord(
        "Contact", "Contact", "Revont_Contact_Id__c", f"contact_{n:04d}",
        {"Email": email, "LastName": f"Person {n}", **values}, crm_id=crm_id,
    )  # fmt: skip


def call(n: int, prospect: str | None = None, crm_id: str | None = None, **values) -> CrmRecord:
    links = (RecordLink("Contact", prospect, "WhoId"),) if prospect else ()
    return CrmRecord(
        "CallTask", "Task", "Revont_Call_Id__c", f"call_{n:04d}",
        {"Subject": f"Call {n}", "Status": "Completed", "TaskSubtype": "Call", "Type": "Call",
         **values},
        links, crm_id,
    )  # fmt: skip


def by_key(results):
    return {r.key: r for r in results}


# -- setup ------------------------------------------------------------------------------------


def test_setup_reports_missing_fields_with_steps_and_a_sync_refuses(make_salesforce):
    sf = make_salesforce(with_custom_fields=False)
    adapter = SalesforceAdapter(salesforce_config(sf))
    steps = {(s.crm_object, s.name): s for s in adapter.setup(SHIPPED_OBJECTS)}
    assert set(steps) == {
        ("Contact", "Revont_Contact_Id__c"),
        ("Lead", "Revont_Contact_Id__c"),
        ("Task", "Revont_Call_Id__c"),
        ("Task", "Revont_Action_Item_Id__c"),
    }
    assert {s.action for s in steps.values()} == {"missing"}
    assert "Object Manager > Activity" in steps[("Task", "Revont_Call_Id__c")].detail
    assert "External ID" in steps[("Task", "Revont_Call_Id__c")].detail
    with pytest.raises(CrmSetupError, match="Task.Revont_Call_Id__c"):
        adapter.prepare(SHIPPED_OBJECTS)
    sf.org.add_custom_fields()
    assert {s.action for s in adapter.setup(SHIPPED_OBJECTS)} == {"exists"}
    adapter.prepare(SHIPPED_OBJECTS)
    adapter.close()


# -- people ------------------------------------------------------------------------------------


def test_people_are_matched_by_email_contacts_then_leads_never_duplicated(sf, make_sf_adapter):
    ann = sf.org.add("Contact", Email="Ann.Lee@Example.com", LastName="Lee")
    bob = sf.org.add("Lead", Email="bob@globex.example", LastName="Stone", Company="Globex")
    adapter = make_sf_adapter(sf)
    results = by_key(
        adapter.upsert(
            [
                person(1, "ann.lee@example.com"),
                person(2, "BOB@globex.example"),
                person(3, "carol@initech.example"),
            ]
        )
    )
    assert results[("Contact", "contact_0001")].crm_id == ann["Id"]
    assert results[("Contact", "contact_0002")].crm_id == bob["Id"]
    assert results[("Contact", "contact_0001")].outcome == WriteOutcome.UPDATED
    assert sf.org.get("Contact", ann["Id"])["Revont_Contact_Id__c"] == "contact_0001"
    assert sf.org.get("Lead", bob["Id"])["Revont_Contact_Id__c"] == "contact_0002"
    # Unknown: a Lead with Company from the domain (unknown_person = "lead").
    carol = results[("Contact", "contact_0003")]
    assert carol.outcome == WriteOutcome.CREATED
    assert sf.org.get("Lead", carol.crm_id)["Company"] == "Initech"
    assert len(sf.org.records("Contact")) == 1 and len(sf.org.records("Lead")) == 2
    # Again, as the engine does once it knows the ids: updated in place, on Contact and Lead.
    again = by_key(
        adapter.upsert(
            [person(1, "ann.lee@example.com", ann["Id"], Title="CTO"),
             person(2, "bob@globex.example", bob["Id"], Title="CFO")]
        )
    )  # fmt: skip
    assert {r.outcome for r in again.values()} == {WriteOutcome.UPDATED}
    assert sf.org.get("Lead", bob["Id"])["Title"] == "CFO"
    assert len(sf.org.records("Contact")) == 1 and len(sf.org.records("Lead")) == 2


def test_emails_with_quotes_and_backslashes_match_exactly_themselves(sf, make_sf_adapter):
    quoted = sf.org.add("Contact", Email="o'brien@example.com", LastName="O'Brien")
    slashed = sf.org.add("Contact", Email="back\\slash@example.com", LastName="Slash")
    victim = sf.org.add("Contact", Email="victim@example.com", LastName="Victim")
    adapter = make_sf_adapter(sf, unknown_person="skip")
    results = by_key(
        adapter.upsert(
            [
                call(1, "o'brien@example.com"),
                call(2, "back\\slash@example.com"),
                call(3, "x' OR Email != '"),
                call(4, "x\\' OR Email != \\'"),
            ]
        )
    )
    who = {k[1]: sf.org.get("Task", r.crm_id)["WhoId"] for k, r in results.items()}
    assert who["call_0001"] == quoted["Id"]
    assert who["call_0002"] == slashed["Id"]
    assert who["call_0003"] is None and who["call_0004"] is None  # nobody, victim least
    assert victim["Id"] not in who.values()


def test_unknown_prospects_by_policy(make_salesforce, make_sf_adapter):
    for policy, sobject in (("lead", "Lead"), ("contact", "Contact"), ("skip", None)):
        sf = make_salesforce()
        adapter = make_sf_adapter(sf, unknown_person=policy)
        [first] = adapter.upsert([call(1, "new.person@acme.example")])
        [second] = adapter.upsert([call(2, "new.person@acme.example")])  # found, not re-made
        task = sf.org.get("Task", first.crm_id)
        if sobject is None:
            assert task["WhoId"] is None and sf.org.records("Lead") == []
            continue
        [made] = sf.org.records(sobject)
        assert task["WhoId"] == made["Id"] == sf.org.get("Task", second.crm_id)["WhoId"]
        assert made["Email"] == "new.person@acme.example"
        if sobject == "Lead":
            assert made["Company"] == "Acme"


# -- tasks ---------------------------------------------------------------------------------------


def test_task_subtype_is_sent_on_create_only(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf)
    [created] = adapter.upsert([call(1)])
    assert sf.org.get("Task", created.crm_id)["TaskSubtype"] == "Call"
    # Known to exist: updated without the create-only field.
    [updated] = adapter.upsert([call(1, crm_id=created.crm_id, Subject="Call 1, edited")])
    assert updated.outcome == WriteOutcome.UPDATED
    # Exists but the engine lost its id: refused once, then sent without it.
    [again] = adapter.upsert([call(1, Subject="Call 1, again")])
    assert again.outcome == WriteOutcome.UPDATED and again.crm_id == created.crm_id
    assert sf.org.get("Task", created.crm_id)["Subject"] == "Call 1, again"
    assert len(sf.org.records("Task")) == 1


def test_locked_rows_and_creation_races_are_retried_not_reported(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf, max_attempts=3)
    sf.org.lock("Task", "call_0001", count=1)
    sf.org.race("Task", "call_0002")
    results = by_key(adapter.upsert([call(1), call(2), call(3)]))
    assert {r.outcome for r in results.values()} <= {WriteOutcome.CREATED, WriteOutcome.UPDATED}
    assert len(sf.org.records("Task")) == 3


def test_a_refused_record_is_reported_with_salesforce_code(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf)
    results = by_key(adapter.upsert([call(1, Subject="x" * 300), call(2)]))
    bad = results[("CallTask", "call_0001")]
    assert bad.outcome == WriteOutcome.REJECTED and bad.error_class == "STRING_TOO_LONG"
    assert results[("CallTask", "call_0002")].outcome == WriteOutcome.CREATED


# -- Bulk API 2.0 ---------------------------------------------------------------------------------


def test_a_large_write_goes_through_bulk_and_maps_results_back(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf, bulk_threshold=500)
    records = [call(n) for n in range(600)]
    records[7] = call(7, Subject="y" * 300)
    before = sf.log.count()
    results = by_key(adapter.upsert(records))
    spent = sf.log.count() - before
    assert results[("CallTask", "call_0007")].error_class == "STRING_TOO_LONG"
    created = [r for r in results.values() if r.outcome == WriteOutcome.CREATED]
    assert len(created) == 599 and all(r.crm_id for r in created)
    assert len(sf.org.records("Task")) == 599
    assert spent <= 10  # one job: create, upload, close, polls, results (not 3 x 200 PATCHes)


# -- quotas and sessions ------------------------------------------------------------------------


def test_the_daily_reserve_stops_before_spending_it(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf, daily_reserve=0.2)
    sf.set_api_usage(used=11_990, limit=15_000)  # 3,010 left, reserve 3,000
    adapter.upsert([call(1)])  # seen: 3,009 left
    sent = 0
    with pytest.raises(QuotaExhaustedError, match="reserve"):
        for n in range(2, 40):
            adapter.upsert([call(n)])
            sent += 1
    assert sent == 9
    assert adapter.quota().remaining == 3_000


def test_request_limit_exceeded_stops_without_retrying(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf, max_attempts=3)
    sf.set_api_usage(used=15_000, limit=15_000)
    before = sf.log.count()
    with pytest.raises(QuotaExhaustedError, match="allowance is used up"):
        adapter.upsert([call(1)])
    assert sf.log.count() - before == 1


def test_an_expired_session_logs_in_again_once(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf, auth="jwt")
    adapter.upsert([call(1)])
    logins = sf.log.count("POST /services/oauth2/token")
    sf.expire_sessions()
    [result] = adapter.upsert([call(2)])
    assert result.outcome == WriteOutcome.CREATED
    assert sf.log.count("POST /services/oauth2/token") == logins + 1
    # Bulk jobs too (simple-salesforce's Bulk client never logs in again by itself).
    bulk = make_sf_adapter(sf, auth="client_credentials", bulk_threshold=5)
    bulk.upsert([call(9)])
    logins = sf.log.count("POST /services/oauth2/token")
    sf.expire_sessions()
    results = bulk.upsert([call(n) for n in range(10, 20)])
    assert {r.outcome for r in results} == {WriteOutcome.CREATED}
    assert sf.log.count("POST /services/oauth2/token") == logins + 1


def test_an_expired_access_token_is_a_credentials_error(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf)
    sf.expire_sessions()
    with pytest.raises(CredentialsError, match="cannot log in again"):
        adapter.upsert([call(1)])


def test_password_login_works_and_is_warned_about(sf, caplog):
    from adapters.salesforce.sandbox import DEFAULT_PASSWORD, DEFAULT_SECURITY_TOKEN
    from adapters.salesforce.config import SalesforceConfig

    config = SalesforceConfig(
        auth="password", username=sf.username, password=DEFAULT_PASSWORD,
        security_token=DEFAULT_SECURITY_TOKEN, sandbox_url=sf.url,
    )  # fmt: skip
    adapter = SalesforceAdapter(config)
    with caplog.at_level(logging.WARNING):
        adapter.prepare(SHIPPED_OBJECTS)
    assert "deprecated" in caplog.text
    adapter.close()


def test_describe_fields_reports_lengths_picklists_and_required(sf):
    fields = SalesforceAdapter.describe_fields(salesforce_config(sf))
    assert fields["Task"]["Subject"].max_length == 255
    assert fields["Task"]["Description"].max_length == 32_000
    assert fields["Lead"]["Company"].required


# -- transcript notes ----------------------------------------------------------------------------


def note(n: int, text: str, crm_id: str | None = None) -> CrmRecord:
    return CrmRecord(
        "TranscriptNote", "ContentNote", "Title", f"call_{n:04d}",
        {"Title": f"Revont call call_{n:04d}: transcript", "Content": f"<p>{text}</p>"},
        (RecordLink("CallTask", f"call_{n:04d}", "LinkedEntityId"),), crm_id,
    )  # fmt: skip


def test_a_transcript_note_is_linked_to_its_task_and_never_doubled(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf)
    [task] = adapter.upsert([call(1)])
    [first] = adapter.upsert([note(1, "Ann: hello")])
    assert first.outcome == WriteOutcome.CREATED
    [link] = [
        r for r in sf.org.records("ContentDocumentLink") if r["LinkedEntityId"] == task.crm_id
    ]
    assert link["ContentDocumentId"] == first.crm_id
    # The engine knows the note: updated in place.
    [second] = adapter.upsert([note(1, "Ann: hello again", first.crm_id)])
    assert second.outcome == WriteOutcome.UPDATED and second.crm_id == first.crm_id
    # A new process that lost the note's id finds it through the Task: still one note.
    other = make_sf_adapter(sf)
    [third] = other.upsert([note(1, "Ann: hello, third time")])
    assert third.outcome == WriteOutcome.UPDATED and third.crm_id == first.crm_id
    assert len(sf.org.records("ContentNote")) == 1
    # A note whose call has no Task yet waits for it.
    [waiting] = adapter.upsert([note(2, "Bob: hi")])
    assert waiting.error_class == "LINK_TARGET_MISSING"


def test_an_external_id_twice_in_one_write_is_sent_in_two_rounds(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf)
    first, second = call(1, Subject="first"), call(1, Subject="second")
    other = CrmRecord(
        "Other", "Task", "Revont_Call_Id__c", "call_0001", {"Subject": "third"}
    )  # the same external id under another mapping object
    results = adapter.upsert([first, second, other])
    assert all(r.outcome != WriteOutcome.REJECTED for r in results)
    [task] = sf.org.records("Task")
    assert task["Subject"] == "third"


def test_a_person_salesforce_would_not_create_holds_the_task_for_a_retry(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf)
    sf.org.lock("Lead", "prospect:new@acme.example")  # held by another process, for now
    [held] = adapter.upsert([call(1, "new@acme.example")])
    assert held.error_class == "LINK_TARGET_MISSING" and sf.org.records("Task") == []
    sf.org.unlock()
    [done] = adapter.upsert([call(1, "new@acme.example")])  # the failure retry
    [lead] = sf.org.records("Lead")
    assert sf.org.get("Task", done.crm_id)["WhoId"] == lead["Id"]


def test_line_breaks_of_any_kind_do_not_sink_a_bulk_job(sf, make_sf_adapter):
    adapter = make_sf_adapter(sf, bulk_threshold=5)
    records = [call(n, Description=f"Line one\r\nline two\rline three {n}") for n in range(6)]
    results = adapter.upsert(records)
    assert {r.outcome for r in results} == {WriteOutcome.CREATED}
    assert all("line two\nline three" in t["Description"] for t in sf.org.records("Task"))


def test_a_person_deleted_in_salesforce_is_looked_up_again(sf, make_sf_adapter):
    ann = sf.org.add("Contact", Email="ann@example.com", LastName="Lee")
    adapter = make_sf_adapter(sf)
    adapter.upsert([call(1, "ann@example.com")])
    from simple_salesforce.api import Salesforce

    client = Salesforce(
        instance_url=sf.instance_url,
        session_id=sf.issue_access_token(),
        session=adapter.api.session,
    )
    client.Contact.delete(ann["Id"])  # someone deletes Ann in Salesforce
    [refused] = adapter.upsert([call(2, "ann@example.com")])
    assert refused.outcome == WriteOutcome.REJECTED
    [retried] = adapter.upsert([call(2, "ann@example.com")])  # the failure retry
    [lead] = sf.org.records("Lead")  # looked up again: gone, so a new Lead
    assert sf.org.get("Task", retried.crm_id)["WhoId"] == lead["Id"]
