"""Associations v4: default and labelled links, batch and single, read and delete.

Associating is idempotent (a pair keeps one association per type however often
it is made) and always stored in both directions, each with its own type id
(call → contact 194, contact → call 193). Batch inputs naming a record that
does not exist come back as 207 errors; the others are linked.

Note for adapter authors: the SDK's ``batch_api.create_default`` only knows a
200 answer, so on a 207 it returns no data; read the body yourself
(``_preload_content=False``) to see which inputs failed.
"""

from __future__ import annotations

from typing import Any

from adapters.hubspot.sandbox.context import ApiRequest
from adapters.hubspot.sandbox.objects import Answer
from adapters.hubspot.sandbox.problems import bad_request, batch_error, not_found
from adapters.hubspot.sandbox.schema import (
    ASSOCIATION_TYPES,
    ObjectType,
    association_label,
    default_association_type,
)


def _pair(api: ApiRequest) -> tuple[ObjectType, ObjectType]:
    return api.object_type("from_type"), api.object_type("to_type")


def _default_type(a: ObjectType, b: ObjectType) -> int:
    type_id = default_association_type(a.name, b.name)
    if type_id is None:
        raise bad_request(f"No association type is defined from {a.type_id} to {b.type_id}.")
    return type_id


def _object_id(item: Any, key: str) -> str:
    ref = item.get(key) if isinstance(item, dict) else None
    if isinstance(ref, dict) and ref.get("id") not in (None, ""):
        return str(ref["id"])
    raise bad_request(f"Each input needs {key}.id")


def _missing(
    api: ApiRequest, a: ObjectType, from_id: str, b: ObjectType, to_id: str
) -> dict[str, Any] | None:
    """The 207 error for an input naming a record that does not exist, if it does."""
    for ot, rid in ((a, from_id), (b, to_id)):
        if api.portal.find(ot.name, rid) is None:
            message = f"No {ot.label} with id {rid} exists."
            return batch_error(
                "VALIDATION_ERROR", message, {"fromObjectId": [from_id], "toObjectId": [to_id]}
            )
    return None


def _spec(type_id: int) -> dict[str, Any]:
    return {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}


def _labels(a: ObjectType, b: ObjectType, type_ids: list[int]) -> list[str]:
    return [label for t in type_ids if (label := association_label(a.name, b.name, t))]


def _pair_view(
    a: ObjectType, from_id: str, b: ObjectType, to_id: str, types: list[int]
) -> dict[str, Any]:
    return {
        "fromObjectTypeId": a.type_id,
        "fromObjectId": int(from_id),
        "toObjectTypeId": b.type_id,
        "toObjectId": int(to_id),
        "labels": _labels(a, b, types),
    }


def associate_default_batch(api: ApiRequest) -> Answer:
    a, b = _pair(api)
    type_id = _default_type(a, b)
    started = api.portal.now()
    results, errors = [], []
    for item in api.inputs(api.body()):
        from_id, to_id = _object_id(item, "from"), _object_id(item, "to")
        error = _missing(api, a, from_id, b, to_id)
        if error is not None:
            errors.append(error)
            continue
        api.portal.link(a.name, from_id, b.name, to_id, type_id)
        results.append(
            {"from": {"id": from_id}, "to": {"id": to_id}, "associationSpec": _spec(type_id)}
        )
    return api.batch(results, errors, started)


def associate_default(api: ApiRequest) -> Answer:
    a, b = _pair(api)
    type_id = _default_type(a, b)
    from_id, to_id = api.args["from_id"], api.args["to_id"]
    if api.portal.find(a.name, from_id) is None or api.portal.find(b.name, to_id) is None:
        raise not_found(f"No {a.label} {from_id} or no {b.label} {to_id} exists.")
    started = api.portal.now()
    api.portal.link(a.name, from_id, b.name, to_id, type_id)
    result = {"from": {"id": from_id}, "to": {"id": to_id}, "associationSpec": _spec(type_id)}
    return api.batch([result], [], started)


