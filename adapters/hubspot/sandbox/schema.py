"""What a fresh HubSpot portal knows: object types, default properties, association types.

The property definitions follow HubSpot's defaults for the objects the
connector writes (names, types, field types and enumeration options), trimmed
to the ones an adapter is likely to touch. Association type ids are HubSpot's
documented ``HUBSPOT_DEFINED`` defaults (also in the SDK's
``hubspot.crm.association_type.AssociationType``), except task ↔ call, which
HubSpot does not document: the sandbox defines 9001 / 9002 for it, and serves
every pair's ids at ``GET /crm/v4/associations/{from}/{to}/labels`` so adapters
can look them up instead of hard-coding them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ObjectType:
    """One CRM object type as the sandbox serves it."""

    name: str  # the path name: "contacts"
    type_id: str  # HubSpot's object type id: "0-1"
    label: str  # the singular in messages: "CONTACT"
    created: str  # the property holding the creation time
    modified: str  # the property holding the last modification time
    shown: tuple[str, ...]  # properties returned when a request names none
    required: tuple[str, ...]  # properties a create must set
    group: str  # the default property group
    scope: str  # the granular scope family: "crm.objects.contacts"
    schema_scope: str  # for the properties API: "crm.schemas.contacts"


_ACTIVITY_SHOWN = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")

OBJECT_TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType(
            "contacts",
            "0-1",
            "CONTACT",
            "createdate",
            "lastmodifieddate",
            ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
            (),
            "contactinformation",
            "crm.objects.contacts",
            "crm.schemas.contacts",
        ),
        ObjectType(
            "companies",
            "0-2",
            "COMPANY",
            "createdate",
            "hs_lastmodifieddate",
            ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
            (),
            "companyinformation",
            "crm.objects.companies",
            "crm.schemas.companies",
        ),
        # HubSpot's activity endpoints take the contacts scopes.
        ObjectType(
            "calls",
            "0-48",
            "CALL",
            "hs_createdate",
            "hs_lastmodifieddate",
            _ACTIVITY_SHOWN,
            ("hs_timestamp",),
            "callinformation",
            "crm.objects.contacts",
            "crm.schemas.contacts",
        ),
        ObjectType(
            "tasks",
            "0-27",
            "TASK",
            "hs_createdate",
            "hs_lastmodifieddate",
            _ACTIVITY_SHOWN,
            ("hs_timestamp",),
            "taskinformation",
            "crm.objects.contacts",
            "crm.schemas.contacts",
        ),
        ObjectType(
            "notes",
            "0-46",
            "NOTE",
            "hs_createdate",
            "hs_lastmodifieddate",
            _ACTIVITY_SHOWN,
            ("hs_timestamp",),
            "noteinformation",
            "crm.objects.contacts",
            "crm.schemas.contacts",
        ),
    )
}
_BY_ID = {t.type_id: t for t in OBJECT_TYPES.values()}
_SINGULAR = {
    "contact": "contacts",
    "company": "companies",
    "call": "calls",
    "task": "tasks",
    "note": "notes",
}


def resolve_type(raw: str) -> ObjectType | None:
    """An object type from a path segment: its name, singular or id, in any case."""
    key = raw.strip().lower()
    return OBJECT_TYPES.get(key) or OBJECT_TYPES.get(_SINGULAR.get(key, "")) or _BY_ID.get(key)


#: Every portal scope the sandbox checks; the default token has them all.
ALL_SCOPES = frozenset(
    {
        *(f"{t.scope}.{access}" for t in OBJECT_TYPES.values() for access in ("read", "write")),
        *(f"{t.schema_scope}.{a}" for t in OBJECT_TYPES.values() for a in ("read", "write")),
        "crm.objects.owners.read",
    }
)

# -- association types ------------------------------------------------------------------

#: (from, to) → [(typeId, label)], the first being the default (unlabelled) type.
ASSOCIATION_TYPES: dict[tuple[str, str], list[tuple[int, str | None]]] = {
    ("contacts", "companies"): [(279, None), (1, "Primary")],
    ("companies", "contacts"): [(280, None), (2, "Primary")],
    ("calls", "contacts"): [(194, None)],
    ("contacts", "calls"): [(193, None)],
    ("calls", "companies"): [(182, None)],
    ("companies", "calls"): [(181, None)],
    ("tasks", "contacts"): [(204, None)],
    ("contacts", "tasks"): [(203, None)],
    ("tasks", "companies"): [(192, None)],
    ("companies", "tasks"): [(191, None)],
    ("notes", "contacts"): [(202, None)],
    ("contacts", "notes"): [(201, None)],
    ("notes", "companies"): [(190, None)],
    ("companies", "notes"): [(189, None)],
    # Not documented by HubSpot: the sandbox's own ids (look them up via the labels route).
    ("tasks", "calls"): [(9002, None)],
    ("calls", "tasks"): [(9001, None)],
}

#: typeId → the same association seen from the other side.
INVERSE_TYPE: dict[int, int] = {}
for (_from, _to), _types in ASSOCIATION_TYPES.items():
    for (_id, _), (_back, _) in zip(_types, ASSOCIATION_TYPES[(_to, _from)], strict=True):
        INVERSE_TYPE[_id] = _back


def default_association_type(from_type: str, to_type: str) -> int | None:
    types = ASSOCIATION_TYPES.get((from_type, to_type))
    return types[0][0] if types else None


def association_label(from_type: str, to_type: str, type_id: int) -> str | None:
    return dict(ASSOCIATION_TYPES.get((from_type, to_type), [])).get(type_id)


# -- default properties ---------------------------------------------------------------------


def _options(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "description": "", "displayOrder": i, "hidden": False}
        for i, (value, label) in enumerate(pairs)
    ]


def _titled(*values: str) -> list[dict[str, Any]]:
    return _options(*((v, v.replace("_", " ").title()) for v in values))


_TEXT = ("string", "text")
_AREA = ("string", "textarea")
_HTML = ("string", "html")
_PHONE = ("string", "phonenumber")
_NUMBER = ("number", "number")
_DATETIME = ("datetime", "date")
_SELECT = ("enumeration", "select")
_OWNER = ("enumeration", "select")  # options are the portal's owners

#: (name, label, (type, fieldType), options, read-only value)
_Spec = tuple[str, str, tuple[str, str], list[dict[str, Any]] | None, bool]

_COMMON: list[_Spec] = [
    ("hs_object_id", "Record ID", _NUMBER, None, True),
    ("hubspot_owner_id", "Owner", _OWNER, None, False),
]
_ACTIVITY: list[_Spec] = [
    ("hs_createdate", "Created date", _DATETIME, None, True),
    ("hs_lastmodifieddate", "Last modified date", _DATETIME, None, True),
    ("hs_timestamp", "Activity date", _DATETIME, None, False),
]

DEFAULT_PROPERTIES: dict[str, list[_Spec]] = {
    "contacts": [
        ("email", "Email", _TEXT, None, False),
        ("firstname", "First Name", _TEXT, None, False),
        ("lastname", "Last Name", _TEXT, None, False),
        ("company", "Company Name", _TEXT, None, False),
        ("jobtitle", "Job Title", _TEXT, None, False),
        ("phone", "Phone Number", _PHONE, None, False),
        ("mobilephone", "Mobile Phone Number", _PHONE, None, False),
        ("website", "Website URL", _TEXT, None, False),
        ("city", "City", _TEXT, None, False),
        ("country", "Country/Region", _TEXT, None, False),
        (
            "lifecyclestage",
            "Lifecycle Stage",
            _SELECT,
            _options(
                ("subscriber", "Subscriber"),
                ("lead", "Lead"),
                ("marketingqualifiedlead", "Marketing Qualified Lead"),
                ("salesqualifiedlead", "Sales Qualified Lead"),
                ("opportunity", "Opportunity"),
                ("customer", "Customer"),
                ("evangelist", "Evangelist"),
                ("other", "Other"),
            ),
            False,
        ),
        (
            "hs_lead_status",
            "Lead Status",
            _SELECT,
            _titled(
                "NEW",
                "OPEN",
                "IN_PROGRESS",
                "OPEN_DEAL",
                "UNQUALIFIED",
                "ATTEMPTED_TO_CONTACT",
                "CONNECTED",
                "BAD_TIMING",
            ),
            False,
        ),
        ("createdate", "Create Date", _DATETIME, None, False),
        ("lastmodifieddate", "Last Modified Date", _DATETIME, None, True),
    ],
    "companies": [
        ("name", "Company name", _TEXT, None, False),
        ("domain", "Company Domain Name", _TEXT, None, False),
        ("phone", "Phone Number", _PHONE, None, False),
        ("city", "City", _TEXT, None, False),
        ("website", "Website URL", _TEXT, None, False),
        ("createdate", "Create Date", _DATETIME, None, False),
        ("hs_lastmodifieddate", "Last Modified Date", _DATETIME, None, True),
    ],
    "calls": [
        *_ACTIVITY,
        ("hs_call_title", "Call Title", _TEXT, None, False),
        ("hs_call_body", "Call notes", _HTML, None, False),
        ("hs_call_duration", "Call duration (milliseconds)", _NUMBER, None, False),
        (
            "hs_call_direction",
            "Call direction",
            _SELECT,
            _options(("INBOUND", "Inbound"), ("OUTBOUND", "Outbound")),
            False,
        ),
        (
            "hs_call_status",
            "Call status",
            _SELECT,
            _titled(
                "BUSY",
                "CALLING_CRM_USER",
                "CANCELED",
                "COMPLETED",
                "CONNECTING",
                "FAILED",
                "IN_PROGRESS",
                "NO_ANSWER",
                "QUEUED",
                "RINGING",
            ),
            False,
        ),
        ("hs_call_disposition", "Call outcome", _TEXT, None, False),
        ("hs_call_recording_url", "Recording URL", _TEXT, None, False),
        ("hs_call_from_number", "From number", _PHONE, None, False),
        ("hs_call_to_number", "To number", _PHONE, None, False),
    ],
    "tasks": [
        *_ACTIVITY,
        ("hs_task_subject", "Task Title", _TEXT, None, False),
        ("hs_task_body", "Task notes", _HTML, None, False),
        (
            "hs_task_status",
            "Task Status",
            _SELECT,
            _titled("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
            False,
        ),
        ("hs_task_priority", "Priority", _SELECT, _titled("NONE", "LOW", "MEDIUM", "HIGH"), False),
        ("hs_task_type", "Task Type", _SELECT, _titled("CALL", "EMAIL", "TODO"), False),
    ],
    "notes": [
        *_ACTIVITY,
        ("hs_note_body", "Note body", _HTML, None, False),
    ],
}


def make_property(
    object_type: ObjectType,
    name: str,
    label: str,
    kind: tuple[str, str],
    options: list[dict[str, Any]] | None,
    *,
    read_only: bool = False,
    group: str | None = None,
    description: str = "",
    unique: bool = False,
    hubspot_defined: bool = True,
    display_order: int = -1,
    created_at: str = "2019-08-06T02:41:08.029Z",
) -> dict[str, Any]:
    """A property definition, shaped as the properties API serves it."""
    prop: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": kind[0],
        "fieldType": kind[1],
        "description": description,
        "groupName": group or object_type.group,
        "options": options or [],
        "displayOrder": display_order,
        "calculated": False,
        "externalOptions": name == "hubspot_owner_id",
        "hasUniqueValue": unique,
        "hidden": False,
        "formField": not read_only,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only,
        },
        "createdAt": created_at,
        "updatedAt": created_at,
        "archived": False,
    }
    if hubspot_defined:
        prop["hubspotDefined"] = True
    return prop


def default_properties(object_type: ObjectType) -> dict[str, dict[str, Any]]:
    specs = [*DEFAULT_PROPERTIES[object_type.name], *_COMMON]
    return {
        name: make_property(object_type, name, label, kind, options, read_only=read_only)
        for name, label, kind, options, read_only in specs
    }


def default_groups(object_type: ObjectType) -> dict[str, dict[str, Any]]:
    label = object_type.label.title() + " information"
    return {
        object_type.group: {
            "name": object_type.group,
            "label": label,
            "displayOrder": 0,
            "archived": False,
        }
    }
