"""Property definitions and groups of each object type, and the check of values against them."""

from __future__ import annotations

import copy
from typing import Any

from adapters.hubspot.sandbox.problems import bad_request
from adapters.hubspot.sandbox.schema import (
    OBJECT_TYPES,
    default_groups,
    default_properties,
    make_property,
)
from adapters.hubspot.sandbox.values import Issue, check_value, coerce


class PropertyDefinitions:
    """HubSpot's defaults plus the properties and groups created since (not thread-safe:
    the portal's lock guards it)."""

    def __init__(self) -> None:
        self._properties = {t: default_properties(ot) for t, ot in OBJECT_TYPES.items()}
        self._groups = {t: default_groups(ot) for t, ot in OBJECT_TYPES.items()}

    def names(self, object_type: str) -> dict[str, dict[str, Any]]:
        return self._properties[object_type]

    def properties(self, object_type: str, owners: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.property(object_type, n, owners) or {} for n in self._properties[object_type]]

    def property(
        self, object_type: str, name: str, owners: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """A definition as served: ``hubspot_owner_id`` lists the owners as its options."""
        prop = self._properties[object_type].get(name)
        if prop is None:
            return None
        prop = copy.deepcopy(prop)
        if name == "hubspot_owner_id":
            prop["options"] = [
                {
                    "label": f"{o['firstName']} {o['lastName']}".strip() or o["email"],
                    "value": o["id"],
                    "displayOrder": i,
                    "hidden": False,
                    "description": "",
                }
                for i, o in enumerate(owners)
            ]
        return prop

    def groups(self, object_type: str) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self._groups[object_type].values()))

    def group(self, object_type: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self._groups[object_type].get(name))

    def add_group(self, object_type: str, name: str, label: str, display_order: int = -1) -> None:
        self._groups[object_type][name] = {
            "name": name,
            "label": label,
            "displayOrder": display_order,
            "archived": False,
        }

    def add(
        self,
        object_type: str,
        name: str,
        label: str | None = None,
        type: str = "string",
        field_type: str = "text",
        *,
        unique: bool = False,
        options: list[dict[str, Any]] | None = None,
        group: str | None = None,
        description: str = "",
        display_order: int = -1,
        created_at: str,
    ) -> dict[str, Any]:
        """Define a custom property, as the properties API would; returns its definition."""
        prop = make_property(
            OBJECT_TYPES[object_type],
            name,
            label or name,
            (type, field_type),
            [
                {"description": "", "displayOrder": i, "hidden": False, **option}
                for i, option in enumerate(options or [])
            ],
            group=group,
            description=description,
            unique=unique,
            hubspot_defined=False,
            display_order=display_order,
            created_at=created_at,
        )
        self._properties[object_type][name] = prop
        return copy.deepcopy(prop)

    def unique(self, object_type: str) -> list[str]:
        """Properties that identify a record: contact ``email``, and those with unique values."""
        names = [n for n, p in self._properties[object_type].items() if p["hasUniqueValue"]]
        return ["email", *names] if object_type == "contacts" else names

    def check(
        self, object_type: str, raw: Any, *, creating: bool, owners: set[str]
    ) -> tuple[dict[str, str | None], list[Issue]]:
        """Validate a ``properties`` map: the values to store (None clears) and the issues."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise bad_request("properties must be an object of property names to string values")
        defined = self._properties[object_type]
        values: dict[str, str | None] = {}
        issues: list[Issue] = []
        for name, raw_value in raw.items():
            text = coerce(raw_value)
            if raw_value is None or text is None:
                continue
            prop = defined.get(name)
            if prop is None:
                message = f'Property "{name}" does not exist'
                issues.append(Issue(name, "PROPERTY_DOESNT_EXIST", message))
                continue
            if prop["modificationMetadata"]["readOnlyValue"]:
                message = f'"{name}" is a read only property; its value cannot be set.'
                issues.append(Issue(name, "READ_ONLY_VALUE", message))
                continue
            is_email = object_type == "contacts" and name == "email"
            value, issue = check_value(prop, text, owners=owners, contact_email=is_email)
            if issue is not None:
                issues.append(issue)
            else:
                values[name] = value
        if creating:
            for name in OBJECT_TYPES[object_type].required:
                if values.get(name) is None and not any(i.name == name for i in issues):
                    message = f'Property "{name}" is required to create a record.'
                    issues.append(Issue(name, "REQUIRED_PROPERTY", message))
        return values, issues
