"""The batch object endpoints: create, read, update, upsert, archive (at most 100 inputs).

How each reports a bad input, as HubSpot does:

* ``batch/upsert`` keyed on ``email``: one bad input fails the whole batch
  (400 or 409) and nothing is written; HubSpot does not support partial
  upserts by email. Keyed on a custom unique property: a 207 whose ``errors``
  name each bad input in ``context.id`` (and ``context.objectWriteTraceId``
  when the input has one); the good inputs are written.
* ``batch/create``: one bad input fails the batch, unless every input carries
  an ``objectWriteTraceId``; then a 207 names the bad ones by trace id.
* ``batch/read`` and ``batch/update``: ids that do not exist come back as one
  ``OBJECT_NOT_FOUND`` error listing them in ``context.ids`` (207); invalid
  values in an update fail the batch.
* ``batch/archive``: 204, whether or not the ids existed.

Results are never in input order; upsert results say ``new`` true or false.
"""

from __future__ import annotations

from typing import Any

from adapters.hubspot.sandbox.context import ApiRequest
from adapters.hubspot.sandbox.objects import (
    Answer,
    Link,
    check_id_property,
    checked_values,
    create_with_links,
    load_associations,
)
from adapters.hubspot.sandbox.portal import Record
from adapters.hubspot.sandbox.problems import HubSpotProblem, bad_request, batch_error
from adapters.hubspot.sandbox.schema import ObjectType


def _input_error(failure: HubSpotProblem, context: dict[str, list[str]]) -> dict[str, Any]:
    body = failure.body
    return batch_error(body["category"], body["message"], context, errors=body.get("errors"))


def _refuse_duplicates(ids: list[str]) -> None:
    seen: set[str] = set()
    duplicates: set[str] = set()
    for item in ids:
        (duplicates if item in seen else seen).add(item)
    if duplicates:
        raise bad_request(
            f"Duplicate IDs found in batch input: {sorted(duplicates)}. IDs must be unique"
        )


def _claim_unique(
    api: ApiRequest, ot: ObjectType, values: dict[str, str | None], claimed: set[tuple[str, str]]
) -> None:
    """Two inputs of one batch may not give the same unique value."""
    for name in api.portal.unique_properties(ot.name):
        value = values.get(name)
        if value:
            key = (name, value.lower() if name == "email" else value)
            if key in claimed:
                raise bad_request(
                    f"Duplicate value {value} for unique property {name} in batch input."
                )
            claimed.add(key)


def batch_create(api: ApiRequest) -> Answer:
    ot = api.object_type()
    started = api.portal.now()
    inputs = api.inputs(api.body())
    traced = bool(inputs) and all(isinstance(i.get("objectWriteTraceId"), str) for i in inputs)
    staged: list[tuple[dict[str, str | None], list[Link]]] = []
    errors: list[dict[str, Any]] = []
    claimed: set[tuple[str, str]] = set()
    for item in inputs:
        try:
            values = checked_values(api, ot, item.get("properties"), record_id=None, creating=True)
            links = load_associations(api.portal, ot, item.get("associations"))
            _claim_unique(api, ot, values, claimed)
        except HubSpotProblem as failure:
            if not traced:
                raise
            errors.append(
                _input_error(failure, {"objectWriteTraceId": [item["objectWriteTraceId"]]})
            )
            continue
        staged.append((values, links))
    results = [
        api.portal.full_view(create_with_links(api.portal, ot, values, links))
        for values, links in staged
    ]
    return api.batch(results, errors, started, ok_status=201)


