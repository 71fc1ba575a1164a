"""The REST resources one record at a time, and the org's metadata.

* ``GET /services/data/`` (versions; no session needed, not metered),
  ``GET /services/data/vXX.X/`` (resources), ``GET …/limits``;
* ``GET …/sobjects`` (global describe), ``GET …/sobjects/{sobject}`` (basic
  info), ``GET …/sobjects/{sobject}/describe``;
* ``POST …/sobjects/{sobject}`` creates (201 ``{id, success, errors}``);
  ``GET``, ``PATCH`` (204), ``DELETE`` (204) ``…/sobjects/{sobject}/{id}``;
* ``GET`` and ``PATCH …/sobjects/{sobject}/{field}/{value}``: read or upsert by
  an external id (or another lookup field such as ``Email``): 201
  ``{id, success, errors, created: true}`` when created, 200 with ``created:
  false`` when updated (204 before API 46.0), 300 with the matching records'
  URLs when several match, 404 with ``?updateOnly=true`` when none does.

A refused write answers 400 with every reason: ``[{"message", "errorCode",
"fields"}, ...]``.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from adapters.salesforce.sandbox.context import Answer, ApiRequest
from adapters.salesforce.sandbox.describe import describe_basic, describe_sobject
from adapters.salesforce.sandbox.ids import normalize
from adapters.salesforce.sandbox.org import fold
from adapters.salesforce.sandbox.problems import (
    SalesforceProblem,
    bad_request,
    entity_deleted,
    not_found,
    refused,
)
from adapters.salesforce.sandbox.schema import SObjectType
from adapters.salesforce.sandbox.writes import Change, delete, load_record, save

_SEASONS = ("Winter", "Spring", "Summer")
#: Oldest version the versions list names.
OLDEST_VERSION = 31


def release_name(version: int) -> str:
    """Salesforce's release for an API version: 62 is Winter '25, 63 Spring '25, ..."""
    step = version - 62
    return f"{_SEASONS[step % 3]} '{25 + step // 3:02d}"


def versions(sandbox_version: str) -> list[dict[str, str]]:
    newest = int(float(sandbox_version))
    return [
        {"label": release_name(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(OLDEST_VERSION, newest + 1)
    ]


def resources(api: ApiRequest) -> Answer:
    names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
    return 200, {name: f"{api.prefix}/{name}" for name in names}


def limits(api: ApiRequest) -> Answer:
    return 200, api.sandbox.limits.describe()


def global_describe(api: ApiRequest) -> Answer:
    with api.org.guard:
        types = sorted(api.org.catalog.types.values(), key=lambda t: t.name)
    return 200, {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [describe_basic(t, api.version) for t in types],
    }


def sobject_info(api: ApiRequest) -> Answer:
    t = api.sobject()
    return 200, {"objectDescribe": describe_basic(t, api.version), "recentItems": []}


def describe(api: ApiRequest) -> Answer:
    return 200, describe_sobject(api.sobject(), api.version)


def refuse_operation(t: SObjectType, verb: str) -> SalesforceProblem:
    return bad_request("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {t.name}")


def create(api: ApiRequest) -> Answer:
    t = api.sobject()
    if not t.createable:
        raise refuse_operation(t, "inserted")
    values = load_record(t, api.json_object())
    (outcome,) = save(
        api.org, [Change(t.name, values, "insert")], all_or_none=True, user_id=api.user_id
    )
    if outcome.errors:
        raise refused(outcome.errors)
    return 201, outcome.result()


def _existing(api: ApiRequest, t: SObjectType) -> str:
    raw = api.args["id"]
    record_id = normalize(raw)
    if record_id is None:
        raise not_found(f"Provided external ID field does not exist or is not accessible: {raw}")
    with api.org.guard:
        kind, live, deleted = api.org.locate(record_id)
    if deleted and kind == t.name:
        raise entity_deleted()
    if live is None or kind != t.name:
        raise not_found()
    return record_id


def get_record(api: ApiRequest) -> Answer:
    t = api.sobject()
    record_id = _existing(api, t)
    record = api.org.get(t.name, record_id)
    if record is None:
        raise not_found()
    return 200, api.view(t, record, api.fields_param(t))


def update_record(api: ApiRequest) -> Answer:
    t = api.sobject()
    if not t.updateable:
        raise refuse_operation(t, "updated")
    record_id = _existing(api, t)
    values = load_record(t, api.json_object())
    if "Id" in values and values["Id"] != record_id:
        raise bad_request(
            "INVALID_FIELD", "The Id field should not be specified in the sobject data."
        )
    values.pop("Id", None)
    (outcome,) = save(
        api.org,
        [Change(t.name, values, "update", record_id=record_id)],
        all_or_none=True,
        user_id=api.user_id,
    )
    if outcome.errors:
        raise refused(outcome.errors)
    return Response(status=204)


def delete_record(api: ApiRequest) -> Answer:
    t = api.sobject()
    if not t.deletable:
        raise refuse_operation(t, "deleted")
    record_id = _existing(api, t)
    (outcome,) = delete(api.org, [record_id], all_or_none=True, only=t)
    if outcome.errors:
        raise refused(outcome.errors)
    return Response(status=204)


def _lookup_field(api: ApiRequest, t: SObjectType) -> str:
    found = t.field(api.args["field"])
    if found is None or not found.id_lookup:
        raise not_found(
            f"Provided external ID field does not exist or is not accessible: {api.args['field']}"
        )
    return found.name


def _several(api: ApiRequest, t: SObjectType, ids: list[str]) -> Answer:
    return 300, [api.url(t.name, i) for i in ids]


def get_by_external_id(api: ApiRequest) -> Answer:
    t = api.sobject()
    name = _lookup_field(api, t)
    ids = api.org.match(t.name, name, api.args["value"])
    if len(ids) > 1:
        return _several(api, t, ids)
    record = api.org.get(t.name, ids[0]) if ids else None
    if record is None:
        raise not_found()
    return 200, api.view(t, record, api.fields_param(t))


def upsert_record(api: ApiRequest) -> Answer:
    t = api.sobject()
    if not (t.createable and t.updateable):
        raise refuse_operation(t, "upserted")
    name, value = _lookup_field(api, t), api.args["value"]
    values = load_record(t, api.json_object())
    if "Id" in values:
        raise bad_request(
            "INVALID_FIELD", "The Id field should not be specified in the sobject data."
        )
    if name in values and fold(values[name]) != fold(value):
        raise bad_request(
            "INVALID_FIELD",
            f"The value of {name} in the request body does not match the value in the URL: "
            f"{values[name]}",
        )
    ids = api.org.match(t.name, name, value)
    if len(ids) > 1:
        return _several(api, t, ids)
    if not ids and api.request.args.get("updateOnly", "").lower() == "true":
        raise not_found()
    (outcome,) = save(
        api.org,
        [Change(t.name, values, "upsert", key=(name, value))],
        all_or_none=True,
        user_id=api.user_id,
    )
    if outcome.errors:
        raise refused(outcome.errors)
    body: dict[str, Any] = outcome.result(upsert=True)
    if outcome.created:
        return 201, body
    if float(api.version) < 46:
        return Response(status=204)
    return 200, body
