"""Creating, updating and upserting records: the one write path every API shares.

A request becomes a list of :class:`Change` (single-record REST: one; sObject
Collections: up to 200; a Bulk job: every row), and :func:`save` answers one
:class:`Outcome` per change, in order. It works in two phases, as a database
transaction does:

1. **Plan** (under the org's lock): find each upsert's match by external id
   (several: ``DUPLICATE_EXTERNAL_ID``), refuse locked rows
   (``UNABLE_TO_LOCK_ROW``), and check every value: createable / updateable
   (``INVALID_FIELD_FOR_INSERT_UPDATE``), required (``REQUIRED_FIELD_MISSING``),
   lengths, emails, restricted picklists, and references (``MALFORMED_ID``,
   ``FIELD_INTEGRITY_EXCEPTION``, ``ENTITY_IS_DELETED``,
   ``INACTIVE_OWNER_OR_USER``). Two upserts of one external id in the same
   request both fail (``DUPLICATE_EXTERNAL_ID``).
2. **Commit** (under the lock again): insert or update, checking unique fields
   against what is stored *now* (``DUPLICATE_VALUE``). Between the two phases
   the lock is released for ``org.race_window_seconds`` when an upsert is about
   to create, and races armed with ``org.race`` are lost; that is how two
   concurrent upserts of one new external id end with one ``DUPLICATE_VALUE``.

With ``all_or_none`` any failure undoes every write of the request, and the
records that were fine answer ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.salesforce.sandbox.ids import normalize
from adapters.salesforce.sandbox.problems import bad_request
from adapters.salesforce.sandbox.rules import check_values, unique_clash
from adapters.salesforce.sandbox.schema import SObjectType
from adapters.salesforce.sandbox.values import Issue, UnreadableValue, read_json

if TYPE_CHECKING:
    from adapters.salesforce.sandbox.org import Org, Record

ROLLED_BACK = Issue(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)


@dataclass
class Change:
    """One record a request asks to write. ``values`` are read values by field API name
    (None clears); ``record_id`` is an update's target; ``key`` an upsert's
    (external id field, value); ``issues`` were found while reading (a Bulk row)."""

    sobject: str
    values: dict[str, Any]
    operation: str  # "insert" | "update" | "upsert"
    record_id: str | None = None
    key: tuple[str, Any] | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def key_field(self) -> str:
        return self.key[0] if self.key is not None else ""

    @property
    def key_value(self) -> Any:
        return self.key[1] if self.key is not None else None


@dataclass
class Outcome:
    """What became of one change: the record's id, whether it was created, the errors."""

    id: str | None = None
    created: bool = False
    errors: list[Issue] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.errors

    def result(self, *, upsert: bool = False) -> dict[str, Any]:
        """Salesforce's SaveResult / UpsertResult JSON (``id`` left out when unknown)."""
        body: dict[str, Any] = {}
        if self.id is not None:
            body["id"] = self.id
        body["success"] = self.success
        body["errors"] = [issue.error() for issue in self.errors]
        if upsert:
            body["created"] = self.created and self.success
        return body


@dataclass
class _Plan:
    change: Change
    outcome: Outcome
    t: SObjectType
    target: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


def load_record(t: SObjectType, raw: dict[str, Any]) -> dict[str, Any]:
    """A JSON record's fields by their API names, read for their types. An unknown field
    (``INVALID_FIELD``) or an unreadable value (``JSON_PARSER_ERROR``) fails the
    whole request (400); ``attributes`` is ignored."""
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "attributes":
            continue
        found = t.field(name)
        if found is None:
            raise bad_request(
                "INVALID_FIELD", f"No such column '{name}' on sobject of type {t.name}"
            )
        try:
            values[found.name] = read_json(found, value)
        except UnreadableValue as exc:
            raise bad_request("JSON_PARSER_ERROR", str(exc)) from None
    return values


def save(org: Org, changes: list[Change], *, all_or_none: bool, user_id: str) -> list[Outcome]:
    """Write ``changes`` (module docstring); one outcome per change, in order."""
    with org.guard:
        plans = [_Plan(c, Outcome(id=c.record_id), org.type_of(c.sobject)) for c in changes]
        _refuse_repeated_keys(plans)
        for plan in plans:
            if not plan.outcome.errors:
                _plan(org, plan)
        creating = [p for p in plans if p.target is None and p.change.key and not p.outcome.errors]
        lost = [p for p in creating if org.take_race(p.t.name, p.change.key_value)]
    if creating and org.race_window_seconds > 0:
        time.sleep(org.race_window_seconds)
    with org.guard:
        for plan in lost:  # the concurrent request that got there first
            org.insert(plan.t, dict(plan.values), user_id)
        if all_or_none and any(p.outcome.errors for p in plans):
            return _rolled_back(plans)
        journal: list[tuple[SObjectType, str, Record | None]] = []
        for plan in plans:
            if not plan.outcome.errors:
                _commit(org, plan, user_id, journal)
        if all_or_none and any(p.outcome.errors for p in plans):
            for t, record_id, old in reversed(journal):
                org.restore(t, record_id, old)
            return _rolled_back(plans)
    return [p.outcome for p in plans]


