"""The HubSpot sandbox is part of the product: the real SDK must work against it, unpatched.

Every test drives the sandbox through ``hubspot-api-client`` over real HTTP on
127.0.0.1 and checks the deserialised models, the status, the error bodies and
the rate-limit headers HubSpot documents. When one fails, first check whether
the SDK's model changed (required fields) before changing the sandbox.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4 import AssociationSpec as V4AssociationSpec
from hubspot.crm.associations.v4 import (
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicAssociationMultiPost,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
    PublicObjectId,
)
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.calls import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicAssociationsForObject,
    SimplePublicObjectBatchInputForCreate,
)
from hubspot.crm.objects.calls import (
    BatchInputSimplePublicObjectBatchInputUpsert as CallsUpsertBatch,
)
from hubspot.crm.objects.calls import (
    PublicObjectId as CallsObjectId,
)
from hubspot.crm.objects.calls import (
    SimplePublicObjectBatchInputUpsert as CallsUpsert,
)
from hubspot.crm.objects.calls import (
    SimplePublicObjectInputForCreate as CallCreate,
)
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

from adapters.hubspot.sandbox import FaultRule, HubSpotSandbox

RATE_HEADERS = (
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Secondly",
    "X-HubSpot-RateLimit-Secondly-Remaining",
)
TIMEOUT = (2, 5)
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


class FakeClock:
    """A clock the test moves by hand (connector.quota.Clock)."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., HubSpotSandbox]]:
    started: list[HubSpotSandbox] = []

    def make(**kw: Any) -> HubSpotSandbox:
        sandbox = HubSpotSandbox(**kw).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def hs(make_sandbox: Callable[..., HubSpotSandbox]) -> HubSpotSandbox:
    return make_sandbox()


def sdk(sandbox: HubSpotSandbox, token: str | None = None) -> HubSpot:
    return HubSpot(access_token=token or sandbox.token, host=sandbox.url)


def raised(call: Callable[[], Any]) -> Any:
    """The SDK's ApiException (each API group has its own class; none share a parent)."""
    with pytest.raises(Exception) as info:  # any API group's ApiException
        call()
    assert hasattr(info.value, "status"), info.value
    return info.value


def body_of(error: Any) -> dict[str, Any]:
    return json.loads(error.body)


def upsert_contacts(client: HubSpot, *items: tuple[str, dict[str, str]]) -> Any:
    inputs = [
        SimplePublicObjectBatchInputUpsert(id=email, id_property="email", properties=props)
        for email, props in items
    ]
    return client.crm.contacts.batch_api.upsert_with_http_info(
        BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs), _request_timeout=TIMEOUT
    )


def call_id_property(client: HubSpot) -> None:
    client.crm.properties.core_api.create(
        "calls",
        PropertyCreate(
            name="revont_call_id",
            label="Revont call id",
            type="string",
            field_type="text",
            group_name="callinformation",
            has_unique_value=True,
        ),
    )


def upsert_calls(client: HubSpot, *items: tuple[str, dict[str, str]], trace: bool = False) -> Any:
    inputs = [
        CallsUpsert(
            id=call_id,
            id_property="revont_call_id",
            properties=props,
            object_write_trace_id=f"trace-{call_id}" if trace else None,
        )
        for call_id, props in items
    ]
    return client.crm.objects.calls.batch_api.upsert_with_http_info(CallsUpsertBatch(inputs=inputs))


CALL = {
    "hs_timestamp": "2026-11-30T12:00:00Z",
    "hs_call_title": "Intro",
    "hs_call_status": "COMPLETED",
}


# -- upserts -------------------------------------------------------------------------------------


def test_upsert_creates_then_updates_and_reports_the_limits(hs: HubSpotSandbox) -> None:
    """Upsert answers 200 with ``new`` true then false and every rate-limit header."""
    client = sdk(hs)
    data, status, headers = upsert_contacts(client, ("bo@example.com", {"firstname": "Bo"}))
    assert status == 200 and data.status == "COMPLETE"
    (first,) = data.results
    assert first.new is True and first.properties["firstname"] == "Bo"
    assert first.created_at and first.updated_at and first.archived is False
    assert data.started_at and data.completed_at
    for name in RATE_HEADERS:
        assert name in headers
    assert headers["X-HubSpot-RateLimit-Max"] == "190"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert headers["X-HubSpot-RateLimit-Remaining"] == "189"
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "999999"
    data, _, headers = upsert_contacts(client, ("bo@example.com", {"lastname": "Li"}))
    (again,) = data.results
    assert again.new is False and again.id == first.id
    assert again.properties["firstname"] == "Bo" and again.properties["lastname"] == "Li"
    assert headers["X-HubSpot-RateLimit-Remaining"] == "188"
    assert len(hs.portal.records("contacts")) == 1


