"""Object endpoints, one record at a time: list, read, create, update, archive, search.

The batch endpoints are in :mod:`batches`; both share the checks here
(property values, unique values, inline associations).
"""

from __future__ import annotations

from typing import Any

from adapters.hubspot.sandbox.context import ApiRequest
from adapters.hubspot.sandbox.portal import Portal, Record
from adapters.hubspot.sandbox.problems import (
    HubSpotProblem,
    bad_request,
    invalid_properties,
    not_found,
    problem,
)
from adapters.hubspot.sandbox.schema import (
    ASSOCIATION_TYPES,
    OBJECT_TYPES,
    ObjectType,
    association_label,
)
from adapters.hubspot.sandbox.search import (
    apply_sorts,
    load_filter_groups,
    load_paging,
    load_sorts,
    matches,
)

Link = tuple[str, str, int]  # (to type, to id, association type id)
Answer = tuple[int, Any]


# -- shared checks ----------------------------------------------------------------------------


def check_id_property(
    portal: Portal, ot: ObjectType, id_property: Any, *, upsert: bool
) -> str | None:
    """``idProperty`` must be ``email`` (contacts) or a property with unique values."""
    if id_property in (None, "") and not upsert:
        return None
    if not isinstance(id_property, str) or id_property not in portal.unique_properties(ot.name):
        if not upsert and id_property == "hs_object_id":
            return None
        raise bad_request(
            f"{id_property} is not a unique identifier property of object type {ot.type_id}; "
            "use email (contacts) or a property created with hasUniqueValue true."
        )
    return id_property


def clash_problem(ot: ObjectType, clash: tuple[str, str, str]) -> HubSpotProblem:
    name, value, other = clash
    if ot.name == "contacts" and name == "email":
        return problem(409, "CONFLICT", f"Contact already exists. Existing ID: {other}")
    message = (
        f'A {ot.label.lower()} with the unique value "{value}" for property {name} '
        f"already exists. Existing ID: {other}"
    )
    return problem(409, "CONFLICT", message, context={"propertyName": [name], "id": [other]})


def checked_values(
    api: ApiRequest, ot: ObjectType, raw: Any, *, record_id: str | None, creating: bool
) -> dict[str, str | None]:
    """Validated values for a write, or the 400 / 409 HubSpot would answer."""
    values, issues = api.portal.check(ot.name, raw, creating=creating)
    if issues:
        raise invalid_properties(issues, api.portal.portal_id)
    clash = api.portal.conflict(ot.name, values, record_id)
    if clash is not None:
        raise clash_problem(ot, clash)
    return values


