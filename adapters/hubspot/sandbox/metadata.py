"""The properties API (definitions and groups) and the owners API.

Creating a property that exists, or a group that exists, answers 409 with
category ``OBJECT_ALREADY_EXISTS``; a property's group must exist. Properties
created with ``hasUniqueValue`` (single-line text or numbers only) become
usable as ``idProperty`` at once.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.hubspot.sandbox.context import ApiRequest
from adapters.hubspot.sandbox.objects import Answer
from adapters.hubspot.sandbox.problems import bad_request, not_found, problem

_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
_FIELD_TYPES = {
    "string": {"text", "textarea", "html", "phonenumber", "file"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}


def list_properties(api: ApiRequest) -> Answer:
    return 200, {"results": api.portal.properties(api.object_type().name)}


def get_property(api: ApiRequest) -> Answer:
    ot = api.object_type()
    prop = api.portal.property(ot.name, api.args["name"])
    if prop is None:
        raise not_found(f"Unable to find property {api.args['name']} on object type {ot.type_id}")
    return 200, prop


def create_property(api: ApiRequest) -> Answer:
    ot = api.object_type()
    body = api.body()
    missing = [f for f in ("name", "label", "type", "fieldType", "groupName") if not body.get(f)]
    if missing:
        raise bad_request(f"Some required fields were not set: [{', '.join(missing)}]")
    name, kind, field_type = str(body["name"]), str(body["type"]), str(body["fieldType"])
    if not _NAME.fullmatch(name):
        raise bad_request(
            f"Property name {name} is invalid: use lower-case letters, digits and underscores, "
            "starting with a letter."
        )
    if field_type not in _FIELD_TYPES.get(kind, set()):
        raise bad_request(f"fieldType {field_type} is not valid for a property of type {kind}.")
    options = body.get("options") or []
    if not isinstance(options, list) or not all(
        isinstance(o, dict) and "label" in o and "value" in o for o in options
    ):
        raise bad_request("options must be an array of {label, value} objects.")
    if kind == "enumeration" and field_type != "booleancheckbox" and not options:
        raise bad_request(f"An enumeration property with fieldType {field_type} needs options.")
    unique = bool(body.get("hasUniqueValue"))
    if unique and (kind, field_type) not in (("string", "text"), ("number", "number")):
        raise bad_request(
            "hasUniqueValue is only allowed for single-line text and number properties."
        )
    with api.portal.lock:
        if api.portal.property(ot.name, name) is not None:
            raise problem(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"Property named '{name}' already exists.",
                context={"name": [name]},
                subCategory="PropertyCreateError.PROPERTY_EXISTS",
            )
        if api.portal.definitions.group(ot.name, str(body["groupName"])) is None:
            raise bad_request(f"Property group {body['groupName']} does not exist.")
        prop = api.portal.add_property(
            ot.name,
            name,
            label=str(body["label"]),
            type=kind,
            field_type=field_type,
            unique=unique,
            options=[
                {
                    k: o[k]
                    for k in ("label", "value", "description", "displayOrder", "hidden")
                    if k in o
                }
                for o in options
            ],
            group=str(body["groupName"]),
            description=str(body.get("description") or ""),
            display_order=int(body.get("displayOrder", -1)),
        )
    return 201, prop


def list_groups(api: ApiRequest) -> Answer:
    return 200, {"results": api.portal.definitions.groups(api.object_type().name)}


def get_group(api: ApiRequest) -> Answer:
    group = api.portal.definitions.group(api.object_type().name, api.args["name"])
    if group is None:
        raise not_found(f"Unable to find property group {api.args['name']}")
    return 200, group


def create_group(api: ApiRequest) -> Answer:
    ot = api.object_type()
    body = api.body()
    missing = [f for f in ("name", "label") if not body.get(f)]
    if missing:
        raise bad_request(f"Some required fields were not set: [{', '.join(missing)}]")
    name = str(body["name"])
    if not _NAME.fullmatch(name):
        raise bad_request(f"Property group name {name} is invalid.")
    with api.portal.lock:
        if api.portal.definitions.group(ot.name, name) is not None:
            raise problem(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"A property group named '{name}' already exists.",
                context={"name": [name]},
            )
        api.portal.definitions.add_group(
            ot.name, name, str(body["label"]), int(body.get("displayOrder", -1))
        )
        group = api.portal.definitions.group(ot.name, name)
    return 201, group


def _archived(api: ApiRequest) -> bool:
    return (api.request.args.get("archived") or "false").lower() == "true"


def list_owners(api: ApiRequest) -> Answer:
    limit = api.query_int("limit", 100, 500)
    after = api.request.args.get("after")
    owners = api.portal.owners(api.request.args.get("email"), archived=_archived(api))
    if after:
        if not after.isdigit():
            raise bad_request(f"after must be an owner id; got {after}")
        owners = [o for o in owners if int(o["id"]) >= int(after)]
    body: dict[str, Any] = {"results": owners[:limit]}
    if len(owners) > limit:
        following = owners[limit]["id"]
        body["paging"] = {
            "next": {"after": following, "link": f"{api.request.base_url}?after={following}"}
        }
    return 200, body


def get_owner(api: ApiRequest) -> Answer:
    wanted = api.args["owner_id"]
    by_user = api.request.args.get("idProperty") == "userId"
    for owner in api.portal.owners(archived=_archived(api)):
        if (str(owner["userId"]) if by_user else owner["id"]) == wanted:
            return 200, owner
    raise not_found(f"No owner with id {wanted}")
