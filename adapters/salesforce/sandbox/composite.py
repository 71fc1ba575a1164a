"""sObject Collections: up to 200 records per request, one result per record, in order.

* ``PATCH …/composite/sobjects/{sobject}/{field}`` upserts by an external id
  (API 46.0+): ``{"allOrNone": false, "records": [{"attributes": {"type": …},
  …}]}`` → ``[{id, success, errors, created}]``;
* ``POST …/composite/sobjects`` creates (records of any type) → ``[{id,
  success, errors}]``; ``PATCH …/composite/sobjects`` updates by ``Id``;
  ``DELETE …/composite/sobjects?ids=…&allOrNone=…`` deletes;
* ``GET …/composite/sobjects/{sobject}?ids=…&fields=…`` reads records (null
  for ids that match none).

The answer is 200 whenever the request is well formed, whatever became of each
record: a refused record has ``success: false`` and ``errors: [{statusCode,
message, fields}]`` (its ``id`` left out when it has none). The whole request
fails with 400 when it is not: more than 200 records (``EXCEEDED_ID_LIMIT``), an
unknown field (``INVALID_FIELD``), a value of the wrong JSON type
(``JSON_PARSER_ERROR``), a record without ``attributes.type`` or of another type
than the URL names (``INVALID_TYPE``).
"""

from __future__ import annotations

from typing import Any

from adapters.salesforce.sandbox.context import Answer, ApiRequest
from adapters.salesforce.sandbox.ids import normalize
from adapters.salesforce.sandbox.problems import bad_request, not_found
from adapters.salesforce.sandbox.rest import refuse_operation
from adapters.salesforce.sandbox.schema import SObjectType
from adapters.salesforce.sandbox.values import Issue
from adapters.salesforce.sandbox.writes import Change, Outcome, delete, load_record, save

LIMIT = 200


def _need_version(api: ApiRequest, oldest: float) -> None:
    if float(api.version) < oldest:
        raise not_found()


def _records(api: ApiRequest) -> tuple[list[dict[str, Any]], bool]:
    body = api.json_object()
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise bad_request("JSON_PARSER_ERROR", "records must be an array of sObjects")
    if len(records) > LIMIT:
        raise bad_request(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise bad_request("JSON_PARSER_ERROR", "allOrNone must be true or false")
    return records, all_or_none


def _type_of(api: ApiRequest, record: dict[str, Any]) -> SObjectType:
    attributes = record.get("attributes")
    name = attributes.get("type") if isinstance(attributes, dict) else None
    if not isinstance(name, str) or not name:
        raise bad_request(
            "INVALID_TYPE",
            "When creating, updating, or upserting records, each record's attributes must "
            "contain its sObject type",
        )
    found = api.org.sobject(name)
    if found is None:
        raise bad_request("INVALID_TYPE", f"sObject type '{name}' is not supported.")
    return found


def _answer(outcomes: list[Outcome], *, upsert: bool = False) -> Answer:
    return 200, [outcome.result(upsert=upsert) for outcome in outcomes]


def upsert(api: ApiRequest) -> Answer:
    _need_version(api, 46.0)
    t = api.sobject()
    if not (t.createable and t.updateable):
        raise refuse_operation(t, "upserted")
    key = t.field(api.args["field"])
    if key is None or not key.id_lookup or key.name == "Id":
        raise bad_request(
            "INVALID_FIELD",
            f"Field name provided, {api.args['field']} does not match an External ID, "
            f"Salesforce Id, or indexed field for {t.name}",
        )
    records, all_or_none = _records(api)
    changes = []
    for record in records:
        if _type_of(api, record).name != t.name:
            raise bad_request(
                "INVALID_TYPE",
                f"The records must all be of the type the URL names: {t.name}",
            )
        values = load_record(t, record)
        changes.append(Change(t.name, values, "upsert", key=(key.name, values.pop(key.name, None))))
    api.detail = t.name
    return _answer(
        save(api.org, changes, all_or_none=all_or_none, user_id=api.user_id), upsert=True
    )


def create(api: ApiRequest) -> Answer:
    _need_version(api, 42.0)
    records, all_or_none = _records(api)
    changes = []
    for record in records:
        t = _type_of(api, record)
        if not t.createable:
            raise refuse_operation(t, "inserted")
        changes.append(Change(t.name, load_record(t, record), "insert"))
    api.detail = _named(changes)
    return _answer(save(api.org, changes, all_or_none=all_or_none, user_id=api.user_id))


def update(api: ApiRequest) -> Answer:
    _need_version(api, 42.0)
    records, all_or_none = _records(api)
    changes = []
    for record in records:
        t = _type_of(api, record)
        if not t.updateable:
            raise refuse_operation(t, "updated")
        values = load_record(t, record)
        raw_id = values.pop("Id", None)
        change = Change(t.name, values, "update", record_id=normalize(str(raw_id or "")))
        if raw_id is None:
            change.issues.append(Issue("MISSING_ARGUMENT", "Id not specified in an update call"))
        elif change.record_id is None:
            change.issues.append(Issue("MALFORMED_ID", f"malformed id {raw_id}", ("Id",)))
        changes.append(change)
    api.detail = _named(changes)
    return _answer(save(api.org, changes, all_or_none=all_or_none, user_id=api.user_id))


def remove(api: ApiRequest) -> Answer:
    _need_version(api, 42.0)
    ids = [i.strip() for i in api.request.args.get("ids", "").split(",") if i.strip()]
    if not ids:
        raise bad_request("MISSING_ARGUMENT", "ids parameter is required")
    if len(ids) > LIMIT:
        raise bad_request(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    all_or_none = api.request.args.get("allOrNone", "false").lower() == "true"
    return _answer(delete(api.org, ids, all_or_none=all_or_none))


def retrieve(api: ApiRequest) -> Answer:
    _need_version(api, 42.0)
    t = api.sobject()
    ids = [i.strip() for i in api.request.args.get("ids", "").split(",") if i.strip()]
    if not ids:
        raise bad_request("MISSING_ARGUMENT", "ids parameter is required")
    if len(ids) > 2000:
        raise bad_request("EXCEEDED_ID_LIMIT", "Cannot retrieve more than 2000 records")
    fields = api.fields_param(t)
    if fields is None:
        raise bad_request("MISSING_ARGUMENT", "fields parameter is required")
    found: list[dict[str, Any] | None] = []
    for raw in ids:
        record = api.org.get(t.name, raw)
        found.append(None if record is None else api.view(t, record, fields))
    return 200, found


def _named(changes: list[Change]) -> str | None:
    names = sorted({c.sobject for c in changes})
    return ",".join(names) if names else None