def test_email_matches_whatever_the_case(hs: HubSpotSandbox) -> None:
    """A contact typed by hand as Ann@Example.com is the one upserted as ann@example.com."""
    ann = hs.portal.add_contact(email="Ann@Example.com", firstname="Ann")
    assert ann["properties"]["email"] == "ann@example.com"  # HubSpot stores emails lower-case
    client = sdk(hs)
    data, _, _ = upsert_contacts(client, ("ann@example.com", {"jobtitle": "CTO"}))
    assert data.results[0].new is False and data.results[0].id == ann["id"]
    data, _, _ = upsert_contacts(client, ("ANN@EXAMPLE.COM", {"lastname": "Lee"}))
    assert data.results[0].id == ann["id"]
    found = client.crm.contacts.basic_api.get_by_id(
        "Ann@Example.com", id_property="email", properties=["jobtitle", "lastname"]
    )
    assert found.id == ann["id"] and found.properties["jobtitle"] == "CTO"
    assert len(hs.portal.records("contacts")) == 1


def test_one_bad_email_fails_a_whole_email_keyed_batch(hs: HubSpotSandbox) -> None:
    """HubSpot has no partial upserts by email: 400, nothing written."""
    error = raised(
        lambda: upsert_contacts(
            sdk(hs), ("good@example.com", {}), ("not an email", {}), ("x@nodot", {})
        )
    )
    assert error.status == 400
    body = body_of(error)
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"] and body["message"].startswith("Property values were not valid")
    assert [e["code"] for e in body["errors"]] == ["INVALID_EMAIL"]
    assert body["errors"][0]["context"] == {"propertyName": ["email"]}
    assert error.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert hs.portal.records("contacts") == []


def test_a_custom_unique_property_allows_partial_upserts(hs: HubSpotSandbox) -> None:
    """207: the bad inputs are named by id and trace id; the good ones land, once."""
    client = sdk(hs)
    call_id_property(client)
    inputs = [
        ("c1", CALL),
        ("c2", {**CALL, "hs_call_direction": "SIDEWAYS"}),
        ("c3", {"hs_call_title": "no timestamp"}),
    ]
    data, status, _ = upsert_calls(client, *inputs, trace=True)
    assert status == 207
    assert data.num_errors == 2 and [r.new for r in data.results] == [True]
    assert data.results[0].properties["revont_call_id"] == "c1"
    assert data.results[0].object_write_trace_id == "trace-c1"
    by_id = {e.context["id"][0]: e for e in data.errors}
    assert by_id["c2"].context["objectWriteTraceId"] == ["trace-c2"]
    assert by_id["c2"].errors[0].code == "INVALID_OPTION"
    assert by_id["c3"].errors[0].code == "REQUIRED_PROPERTY"
    assert all(e.category == "VALIDATION_ERROR" and e.status == "error" for e in data.errors)
    data, status, _ = upsert_calls(client, ("c1", {"hs_call_title": "Renamed"}), ("c4", CALL))
    assert status == 200
    assert {r.properties["revont_call_id"]: r.new for r in data.results} == {
        "c1": False,
        "c4": True,
    }
    assert sorted(r["properties"]["revont_call_id"] for r in hs.portal.records("calls")) == [
        "c1",
        "c4",
    ]


def test_batch_results_are_not_in_input_order(hs: HubSpotSandbox) -> None:
    """Correlate by id or unique value: the order is shuffled (by the seed)."""
    emails = [f"p{i}@example.com" for i in range(20)]
    data, _, _ = upsert_contacts(sdk(hs), *[(e, {}) for e in emails])
    answered = [r.properties["email"] for r in data.results]
    assert answered != emails and sorted(answered) == sorted(emails)


def test_more_than_100_inputs_are_refused(hs: HubSpotSandbox) -> None:
    """Batches take at most 100 inputs; 101 is a 400 and writes nothing."""
    error = raised(lambda: upsert_contacts(sdk(hs), *[(f"p{i}@x.io", {}) for i in range(101)]))
    assert error.status == 400 and body_of(error)["category"] == "VALIDATION_ERROR"
    assert "100" in body_of(error)["message"]
    assert hs.portal.records("contacts") == []
    data, _, _ = upsert_contacts(sdk(hs), *[(f"p{i}@x.io", {}) for i in range(100)])
    assert len(data.results) == 100