def batch_read(api: ApiRequest) -> Answer:
    ot = api.object_type()
    started = api.portal.now()
    body = api.body()
    inputs = api.inputs(body)
    id_property = check_id_property(api.portal, ot, body.get("idProperty"), upsert=False)
    names = body.get("properties") if isinstance(body.get("properties"), list) else None
    names = names or None  # an empty list asks for the defaults
    found: dict[str, Record] = {}
    missing: list[str] = []
    for item in inputs:
        wanted = str(item.get("id", ""))
        record = api.portal.find(ot.name, wanted, id_property)
        if record is None:
            missing.append(wanted)
        else:
            found[record["id"]] = record
    errors = []
    if missing:
        message = (
            f"Could not get some {ot.label} objects, they may be deleted or not exist. "
            "Check that ids are valid."
        )
        errors.append(batch_error("OBJECT_NOT_FOUND", message, {"ids": missing}))
    results = [api.portal.view(ot.name, r, names) for r in found.values()]
    return api.batch(results, errors, started)


def batch_update(api: ApiRequest) -> Answer:
    ot = api.object_type()
    started = api.portal.now()
    inputs = api.inputs(api.body())
    _refuse_duplicates([str(item.get("id", "")) for item in inputs])
    staged: list[tuple[str, dict[str, str | None]]] = []
    missing: list[str] = []
    claimed: set[tuple[str, str]] = set()
    for item in inputs:
        wanted = str(item.get("id", ""))
        id_property = check_id_property(api.portal, ot, item.get("idProperty"), upsert=False)
        record = api.portal.find(ot.name, wanted, id_property)
        if record is None:
            missing.append(wanted)
            continue
        values = checked_values(
            api, ot, item.get("properties"), record_id=record["id"], creating=False
        )
        _claim_unique(api, ot, values, claimed)
        staged.append((record["id"], values))
    results = [api.portal.full_view(api.portal.update(ot.name, rid, v)) for rid, v in staged]
    errors = []
    if missing:
        message = f"Could not update some {ot.label} objects, they may be deleted or not exist."
        errors.append(batch_error("OBJECT_NOT_FOUND", message, {"ids": missing}))
    return api.batch(results, errors, started)


def batch_upsert(api: ApiRequest) -> Answer:
    ot = api.object_type()
    started = api.portal.now()
    inputs = api.inputs(api.body())
    by_email = ot.name == "contacts" and any(i.get("idProperty") == "email" for i in inputs)
    ids = [str(item.get("id", "")) for item in inputs]
    _refuse_duplicates([i.lower() for i in ids] if by_email else ids)
    staged: list[tuple[Record | None, dict[str, str | None], dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    claimed: set[tuple[str, str]] = set()
    for item, wanted in zip(inputs, ids, strict=True):
        try:
            if "associations" in item:
                raise bad_request(
                    'Invalid input JSON: Unrecognized field "associations": upsert inputs take '
                    "no associations; associate after the upsert."
                )
            id_property = check_id_property(api.portal, ot, item.get("idProperty"), upsert=True)
            assert id_property is not None
            if not wanted:
                raise bad_request("Some required fields were not set: [id]")
            raw = item.get("properties") or {}
            if not isinstance(raw, dict):
                raise bad_request("properties must be an object of property names to string values")
            existing = api.portal.find(ot.name, wanted, id_property)
            values = checked_values(
                api,
                ot,
                {**raw, id_property: wanted},
                record_id=existing["id"] if existing else None,
                creating=existing is None,
            )
            _claim_unique(api, ot, values, claimed)
        except HubSpotProblem as failure:
            if by_email:
                raise
            context = {"id": [wanted]}
            if isinstance(item.get("objectWriteTraceId"), str):
                context["objectWriteTraceId"] = [item["objectWriteTraceId"]]
            errors.append(_input_error(failure, context))
            continue
        staged.append((existing, values, item))
    results = []
    for existing, values, item in staged:
        if existing is None:
            record, new = api.portal.create(ot.name, values), True
        else:
            record, new = api.portal.update(ot.name, existing["id"], values), False
        view = api.portal.full_view(record)
        view["new"] = new
        if isinstance(item.get("objectWriteTraceId"), str):
            view["objectWriteTraceId"] = item["objectWriteTraceId"]
        results.append(view)
    return api.batch(results, errors, started)


def batch_archive(api: ApiRequest) -> Answer:
    ot = api.object_type()
    for item in api.inputs(api.body()):
        api.portal.archive(ot.name, str(item.get("id", "")))
    return 204, None
