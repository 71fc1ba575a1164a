"""The routes the HubSpot sandbox serves, each with its handler and required scope.

Each route has a template (``POST /crm/v3/objects/{type}/batch/upsert``), the
name the request log counts it under; :func:`detail_name` fills in the object
types (``POST /crm/v3/objects/contacts/batch/upsert``) for the finer count.
Object types may be given by name or id (``contacts`` or ``0-1``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.routing import Map, Rule

from adapters.hubspot.sandbox import associations, batches, metadata, objects
from adapters.hubspot.sandbox.context import ApiRequest
from adapters.hubspot.sandbox.objects import Answer
from adapters.hubspot.sandbox.problems import bad_request
from adapters.hubspot.sandbox.schema import resolve_type

Handler = Callable[[ApiRequest], Answer]


@dataclass(frozen=True)
class Route:
    template: str
    handler: Handler
    #: "read" / "write" of the object types' scopes, "schema-read" / "schema-write" of
    #: their properties API scopes, or a literal scope.
    access: str
    search: bool = False

    def scopes(self, args: dict[str, str]) -> list[str]:
        """The granular scopes a token needs for this request."""
        if "." in self.access:
            return [self.access]
        found = []
        for key in ("object_type", "from_type", "to_type"):
            if key in args:
                ot = resolve_type(args[key])
                if ot is None:
                    raise bad_request(f"Unable to infer object type from: {args[key]}")
                family = ot.schema_scope if self.access.startswith("schema") else ot.scope
                found.append(f"{family}.{self.access.removeprefix('schema-')}")
        return list(dict.fromkeys(found))


#: Path arguments and the placeholders HubSpot's documentation (and the log) names them by.
PLACEHOLDERS = {
    "object_type": "{type}",
    "object_id": "{id}",
    "name": "{name}",
    "owner_id": "{ownerId}",
    "from_type": "{fromObjectType}",
    "from_id": "{fromObjectId}",
    "to_type": "{toObjectType}",
    "to_id": "{toObjectId}",
}

_O = "/crm/v3/objects/<object_type>"
_P = "/crm/v3/properties/<object_type>"
_A = "/crm/v4/associations/<from_type>/<to_type>"
_V4 = "/crm/v4/objects/<from_type>/<from_id>/associations"
_OWNERS = "crm.objects.owners.read"
_TABLE: list[tuple[str, str, Handler, str]] = [
    ("GET", _O, objects.list_objects, "read"),
    ("POST", _O, objects.create_object, "write"),
    ("POST", f"{_O}/search", objects.search_objects, "read"),
    ("GET", f"{_O}/<object_id>", objects.get_object, "read"),
    ("PATCH", f"{_O}/<object_id>", objects.update_object, "write"),
    ("DELETE", f"{_O}/<object_id>", objects.archive_object, "write"),
    ("POST", f"{_O}/batch/create", batches.batch_create, "write"),
    ("POST", f"{_O}/batch/read", batches.batch_read, "read"),
    ("POST", f"{_O}/batch/update", batches.batch_update, "write"),
    ("POST", f"{_O}/batch/upsert", batches.batch_upsert, "write"),
    ("POST", f"{_O}/batch/archive", batches.batch_archive, "write"),
    ("GET", _P, metadata.list_properties, "schema-read"),
    ("POST", _P, metadata.create_property, "schema-write"),
    ("GET", f"{_P}/groups", metadata.list_groups, "schema-read"),
    ("POST", f"{_P}/groups", metadata.create_group, "schema-write"),
    ("GET", f"{_P}/groups/<name>", metadata.get_group, "schema-read"),
    ("GET", f"{_P}/<name>", metadata.get_property, "schema-read"),
    ("GET", "/crm/v3/owners/", metadata.list_owners, _OWNERS),
    ("GET", "/crm/v3/owners/<owner_id>", metadata.get_owner, _OWNERS),
    ("POST", f"{_A}/batch/associate/default", associations.associate_default_batch, "write"),
    ("POST", f"{_A}/batch/create", associations.create_labelled_batch, "write"),
    ("POST", f"{_A}/batch/read", associations.read_batch, "read"),
    ("POST", f"{_A}/batch/archive", associations.archive_batch, "write"),
    ("GET", f"{_A}/labels", associations.labels, "read"),
    ("PUT", f"{_V4}/default/<to_type>/<to_id>", associations.associate_default, "write"),
    ("PUT", f"{_V4}/<to_type>/<to_id>", associations.create_labelled, "write"),
    ("DELETE", f"{_V4}/<to_type>/<to_id>", associations.archive_one, "write"),
    ("GET", f"{_V4}/<to_type>", associations.list_for_object, "read"),
]


def _template(method: str, rule: str) -> str:
    for arg, placeholder in PLACEHOLDERS.items():
        rule = rule.replace(f"<{arg}>", placeholder)
    return f"{method} {rule}"


ROUTES: dict[str, Route] = {
    _template(method, rule): Route(
        _template(method, rule), handler, access, search=rule.endswith("/search")
    )
    for method, rule, handler, access in _TABLE
}

URL_MAP = Map(
    [
        Rule(rule, endpoint=_template(method, rule), methods=[method])
        for method, rule, _, _ in _TABLE
    ],
    strict_slashes=False,
    merge_slashes=False,
)


def detail_name(template: str, args: dict[str, str]) -> str:
    """The template with its object types filled in (by name, however they were given)."""
    name = template
    for arg in ("object_type", "from_type", "to_type"):
        if arg in args:
            ot = resolve_type(args[arg])
            name = name.replace(PLACEHOLDERS[arg], ot.name if ot else args[arg])
    return name


def fault_path(template: str, args: dict[str, str]) -> str:
    """The request path with object types by name and ids filled in, for fault globs."""
    path = detail_name(template, args).split(" ", 1)[1]
    for arg, value in args.items():
        path = path.replace(PLACEHOLDERS[arg], value)
    return path