# -- validation --------------------------------------------------------------------------------


def test_conflicts_answer_409(hs: HubSpotSandbox) -> None:
    """Creating an existing email or a taken unique value is a 409 CONFLICT."""
    client = sdk(hs)
    ann = hs.portal.add_contact(email="ann@example.com")
    error = raised(
        lambda: client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "ANN@example.com"})
        )
    )
    assert error.status == 409
    body = body_of(error)
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {ann['id']}"
    call_id_property(client)
    client.crm.objects.calls.basic_api.create(
        CallCreate(properties={**CALL, "revont_call_id": "x"})
    )
    error = raised(
        lambda: client.crm.objects.calls.basic_api.create(
            CallCreate(properties={**CALL, "revont_call_id": "x"})
        )
    )
    assert error.status == 409 and body_of(error)["category"] == "CONFLICT"


@pytest.mark.parametrize(
    ("properties", "code", "name"),
    [
        ({**CALL, "hs_call_mood": "good"}, "PROPERTY_DOESNT_EXIST", "hs_call_mood"),
        ({**CALL, "hs_call_body": "x" * 65_537}, "TOO_LONG", "hs_call_body"),
        ({**CALL, "hs_call_status": "DONE"}, "INVALID_OPTION", "hs_call_status"),
        ({**CALL, "hs_timestamp": "yesterday"}, "INVALID_LONG", "hs_timestamp"),
        ({**CALL, "hs_call_duration": "long"}, "INVALID_NUMBER", "hs_call_duration"),
        ({**CALL, "hubspot_owner_id": "abc"}, "INVALID_INTEGER", "hubspot_owner_id"),
        ({**CALL, "hubspot_owner_id": "123"}, "INVALID_OWNER_ID", "hubspot_owner_id"),
        ({**CALL, "hs_object_id": "1"}, "READ_ONLY_VALUE", "hs_object_id"),
        ({"hs_call_title": "when?"}, "REQUIRED_PROPERTY", "hs_timestamp"),
    ],
)
def test_invalid_values_are_refused(
    hs: HubSpotSandbox, properties: dict[str, str], code: str, name: str
) -> None:
    """Each bad value is a 400 VALIDATION_ERROR naming the code and the property."""
    error = raised(
        lambda: sdk(hs).crm.objects.calls.basic_api.create(CallCreate(properties=properties))
    )
    assert error.status == 400
    body = body_of(error)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["errors"] == [
        {"message": body["errors"][0]["message"], "code": code, "context": {"propertyName": [name]}}
    ]
    legacy = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert legacy[0]["error"] == code and legacy[0]["name"] == name
    assert hs.portal.records("calls") == []


def test_values_are_normalised_as_hubspot_stores_them(hs: HubSpotSandbox) -> None:
    """Epoch ms and ISO 8601 both become ISO UTC; the longest allowed text is accepted."""
    client = sdk(hs)
    owner = hs.portal.add_owner(email="rep@example.com", first_name="Rae", last_name="Poe")
    made = client.crm.objects.calls.basic_api.create(
        CallCreate(
            properties={
                "hs_timestamp": "1764504000000",
                "hs_call_body": "x" * 65_536,
                "hs_call_duration": "61000",
                "hubspot_owner_id": owner,
            }
        )
    )
    assert made.properties["hs_timestamp"] == "2025-11-30T12:00:00.000Z"
    assert made.properties["hubspot_owner_id"] == owner
    note = client.crm.objects.notes.basic_api.create(
        {"properties": {"hs_timestamp": "2026-11-30T13:00:00+01:00", "hs_note_body": "hi"}}
    )
    assert note.properties["hs_timestamp"] == "2026-11-30T12:00:00.000Z"


# -- properties and owners ---------------------------------------------------------------------


