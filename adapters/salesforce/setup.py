"""The connector's external-id fields in Salesforce: checked before a sync, explained by
``revont-sync setup salesforce``.

Every record is upserted by a custom field holding its Revont id
(``Revont_Contact_Id__c`` on Contact and Lead, ``Revont_Call_Id__c`` and
``Revont_Action_Item_Id__c`` on Activity, so Task has them), Text, External ID and
Unique. Creating fields needs the Metadata API and an admin's judgement, so the
connector does not create them: ``setup salesforce`` reads describe for each object
the mapping writes and reports exactly which fields are missing or misconfigured,
with the steps to create them; a sync checks the same, once per process, and
refuses to start without them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from adapters.base import CrmSetupError, SetupStep
from adapters.salesforce.api import SalesforceApi
from connector.errors import ConfigProblem

#: Where Salesforce keeps an object's custom fields in Setup.
_FIELDS_HOME = {"Task": "Activity", "Event": "Activity"}


def check_fields(api: SalesforceApi, needed: Iterable[tuple[str, str]]) -> list[SetupStep]:
    """One step per (sObject, field): exists, missing or a problem, with what to do."""
    steps = []
    described: dict[str, dict[str, Any]] = {}
    for sobject, name in sorted(set(needed)):
        if sobject not in described:
            body = api.call(f"GET /sobjects/{sobject}/describe", _describe(sobject))
            described[sobject] = {f["name"]: f for f in body.get("fields") or []}
        steps.append(_step(sobject, name, described[sobject].get(name)))
    return steps


def _describe(sobject: str) -> Callable[[Any], Any]:
    return lambda sf: getattr(sf, sobject).describe()


def require_fields(api: SalesforceApi, needed: Iterable[tuple[str, str]]) -> None:
    problems = [
        ConfigProblem(f"{s.crm_object}.{s.name}", s.detail)
        for s in check_fields(api, needed)
        if s.action != "exists"
    ]
    if problems:
        raise CrmSetupError("Salesforce", problems)


def _step(sobject: str, name: str, field: dict[str, Any] | None) -> SetupStep:
    home = _FIELDS_HOME.get(sobject, sobject)
    label = name.removesuffix("__c").replace("_", " ")
    create = (
        f"create it: Setup > Object Manager > {home} > Fields & Relationships > New > Text, "
        f"length 255, label '{label}', field name '{name.removesuffix('__c')}', tick "
        "'External ID' and 'Unique', and give the integration user edit access to it"
    )
    if field is None:
        return SetupStep(sobject, name, "field", "missing", f"no such field; {create}")
    wrong = []
    if field.get("type") not in ("string",):
        wrong.append(f"its type is {field.get('type')!r}, not Text")
    if not field.get("externalId"):
        wrong.append("it is not marked External ID")
    if not field.get("unique"):
        wrong.append("it is not marked Unique")
    if not field.get("updateable", True) or not field.get("createable", True):
        wrong.append("the integration user cannot write it (field-level security)")
    if wrong:
        return SetupStep(
            sobject,
            name,
            "field",
            "problem",
            "; ".join(wrong) + f" (edit the field under Setup > Object Manager > {home})",
        )
    return SetupStep(sobject, name, "field", "exists")
