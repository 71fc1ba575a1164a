"""What a fresh org knows: the sObjects the sandbox serves and their fields.

The fields follow Salesforce's standard objects (API names, types, lengths,
labels, picklist values, which are required, createable or updateable),
trimmed to the ones a call-logging integration is likely to touch:
``Contact``, ``Lead``, ``Account``, ``Task``, ``User``, ``ContentNote`` and
``ContentDocumentLink``. The connector's own external ids
(``Revont_Contact_Id__c`` on Contact and Lead, ``Revont_Call_Id__c`` and
``Revont_Action_Item_Id__c`` on Task: Text(255), External ID, Unique, case
insensitive) are the :data:`CUSTOM_FIELDS`, present unless the sandbox is made
without them.

A field is required on create when it is not nillable, createable and not
defaulted on create (Contact ``LastName``, Lead ``LastName`` and ``Company``,
Account ``Name``, ContentNote ``Title``, ContentDocumentLink's two ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from adapters.salesforce.sandbox.ids import KEY_PREFIXES

#: Field types whose values are text (length-checked, compared ignoring case in SOQL).
TEXT_TYPES = frozenset(
    {"string", "textarea", "email", "phone", "url", "picklist", "combobox", "multipicklist"}
)
#: Where records of a referenced type live: a ContentNote *is* its ContentDocument.
STORED_AS = {"ContentDocument": "ContentNote"}


@dataclass(frozen=True)
class Field:
    """One field as describe reports it (the keys the sandbox acts on)."""

    name: str
    type: str
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default: str | None = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    defaulted_on_create: bool = False
    custom: bool = False
    calculated: bool = False
    name_field: bool = False
    precision: int = 0
    scale: int = 0
    digits: int = 0

    @property
    def required(self) -> bool:
        return not self.nillable and self.createable and not self.defaulted_on_create

    @property
    def filterable(self) -> bool:
        """Long text areas cannot be filtered or sorted in SOQL."""
        return not (self.type == "textarea" and self.length > 255) and self.type != "base64"


@dataclass(frozen=True)
class SObjectType:
    """One sObject: its names, key prefix, what the API may do with it, and its fields."""

    name: str
    label: str
    label_plural: str
    fields: tuple[Field, ...]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    #: Fields whose combination must be unique (ContentDocumentLink's two ids).
    unique_together: tuple[str, ...] = ()

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES[self.name]

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name.lower(): f for f in self.fields}

    def field(self, name: str) -> Field | None:
        """The field called ``name`` (API names are case-insensitive)."""
        return self.by_name.get(name.lower())

    def with_field(self, extra: Field) -> SObjectType:
        kept = tuple(f for f in self.fields if f.name.lower() != extra.name.lower())
        return replace(self, fields=(*kept, extra))


def _f(name: str, type_: str, label: str, length: int = 0, **kw: Any) -> Field:
    return Field(name, type_, label, length, **kw)


def _ref(name: str, label: str, to: tuple[str, ...], relationship: str, **kw: Any) -> Field:
    return Field(
        name, "reference", label, 18, reference_to=to, relationship_name=relationship, **kw
    )


def _pick(name: str, label: str, values: tuple[str, ...], **kw: Any) -> Field:
    return Field(name, "picklist", label, 255, picklist=values, **kw)


_RO: dict[str, Any] = {"createable": False, "updateable": False}


def _system(*, owner: bool = True, owner_label: str = "Owner ID") -> tuple[Field, ...]:
    fields = [
        _f("Id", "id", "Record ID", 18, nillable=False, id_lookup=True, **_RO),
        _f("IsDeleted", "boolean", "Deleted", nillable=False, defaulted_on_create=True, **_RO),
        _f("CreatedDate", "datetime", "Created Date", nillable=False, **_RO),
        _ref("CreatedById", "Created By ID", ("User",), "CreatedBy", nillable=False, **_RO),
        _f("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, **_RO),
        _ref(
            "LastModifiedById",
            "Last Modified By ID",
            ("User",),
            "LastModifiedBy",
            nillable=False,
            **_RO,
        ),
        _f("SystemModstamp", "datetime", "System Modstamp", nillable=False, **_RO),
    ]
    if owner:
        fields.append(
            _ref(
                "OwnerId",
                owner_label,
                ("User",),
                "Owner",
                nillable=False,
                defaulted_on_create=True,
            )
        )
    return tuple(fields)


def _person(*, last_length: int = 80) -> tuple[Field, ...]:
    return (
        _f("LastName", "string", "Last Name", last_length, nillable=False),
        _f("FirstName", "string", "First Name", 40),
        _f("Name", "string", "Full Name", 121, name_field=True, **_RO),
    )


_LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
_BOOL_RO: dict[str, Any] = {"nillable": False, "defaulted_on_create": True, **_RO}

CONTACT = SObjectType(
    "Contact",
    "Contact",
    "Contacts",
    (
        *_system(),
        _ref("AccountId", "Account ID", ("Account",), "Account"),
        *_person(),
        _pick("Salutation", "Salutation", ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
        _f("Title", "string", "Title", 128),
        _f("Department", "string", "Department", 80),
        _f("Phone", "phone", "Business Phone", 40),
        _f("MobilePhone", "phone", "Mobile Phone", 40),
        _f("Email", "email", "Email", 80, id_lookup=True),
        _pick("LeadSource", "Lead Source", _LEAD_SOURCES),
        _f("Description", "textarea", "Contact Description", 32_000),
    ),
)

LEAD = SObjectType(
    "Lead",
    "Lead",
    "Leads",
    (
        *_system(),
        *_person(),
        _f("Title", "string", "Title", 128),
        _f("Company", "string", "Company", 255, nillable=False),
        _f("Phone", "phone", "Phone", 40),
        _f("Email", "email", "Email", 80, id_lookup=True),
        _pick(
            "Status",
            "Status",
            (
                "Open - Not Contacted",
                "Working - Contacted",
                "Closed - Converted",
                "Closed - Not Converted",
            ),
            nillable=False,
            defaulted_on_create=True,
            default="Open - Not Contacted",
            restricted=True,
        ),
        _pick("LeadSource", "Lead Source", _LEAD_SOURCES),
        _f("IsConverted", "boolean", "Converted", **_BOOL_RO),
        _ref("ConvertedContactId", "Converted Contact ID", ("Contact",), "ConvertedContact", **_RO),
        _f("Description", "textarea", "Description", 32_000),
    ),
)

ACCOUNT = SObjectType(
    "Account",
    "Account",
    "Accounts",
    (
        *_system(owner_label="Owner ID"),
        _f("Name", "string", "Account Name", 255, nillable=False, name_field=True),
        _pick("Type", "Account Type", ("Prospect", "Customer - Direct", "Partner", "Other")),
        _f("Website", "url", "Website", 255),
        _f("Phone", "phone", "Account Phone", 40),
        _pick("Industry", "Industry", ("Technology", "Finance", "Healthcare", "Other")),
        _f("Description", "textarea", "Account Description", 32_000),
    ),
)

TASK = SObjectType(
    "Task",
    "Task",
    "Tasks",
    (
        *_system(owner_label="Assigned To ID"),
        _ref("WhoId", "Name ID", ("Contact", "Lead"), "Who"),
        _ref("WhatId", "Related To ID", ("Account",), "What"),
        Field(
            "Subject",
            "combobox",
            "Subject",
            255,
            picklist=("Call", "Email", "Send Letter", "Send Quote", "Other"),
            name_field=True,
        ),
        _f("ActivityDate", "date", "Due Date Only"),
        _pick(
            "Status",
            "Status",
            ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"),
            nillable=False,
            defaulted_on_create=True,
            default="Not Started",
            restricted=True,
        ),
        _pick(
            "Priority",
            "Priority",
            ("High", "Normal", "Low"),
            nillable=False,
            defaulted_on_create=True,
            default="Normal",
            restricted=True,
        ),
        _f("IsHighPriority", "boolean", "High Priority", **_BOOL_RO),
        _f("Description", "textarea", "Description", 32_000),
        _pick("Type", "Type", ("Call", "Email", "Meeting", "Other")),
        _ref("AccountId", "Account ID", ("Account",), "Account", **_RO),
        _f("IsClosed", "boolean", "Closed", **_BOOL_RO),
        _f("CallDurationInSeconds", "int", "Call Duration", digits=9),
        _pick("CallType", "Call Type", ("Inbound", "Outbound", "Internal"), restricted=True),
        _f("CallDisposition", "string", "Call Result", 255),
        _f("CallObject", "string", "Call Object Identifier", 255),
        _pick(
            "TaskSubtype",
            "Task Subtype",
            ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"),
            restricted=True,
            updateable=False,
        ),
        _f("CompletedDateTime", "datetime", "Completed Date/Time", **_RO),
    ),
)

USER = SObjectType(
    "User",
    "User",
    "Users",
    (
        *_system(owner=False),
        _f("Username", "string", "Username", 80, nillable=False, unique=True, id_lookup=True),
        *_person(),
        _f("Email", "email", "Email", 128, nillable=False, id_lookup=True),
        _f("Alias", "string", "Alias", 8, nillable=False),
        _f("IsActive", "boolean", "Active", nillable=False, defaulted_on_create=True),
        _f("Title", "string", "Title", 80),
    ),
    createable=False,
    updateable=False,
    deletable=False,
)

CONTENT_NOTE = SObjectType(
    "ContentNote",
    "Note",
    "Notes",
    (
        *_system(),
        _f("Title", "string", "Title", 255, nillable=False, name_field=True),
        _f("Content", "base64", "Content"),
        _f("TextPreview", "string", "Text Preview", 255, **_RO),
        _f("FileType", "string", "File Type", 20, **_RO),
        _f("FileExtension", "string", "File Extension", 40, **_RO),
        _f("ContentSize", "int", "Size", digits=9, **_RO),
    ),
)

CONTENT_DOCUMENT_LINK = SObjectType(
    "ContentDocumentLink",
    "Content Document Link",
    "Content Document Links",
    (
        _f("Id", "id", "ContentDocumentLink ID", 18, nillable=False, id_lookup=True, **_RO),
        _ref(
            "LinkedEntityId",
            "Linked Entity ID",
            ("Account", "Contact", "Lead", "Task", "User"),
            "LinkedEntity",
            nillable=False,
            updateable=False,
        ),
        _ref(
            "ContentDocumentId",
            "ContentDocument ID",
            ("ContentDocument",),
            "ContentDocument",
            nillable=False,
            updateable=False,
        ),
        _f("IsDeleted", "boolean", "Deleted", **_BOOL_RO),
        _f("SystemModstamp", "datetime", "System Modstamp", nillable=False, **_RO),
        _pick(
            "ShareType",
            "Share Type",
            ("V", "C", "I"),
            restricted=True,
            nillable=False,
            defaulted_on_create=True,
            default="V",
        ),
        _pick(
            "Visibility",
            "Visibility",
            ("AllUsers", "InternalUsers", "SharedUsers"),
            restricted=True,
            nillable=False,
            defaulted_on_create=True,
            default="AllUsers",
        ),
    ),
    unique_together=("ContentDocumentId", "LinkedEntityId"),
)

SOBJECTS: dict[str, SObjectType] = {
    t.name: t for t in (ACCOUNT, CONTACT, LEAD, TASK, USER, CONTENT_NOTE, CONTENT_DOCUMENT_LINK)
}


def external_id_field(name: str, label: str) -> Field:
    """A Text(255) External ID, Unique (case-insensitive) custom field."""
    return Field(
        name, "string", label, 255, external_id=True, unique=True, id_lookup=True, custom=True
    )


#: The connector's own external ids, by sObject.
CUSTOM_FIELDS: dict[str, tuple[Field, ...]] = {
    "Contact": (external_id_field("Revont_Contact_Id__c", "Revont Contact Id"),),
    "Lead": (external_id_field("Revont_Contact_Id__c", "Revont Contact Id"),),
    "Task": (
        external_id_field("Revont_Call_Id__c", "Revont Call Id"),
        external_id_field("Revont_Action_Item_Id__c", "Revont Action Item Id"),
    ),
}


@dataclass
class Catalog:
    """The sObjects of one org, with the custom fields it has been given so far."""

    types: dict[str, SObjectType] = field(default_factory=lambda: dict(SOBJECTS))

    def get(self, name: str) -> SObjectType | None:
        """An sObject by API name, in any case."""
        key = name.lower()
        return next((t for n, t in self.types.items() if n.lower() == key), None)

    def add_field(self, sobject: str, extra: Field) -> None:
        found = self.get(sobject)
        if found is None:
            raise KeyError(f"unknown sObject {sobject!r}")
        self.types[found.name] = found.with_field(extra)

    def by_prefix(self, record_id: str) -> SObjectType | None:
        return next((t for t in self.types.values() if record_id.startswith(t.key_prefix)), None)