def test_properties_and_groups(hs: HubSpotSandbox) -> None:
    """Read defaults, create a group and a property (each 409 the second time)."""
    api = sdk(hs).crm.properties
    names = {p.name for p in api.core_api.get_all("contacts").results}
    assert {"email", "firstname", "lastname", "hubspot_owner_id", "lifecyclestage"} <= names
    status = api.core_api.get_by_name("calls", "hs_call_status")
    assert status.type == "enumeration" and "NO_ANSWER" in [o.value for o in status.options]
    assert api.core_api.get_by_name("0-27", "hs_task_status").options[0].value == "NOT_STARTED"
    group = api.groups_api.create("contacts", PropertyGroupCreate(name="revont", label="Revont"))
    assert group.name == "revont"
    error = raised(
        lambda: api.groups_api.create("contacts", PropertyGroupCreate(name="revont", label="R"))
    )
    assert error.status == 409
    spec = PropertyCreate(
        name="revont_contact_id",
        label="Revont contact id",
        type="string",
        field_type="text",
        group_name="revont",
        has_unique_value=True,
    )
    created = api.core_api.create("contacts", spec)
    assert created.has_unique_value is True and created.group_name == "revont"
    error = raised(lambda: api.core_api.create("contacts", spec))
    assert error.status == 409 and body_of(error)["category"] == "OBJECT_ALREADY_EXISTS"
    spec.name, spec.group_name = "other_id", "no_such_group"
    assert raised(lambda: api.core_api.create("contacts", spec)).status == 400
    assert "revont" in [g.name for g in api.groups_api.get_all("contacts").results]
    assert raised(lambda: api.core_api.get_by_name("contacts", "nope")).status == 404


def test_owners_by_email(hs: HubSpotSandbox) -> None:
    """Owners are found by email (any case); unknown emails find none."""
    owner_id = hs.portal.add_owner(email="Rep@Example.com", first_name="Rae", last_name="Poe")
    hs.portal.add_owner(email="other@example.com")
    owners = sdk(hs).crm.owners.owners_api
    page = owners.get_page(email="rep@example.com", limit=10)
    (owner,) = page.results
    assert owner.id == owner_id and owner.email == "rep@example.com"
    assert owner.first_name == "Rae" and owner.last_name == "Poe" and owner.user_id
    assert owner.archived is False and owner.created_at and owner.updated_at
    assert owners.get_page(email="nobody@example.com").results == []
    first = owners.get_page(limit=1)
    assert len(first.results) == 1 and first.paging.next.after
    assert owners.get_by_id(owner_id).email == "rep@example.com"


# -- objects, one at a time and in batches --------------------------------------------------------


def test_reading_updating_and_archiving(hs: HubSpotSandbox) -> None:
    """List pages with ``after``; read with properties; patch; archive; 404 when gone."""
    for i in range(3):
        hs.portal.add_contact(email=f"p{i}@example.com", firstname=f"P{i}")
    basic = sdk(hs).crm.contacts.basic_api
    page = basic.get_page(limit=2, properties=["firstname"])
    assert len(page.results) == 2 and page.paging.next.after
    rest = basic.get_page(limit=2, after=page.paging.next.after)
    assert len(rest.results) == 1 and rest.paging is None
    one = basic.get_by_id(page.results[0].id, properties=["firstname", "jobtitle"])
    assert one.properties["firstname"] == "P0" and one.properties["jobtitle"] is None
    updated = basic.update(one.id, SimplePublicObjectInput(properties={"jobtitle": "CEO"}))
    assert updated.properties["jobtitle"] == "CEO"
    basic.archive(one.id)
    error = raised(lambda: basic.get_by_id(one.id))
    assert error.status == 404 and body_of(error)["category"] == "OBJECT_NOT_FOUND"


def test_batch_read_update_and_archive(hs: HubSpotSandbox) -> None:
    """Missing ids come back as one OBJECT_NOT_FOUND error listing them (207)."""
    a = hs.portal.add_contact(email="a@example.com")
    b = hs.portal.add_contact(email="b@example.com")
    batch = sdk(hs).crm.contacts.batch_api
    read, status, _ = batch.read_with_http_info(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=a["id"]), SimplePublicObjectId(id="999")],
            properties=["email"],
            properties_with_history=[],
        )
    )
    assert status == 207 and [r.id for r in read.results] == [a["id"]]
    assert read.errors[0].category == "OBJECT_NOT_FOUND" and read.errors[0].context == {
        "ids": ["999"]
    }
    by_email = batch.read(
        {
            "idProperty": "email",
            "inputs": [{"id": "B@example.com"}],
            "properties": [],
            "propertiesWithHistory": [],
        }
    )
    assert [r.id for r in by_email.results] == [b["id"]]
    _, status, _ = batch.update_with_http_info(
        {"inputs": [{"id": a["id"], "properties": {"firstname": "Al"}}]}
    )
    assert status == 200 and hs.portal.get("contacts", a["id"])["properties"]["firstname"] == "Al"
    _, status, _ = batch.archive_with_http_info({"inputs": [{"id": a["id"]}, {"id": "999"}]})
    assert status == 204 and hs.portal.get("contacts", a["id"]) is None


