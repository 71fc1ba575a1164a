"""The Salesforce sandbox is part of the product: the real simple-salesforce must work against it.

Every test drives the sandbox through ``simple-salesforce``, unpatched, over real
HTTP on 127.0.0.1, built with the connector's own session
(``build_session(sandbox_url=...)``), and checks what simple-salesforce parses:
records, per-record results, its exceptions (and their ``content``, the error
array Salesforce sends), ``api_usage`` from ``Sforce-Limit-Info``, Bulk API 2.0
results. When one fails, first check whether simple-salesforce changed how it
builds a URL or reads an answer before changing the sandbox.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from adapters.salesforce.sandbox import FaultRule, SalesforceSandbox
from adapters.salesforce.session import build_session

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
COLLECTION = "composite/sobjects/Task/Revont_Call_Id__c"


class FakeClock:
    """A clock the test moves by hand (connector.quota.Clock)."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., SalesforceSandbox]]:
    started: list[SalesforceSandbox] = []

    def make(**kw: Any) -> SalesforceSandbox:
        kw.setdefault("bulk_delay_seconds", 0.05)
        sandbox = SalesforceSandbox(**kw).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sf(make_sandbox: Callable[..., SalesforceSandbox]) -> SalesforceSandbox:
    return make_sandbox()


def session(sandbox: SalesforceSandbox, max_attempts: int = 1) -> requests.Session:
    """The connector's session, re-targeting https:// to the sandbox (no retries unless asked)."""
    return build_session(
        connect_timeout=5, read_timeout=30, max_attempts=max_attempts, sandbox_url=sandbox.url
    )


def client(sandbox: SalesforceSandbox, **kw: Any) -> Salesforce:
    """simple-salesforce with the sandbox's session id (auth mode ``access_token``)."""
    return Salesforce(
        instance_url=sandbox.instance_url,
        session_id=kw.pop("session_id", sandbox.access_token),
        session=kw.pop("session", None) or session(sandbox),
        version="62.0",
        **kw,
    )


def jwt_client(sandbox: SalesforceSandbox, **kw: Any) -> Salesforce:
    return Salesforce(
        username=kw.pop("username", sandbox.username),
        consumer_key=kw.pop("consumer_key", sandbox.consumer_key),
        privatekey=kw.pop("privatekey", sandbox.private_key_pem),
        session=session(sandbox),
        domain=kw.pop("domain", "login"),
        version="62.0",
    )