def _rolled_back(plans: list[_Plan]) -> list[Outcome]:
    for plan in plans:
        if not plan.outcome.errors:
            plan.outcome = Outcome(id=plan.change.record_id, errors=[ROLLED_BACK])
        else:
            plan.outcome.created = False
            if plan.change.operation != "update":
                plan.outcome.id = None
    return [p.outcome for p in plans]


def _refuse_repeated_keys(plans: list[_Plan]) -> None:
    seen: dict[str, list[_Plan]] = {}
    for plan in plans:
        if plan.change.key_value not in (None, ""):
            seen.setdefault(str(plan.change.key_value).casefold(), []).append(plan)
    for group in seen.values():
        if len(group) > 1:
            for plan in group:
                plan.outcome.errors.append(
                    Issue(
                        "DUPLICATE_EXTERNAL_ID",
                        f"Duplicate external id specified: {plan.change.key_value}",
                        (plan.change.key_field,),
                    )
                )


def _plan(org: Org, plan: _Plan) -> None:
    change, t, outcome = plan.change, plan.t, plan.outcome
    if change.issues:
        outcome.errors.extend(change.issues)
        return
    values = dict(change.values)
    lock_keys: list[str] = []
    if change.operation == "update":
        target = change.record_id or ""
        _, live, deleted = org.locate(target)
        if live is None:
            outcome.errors.append(
                Issue("ENTITY_IS_DELETED", "entity is deleted")
                if deleted
                else Issue("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {target}")
            )
            return
        plan.target = target
        lock_keys.append(target)
    elif change.operation == "upsert":
        assert change.key is not None
        name, value = change.key
        if value in (None, ""):
            outcome.errors.append(Issue("MISSING_ARGUMENT", f"{name} not specified", (name,)))
            return
        matches = org.match(t.name, name, value)
        if len(matches) > 1:
            outcome.errors.append(
                Issue(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{name}: more than one record found for external id field: "
                    f"[{', '.join(matches)}]",
                    (name,),
                )
            )
            return
        plan.target = matches[0] if matches else None
        values[name] = value
        lock_keys.append(str(value).casefold())
        if plan.target:
            lock_keys.append(plan.target)
    if org.take_lock(t.name, lock_keys):
        outcome.errors.append(
            Issue(
                "UNABLE_TO_LOCK_ROW",
                f"unable to obtain exclusive access to this record or 1 records: "
                f"{plan.target or ''}".rstrip(),
            )
        )
        return
    current = org.rows_by_id(t.name, plan.target) if plan.target else None
    outcome.errors.extend(check_values(org, t, values, current))
    plan.values = values
    outcome.id = plan.target


def _commit(
    org: Org, plan: _Plan, user_id: str, journal: list[tuple[SObjectType, str, Record | None]]
) -> None:
    t, outcome = plan.t, plan.outcome
    current = org.rows_by_id(t.name, plan.target) if plan.target else None
    if plan.target and current is None:
        outcome.errors.append(Issue("ENTITY_IS_DELETED", "entity is deleted"))
        return
    clash = unique_clash(org, t, plan.values, plan.target)
    if clash is not None:
        outcome.errors.append(clash)
        return
    if plan.target is None:
        record = org.insert(t, plan.values, user_id)
        journal.append((t, record["Id"], None))
        outcome.id, outcome.created = record["Id"], True
    else:
        journal.append((t, plan.target, current))
        org.update(t, plan.target, plan.values, user_id)
        outcome.id = plan.target


def delete(
    org: Org, record_ids: list[str], *, all_or_none: bool, only: SObjectType | None = None
) -> list[Outcome]:
    """Move records to the recycle bin (of type ``only``, if given); one outcome per id."""
    outcomes: list[Outcome] = []
    with org.guard:
        journal: list[tuple[SObjectType, str, Record]] = []
        for raw in record_ids:
            record_id = normalize(raw)
            outcome = Outcome(id=record_id or raw)
            outcomes.append(outcome)
            kind, live, deleted = org.locate(record_id or "")
            t = org.sobject(kind) if kind else None
            if record_id is None:
                outcome.errors.append(Issue("MALFORMED_ID", f"malformed id {raw}"))
            elif deleted:
                outcome.errors.append(Issue("ENTITY_IS_DELETED", "entity is deleted"))
            elif live is None or t is None or (only is not None and t.name != only.name):
                outcome.errors.append(
                    Issue("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {raw}")
                )
            elif not t.deletable:
                outcome.errors.append(
                    Issue("INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {t.name}")
                )
            elif org.take_lock(t.name, [record_id]):
                outcome.errors.append(
                    Issue(
                        "UNABLE_TO_LOCK_ROW",
                        f"unable to obtain exclusive access to this record or 1 records: "
                        f"{record_id}",
                    )
                )
            else:
                journal.append((t, record_id, org.remove(t, record_id)))
        if all_or_none and any(o.errors for o in outcomes):
            for t, record_id, old in reversed(journal):
                org.restore(t, record_id, old)
            for outcome in outcomes:
                if not outcome.errors:
                    outcome.errors.append(ROLLED_BACK)
    return outcomes