def test_batch_create_with_inline_associations(hs: HubSpotSandbox) -> None:
    """Inline associations need existing targets; trace ids turn failures into a 207."""
    contact = hs.portal.add_contact(email="ann@example.com")
    calls = sdk(hs).crm.objects.calls.batch_api
    link = PublicAssociationsForObject(
        to=CallsObjectId(id=contact["id"]),
        types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=194)],
    )
    data, status, _ = calls.create_with_http_info(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[SimplePublicObjectBatchInputForCreate(properties=CALL, associations=[link])]
        )
    )
    assert status == 201 and data.status == "COMPLETE"
    call_id = data.results[0].id
    assert hs.portal.associations("calls", call_id, "contacts") == [contact["id"]]
    assert hs.portal.associations("contacts", contact["id"], "calls") == [call_id]
    dangling = {"to": {"id": "424242"}, "types": link.to_dict()["types"]}
    error = raised(
        lambda: calls.create({"inputs": [{"properties": CALL, "associations": [dangling]}]})
    )
    assert error.status == 400
    traced = {
        "inputs": [
            {"properties": CALL, "objectWriteTraceId": "ok"},
            {"properties": CALL, "associations": [dangling], "objectWriteTraceId": "bad"},
        ]
    }
    data, status, _ = calls.create_with_http_info(traced)
    assert status == 207 and len(data.results) == 1
    assert data.errors[0].context == {"objectWriteTraceId": ["bad"]}


def test_object_type_ids_work_in_paths_and_counts(hs: HubSpotSandbox) -> None:
    """0-1 is contacts: the generic objects API reaches the same data and counters."""
    client = sdk(hs)
    client.crm.objects.batch_api.upsert(
        "0-1", {"inputs": [{"id": "z@example.com", "idProperty": "email", "properties": {}}]}
    )
    upsert_contacts(client, ("y@example.com", {}))
    call_id_property(client)
    upsert_calls(client, ("c1", CALL))
    template = "POST /crm/v3/objects/{type}/batch/upsert"
    assert hs.log.count(template) == 3
    assert hs.log.count("POST /crm/v3/objects/contacts/batch/upsert", 200) == 2
    assert hs.log.count("POST /crm/v3/objects/calls/batch/upsert") == 1
    assert hs.log.count(status=201) == 1  # the property
    assert hs.log.count() == 4


# -- associations ----------------------------------------------------------------------------------


def test_default_associations_are_idempotent_and_both_ways(hs: HubSpotSandbox) -> None:
    """Associating twice keeps one link; both sides see it with their own type id."""
    contact = hs.portal.add_contact(email="ann@example.com")
    call = hs.portal.add_record("calls", **CALL)
    v4 = sdk(hs).crm.associations.v4
    body = BatchInputPublicDefaultAssociationMultiPost(
        inputs=[
            PublicDefaultAssociationMultiPost(
                _from=PublicObjectId(id=call["id"]), to=PublicObjectId(id=contact["id"])
            )
        ]
    )
    for _ in range(2):
        data, status, headers = v4.batch_api.create_default_with_http_info(
            "calls", "contacts", body
        )
        assert status == 200 and data.status == "COMPLETE" and "X-HubSpot-RateLimit-Max" in headers
        (made,) = data.results
        assert made.association_spec.association_type_id == 194
        assert made._from.id == call["id"] and made.to.id == contact["id"]
    assert hs.portal.associations("calls", call["id"], "contacts") == [contact["id"]]
    read = v4.batch_api.get_page(
        "contacts",
        "calls",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=contact["id"])]
        ),
    )
    (found,) = read.results
    assert found.to[0].to_object_id == call["id"]
    assert [t.type_id for t in found.to[0].association_types] == [193]
    page = v4.basic_api.get_page("calls", call["id"], "contacts")
    assert [r.to_object_id for r in page.results] == [contact["id"]]


def test_associating_a_missing_record_is_a_207(hs: HubSpotSandbox) -> None:
    """The SDK has no model for this 207 (it returns None): read the body yourself."""
    contact = hs.portal.add_contact(email="ann@example.com")
    call = hs.portal.add_record("calls", **CALL)
    v4 = sdk(hs).crm.associations.v4
    inputs = {
        "inputs": [
            {"from": {"id": call["id"]}, "to": {"id": contact["id"]}},
            {"from": {"id": call["id"]}, "to": {"id": "31337"}},
        ]
    }
    data, status, _ = v4.batch_api.create_default_with_http_info("calls", "contacts", inputs)
    assert status == 207 and data is None
    raw = v4.batch_api.create_default("calls", "contacts", inputs, _preload_content=False)
    body = json.loads(raw.data)
    assert body["numErrors"] == 1 and body["errors"][0]["context"]["toObjectId"] == ["31337"]
    assert hs.portal.associations("calls", call["id"], "contacts") == [contact["id"]]