def _type_ids(a: ObjectType, b: ObjectType, specs: Any) -> list[int]:
    known = dict(ASSOCIATION_TYPES.get((a.name, b.name), []))
    if not isinstance(specs, list) or not specs:
        raise bad_request("types must be a non-empty array of association specs")
    chosen = []
    for spec in specs:
        type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
        if type_id not in known or spec.get("associationCategory") != "HUBSPOT_DEFINED":
            raise bad_request(
                f"{type_id} is not a valid association type from {a.type_id} to {b.type_id}."
            )
        chosen.append(int(type_id))
    return chosen


def create_labelled_batch(api: ApiRequest) -> Answer:
    a, b = _pair(api)
    started = api.portal.now()
    results, errors = [], []
    for item in api.inputs(api.body()):
        from_id, to_id = _object_id(item, "from"), _object_id(item, "to")
        type_ids = _type_ids(a, b, item.get("types"))
        error = _missing(api, a, from_id, b, to_id)
        if error is not None:
            errors.append(error)
            continue
        for type_id in type_ids:
            api.portal.link(a.name, from_id, b.name, to_id, type_id)
        results.append(_pair_view(a, from_id, b, to_id, type_ids))
    return api.batch(results, errors, started, ok_status=201)


def create_labelled(api: ApiRequest) -> Answer:
    a, b = _pair(api)
    from_id, to_id = api.args["from_id"], api.args["to_id"]
    type_ids = _type_ids(a, b, api.any_body())
    if api.portal.find(a.name, from_id) is None or api.portal.find(b.name, to_id) is None:
        raise not_found(f"No {a.label} {from_id} or no {b.label} {to_id} exists.")
    for type_id in type_ids:
        api.portal.link(a.name, from_id, b.name, to_id, type_id)
    return 201, _pair_view(a, from_id, b, to_id, type_ids)


def _targets(
    a: ObjectType, b: ObjectType, links: list[tuple[str, list[int]]]
) -> list[dict[str, Any]]:
    return [
        {
            "toObjectId": int(other),
            "associationTypes": [
                {
                    "category": "HUBSPOT_DEFINED",
                    "typeId": t,
                    "label": association_label(a.name, b.name, t),
                }
                for t in type_ids
            ],
        }
        for other, type_ids in links
    ]


def read_batch(api: ApiRequest) -> Answer:
    a, b = _pair(api)
    started = api.portal.now()
    results, errors = [], []
    for item in api.inputs(api.body()):
        from_id = str(item.get("id", ""))
        links = (
            api.portal.linked(a.name, from_id, b.name) if api.portal.find(a.name, from_id) else []
        )
        if not links:
            message = f"No {b.label} is associated with {a.label} {from_id}."
            errors.append(
                batch_error(
                    "OBJECT_NOT_FOUND",
                    message,
                    {"fromObjectId": [from_id]},
                    sub_category="crm.associations.NO_ASSOCIATIONS_FOUND",
                )
            )
            continue
        results.append({"from": {"id": from_id}, "to": _targets(a, b, links)})
    return api.batch(results, errors, started)


def list_for_object(api: ApiRequest) -> Answer:
    a, b = _pair(api)
    from_id = api.args["from_id"]
    limit = api.query_int("limit", 500, 500)
    after = int(api.request.args.get("after") or 0)
    links = api.portal.linked(a.name, from_id, b.name)
    body: dict[str, Any] = {"results": _targets(a, b, links[after : after + limit])}
    if after + limit < len(links):
        body["paging"] = {"next": {"after": str(after + limit)}}
    return 200, body


def archive_batch(api: ApiRequest) -> Answer:
    a, b = _pair(api)
    for item in api.inputs(api.body()):
        from_id = _object_id(item, "from")
        targets = item.get("to")
        for target in targets if isinstance(targets, list) else []:
            if isinstance(target, dict) and target.get("id") is not None:
                api.portal.unlink(a.name, from_id, b.name, str(target["id"]))
    return 204, None


def archive_one(api: ApiRequest) -> Answer:
    a, b = _pair(api)
    api.portal.unlink(a.name, api.args["from_id"], b.name, api.args["to_id"])
    return 204, None


def labels(api: ApiRequest) -> Answer:
    a, b = _pair(api)
    types = ASSOCIATION_TYPES.get((a.name, b.name), [])
    return 200, {
        "results": [
            {"category": "HUBSPOT_DEFINED", "typeId": t, "label": label} for t, label in types
        ]
    }