def task(call_id: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Task"}, "Revont_Call_Id__c": call_id, **fields}


def upsert_tasks(sf_client: Salesforce, *records: dict[str, Any], all_or_none: bool = False) -> Any:
    return sf_client.restful(
        COLLECTION, method="PATCH", json={"allOrNone": all_or_none, "records": list(records)}
    )


def codes(result: dict[str, Any]) -> list[str]:
    return [error["statusCode"] for error in result["errors"]]


# -- logins and sessions ------------------------------------------------------------------------


def test_a_session_id_reads_describe_and_reports_api_usage(sf: SalesforceSandbox) -> None:
    """Describe has Salesforce's keys and values; api_usage follows Sforce-Limit-Info."""
    sf_client = client(sf)
    contacts = sf_client.Contact  # each attribute access builds a new SFType, with its own usage
    contact = contacts.describe()
    fields = {f["name"]: f for f in contact["fields"]}
    assert contact["name"] == "Contact" and contact["keyPrefix"] == "003"
    last = fields["LastName"]
    assert (last["type"], last["length"], last["nillable"], last["createable"]) == (
        "string",
        80,
        False,
        True,
    )
    assert fields["Email"]["type"] == "email" and fields["Email"]["idLookup"] is True
    own = fields["Revont_Contact_Id__c"]
    assert own["externalId"] and own["unique"] and own["custom"] and own["length"] == 255
    assert contacts.api_usage["api-usage"].used == 1
    versions = requests.get(f"{sf.url}/services/data/", timeout=5)  # no session, not metered
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in (
        versions.json()
    )
    assert "Sforce-Limit-Info" not in versions.headers
    limits = sf_client.limits()
    assert limits["DailyApiRequests"] == {"Max": 15_000, "Remaining": 15_000 - 2}
    assert sf_client.api_usage["api-usage"].used == 2


def test_task_describe_matches_what_logging_a_call_needs(sf: SalesforceSandbox) -> None:
    """Task fields: types, lengths, picklists, create-only TaskSubtype, the external ids."""
    fields = {f["name"]: f for f in client(sf).Task.describe()["fields"]}
    assert (fields["Subject"]["type"], fields["Subject"]["length"]) == ("combobox", 255)
    assert (fields["Description"]["type"], fields["Description"]["length"]) == ("textarea", 32_000)
    assert fields["Description"]["filterable"] is False
    assert fields["ActivityDate"]["type"] == "date"
    assert [p["value"] for p in fields["Status"]["picklistValues"]] == [
        "Not Started",
        "In Progress",
        "Completed",
        "Waiting on someone else",
        "Deferred",
    ]
    assert fields["Status"]["defaultedOnCreate"] and not fields["Status"]["nillable"]
    subtype = fields["TaskSubtype"]
    assert subtype["createable"] and not subtype["updateable"]
    assert "Call" in [p["value"] for p in subtype["picklistValues"]]
    assert [p["value"] for p in fields["CallType"]["picklistValues"]] == [
        "Inbound",
        "Outbound",
        "Internal",
    ]
    assert fields["CallDurationInSeconds"]["type"] == "int"
    assert fields["WhoId"]["referenceTo"] == ["Contact", "Lead"]
    assert fields["OwnerId"]["referenceTo"] == ["User"]
    for name in ("Revont_Call_Id__c", "Revont_Action_Item_Id__c"):
        assert fields[name]["externalId"] and fields[name]["unique"]
    lead = {f["name"]: f for f in client(sf).Lead.describe()["fields"]}
    assert not lead["Company"]["nillable"] and not lead["LastName"]["nillable"]


def test_custom_fields_can_be_added_later(make_sandbox: Callable[..., SalesforceSandbox]) -> None:
    """Without the Revont_* fields upserts by them fail; add_custom_fields() makes them work."""
    sf = make_sandbox(with_custom_fields=False)
    sf_client = client(sf)
    names = [f["name"] for f in sf_client.Task.describe()["fields"]]
    assert "Revont_Call_Id__c" not in names
    with pytest.raises(SalesforceMalformedRequest) as info:
        upsert_tasks(sf_client, task("c1"))
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
    sf.org.add_custom_fields()
    (result,) = upsert_tasks(sf_client, task("c1", Subject="Call"))
    assert result["success"] and result["created"]


def test_jwt_bearer_login_verifies_the_assertion(sf: SalesforceSandbox) -> None:
    """JWT: the org's key pair, iss = consumer key, sub = username, aud login/test."""
    sf_client = jwt_client(sf)
    assert sf_client.sf_instance == "revont-sandbox.my.salesforce.com"
    assert sf_client.query("SELECT Id FROM User")["totalSize"] == 1
    assert jwt_client(sf, domain="test").session_id != sf_client.session_id
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        jwt_client(sf, privatekey=forged)
    assert (info.value.code, info.value.auth_message) == ("invalid_grant", "invalid assertion")
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        jwt_client(sf, consumer_key="someone-else")
    assert info.value.code == "invalid_client_id"
    with pytest.raises(SalesforceAuthenticationFailed) as info, pytest.warns(UserWarning):
        jwt_client(sf, username="nobody@example.com")
    assert info.value.auth_message == "user hasn't approved this consumer"
    stale = jwt.encode(
        {
            "iss": sf.consumer_key,
            "sub": sf.username,
            "aud": "https://login.salesforce.com",
            "exp": 1,
        },
        sf.private_key_pem,
        algorithm="RS256",
    )
    answer = requests.post(
        f"{sf.url}/services/oauth2/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": stale},
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_client_credentials_password_and_soap_logins(sf: SalesforceSandbox) -> None:
    """Client credentials at a My Domain, the OAuth password grant and SOAP login all work."""
    by_client = Salesforce(
        consumer_key=sf.consumer_key,
        consumer_secret=sf.consumer_secret,
        domain="revont-sandbox.my",
        session=session(sf),
        version="62.0",
    )
    assert by_client.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(
            consumer_key=sf.consumer_key,
            consumer_secret="wrong",
            domain="revont-sandbox.my",
            session=session(sf),
        )
    assert info.value.code == "invalid_client"
    assert info.value.auth_message == "invalid client credentials"
    creds = sf.credentials
    by_password = Salesforce(
        username=creds.username,
        password=creds.password + creds.security_token,
        consumer_key=creds.consumer_key,
        consumer_secret=creds.consumer_secret,
        session=session(sf),
        version="62.0",
    )
    by_soap = Salesforce(
        username=creds.username,
        password=creds.password,
        security_token=creds.security_token,
        session=session(sf),
        version="62.0",
    )
    assert by_password.sf_instance == by_soap.sf_instance == "revont-sandbox.my.salesforce.com"
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(username=creds.username, password="x", security_token="y", session=session(sf))
    assert info.value.code == "INVALID_LOGIN"
    answer = requests.post(f"{sf.url}/services/oauth2/token", data={"grant_type": "x"}, timeout=5)
    assert answer.json()["error"] == "unsupported_grant_type"


def test_expired_sessions_answer_401(make_sandbox: Callable[..., SalesforceSandbox]) -> None:
    """Idle sessions expire by the clock, expire_sessions() ends them all; a direct session
    raises SalesforceExpiredSession, a JWT client logs in again by itself."""
    clock = FakeClock()
    sf = make_sandbox(clock=clock, session_ttl_seconds=600)
    direct = client(sf)
    assert direct.query("SELECT Id FROM Contact")["totalSize"] == 0
    clock.now += 601
    with pytest.raises(SalesforceExpiredSession) as info:
        direct.query("SELECT Id FROM Contact")
    assert info.value.status == 401
    assert info.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    by_jwt = jwt_client(sf)
    fresh = client(sf, session_id=sf.issue_access_token())
    sf.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        fresh.query("SELECT Id FROM Contact")
    assert by_jwt.query("SELECT Id FROM Contact")["done"] is True
    assert sf.log.count("POST /services/oauth2/token", 200) == 2
    assert sf.log.count("GET /services/data/vXX.X/query", 401) == 3


def test_the_daily_allowance_answers_403_and_rolls(
    make_sandbox: Callable[..., SalesforceSandbox],
) -> None:
    """At the limit: 403 REQUEST_LIMIT_EXCEEDED (not spent); usage ages out after 24 hours;
    Bulk requests and errors spend the allowance, 401s and logins do not."""
    clock = FakeClock()
    sf = make_sandbox(clock=clock, daily_limit=100, session_ttl_seconds=2 * 86_400)
    sf_client = client(sf)
    sf.set_api_usage(used=98)
    sf_client.query("SELECT Id FROM Contact")
    assert sf_client.api_usage["api-usage"] == (99, 100)
    with pytest.raises(SalesforceMalformedRequest):  # an error spends one too
        sf_client.query("SELECT Nope FROM Contact")
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf_client.query("SELECT Id FROM Contact")
    assert info.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    raw = session(sf).get(
        f"{sf.url}/services/data/v62.0/jobs/ingest",
        headers={"Authorization": f"Bearer {sf.access_token}"},
    )
    assert raw.status_code == 403 and raw.headers["Sforce-Limit-Info"] == "api-usage=100/100"
    with pytest.raises(SalesforceExpiredSession):
        client(sf, session_id="00Dnope!bad").query("SELECT Id FROM Contact")
    clock.now += 86_400  # the 98 set "just now" and the two spent since age out
    sf_client.query("SELECT Id FROM Contact")
    assert sf_client.api_usage["api-usage"] == (1, 100)
    assert sf.limits.describe()["DailyApiRequests"] == {"Max": 100, "Remaining": 99}


# -- SOQL ---------------------------------------------------------------------------------------


EMAILS = [
    "Ann@Example.com",
    "a\\b@example.com",
    "o'hara@example.com",
    "x' OR Email != '",
    "bob@example.com",
]


def with_contacts(sf: SalesforceSandbox) -> None:
    for i, email in enumerate(EMAILS):
        sf.org.add("Contact", Email=email if "@" in email else None, LastName=f"C{i}")
    sf.org.add("Contact", LastName="No email")


def test_format_soql_values_match_literally(sf: SalesforceSandbox) -> None:
    """format_soql's escapes (\\' and \\\\) reach the sandbox as the literal values."""
    with_contacts(sf)
    sf.org.add("Lead", Email="o'neil_x%@example.com", LastName="L", Company="Acme")
    sf.org.add("Lead", Email="o'neilAx5@example.com", LastName="M", Company="Acme")
    sf_client = client(sf)
    query = format_soql(
        "SELECT Id, Email FROM Contact WHERE Email IN {}", ["x' OR Email != '", "a\\b@example.com"]
    )
    assert [r["Email"] for r in sf_client.query(query)["records"]] == ["a\\b@example.com"]
    query = format_soql(
        "SELECT Email FROM Contact WHERE Email = {} OR Email = {}", "O'HARA@example.com", "ann@x"
    )
    assert [r["Email"] for r in sf_client.query(query)["records"]] == ["o'hara@example.com"]
    like = format_soql("SELECT Email FROM Lead WHERE Email LIKE '{:like}%'", "o'neil_x%")
    assert [r["Email"] for r in sf_client.query(like)["records"]] == ["o'neil_x%@example.com"]


def test_injection_attempts_are_malformed_or_work_as_on_salesforce(sf: SalesforceSandbox) -> None:
    """SQL-style quote doubling and stray backslashes are MALFORMED_QUERY; a raw f-string
    *does* change the query, as on Salesforce (which is why adapters use format_soql)."""
    with_contacts(sf)
    sf_client = client(sf)
    for value in ("x'' OR Email != ''", "a\\", "a\\qb"):
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf_client.query(f"SELECT Id FROM Contact WHERE Email = '{value}'")
        assert info.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    evil = "x' OR Email != '"
    injected = sf_client.query(f"SELECT Id FROM Contact WHERE Email = '{evil}'")
    assert injected["totalSize"] == 4  # Email = 'x' OR Email != '' : every contact with an email


def test_soql_conditions_order_and_limits(sf: SalesforceSandbox) -> None:
    """=, !=, IN, NOT IN, LIKE, AND/OR/NOT with parentheses, NULL, ORDER BY, LIMIT, OFFSET."""
    with_contacts(sf)
    sf_client = client(sf)

    def emails(where: str, tail: str = "ORDER BY Email") -> list[str | None]:
        soql = f"SELECT Email FROM Contact WHERE {where} {tail}"
        return [r["Email"] for r in sf_client.query(soql)["records"]]

    assert emails("email = 'ANN@example.COM'") == ["Ann@Example.com"]
    assert emails("Email = null") == [None, None]
    assert emails("Email != 'bob@example.com'") == [
        None,
        None,
        "a\\b@example.com",
        "Ann@Example.com",
        "o'hara@example.com",
    ]
    assert emails("Email NOT IN ('bob@example.com', 'ann@example.com') AND Email != null") == [
        "a\\b@example.com",
        "o'hara@example.com",
    ]
    assert emails("Email LIKE 'a%'") == ["a\\b@example.com", "Ann@Example.com"]
    assert emails("(Email LIKE 'b%' OR Email LIKE 'o%') AND NOT LastName = 'C4'") == [
        "o'hara@example.com"
    ]
    assert emails("Email != null", "ORDER BY Email DESC LIMIT 2 OFFSET 1") == [
        "bob@example.com",
        "Ann@Example.com",
    ]
    count = sf_client.query("SELECT COUNT() FROM Contact WHERE Email LIKE '%example.com'")
    assert count["totalSize"] == 4 and count["records"] == []


@pytest.mark.parametrize(
    ("where", "code", "words"),
    [
        ("Email = 'a' AND LastName = 'b' OR Id = null", "MALFORMED_QUERY", "unexpected token"),
        ("Email = 'a' AND (LastName = 'b' OR", "MALFORMED_QUERY", "unexpected token"),
        ("Nope__c = 'x'", "INVALID_FIELD", "No such column 'Nope__c' on entity 'Contact'"),
        ('Email = "a"', "MALFORMED_QUERY", "no viable alternative at character '\"'"),
        ("Email = 5", "INVALID_FIELD", "must be of type string and should be enclosed in quotes"),
        ("Title = 'x", "MALFORMED_QUERY", "mismatched character '<EOF>'"),
        ("Description = 'x'", "INVALID_FIELD", "field 'Description' can not be filtered"),
        ("Id = 'nope'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: nope"),
        ("Email LIKE 5", "INVALID_FIELD", "LIKE"),
        ("CreatedDate > 2026-01-01", "INVALID_FIELD", "must be of type dateTime"),
    ],
)
def test_bad_conditions_are_refused_like_salesforce(
    sf: SalesforceSandbox, where: str, code: str, words: str
) -> None:
    """400 with [{"message", "errorCode"}], the message naming the problem (and its place)."""
    with pytest.raises(SalesforceMalformedRequest) as info:
        client(sf).query(f"SELECT Id FROM Contact WHERE {where}")
    (error,) = info.value.content
    assert error["errorCode"] == code and words in error["message"]


@pytest.mark.parametrize(
    ("soql", "code", "words"),
    [
        ("SELECT Id, Nope__c FROM Contact", "INVALID_FIELD", "No such column 'Nope__c'"),
        ("SELECT Id FROM Widget", "INVALID_TYPE", "sObject type 'Widget' is not supported"),
        ("SELECT Id, Id FROM Contact", "MALFORMED_QUERY", "duplicate field selected: Id"),
        ("SELECT Owner.Email FROM Contact", "INVALID_FIELD", "relationship"),
        ("SELECT Id FROM Task WHERE CallDurationInSeconds = '5'", "INVALID_FIELD", "double"),
        ("SELECT Id FROM Contact ORDER BY Description", "INVALID_FIELD", "can not be sorted"),
        ("SELECT Id FROM Contact LIMIT", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id FROM ContentDocumentLink", "MALFORMED_QUERY", "Implementation restriction"),
    ],
)
def test_bad_queries_are_refused_like_salesforce(
    sf: SalesforceSandbox, soql: str, code: str, words: str
) -> None:
    """Unknown fields and objects, repeated fields, unsupported paths, wrong value types."""
    with pytest.raises(SalesforceMalformedRequest) as info:
        client(sf).query(soql)
    (error,) = info.value.content
    assert error["errorCode"] == code and words in error["message"]


def test_query_pages_and_query_all(make_sandbox: Callable[..., SalesforceSandbox]) -> None:
    """Pages of query_batch_size with nextRecordsUrl; queryAll sees deleted records."""
    sf = make_sandbox(query_batch_size=200)
    for i in range(450):
        sf.org.add("Contact", LastName=f"P{i:03d}", Email=f"p{i}@example.com")
    sf_client = client(sf)
    first = sf_client.query("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert first["totalSize"] == 450 and not first["done"] and len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-200")
    every = sf_client.query_all("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert [r["LastName"] for r in every["records"]] == [f"P{i:03d}" for i in range(450)]
    assert sf.log.count("GET /services/data/vXX.X/query/{locator}") == 2
    gone = every["records"][0]["Id"]
    sf_client.Contact.delete(gone)
    assert sf_client.query(f"SELECT Id FROM Contact WHERE Id = '{gone}'")["totalSize"] == 0
    deleted = sf_client.query_all(
        "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true", include_deleted=True
    )
    assert [(r["Id"], r["IsDeleted"]) for r in deleted["records"]] == [(gone, True)]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf_client.query_more("01gNOPE-200")
    assert info.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


# -- writes -------------------------------------------------------------------------------------


def test_collection_upsert_answers_per_record_in_input_order(sf: SalesforceSandbox) -> None:
    """Created then updated; bad records fail alone; repeated external ids fail together."""
    ann = sf.org.add("Contact", LastName="Lee", Email="ann@example.com")
    sf_client = client(sf)
    call = {
        "Subject": "Intro call",
        "Status": "Completed",
        "TaskSubtype": "Call",
        "Type": "Call",
        "CallType": "Outbound",
        "CallDurationInSeconds": 61,
        "ActivityDate": "2026-11-30",
        "WhoId": ann["Id"],
    }
    results = upsert_tasks(
        sf_client,
        task("c1", **call),
        task("c2", Subject="x" * 256),
        task("c3", Subject="twice"),
        task("C3", Subject="twice again"),
    )
    assert [r["success"] for r in results] == [True, False, False, False]
    assert results[0]["created"] is True and results[0]["id"].startswith("00T")
    assert codes(results[1]) == ["STRING_TOO_LONG"] and results[1]["errors"][0]["fields"] == [
        "Subject"
    ]
    assert codes(results[2]) == codes(results[3]) == ["DUPLICATE_EXTERNAL_ID"]
    stored = sf.org.get("Task", results[0]["id"])
    assert stored["IsClosed"] is True and stored["CallDurationInSeconds"] == 61
    assert stored["OwnerId"] == sf.org.user_id
    again = upsert_tasks(sf_client, task("C1", Description="transcript"), task("c2"))
    assert [(r["success"], r["created"]) for r in again] == [(True, False), (True, True)]
    assert again[0]["id"] == results[0]["id"]
    assert sf.org.get("Task", again[0]["id"])["Subject"] == "Intro call"
    with pytest.raises(SalesforceMalformedRequest) as info:
        upsert_tasks(sf_client, *[task(f"n{i}") for i in range(201)])
    assert info.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    with pytest.raises(SalesforceMalformedRequest) as info:
        upsert_tasks(sf_client, task("c9", Mood__c="good"))
    assert info.value.content[0] == {
        "message": "No such column 'Mood__c' on sobject of type Task",
        "errorCode": "INVALID_FIELD",
    }
    assert len(sf.org.records("Task")) == 2
    assert sf.log.count("PATCH /services/data/vXX.X/composite/sobjects/Task/Revont_Call_Id__c") == 4


def test_all_or_none_rolls_back(sf: SalesforceSandbox) -> None:
    """allOrNone: one bad record and nothing is written; the good ones say rolled back."""
    sf_client = client(sf)
    upsert_tasks(sf_client, task("old", Subject="Before"))
    results = upsert_tasks(
        sf_client,
        task("old", Subject="After"),
        task("new", Subject="New"),
        task("bad", Status="Done"),
        all_or_none=True,
    )
    assert codes(results[0]) == codes(results[1]) == ["ALL_OR_NONE_OPERATION_ROLLED_BACK"]
    assert codes(results[2]) == ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"]
    assert [r["Subject"] for r in sf.org.records("Task")] == ["Before"]


@pytest.mark.parametrize(
    ("fields", "code", "named"),
    [
        ({"LastName": "Lee", "Email": "not an email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
        ({"LastName": "L" * 81}, "STRING_TOO_LONG", ["LastName"]),
        ({"FirstName": "Ann"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
        ({"LastName": "Lee", "Name": "Ann Lee"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["Name"]),
        ({"LastName": "Lee", "AccountId": "nope"}, "MALFORMED_ID", ["AccountId"]),
        ({"LastName": "Lee", "Revont_Contact_Id__c": "taken"}, "DUPLICATE_VALUE", []),
    ],
)
def test_a_refused_single_record_answers_400_with_salesforce_codes(
    sf: SalesforceSandbox, fields: dict[str, Any], code: str, named: list[str] | None
) -> None:
    """POST /sobjects/Contact: 400 [{"message", "errorCode", "fields"}], nothing written."""
    sf.org.add("Contact", LastName="Owner", Revont_Contact_Id__c="TAKEN")
    with pytest.raises(SalesforceMalformedRequest) as info:
        client(sf).Contact.create(fields)
    (error,) = info.value.content
    assert error["errorCode"] == code and error["message"]
    if named is not None:
        assert error["fields"] == named
    assert len(sf.org.records("Contact")) == 1


def test_task_rules_references_and_create_only_fields(sf: SalesforceSandbox) -> None:
    """TaskSubtype cannot change; WhoId must be a live Contact or Lead; a lead's task takes no
    WhatId; unknown fields and wrongly typed values fail the whole request."""
    sf_client = client(sf)
    lead = sf.org.add("Lead", LastName="Poe", Company="Acme", Email="poe@example.com")
    account = sf.org.add("Account", Name="Acme")
    contact = sf.org.add("Contact", LastName="Gone")
    sf_client.Contact.delete(contact["Id"])
    results = upsert_tasks(
        sf_client,
        task("t1", TaskSubtype="Call", WhoId=lead["Id"]),
        task("t2", WhoId=account["Id"]),
        task("t3", WhoId=contact["Id"]),
        task("t4", WhoId=lead["Id"], WhatId=account["Id"]),
        task("t5", CallType="Sideways"),
    )
    assert results[0]["success"]
    assert codes(results[1]) == ["FIELD_INTEGRITY_EXCEPTION"]
    assert "Name ID: id value of incorrect type" in results[1]["errors"][0]["message"]
    assert codes(results[2]) == ["ENTITY_IS_DELETED"]
    assert codes(results[3]) == ["FIELD_INTEGRITY_EXCEPTION"]
    assert codes(results[4]) == ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"]
    (update,) = upsert_tasks(sf_client, task("t1", TaskSubtype="Call", Subject="x"))
    assert codes(update) == ["INVALID_FIELD_FOR_INSERT_UPDATE"]
    assert update["errors"][0]["fields"] == ["TaskSubtype"]
    with pytest.raises(SalesforceMalformedRequest) as info:
        upsert_tasks(sf_client, task("t6", CallDurationInSeconds="long"))
    assert info.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf_client.Task.update(results[0]["id"], {"ActivityDate": "yesterday"})
    assert info.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_single_record_upsert_read_update_delete(sf: SalesforceSandbox) -> None:
    """Upsert 201 then 200 (created true / false); 300 when two records match an email;
    updateOnly; read by id and external id; delete then 404 ENTITY_IS_DELETED."""
    sf_client = client(sf)
    made = sf_client.Task.upsert("Revont_Call_Id__c/abc", {"Subject": "Call"}, raw_response=True)
    assert made.status_code == 201 and made.json()["created"] is True
    updated = sf_client.Task.upsert(
        "Revont_Call_Id__c/ABC", {"Subject": "Again"}, raw_response=True
    )
    assert updated.status_code == 200 and updated.json() == {
        "id": made.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    by_key = sf_client.Task.get_by_custom_id("Revont_Call_Id__c", "abc")
    assert by_key["Subject"] == "Again" and by_key["attributes"]["type"] == "Task"
    sf.org.add("Contact", LastName="One", Email="twin@example.com")
    sf.org.add("Contact", LastName="Two", Email="TWIN@example.com")
    with pytest.raises(SalesforceMoreThanOneRecord) as info:
        sf_client.Contact.upsert("Email/twin@example.com", {"Title": "CTO"})
    assert info.value.status == 300 and len(info.value.content) == 2
    with pytest.raises(SalesforceResourceNotFound):
        sf_client.Task.upsert("Revont_Call_Id__c/none?updateOnly=true", {"Subject": "x"})
    created = sf_client.Contact.create({"LastName": "Lee", "Email": "lee@example.com"})
    assert created["success"] and created["errors"] == []
    assert sf_client.Contact.update(created["id"], {"Title": "VP"}) == 204
    assert sf_client.Contact.get(created["id"])["Name"] == "Lee"
    assert sf_client.Contact.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf_client.Contact.get(created["id"])
    assert info.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_locked_rows_and_lost_races(sf: SalesforceSandbox) -> None:
    """org.lock → UNABLE_TO_LOCK_ROW for that record only; org.race → DUPLICATE_VALUE, the
    record exists (the winner's), and retrying the record updates it."""
    sf_client = client(sf)
    upsert_tasks(sf_client, task("busy", Subject="Before"))
    sf.org.lock("Task", "busy", count=2)
    results = upsert_tasks(sf_client, task("busy", Subject="After"), task("free"))
    assert codes(results[0]) == ["UNABLE_TO_LOCK_ROW"] and results[1]["success"]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf_client.Task.upsert("Revont_Call_Id__c/busy", {"Subject": "After"})
    assert info.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    (unlocked,) = upsert_tasks(sf_client, task("busy", Subject="After"))
    assert unlocked["success"]
    sf.org.race("Task", "contested")
    (lost,) = upsert_tasks(sf_client, task("contested", Subject="Mine"))
    assert codes(lost) == ["DUPLICATE_VALUE"]
    assert "duplicates value on record with id: 00T" in lost["errors"][0]["message"]
    (retry,) = upsert_tasks(sf_client, task("contested", Subject="Mine"))
    assert retry["success"] and retry["created"] is False
    assert [r["Revont_Call_Id__c"] for r in sf.org.records("Task")].count("contested") == 1


def test_two_concurrent_upserts_of_a_new_id_race(sf: SalesforceSandbox) -> None:
    """race_window_seconds: both find no match, one insert wins, the other DUPLICATE_VALUE."""
    sf.org.race_window_seconds = 0.3
    answers: list[Any] = []

    def upsert() -> None:
        answers.extend(upsert_tasks(client(sf), task("same-call", Subject="Call")))

    threads = [threading.Thread(target=upsert) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(a["success"] for a in answers) == [False, True]
    assert [codes(a) for a in answers if not a["success"]] == [["DUPLICATE_VALUE"]]
    assert len(sf.org.records("Task")) == 1


def test_notes_links_users_and_owners(sf: SalesforceSandbox) -> None:
    """ContentNote + ContentDocumentLink (one link per pair); owners must be active users."""
    sf_client = client(sf)
    contact = sf.org.add("Contact", LastName="Lee")
    body = base64.b64encode(b"<p>Full transcript</p>").decode()
    note = sf_client.ContentNote.create({"Title": "Call transcript", "Content": body})
    link = {"ContentDocumentId": note["id"], "LinkedEntityId": contact["Id"], "ShareType": "V"}
    assert sf_client.ContentDocumentLink.create(link)["success"]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf_client.ContentDocumentLink.create(link)
    assert info.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    found = sf_client.query(
        "SELECT Id, LinkedEntityId FROM ContentDocumentLink "
        f"WHERE ContentDocumentId = '{note['id']}'"
    )
    assert [r["LinkedEntityId"] for r in found["records"]] == [contact["Id"]]
    assert sf.org.get("ContentNote", note["id"])["TextPreview"] == "Full transcript"
    rep = sf.org.add_user(email="Rep@Example.com", name="Rae Poe")
    gone = sf.org.add_user(email="gone@example.com", name="Old Rep", active=False)
    users = sf_client.query(
        "SELECT Id FROM User WHERE Email = 'rep@example.com' AND IsActive = true"
    )
    assert [u["Id"] for u in users["records"]] == [rep]
    (owned, refused) = upsert_tasks(sf_client, task("o1", OwnerId=rep), task("o2", OwnerId=gone))
    assert owned["success"] and codes(refused) == ["INACTIVE_OWNER_OR_USER"]


# -- Bulk API 2.0 ---------------------------------------------------------------------------------


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk2_upsert_through_simple_salesforce(sf: SalesforceSandbox, tmp_path: Path) -> None:
    """An upsert job: results unordered; empty cells keep values, #N/A clears; every Bulk
    request is metered; failed rows name their error."""
    sf_client = client(sf)
    upsert_tasks(sf_client, task("c0", Subject="Kept", CallDisposition="Busy"))
    rows = [
        {"Revont_Call_Id__c": f"c{i}", "Subject": f"Call {i}", "CallDisposition": "OK"}
        for i in range(1, 8)
    ]
    rows.insert(0, {"Revont_Call_Id__c": "c0", "Subject": "", "CallDisposition": "#N/A"})
    rows.append({"Revont_Call_Id__c": "bad", "Subject": "x" * 256, "CallDisposition": ""})
    path = tmp_path / "tasks.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    before = sf.limits.requests.used()
    (job,) = sf_client.bulk2.Task.upsert(
        csv_file=str(path), external_id_field="Revont_Call_Id__c", wait=0
    )
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (9, 1)
    results = sf_client.bulk2.Task.get_all_ingest_records(job["job_id"])
    done = results["successfulRecords"]
    assert [r["Revont_Call_Id__c"] for r in done] != [r["Revont_Call_Id__c"] for r in rows[:8]]
    assert {r["Revont_Call_Id__c"]: r["sf__Created"] for r in done} == {
        "c0": "false",
        **{f"c{i}": "true" for i in range(1, 8)},
    }
    (failed,) = results["failedRecords"]
    assert failed["sf__Error"].startswith("STRING_TOO_LONG:Subject: data value too large")
    assert failed["sf__Error"].endswith(":Subject --") and failed["sf__Id"] == ""
    kept = {r["Revont_Call_Id__c"]: r for r in sf.org.records("Task")}["c0"]
    assert kept["Subject"] == "Kept" and kept["CallDisposition"] is None
    used = sf.limits.requests.used() - before
    assert used == sf.log.count() - 1 >= 7  # create, upload, close, polls, three result files
    assert sf.log.count("PUT /services/data/vXX.X/jobs/ingest/{jobId}/batches [Task]", 201) == 1
    assert sf.limits.describe()["DailyBulkApiBatches"]["Remaining"] == 15_000 - 1


def test_bulk_jobs_follow_the_clock_and_fail_on_bad_headers(
    make_sandbox: Callable[..., SalesforceSandbox], tmp_path: Path
) -> None:
    """A closed job stays InProgress until bulk_delay_seconds pass on the sandbox's clock;
    an unknown column fails the whole job (simple-salesforce raises)."""
    clock = FakeClock()
    sf = make_sandbox(clock=clock, bulk_delay_seconds=60)
    http = session(sf)
    base = f"{sf.url}/services/data/v62.0/jobs/ingest"
    auth = {"Authorization": f"Bearer {sf.access_token}"}
    job = http.post(
        base, json={"object": "Contact", "operation": "insert", "lineEnding": "LF"}, headers=auth
    ).json()
    assert job["state"] == "Open" and job["contentUrl"].endswith("/batches")
    put = http.put(
        f"{base}/{job['id']}/batches",
        data="LastName,Email\nLee,lee@example.com\n",
        headers={**auth, "Content-Type": "text/csv"},
    )
    assert put.status_code == 201 and put.headers["Sforce-Limit-Info"]
    http.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=auth)
    assert http.get(f"{base}/{job['id']}", headers=auth).json()["state"] == "InProgress"
    assert sf.org.records("Contact") == []
    clock.now += 60
    info = http.get(f"{base}/{job['id']}", headers=auth).json()
    assert (info["state"], info["numberRecordsProcessed"], info["jobType"]) == (
        "JobComplete",
        1,
        "V2Ingest",
    )
    assert [c["Email"] for c in sf.org.records("Contact")] == ["lee@example.com"]
    path = tmp_path / "bad.csv"
    path.write_text("LastName,Mood__c\nLee,good\n", encoding="utf-8")
    quick = make_sandbox()
    with pytest.raises(SalesforceOperationError, match="Field name not found : Mood__c"):
        client(quick).bulk2.Contact.insert(csv_file=str(path), wait=0)


# -- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "error", "code"),
    [
        (FaultRule(kind="status", status=503), SalesforceGeneralError, "SERVER_UNAVAILABLE"),
        (FaultRule(kind="status", status=500), SalesforceGeneralError, "UNKNOWN_EXCEPTION"),
        (
            FaultRule(kind="status", status=400, code="UNABLE_TO_LOCK_ROW"),
            SalesforceMalformedRequest,
            "UNABLE_TO_LOCK_ROW",
        ),
        (FaultRule(kind="status", status=401), SalesforceExpiredSession, "INVALID_SESSION_ID"),
        (FaultRule(kind="rate_limit"), SalesforceRefusedRequest, "REQUEST_LIMIT_EXCEEDED"),
    ],
)
def test_injected_errors_look_like_salesforces(
    sf: SalesforceSandbox, rule: FaultRule, error: type[Exception], code: str
) -> None:
    """Injected answers carry Salesforce's error array for the status; the fault is used up."""
    rule.path = "/services/data/*/composite/sobjects/Task/*"
    sf.faults.add(rule)
    sf_client = client(sf)
    with pytest.raises(error) as info:
        upsert_tasks(sf_client, task("c1"))
    assert info.value.content[0]["errorCode"] == code
    assert sf.org.records("Task") == []
    (result,) = upsert_tasks(sf_client, task("c1"))
    assert result["created"] is True


def test_lost_answers_drops_latency_and_malformed_json(sf: SalesforceSandbox) -> None:
    """after_serving: the write landed though a 502 came back; a dropped GET is retried by
    the connector's session; a slow answer times out; a truncated 200 breaks the JSON."""
    sf.faults.add(FaultRule(kind="status", status=502, after_serving=True))
    with pytest.raises(SalesforceGeneralError):
        upsert_tasks(client(sf), task("c1"))
    (again,) = upsert_tasks(client(sf), task("c1"))
    assert again["created"] is False
    sf.faults.add(FaultRule(kind="drop", path="/services/data/*/query"))
    retried = client(sf, session=session(sf, max_attempts=2))
    assert retried.query("SELECT Id FROM Task")["totalSize"] == 1
    assert sf.log.count("GET /services/data/vXX.X/query", 0) == 1
    sf.faults.add(FaultRule(kind="latency", seconds=0.3, method="PATCH"))
    # Through the connector's session a read timeout surfaces as a ConnectionError.
    with pytest.raises(requests.exceptions.ConnectionError, match="Read timed out"):
        client(sf).restful(COLLECTION, method="PATCH", json={"records": [task("c2")]}, timeout=0.1)
    sf.faults.add(FaultRule(kind="malformed_json"))
    with pytest.raises(json.JSONDecodeError):
        client(sf).query("SELECT Id FROM Task")
    with pytest.raises(ValueError, match="cannot imitate"):
        sf.faults.add(FaultRule(kind="repeat_cursor"))


def test_control_endpoints_for_the_command_line(sf: SalesforceSandbox) -> None:
    """/_sandbox: credentials, users, records, locks, races, faults, stats and limits."""
    base = f"{sf.url}/_sandbox"
    creds = requests.get(f"{base}/credentials", timeout=5).json()
    assert creds["instance_url"] == sf.instance_url and "PRIVATE KEY" in creds["private_key_pem"]
    user = requests.post(f"{base}/users", json={"email": "r@example.com", "name": "R P"}, timeout=5)
    assert sf.org.get("User", user.json()["id"])["Email"] == "r@example.com"
    made = requests.post(f"{base}/records/Contact", json={"LastName": "Lee"}, timeout=5)
    assert made.status_code == 201 and made.json()["Name"] == "Lee"
    refused = requests.post(f"{base}/records/Contact", json={"FirstName": "A"}, timeout=5)
    assert refused.status_code == 400 and "REQUIRED_FIELD_MISSING" in refused.json()["error"]
    requests.post(f"{base}/locks", json={"sobject": "Task", "key": "k1"}, timeout=5)
    (locked,) = upsert_tasks(client(sf), task("k1"))
    assert codes(locked) == ["UNABLE_TO_LOCK_ROW"]
    requests.delete(f"{base}/locks", timeout=5)
    requests.put(f"{base}/limits", json={"used": 15_000}, timeout=5)
    with pytest.raises(SalesforceRefusedRequest):
        client(sf).query("SELECT Id FROM Contact")
    requests.put(f"{base}/limits", json={"used": 0}, timeout=5)
    requests.post(f"{base}/faults", json={"kind": "status", "status": 503}, timeout=5)
    with pytest.raises(SalesforceGeneralError):
        client(sf).query("SELECT Id FROM Contact")
    stats = requests.get(f"{base}/stats", timeout=5).json()
    assert stats["routes"]["GET /services/data/vXX.X/query"] == {"403": 1, "503": 1}
    token = requests.post(f"{base}/sessions", timeout=5).json()["access_token"]
    assert client(sf, session_id=token).query("SELECT Id FROM Contact")["done"]
    requests.delete(f"{base}/sessions", timeout=5)
    with pytest.raises(SalesforceExpiredSession):
        client(sf, session_id=token).query("SELECT Id FROM Contact")