def test_labelled_and_single_associations(hs: HubSpotSandbox) -> None:
    """Labelled batch create (primary company), PUT default, labels lookup, delete."""
    contact = hs.portal.add_contact(email="ann@example.com")
    company = hs.portal.add_company(name="Acme", domain="acme.example")
    task = hs.portal.add_record(
        "tasks", hs_timestamp="2026-12-01T09:00:00Z", hs_task_subject="Call"
    )
    call = hs.portal.add_record("calls", **CALL)
    v4 = sdk(hs).crm.associations.v4
    primary = V4AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=1)
    data, status, _ = v4.batch_api.create_with_http_info(
        "contacts",
        "companies",
        BatchInputPublicAssociationMultiPost(
            inputs=[
                PublicAssociationMultiPost(
                    _from=PublicObjectId(id=contact["id"]),
                    to=PublicObjectId(id=company["id"]),
                    types=[primary],
                )
            ]
        ),
    )
    assert status == 201 and data.results[0].labels == ["Primary"]
    assert data.results[0].from_object_type_id == "0-1"
    result = v4.basic_api.create_default("tasks", task["id"], "calls", call["id"])
    assert result.results[0].association_spec.association_type_id == 9002
    labels = v4.schema.definitions_api.get_all("tasks", "calls")
    assert [(t.type_id, t.label) for t in labels.results] == [(9002, None)]
    assert hs.portal.associations("calls", call["id"], "tasks") == [task["id"]]
    v4.basic_api.archive("tasks", task["id"], "calls", call["id"])
    assert hs.portal.associations("calls", call["id"], "tasks") == []


# -- auth and limits ------------------------------------------------------------------------------


def test_bad_tokens_and_missing_scopes(hs: HubSpotSandbox) -> None:
    """401 INVALID_AUTHENTICATION for an unknown token; 403 MISSING_SCOPES names the scope."""
    error = raised(lambda: upsert_contacts(sdk(hs, "wrong"), ("a@example.com", {})))
    assert error.status == 401
    body = body_of(error)
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    hs.add_token("reader", scopes={"crm.objects.contacts.read"})
    reader = sdk(hs, "reader")
    assert reader.crm.contacts.basic_api.get_page().results == []
    error = raised(lambda: upsert_contacts(reader, ("a@example.com", {})))
    assert error.status == 403
    body = body_of(error)
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.contacts.write"]
    assert "X-HubSpot-RateLimit-Remaining" in error.headers
    assert hs.portal.records("contacts") == []


def test_the_rolling_window_answers_429(make_sandbox: Callable[..., HubSpotSandbox]) -> None:
    """Over the rolling window: 429 TEN_SECONDLY_ROLLING, headers at 0, refusals not counted."""
    clock = FakeClock()
    hs = make_sandbox(ten_second_limit=5, interval_ms=500, clock=clock)
    basic = sdk(hs).crm.contacts.basic_api
    for expected in range(4, -1, -1):
        _, _, headers = basic.get_page_with_http_info()
        assert headers["X-HubSpot-RateLimit-Remaining"] == str(expected)
    error = raised(basic.get_page)
    assert error.status == 429
    body = body_of(error)
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["correlationId"] and body["groupName"]
    assert error.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in error.headers
    assert error.headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(1_000_000 - 5)
    clock.now += 0.3
    assert raised(basic.get_page).status == 429
    clock.now += 0.25  # the first five requests are now older than 500 ms
    _, _, headers = basic.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Remaining"] == "4"
    assert hs.log.count("GET /crm/v3/objects/{type}", 429) == 2


def test_the_daily_limit_answers_429_until_midnight(
    make_sandbox: Callable[..., HubSpotSandbox],
) -> None:
    """Daily-Remaining 0 → 429 DAILY; the allowance returns at midnight in the portal's zone."""
    clock = FakeClock(T0)  # 08:00 UTC, 03:00 in New York
    hs = make_sandbox(clock=clock, time_zone="America/New_York", daily_limit=1000)
    basic = sdk(hs).crm.contacts.basic_api
    hs.set_daily_remaining(1)
    _, _, headers = basic.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    error = raised(basic.get_page)
    assert error.status == 429
    body = body_of(error)
    assert body["policyName"] == "DAILY" and body["message"] == "You have reached your daily limit."
    clock.now += 20 * 3600  # 23:00 in New York: same day
    assert raised(basic.get_page).status == 429
    clock.now += 3600 + 1  # past midnight in New York
    _, _, headers = basic.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "999"