def load_associations(portal: Portal, ot: ObjectType, raw: Any) -> list[Link]:
    """Inline ``associations`` of a create; the target type follows from the type id."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request("associations must be an array")
    links: list[Link] = []
    for item in raw:
        to = item.get("to") if isinstance(item, dict) else None
        types = item.get("types") if isinstance(item, dict) else None
        if not isinstance(to, dict) or to.get("id") in (None, "") or not isinstance(types, list):
            raise bad_request("Each association needs to.id and types.")
        to_id = str(to["id"])
        for spec in types:
            if not isinstance(spec, dict):
                raise bad_request(
                    "Each association type needs associationCategory and associationTypeId."
                )
            type_id = spec.get("associationTypeId")
            targets = [
                b
                for (a, b), known in ASSOCIATION_TYPES.items()
                if a == ot.name and isinstance(type_id, int) and type_id in dict(known)
            ]
            if (
                not isinstance(type_id, int)
                or not targets
                or spec.get("associationCategory") != "HUBSPOT_DEFINED"
            ):
                raise bad_request(
                    f"associationTypeId {type_id} ({spec.get('associationCategory')}) is not a "
                    f"valid association type from object type {ot.type_id}."
                )
            if portal.find(targets[0], to_id) is None:
                label = OBJECT_TYPES[targets[0]].label
                raise bad_request(
                    f"One or more associations are invalid: {label} {to_id} does not exist."
                )
            links.append((targets[0], to_id, type_id))
    return links


def create_with_links(
    portal: Portal, ot: ObjectType, values: dict[str, str | None], links: list[Link]
) -> Record:
    record = portal.create(ot.name, values)
    for to_type, to_id, type_id in links:
        portal.link(ot.name, record["id"], to_type, to_id, type_id)
    return record


def _existing(api: ApiRequest, ot: ObjectType) -> Record:
    id_property = check_id_property(
        api.portal, ot, api.request.args.get("idProperty"), upsert=False
    )
    record = api.portal.find(ot.name, api.args["object_id"], id_property)
    if record is None:
        raise not_found()
    return record


# -- endpoints ----------------------------------------------------------------------------------


def list_objects(api: ApiRequest) -> Answer:
    ot = api.object_type()
    limit = api.query_int("limit", 10, 100)
    after = api.request.args.get("after")
    names = api.query_list("properties")
    if after and not after.isdigit():
        raise bad_request(f"after must be a record id; got {after}")
    page, following = api.portal.page(ot.name, int(after or 0), limit)
    body: dict[str, Any] = {"results": [_with_associations(api, ot, r, names) for r in page]}
    if following is not None:
        link = f"{api.request.base_url}?limit={limit}&after={following}"
        body["paging"] = {"next": {"after": following, "link": link}}
    return 200, body


def _with_associations(
    api: ApiRequest, ot: ObjectType, record: Record, names: list[str] | None
) -> dict[str, Any]:
    view = api.portal.view(ot.name, record, names)
    wanted = api.query_list("associations") or []
    found: dict[str, Any] = {}
    for raw in wanted:
        other = OBJECT_TYPES.get(raw) or next(
            (t for t in OBJECT_TYPES.values() if t.type_id == raw), None
        )
        if other is None:
            continue
        links = api.portal.linked(ot.name, record["id"], other.name)
        if links:
            kind = f"{ot.label.lower()}_to_{other.label.lower()}"
            found[other.name] = {
                "results": [
                    {"id": oid, "type": _type_name(kind, association_label(ot.name, other.name, t))}
                    for oid, ids in links
                    for t in ids
                ]
            }
    if found:
        view["associations"] = found
    return view


def _type_name(kind: str, label: str | None) -> str:
    return kind if label is None else f"{kind}_{label.lower()}"


def get_object(api: ApiRequest) -> Answer:
    ot = api.object_type()
    record = _existing(api, ot)
    return 200, _with_associations(api, ot, record, api.query_list("properties"))


def create_object(api: ApiRequest) -> Answer:
    ot = api.object_type()
    body = api.body()
    values = checked_values(api, ot, body.get("properties"), record_id=None, creating=True)
    links = load_associations(api.portal, ot, body.get("associations"))
    return 201, api.portal.full_view(create_with_links(api.portal, ot, values, links))


def update_object(api: ApiRequest) -> Answer:
    ot = api.object_type()
    record = _existing(api, ot)
    body = api.body()
    if "properties" not in body:
        raise bad_request("Some required fields were not set: [properties]")
    values = checked_values(api, ot, body["properties"], record_id=record["id"], creating=False)
    return 200, api.portal.full_view(api.portal.update(ot.name, record["id"], values))


def archive_object(api: ApiRequest) -> Answer:
    ot = api.object_type()
    api.portal.archive(ot.name, api.args["object_id"])
    return 204, None


def search_objects(api: ApiRequest) -> Answer:
    ot = api.object_type()
    body = api.body()
    known = {p["name"]: p for p in api.portal.properties(ot.name)}
    groups = load_filter_groups(body, known)
    sorts = load_sorts(body)
    offset, limit = load_paging(body)
    query = str(body.get("query") or "").strip().lower()
    names = body.get("properties") if isinstance(body.get("properties"), list) else None
    names = names or None  # an empty list asks for the defaults

    def keep(record: Record) -> bool:
        props = record["properties"]
        if groups and not any(all(matches(props, f, known) for f in g) for g in groups):
            return False
        return not query or any(query in str(v).lower() for v in props.values())

    found = apply_sorts([r for r in api.portal.searchable(ot.name) if keep(r)], sorts, known)
    page = found[offset : offset + limit]
    result: dict[str, Any] = {
        "total": len(found),
        "results": [api.portal.view(ot.name, r, names) for r in page],
    }
    if offset + limit < len(found):
        result["paging"] = {"next": {"after": str(offset + limit)}}
    return 200, result
