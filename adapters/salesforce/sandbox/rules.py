"""The checks a write's values must pass, with Salesforce's codes and messages.

* ``INVALID_FIELD_FOR_INSERT_UPDATE``: a field that is not createable (on
  insert) or updateable (on update: ``TaskSubtype``), or ``Id`` in an insert;
* ``REQUIRED_FIELD_MISSING``: "Required fields are missing: [LastName]";
* per value (see :mod:`values`): ``STRING_TOO_LONG``, ``INVALID_EMAIL_ADDRESS``,
  ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``;
* references: ``MALFORMED_ID`` (not an id), ``FIELD_INTEGRITY_EXCEPTION`` (an
  id of another type, or of no record: "Name ID: id value of incorrect type"),
  ``ENTITY_IS_DELETED`` (in the recycle bin), ``INACTIVE_OWNER_OR_USER``; a task
  whose ``WhoId`` is a lead cannot have a ``WhatId``;
* at commit, against what is stored then: ``DUPLICATE_VALUE`` for a unique
  field ("duplicate value found: Revont_Call_Id__c duplicates value on record
  with id: 00T…") or a ContentDocumentLink that exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.salesforce.sandbox.ids import normalize
from adapters.salesforce.sandbox.schema import SObjectType
from adapters.salesforce.sandbox.values import Issue, check

if TYPE_CHECKING:
    from adapters.salesforce.sandbox.org import Org, Record


def check_values(
    org: Org, t: SObjectType, values: dict[str, Any], current: Record | None
) -> list[Issue]:
    """Every reason Salesforce would refuse these values (``current``: the record updated)."""
    issues: list[Issue] = []
    creating = current is None
    if creating and "Id" in values:
        issues.append(
            Issue(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "Record ID: cannot specify Id in an insert call",
                ("Id",),
            )
        )
    read_only = [
        name
        for name in values
        if name != "Id"
        and not getattr(t.field(name), "createable" if creating else "updateable", False)
    ]
    if current is not None and values.get("Id", current["Id"]) != current["Id"]:
        read_only.append("Id")
    if read_only:
        issues.append(
            Issue(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.",
                tuple(read_only),
            )
        )
    merged = {**(current or {}), **values}
    missing = [
        f.name
        for f in t.fields
        if (f.required and merged.get(f.name) is None)
        or (not creating and not f.nillable and f.name in values and values[f.name] is None)
    ]
    if missing:
        issues.append(
            Issue(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                tuple(missing),
            )
        )
    for name, value in values.items():
        f = t.field(name)
        if f is None or value is None or name in read_only:
            continue
        problem = check(f, value)
        if problem is None and f.type == "reference":
            problem = _check_reference(org, t, f.name, f.label, f.reference_to, value, values)
        if problem is not None:
            issues.append(problem)
    if t.name == "Task" and not issues:
        issues.extend(_check_task(org, merged))
    return issues


def _check_reference(
    org: Org,
    t: SObjectType,
    name: str,
    label: str,
    targets: tuple[str, ...],
    value: Any,
    values: dict[str, Any],
) -> Issue | None:
    record_id = normalize(str(value))
    if record_id is None:
        return Issue("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", (name,))
    values[name] = record_id
    kind, live, deleted = org.locate(record_id)
    allowed = {org.reference_type(target) for target in targets}
    if deleted and kind in allowed:
        return Issue("ENTITY_IS_DELETED", "entity is deleted", (name,))
    if live is None or kind not in allowed:
        return Issue(
            "FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {value}", (name,)
        )
    if kind == "User" and live.get("IsActive") is False:
        return Issue(
            "INACTIVE_OWNER_OR_USER",
            f"operation performed with inactive user [{record_id}] as owner of {t.name.lower()}",
            (name,),
        )
    return None


def _check_task(org: Org, merged: dict[str, Any]) -> list[Issue]:
    who, what = merged.get("WhoId"), merged.get("WhatId")
    if who and what and org.locate(str(who))[0] == "Lead":
        return [
            Issue(
                "FIELD_INTEGRITY_EXCEPTION",
                "Related To ID: a task whose Name ID is a lead cannot be related to a record",
                ("WhatId",),
            )
        ]
    return []


def unique_clash(
    org: Org, t: SObjectType, values: dict[str, Any], target: str | None
) -> Issue | None:
    for f in t.fields:
        value = values.get(f.name)
        if f.unique and value is not None:
            others = [i for i in org.match(t.name, f.name, value) if i != target]
            if others:
                return Issue(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {f.name} duplicates value on record with id: "
                    f"{others[0]}",
                )
    if t.unique_together and target is None:
        wanted = [values.get(name) for name in t.unique_together]
        for record in org.rows(t.name):
            if [record.get(name) for name in t.unique_together] == wanted:
                return Issue(
                    "DUPLICATE_VALUE",
                    "duplicate value found: <unknown> duplicates value on record with id: "
                    "<unknown>",
                )
    return None