# -- search --------------------------------------------------------------------------------------


def search(client: HubSpot, *filters: Filter, **kw: Any) -> Any:
    request = PublicObjectSearchRequest(filter_groups=[FilterGroup(filters=list(filters))], **kw)
    return client.crm.contacts.search_api.do_search_with_http_info(request)


def test_search_lags_writes_and_sends_no_rate_headers(
    make_sandbox: Callable[..., HubSpotSandbox],
) -> None:
    """A new contact is found only after the lag; search answers carry no rate headers."""
    clock = FakeClock()
    hs = make_sandbox(clock=clock, search_lag_seconds=2.0)
    client = sdk(hs)
    upsert_contacts(client, ("new@example.com", {"firstname": "Nu"}))
    by_email = Filter(property_name="email", operator="EQ", value="NEW@example.com")
    data, status, headers = search(client, by_email)
    assert status == 200 and data.total == 0 and data.results == []
    assert not [h for h in headers if h.startswith("X-HubSpot-RateLimit")]
    clock.now += 2.5
    data, _, _ = search(client, by_email, properties=["firstname"])
    assert data.total == 1 and data.results[0].properties["firstname"] == "Nu"


def test_search_filters_sorts_and_pages(hs: HubSpotSandbox) -> None:
    """EQ, IN, HAS_PROPERTY, sorts, limit and after; limit over 200 is refused."""
    for i, name in enumerate(["Cy", "Al", "Bo"]):
        hs.portal.add_contact(email=f"{name.lower()}@example.com", firstname=name, jobtitle=f"J{i}")
    hs.portal.add_contact(email="nojob@example.com")
    client = sdk(hs)
    data, _, _ = search(
        client,
        Filter(property_name="jobtitle", operator="HAS_PROPERTY"),
        sorts=[{"propertyName": "firstname", "direction": "ASCENDING"}],
        properties=["firstname"],
        limit=2,
    )
    assert data.total == 3 and [r.properties["firstname"] for r in data.results] == ["Al", "Bo"]
    more, _, _ = search(
        client,
        Filter(property_name="jobtitle", operator="HAS_PROPERTY"),
        sorts=["firstname"],
        properties=["firstname"],
        limit=2,
        after=data.paging.next.after,
    )
    assert [r.properties["firstname"] for r in more.results] == ["Cy"] and more.paging is None
    data, _, _ = search(
        client, Filter(property_name="email", operator="IN", values=["al@example.com", "x@y.z"])
    )
    assert data.total == 1
    error = raised(
        lambda: search(client, Filter(property_name="email", operator="EQ", value="a"), limit=201)
    )
    assert error.status == 400


def test_search_has_its_own_limit_per_second(make_sandbox: Callable[..., HubSpotSandbox]) -> None:
    """Five searches per second; the sixth is a 429 without rate headers."""
    clock = FakeClock()
    hs = make_sandbox(clock=clock)
    client = sdk(hs)
    anything = Filter(property_name="email", operator="HAS_PROPERTY")
    for _ in range(5):
        search(client, anything)
    error = raised(lambda: search(client, anything))
    assert error.status == 429 and body_of(error)["errorType"] == "RATE_LIMIT"
    assert not [h for h in error.headers if h.startswith("X-HubSpot-RateLimit")]
    clock.now += 1.01
    assert search(client, anything)[1] == 200
    _, _, headers = client.crm.contacts.basic_api.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Remaining"] == "189"  # searches spend no window


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "status", "category"),
    [
        (FaultRule(kind="rate_limit"), 429, None),
        (FaultRule(kind="rate_limit", policy="DAILY"), 429, None),
        (FaultRule(kind="status", status=401), 401, "INVALID_AUTHENTICATION"),
        (FaultRule(kind="status", status=403), 403, "MISSING_SCOPES"),
        (FaultRule(kind="status", status=423), 423, "LOCKED"),
        (FaultRule(kind="status", status=500), 500, "INTERNAL_ERROR"),
        (FaultRule(kind="status", status=502), 502, "BAD_GATEWAY"),
        (FaultRule(kind="status", status=503), 503, "SERVICE_UNAVAILABLE"),
        (FaultRule(kind="status", status=504), 504, "GATEWAY_TIMEOUT"),
    ],
)
def test_injected_errors_look_like_hubspots(
    hs: HubSpotSandbox, rule: FaultRule, status: int, category: str | None
) -> None:
    """Injected answers carry HubSpot's body for the status and the rate-limit headers."""
    rule.path = "/crm/v3/objects/contacts/batch/upsert"
    hs.faults.add(rule)
    error = raised(lambda: upsert_contacts(sdk(hs), ("a@example.com", {})))
    assert error.status == status
    body = body_of(error)
    assert body["status"] == "error" and body["correlationId"]
    if category is None:
        assert body["policyName"] == (rule.policy or "TEN_SECONDLY_ROLLING")
    else:
        assert body["category"] == category
    assert error.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert hs.portal.records("contacts") == []
    data, _, _ = upsert_contacts(sdk(hs), ("a@example.com", {}))  # the fault was used up
    assert data.results[0].new is True


