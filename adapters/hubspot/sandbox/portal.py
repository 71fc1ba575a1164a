"""The sandbox's data: one HubSpot portal in memory.

Records of each object type (``{id, properties, createdAt, updatedAt,
archived}``, properties as strings), the property definitions and groups,
owners, and associations (stored in both directions, each side with its own
type id). Ids are numeric strings from one counter with random gaps, seeded.

The search index is separate and lags: a write reaches it ``search_lag_seconds``
after it happened, as HubSpot's does; records added by hand (the ``add_*``
helpers) are indexed at once, as if made long ago.

Every method takes ``lock`` itself (a re-entrant lock, so request handlers can
hold it across several calls).
"""

from __future__ import annotations

import copy
import random
import re
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

from adapters.hubspot.sandbox.definitions import PropertyDefinitions
from adapters.hubspot.sandbox.schema import (
    ASSOCIATION_TYPES,
    INVERSE_TYPE,
    OBJECT_TYPES,
    ObjectType,
    default_association_type,
    resolve_type,
)
from adapters.hubspot.sandbox.values import Issue, iso
from connector.quota import Clock, SystemClock

Record = dict[str, Any]
_ALWAYS = ("hs_object_id",)


class Portal:
    """One portal's objects, properties, owners and associations."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        search_lag_seconds: float = 0.0,
        portal_id: int | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock or SystemClock()
        self.rng = random.Random(seed)
        self.portal_id = portal_id or 20_000_000 + self.rng.randrange(30_000_000)
        self.search_lag_seconds = search_lag_seconds
        self._next_id = 1_000 + self.rng.randrange(9_000)
        self._records: dict[str, dict[str, Record]] = {t: {} for t in OBJECT_TYPES}
        self.definitions = PropertyDefinitions()
        self._owners: dict[str, dict[str, Any]] = {}
        # (type, id) -> {(other type, other id): {association type ids}}
        self._links: dict[tuple[str, str], dict[tuple[str, str], set[int]]] = {}
        # (type, unique property) -> {value (emails lower-cased): record id}
        self._unique: dict[tuple[str, str], dict[str, str]] = {}
        self._index: dict[str, dict[str, Record]] = {t: {} for t in OBJECT_TYPES}
        self._pending: deque[tuple[float, str, str, Record | None]] = deque()
        # Property validation rules, as a portal admin sets them: (type, property) ->
        # [(pattern a value must match, message)].
        self._rules: dict[tuple[str, str], list[tuple[re.Pattern[str], str]]] = {}

    # -- time and ids ---------------------------------------------------------------------

    def now(self) -> str:
        return iso(datetime.fromtimestamp(self.clock.time(), UTC))

    def _new_id(self) -> str:
        self._next_id += self.rng.randint(1, 97)
        return str(self._next_id)

    # -- properties (definitions live in :mod:`definitions`) ------------------------------

    def properties(self, object_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return self.definitions.properties(object_type, self.owners())

    def property(self, object_type: str, name: str) -> dict[str, Any] | None:
        """A property definition as served (owner options filled in), or None."""
        with self.lock:
            return self.definitions.property(object_type, name, self.owners())

    def add_property(self, object_type: str, name: str, **spec: Any) -> dict[str, Any]:
        """Define a custom property (see :meth:`PropertyDefinitions.add`)."""
        with self.lock:
            return self.definitions.add(
                _type(object_type).name, name, created_at=self.now(), **spec
            )

    def unique_properties(self, object_type: str) -> list[str]:
        with self.lock:
            return self.definitions.unique(object_type)

    def check(
        self, object_type: str, raw: Any, *, creating: bool
    ) -> tuple[dict[str, str | None], list[Issue]]:
        """Validate a ``properties`` map: the values to store (None clears) and the issues."""
        with self.lock:
            owners = {o["id"] for o in self.owners()}
            values, issues = self.definitions.check(
                object_type, raw, creating=creating, owners=owners
            )
            for (rule_type, name), rules in self._rules.items():
                value = values.get(name)
                if rule_type != object_type or value is None:
                    continue
                for pattern, message in rules:
                    if not pattern.fullmatch(value):
                        issues.append(Issue(name, "INVALID_PROPERTY_VALUE", message))
            return values, issues

    def add_validation_rule(
        self, object_type: str, name: str, pattern: str, message: str | None = None
    ) -> None:
        """Refuse values of ``name`` that do not match ``pattern`` (a regular expression),
        like a property validation rule a HubSpot admin sets in the property's settings."""
        with self.lock:
            self._rules.setdefault((_type(object_type).name, name), []).append(
                (
                    re.compile(pattern, re.DOTALL),
                    message or f"{name} does not match the portal's validation rule",
                )
            )

    def find(self, object_type: str, value: str, id_property: str | None = None) -> Record | None:
        """The live record whose id (or unique ``id_property``) is ``value``."""
        with self.lock:
            if id_property in (None, "", "hs_object_id"):
                return self._records[object_type].get(value.strip())
            key = value.strip().lower() if id_property == "email" else value
            record_id = self._unique.get((object_type, id_property or ""), {}).get(key)
            return self._records[object_type].get(record_id) if record_id else None

    def conflict(
        self, object_type: str, values: dict[str, str | None], record_id: str | None
    ) -> tuple[str, str, str] | None:
        """(property, value, other record's id) if a unique value is taken by another record."""
        with self.lock:
            for name in self.unique_properties(object_type):
                value = values.get(name)
                if value:
                    other = self.find(object_type, value, name)
                    if other is not None and other["id"] != record_id:
                        return name, value, other["id"]
            return None

    # -- writes ---------------------------------------------------------------------------------

    def create(
        self, object_type: str, values: dict[str, str | None], *, indexed: bool = False
    ) -> Record:
        with self.lock:
            ot = OBJECT_TYPES[object_type]
            record_id, now = self._new_id(), self.now()
            props = {k: v for k, v in values.items() if v is not None}
            props.setdefault(ot.created, now)
            props.update({ot.modified: now, "hs_object_id": record_id})
            record = {
                "id": record_id,
                "properties": props,
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
            }
            self._store(object_type, record, None, indexed=indexed)
            return copy.deepcopy(record)

    def update(self, object_type: str, record_id: str, values: dict[str, str | None]) -> Record:
        with self.lock:
            old = self._records[object_type][record_id]
            record = copy.deepcopy(old)
            now = self.now()
            for name, value in values.items():
                if value is None:
                    record["properties"].pop(name, None)
                else:
                    record["properties"][name] = value
            record["properties"][OBJECT_TYPES[object_type].modified] = now
            record["updatedAt"] = now
            self._store(object_type, record, old)
            return copy.deepcopy(record)

    def archive(self, object_type: str, record_id: str) -> bool:
        with self.lock:
            old = self._records[object_type].pop(record_id, None)
            if old is None:
                return False
            self._reindex_unique(object_type, old, None)
            for other in list(self._links.get((object_type, record_id), {})):
                self.unlink(object_type, record_id, *other)
            self._links.pop((object_type, record_id), None)
            self._queue(object_type, record_id, None, indexed=False)
            return True

    def _store(
        self, object_type: str, record: Record, old: Record | None, *, indexed: bool = False
    ) -> None:
        self._records[object_type][record["id"]] = record
        self._reindex_unique(object_type, old, record)
        self._queue(object_type, record["id"], copy.deepcopy(record), indexed=indexed)

    def _reindex_unique(self, object_type: str, old: Record | None, new: Record | None) -> None:
        for name in self.unique_properties(object_type):
            index = self._unique.setdefault((object_type, name), {})
            for record, present in ((old, False), (new, True)):
                value = record["properties"].get(name) if record else None
                if value is None or record is None:
                    continue
                key = value.lower() if name == "email" else value
                if present:
                    index[key] = record["id"]
                elif index.get(key) == record["id"]:
                    del index[key]

    # -- search index -----------------------------------------------------------------------------

    def _queue(
        self, object_type: str, record_id: str, record: Record | None, *, indexed: bool
    ) -> None:
        if indexed or self.search_lag_seconds <= 0:
            self._apply_index(object_type, record_id, record)
        else:
            ready = self.clock.time() + self.search_lag_seconds
            self._pending.append((ready, object_type, record_id, record))

    def _apply_index(self, object_type: str, record_id: str, record: Record | None) -> None:
        if record is None:
            self._index[object_type].pop(record_id, None)
        else:
            self._index[object_type][record_id] = record

    def searchable(self, object_type: str) -> list[Record]:
        """What search sees now: the index, with the writes old enough applied."""
        with self.lock:
            now = self.clock.time()
            while self._pending and self._pending[0][0] <= now:
                _, t, record_id, record = self._pending.popleft()
                self._apply_index(t, record_id, record)
            return sorted(self._index[object_type].values(), key=lambda r: int(r["id"]))

    # -- views ------------------------------------------------------------------------------------

    def view(self, object_type: str, record: Record, names: list[str] | None) -> dict[str, Any]:
        """``SimplePublicObject``: the named properties (unset ones null) plus HubSpot's
        always-returned ones; the type's default set when ``names`` is None."""
        ot = OBJECT_TYPES[object_type]
        stored = record["properties"]
        if names is None:
            wanted = list(ot.shown)
        else:
            known = self.definitions.names(object_type)
            wanted = [
                n for n in dict.fromkeys([*names, *_ALWAYS, ot.created, ot.modified]) if n in known
            ]
        return {
            "id": record["id"],
            "properties": {n: stored.get(n) for n in sorted(wanted)},
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "archived": False,
        }

    @staticmethod
    def full_view(record: Record) -> dict[str, Any]:
        """What a write answers: every stored property."""
        view = copy.deepcopy(record)
        view["properties"] = dict(sorted(view["properties"].items()))
        return view

    # -- associations ---------------------------------------------------------------------------

    def link(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        with self.lock:
            self._links.setdefault((from_type, from_id), {}).setdefault(
                (to_type, to_id), set()
            ).add(type_id)
            back = self._links.setdefault((to_type, to_id), {})
            back.setdefault((from_type, from_id), set()).add(INVERSE_TYPE[type_id])

    def unlink(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        with self.lock:
            self._links.get((from_type, from_id), {}).pop((to_type, to_id), None)
            self._links.get((to_type, to_id), {}).pop((from_type, from_id), None)

    def linked(self, from_type: str, from_id: str, to_type: str) -> list[tuple[str, list[int]]]:
        """(other id, association type ids) for each ``to_type`` record linked to this one."""
        with self.lock:
            links = self._links.get((from_type, from_id), {})
            found = [(oid, sorted(ids)) for (t, oid), ids in links.items() if t == to_type and ids]
            return sorted(found, key=lambda pair: int(pair[0]))

    # -- owners -----------------------------------------------------------------------------------

    def owners(self, email: str | None = None, archived: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            found = [
                copy.deepcopy(o)
                for o in self._owners.values()
                if o["archived"] == archived and (email is None or o["email"] == email.lower())
            ]
            return sorted(found, key=lambda o: int(o["id"]))

    # -- helpers for tests and the control endpoints ----------------------------------------------

    def add_owner(
        self,
        email: str,
        first_name: str = "",
        last_name: str = "",
        *,
        user_id: int | None = None,
        archived: bool = False,
    ) -> str:
        """An owner (a HubSpot user who can own records); returns its id."""
        with self.lock:
            owner_id = str(self.rng.randint(10_000_000, 999_999_999))
            while owner_id in self._owners:
                owner_id = str(self.rng.randint(10_000_000, 999_999_999))
            uid = user_id or self.rng.randint(1_000_000, 99_999_999)
            now = self.now()
            self._owners[owner_id] = {
                "id": owner_id,
                "email": email.lower(),
                "firstName": first_name,
                "lastName": last_name,
                "userId": uid,
                "userIdIncludingInactive": uid,
                "type": "PERSON",
                "createdAt": now,
                "updatedAt": now,
                "archived": archived,
                "teams": [],
            }
            return owner_id

    def add_record(self, object_type: str, **properties: Any) -> Record:
        """A record made by hand in HubSpot (validated, already in the search index)."""
        with self.lock:
            ot = _type(object_type)
            values, issues = self.check(ot.name, properties, creating=True)
            if issues:
                raise ValueError("; ".join(f"{i.name}: {i.message}" for i in issues))
            clash = self.conflict(ot.name, values, None)
            if clash is not None:
                raise ValueError(f"{clash[0]} {clash[1]!r} is already used by record {clash[2]}")
            return self.create(ot.name, values, indexed=True)

    def add_contact(self, email: str | None = None, **properties: Any) -> Record:
        if email is not None:
            properties["email"] = email
        return self.add_record("contacts", **properties)

    def add_company(self, **properties: Any) -> Record:
        return self.add_record("companies", **properties)

    def records(self, object_type: str) -> list[Record]:
        with self.lock:
            ot = _type(object_type)
            found = self._records[ot.name].values()
            return [copy.deepcopy(r) for r in sorted(found, key=lambda r: int(r["id"]))]

    def page(self, object_type: str, after: int, limit: int) -> tuple[list[Record], str | None]:
        """Up to ``limit`` records from id ``after`` on, in id order, and the next id if any."""
        with self.lock:
            ids = sorted(int(i) for i in self._records[_type(object_type).name] if int(i) >= after)
            chosen = [self.get(object_type, str(i)) for i in ids[:limit]]
            following = str(ids[limit]) if len(ids) > limit else None
            return [r for r in chosen if r is not None], following

    def get(self, object_type: str, record_id: str) -> Record | None:
        with self.lock:
            record = self._records[_type(object_type).name].get(str(record_id))
            return copy.deepcopy(record) if record is not None else None

    def associate(
        self,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        type_id: int | None = None,
    ) -> None:
        """Link two existing records (the default association type unless one is given)."""
        with self.lock:
            a, b = _type(from_type).name, _type(to_type).name
            chosen = type_id or default_association_type(a, b)
            if chosen is None or chosen not in dict(ASSOCIATION_TYPES.get((a, b), [])):
                raise ValueError(f"no association type {type_id} from {a} to {b}")
            for t, rid in ((a, from_id), (b, to_id)):
                if rid not in self._records[t]:
                    raise KeyError(f"{t} {rid}")
            self.link(a, str(from_id), b, str(to_id), chosen)

    def associations(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Ids of the ``to_type`` records associated with this one."""
        a, b = _type(from_type).name, _type(to_type).name
        return [other for other, _ in self.linked(a, str(from_id), b)]


def _type(name: str) -> ObjectType:
    found = resolve_type(name)
    if found is None:
        raise KeyError(f"unknown object type {name!r}")
    return found
