"""The connector's own HubSpot properties: checked before a sync, created by ``setup``.

Every object the mapping writes is upserted by a property holding the Revont id
(``revont_call_id`` on calls, ``revont_action_item_id`` on tasks, ...), which
HubSpot only accepts as ``idProperty`` when it was created with unique values.
``revont-sync setup hubspot`` creates a property group and those properties,
idempotently (an existing one is reported, not recreated); a sync checks they
exist, once per process, and refuses to start without them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.base import CrmSetupError, NotFoundError, SetupStep
from adapters.hubspot.api import HubSpotApi, HubSpotRequestError
from connector.errors import ConfigProblem

GROUP_LABEL = "Revont"


def missing_properties(api: HubSpotApi, needed: Iterable[tuple[str, str]]) -> list[ConfigProblem]:
    """Problems with the id properties ``needed`` ((object type, property) pairs)."""
    problems = []
    for crm_object, name in sorted(set(needed)):
        try:
            prop = _get(api, crm_object, name)
        except NotFoundError:
            problems.append(
                ConfigProblem(
                    f"{crm_object}.{name}",
                    "HubSpot has no such property; run `revont-sync setup hubspot` once to "
                    "create the connector's id properties",
                )
            )
            continue
        if not prop.has_unique_value:
            problems.append(
                ConfigProblem(
                    f"{crm_object}.{name}",
                    "exists but does not have unique values, so HubSpot cannot upsert by it; "
                    "use another property name in the mapping's external_id, then run "
                    "`revont-sync setup hubspot`",
                )
            )
    return problems


def require_properties(api: HubSpotApi, needed: Iterable[tuple[str, str]]) -> None:
    problems = missing_properties(api, needed)
    if problems:
        raise CrmSetupError("HubSpot", problems)


def apply_setup(api: HubSpotApi, needed: Iterable[tuple[str, str]], group: str) -> list[SetupStep]:
    """Create the group and the id properties that are missing; report every step."""
    steps: list[SetupStep] = []
    needed = sorted(set(needed))
    for crm_object in sorted({o for o, _ in needed}):
        try:
            api.call(
                f"POST /crm/v3/properties/{crm_object}/groups",
                api.property_groups().create_with_http_info,
                crm_object,
                {"name": group, "label": GROUP_LABEL, "displayOrder": -1},
                idempotent=False,
            )
            steps.append(SetupStep(crm_object, group, "group", "created"))
        except HubSpotRequestError as exc:
            if exc.status != 409:
                raise
            steps.append(SetupStep(crm_object, group, "group", "exists"))
    for crm_object, name in needed:
        try:
            prop = _get(api, crm_object, name)
        except NotFoundError:
            prop = None
        if prop is not None:
            ok = bool(prop.has_unique_value)
            steps.append(
                SetupStep(
                    crm_object,
                    name,
                    "property",
                    "exists" if ok else "problem",
                    "" if ok else "exists without unique values: upserts cannot use it",
                )
            )
            continue
        try:
            api.call(
                f"POST /crm/v3/properties/{crm_object}",
                api.properties().create_with_http_info,
                crm_object,
                {
                    "name": name,
                    "label": _label(name),
                    "type": "string",
                    "fieldType": "text",
                    "groupName": group,
                    "hasUniqueValue": True,
                    "description": "The Revont id of this record, written by revont-sync "
                    "(the key it upserts by). Do not edit.",
                },
                idempotent=False,
            )
            steps.append(SetupStep(crm_object, name, "property", "created", "unique values"))
        except HubSpotRequestError as exc:
            if exc.status != 409:  # created meanwhile (or by a retried request): fine
                raise
            steps.append(SetupStep(crm_object, name, "property", "exists"))
    return steps


def _get(api: HubSpotApi, crm_object: str, name: str) -> Any:
    return api.call(
        f"GET /crm/v3/properties/{crm_object}/{{name}}",
        api.properties().get_by_name_with_http_info,
        crm_object,
        name,
    )


def _label(name: str) -> str:
    """``revont_call_id`` -> ``Revont call id``."""
    return name.replace("_", " ").capitalize()