def test_a_lost_answer_after_the_write_took_effect(hs: HubSpotSandbox) -> None:
    """``after_serving``: the upsert landed though the client saw a 502; retrying is safe."""
    hs.faults.add(FaultRule(kind="status", status=502, after_serving=True))
    assert raised(lambda: upsert_contacts(sdk(hs), ("a@example.com", {}))).status == 502
    data, _, _ = upsert_contacts(sdk(hs), ("a@example.com", {}))
    assert data.results[0].new is False and len(hs.portal.records("contacts")) == 1


def test_dropped_connections_latency_and_malformed_json(hs: HubSpotSandbox) -> None:
    """Transport failures reach the caller as urllib3 errors, not ApiException."""
    basic = sdk(hs).crm.contacts.basic_api
    hs.faults.add(FaultRule(kind="drop", path="/crm/v3/objects/contacts", count=None))
    with pytest.raises(urllib3.exceptions.HTTPError):
        basic.get_page(_request_timeout=TIMEOUT)
    assert hs.log.count("GET /crm/v3/objects/{type}", 0) == 4  # urllib3 retried a GET 3 times
    hs.faults.clear()
    hs.faults.add(FaultRule(kind="latency", seconds=0.3, method="POST"))
    batch = sdk(hs).crm.contacts.batch_api
    one = {"inputs": [{"id": "slow@example.com", "idProperty": "email", "properties": {}}]}
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):  # POSTs are not retried
        batch.upsert(one, _request_timeout=(1, 0.1))
    time.sleep(0.4)
    assert len(hs.portal.records("contacts")) == 1  # the timed-out write landed all the same
    hs.faults.add(FaultRule(kind="malformed_json", count=2))
    raw = basic.get_page(_preload_content=False, _request_timeout=TIMEOUT)
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw.data)
    assert basic.get_page(_request_timeout=TIMEOUT).results is None  # the SDK does not raise
    assert len(basic.get_page(_request_timeout=TIMEOUT).results) == 1
    with pytest.raises(ValueError, match="cannot imitate"):
        hs.faults.add(FaultRule(kind="repeat_cursor"))


def test_control_endpoints_for_the_command_line(hs: HubSpotSandbox) -> None:
    """/_sandbox adds owners and records, injects faults, reads stats and changes limits."""
    base = f"{hs.url}/_sandbox"
    owner = requests.post(f"{base}/owners", json={"email": "r@example.com"}, timeout=5).json()
    assert hs.portal.owners(email="r@example.com")[0]["id"] == owner["id"]
    made = requests.post(f"{base}/records/contacts", json={"email": "C@example.com"}, timeout=5)
    assert made.status_code == 201 and made.json()["properties"]["email"] == "c@example.com"
    limits = requests.put(f"{base}/limits", json={"daily_remaining": 0}, timeout=5).json()
    assert limits["daily_remaining"] == 0
    assert raised(lambda: sdk(hs).crm.contacts.basic_api.get_page()).status == 429
    requests.put(f"{base}/limits", json={"daily_remaining": 10}, timeout=5)
    requests.post(f"{base}/faults", json={"kind": "status", "status": 503}, timeout=5)
    assert raised(lambda: sdk(hs).crm.contacts.basic_api.get_page()).status == 503
    stats = requests.get(f"{base}/stats", timeout=5).json()
    assert stats["details"]["GET /crm/v3/objects/contacts"] == {"429": 1, "503": 1}
    listed = requests.get(f"{base}/records/contacts", timeout=5).json()["results"]
    assert [r["properties"]["email"] for r in listed] == ["c@example.com"]
