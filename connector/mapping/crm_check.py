"""Checking a mapping against what the CRM says about its fields.

Each adapter can report its field metadata (HubSpot properties, Salesforce
describe) as :class:`~adapters.base.CrmField` values. :func:`check_against_crm`
compares a loaded mapping with them and lists what would fail at write time:
a field the CRM does not have, a value that can exceed the field's length
without a truncation (or a split into parts longer than the field holds), a
constant or mapped value a picklist does not allow, and a field the CRM
requires that the mapping never fills.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.base import CrmFields
from connector.mapping.compiler import Mapping


@dataclass(frozen=True)
class CrmProblem:
    object: str
    field: str
    kind: str  # unknown_field | too_long | not_in_picklist | required_missing | unknown_object
    message: str


def check_against_crm(mapping: Mapping, crm: CrmFields) -> list[CrmProblem]:
    problems: list[CrmProblem] = []
    for obj in mapping.objects.values():
        fields = crm.get(obj.crm_object)
        if fields is None:
            problems.append(CrmProblem(obj.name, "", "unknown_object",
                                       f"the CRM has no object {obj.crm_object!r}"))  # fmt: skip
            continue
        written = {f.name for f in obj.fields} | {obj.external_id_field}
        written |= {field for _, _, _, field in obj.links if field}
        if obj.external_id_field not in fields:
            problems.append(CrmProblem(
                obj.name, obj.external_id_field, "unknown_field",
                f"the external-id field {obj.external_id_field!r} does not exist on "
                f"{obj.crm_object}; run `revont-sync setup` for this adapter",
            ))  # fmt: skip
        for spec in obj.fields:
            meta = fields.get(spec.name)
            if meta is None:
                close = [n for n in fields if n.lower() == spec.name.lower()]
                hint = f"; did you mean {close[0]!r}?" if close else ""
                message = f"{obj.crm_object} has no field {spec.name!r}{hint}"
                problems.append(CrmProblem(obj.name, spec.name, "unknown_field", message))
                continue
            # An address cut short is a wrong address: the CRM refuses an over-long one for
            # that record, which is reported; truncating it is not the fix.
            if (
                meta.max_length is not None
                and meta.type != "email"
                and (spec.max_length is None or spec.max_length > meta.max_length)
            ):
                can = "any length" if spec.max_length is None else f"{spec.max_length} characters"
                fix = f"add {{ truncate = {meta.max_length} }}"
                if obj.split is not None and obj.split.field == spec.name:
                    can = f"parts of {obj.split.max} characters (split)"
                    fix = f"set the split's max to {meta.max_length}"
                problems.append(CrmProblem(
                    obj.name, spec.name, "too_long",
                    f"{spec.name} holds {meta.max_length} characters but the mapping can "
                    f"produce {can}; {fix}",
                ))  # fmt: skip
            if meta.picklist is not None and spec.possible_values is not None:
                bad = sorted(str(v) for v in spec.possible_values if str(v) not in meta.picklist)
                if bad:
                    problems.append(CrmProblem(
                        obj.name, spec.name, "not_in_picklist",
                        f"{spec.name} allows {', '.join(sorted(meta.picklist))}; the mapping "
                        f"can produce {', '.join(bad)}",
                    ))  # fmt: skip
        for name, meta in fields.items():
            if meta.required and name not in written:
                problems.append(CrmProblem(
                    obj.name, name, "required_missing",
                    f"{obj.crm_object} requires {name!r}, which the mapping never sets",
                ))  # fmt: skip
    return problems
