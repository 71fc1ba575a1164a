"""The sandbox's data: one Salesforce org in memory.

Records of each sObject (dicts of field API name to wire value, every field
present, null when unset), the recycle bin (deleted records keep their fields
with ``IsDeleted`` true: ``queryAll`` sees them), users, and an index of the
fields records can be found by (``Email``, ``Username``, external ids; values
compared ignoring case). Ids are 18-character Salesforce ids from one seeded
counter.

Writes go through :func:`adapters.salesforce.sandbox.writes.save`, which all
the APIs (REST, sObject Collections, Bulk) share; this module holds the
storage, the helpers for tests and the command line (``add``, ``add_user``,
``add_custom_fields``), and the two hooks that imitate concurrency:

* :meth:`Org.lock` makes writes touching a record (by id or external id) fail
  with ``UNABLE_TO_LOCK_ROW``, as a parallel load holding the row would;
* :meth:`Org.race` makes the next write that would create a record with an
  external id lose a race to a concurrent request that created it first
  (``DUPLICATE_VALUE``); ``race_window_seconds`` instead makes every upsert
  that creates pause between finding no match and inserting, so two real
  concurrent requests race the way they do on Salesforce.

Every public method takes ``guard`` itself (a re-entrant lock, so a write can
hold it across several calls).
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Iterable
from typing import Any

from adapters.salesforce.sandbox.ids import IdFactory, normalize
from adapters.salesforce.sandbox.schema import (
    CUSTOM_FIELDS,
    STORED_AS,
    Catalog,
    Field,
    SObjectType,
)
from adapters.salesforce.sandbox.values import note_text, timestamp
from connector.quota import Clock, SystemClock

Record = dict[str, Any]


def fold(value: Any) -> str:
    """How lookup fields compare: as text, ignoring case."""
    return str(value).casefold()


class Org:
    """One org's records, users, custom fields, and its lock and race hooks."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        with_custom_fields: bool = True,
        username: str = "integration@revont-sync.example",
        user_name: str = "Revont Integration",
    ) -> None:
        self.guard = threading.RLock()
        self.clock = clock or SystemClock()
        self.rng = random.Random(seed)
        self.ids = IdFactory(self.rng)
        self.catalog = Catalog()
        self.org_id = self.ids.new("00D")
        self.race_window_seconds = 0.0
        self._live: dict[str, dict[str, Record]] = {name: {} for name in self.catalog.types}
        self._deleted: dict[str, dict[str, Record]] = {name: {} for name in self.catalog.types}
        # (sObject, field) -> folded value -> ids of live records
        self._index: dict[tuple[str, str], dict[str, set[str]]] = {}
        # (sObject, id or folded external value) -> writes left to refuse (None: until unlocked)
        self._locks: dict[tuple[str, str], int | None] = {}
        # (sObject, folded external value) -> races left to lose
        self._races: dict[tuple[str, str], int] = {}
        #: The integration user: sessions and records made by hand belong to it.
        self.user_id = ""
        self.user_id = self.add_user(email=username, name=user_name, username=username)
        if with_custom_fields:
            self.add_custom_fields()

    # -- schema -------------------------------------------------------------------------------

    def sobject(self, name: str) -> SObjectType | None:
        with self.guard:
            return self.catalog.get(name)

    def type_of(self, name: str) -> SObjectType:
        found = self.sobject(name)
        if found is None:
            raise KeyError(f"unknown sObject {name!r}")
        return found

    def add_field(
        self,
        sobject: str,
        name: str,
        *,
        type: str = "string",
        label: str | None = None,
        length: int = 255,
        external_id: bool = False,
        unique: bool = False,
    ) -> None:
        """Define a custom field (``name`` ending in ``__c``), as Setup would."""
        if not name.endswith("__c"):
            raise ValueError(f"custom field names end in __c: {name!r}")
        extra = Field(
            name,
            type,
            label or name.removesuffix("__c").replace("_", " "),
            length if type in ("string", "textarea") else 0,
            external_id=external_id,
            unique=unique,
            id_lookup=external_id or unique,
            custom=True,
        )
        with self.guard:
            self.catalog.add_field(sobject, extra)
            self._rebuild_index(self.type_of(sobject).name)

    def add_custom_fields(self) -> None:
        """Add the connector's external-id fields (``Revont_*__c``) if they are missing."""
        with self.guard:
            for sobject, fields in CUSTOM_FIELDS.items():
                for extra in fields:
                    if self.type_of(sobject).field(extra.name) is None:
                        self.catalog.add_field(sobject, extra)
                self._rebuild_index(sobject)

    # -- reading ------------------------------------------------------------------------------

    def get(self, sobject: str, record_id: str) -> Record | None:
        """A live record by id (15 or 18 characters), or None."""
        with self.guard:
            found = self._live[self.type_of(sobject).name].get(normalize(record_id) or "")
            return copy.deepcopy(found) if found is not None else None

    def records(self, sobject: str, *, include_deleted: bool = False) -> list[Record]:
        """Live records in creation order (and the recycle bin's, if asked)."""
        with self.guard:
            name = self.type_of(sobject).name
            found = list(self._live[name].values())
            if include_deleted:
                found += list(self._deleted[name].values())
                found.sort(key=lambda r: r["Id"])
            return copy.deepcopy(found)

    def rows(self, sobject: str, *, include_deleted: bool = False) -> Iterable[Record]:
        """Records without copying (callers hold ``guard`` and do not change them)."""
        name = self.type_of(sobject).name
        yield from self._live[name].values()
        if include_deleted:
            yield from self._deleted[name].values()

    def rows_by_id(self, sobject: str, record_id: str) -> Record | None:
        """A live record without copying (callers hold ``guard``)."""
        return self._live[self.type_of(sobject).name].get(record_id)

    def locate(self, record_id: str) -> tuple[str, Record | None, bool]:
        """(sObject name, live record or None, whether it is in the recycle bin) for an id."""
        found = self.catalog.by_prefix(record_id)
        if found is None:
            return "", None, False
        live = self._live[found.name].get(record_id)
        return found.name, live, live is None and record_id in self._deleted[found.name]

    def match(self, sobject: str, field: str, value: Any) -> list[str]:
        """Ids of live records whose lookup field ``field`` is ``value`` (ignoring case)."""
        with self.guard:
            t = self.type_of(sobject)
            if field.lower() == "id":
                record_id = normalize(str(value))
                return [record_id] if record_id and record_id in self._live[t.name] else []
            found = t.field(field)
            if found is None:
                return []
            index = self._index.get((t.name, found.name), {})
            return sorted(index.get(fold(value), set()))

    def reference_type(self, target: str) -> str:
        return STORED_AS.get(target, target)

    # -- storage primitives (callers hold the lock) ---------------------------------------------

    def insert(self, t: SObjectType, values: dict[str, Any], user_id: str) -> Record:
        now = timestamp(self.clock.time())
        record: Record = {f.name: None for f in t.fields}
        for f in t.fields:
            if f.defaulted_on_create and f.default is not None:
                record[f.name] = f.default
            elif f.type == "boolean" and not f.nillable:
                record[f.name] = False
        record.update(values)
        record["Id"] = self.ids.new(t.key_prefix)
        for name, value in (
            ("IsDeleted", False),
            ("CreatedDate", now),
            ("CreatedById", user_id),
            ("LastModifiedDate", now),
            ("LastModifiedById", user_id),
            ("SystemModstamp", now),
        ):
            if name in record:
                record[name] = value
        if "OwnerId" in record and record["OwnerId"] is None:
            record["OwnerId"] = user_id
        if t.name == "User" and record.get("IsActive") is None:
            record["IsActive"] = True
        self._derive(t, record, None)
        self._store(t, record, None)
        return record

    def update(
        self, t: SObjectType, record_id: str, values: dict[str, Any], user_id: str
    ) -> Record:
        old = self._live[t.name][record_id]
        record = {**old, **values}
        now = timestamp(self.clock.time())
        for name, value in (
            ("LastModifiedDate", now),
            ("LastModifiedById", user_id),
            ("SystemModstamp", now),
        ):
            if name in record:
                record[name] = value
        self._derive(t, record, old)
        self._store(t, record, old)
        return record

    def remove(self, t: SObjectType, record_id: str) -> Record:
        old = self._live[t.name].pop(record_id)
        self._reindex(t, old, None)
        gone = {**old, "IsDeleted": True, "SystemModstamp": timestamp(self.clock.time())}
        self._deleted[t.name][record_id] = gone
        return old

    def restore(self, t: SObjectType, record_id: str, old: Record | None) -> None:
        """Undo a write (all-or-none rollback): put back ``old``, or forget a new record."""
        current = self._live[t.name].pop(record_id, None)
        self._reindex(t, current, None)
        self._deleted[t.name].pop(record_id, None)
        if old is not None:
            self._live[t.name][record_id] = old
            self._reindex(t, None, old)

    def _store(self, t: SObjectType, record: Record, old: Record | None) -> None:
        self._live[t.name][record["Id"]] = record
        self._reindex(t, old, record)

    def _lookup_fields(self, t: SObjectType) -> list[str]:
        return [f.name for f in t.fields if f.id_lookup and f.name != "Id"]

    def _reindex(self, t: SObjectType, old: Record | None, new: Record | None) -> None:
        for name in self._lookup_fields(t):
            index = self._index.setdefault((t.name, name), {})
            if old is not None and old.get(name) is not None:
                ids = index.get(fold(old[name]), set())
                ids.discard(old["Id"])
                if not ids:
                    index.pop(fold(old[name]), None)
            if new is not None and new.get(name) is not None:
                index.setdefault(fold(new[name]), set()).add(new["Id"])

    def _rebuild_index(self, sobject: str) -> None:
        t = self.type_of(sobject)
        for name in self._lookup_fields(t):
            self._index[(t.name, name)] = {}
        for record in self._live[t.name].values():
            self._reindex(t, None, record)

    def _derive(self, t: SObjectType, record: Record, old: Record | None) -> None:
        """The fields Salesforce computes: names, task state, note previews."""
        if "Name" in record and t.field("LastName") is not None:
            parts = [record.get("FirstName"), record.get("LastName")]
            record["Name"] = " ".join(p for p in parts if p) or None
        if t.name == "Task":
            closed = record.get("Status") == "Completed"
            record["IsClosed"] = closed
            record["IsHighPriority"] = record.get("Priority") == "High"
            if closed and not (old or {}).get("IsClosed"):
                record["CompletedDateTime"] = record["LastModifiedDate"]
            elif not closed:
                record["CompletedDateTime"] = None
            record["AccountId"] = self._task_account(record)
        if t.name == "ContentNote":
            text = note_text(record.get("Content") or "")
            record["TextPreview"] = text[:255] or None
            record["FileType"], record["FileExtension"] = "SNOTE", "snote"
            record["ContentSize"] = len(text.encode("utf-8"))

    def _task_account(self, record: Record) -> str | None:
        what, who = record.get("WhatId"), record.get("WhoId")
        if what and what.startswith(self.type_of("Account").key_prefix):
            return str(what)
        contact = self._live["Contact"].get(who or "")
        return contact.get("AccountId") if contact else None

    # -- locks and races -------------------------------------------------------------------------

    def lock(self, sobject: str, key: str, *, count: int | None = None) -> None:
        """Refuse writes touching this record (an id, or an external id / email value) with
        ``UNABLE_TO_LOCK_ROW``: the next ``count`` of them, or all until :meth:`unlock`."""
        with self.guard:
            name = self.type_of(sobject).name
            self._locks[(name, normalize(key) or fold(key))] = count

    def unlock(self, sobject: str | None = None, key: str | None = None) -> None:
        with self.guard:
            if sobject is None:
                self._locks.clear()
                return
            name = self.type_of(sobject).name
            for held in list(self._locks):
                if held[0] == name and (key is None or held[1] in (normalize(key), fold(key))):
                    del self._locks[held]

    def take_lock(self, sobject: str, keys: Iterable[str]) -> bool:
        """Whether a write touching any of ``keys`` finds the row locked (using up one)."""
        for key in keys:
            held = (sobject, key)
            if held in self._locks:
                left = self._locks[held]
                if left is not None:
                    if left <= 1:
                        del self._locks[held]
                    else:
                        self._locks[held] = left - 1
                return True
        return False

    def race(self, sobject: str, value: str, *, count: int = 1) -> None:
        """The next ``count`` writes that would create a ``sobject`` with external id
        ``value`` lose a race: a concurrent request creates it first, with the same
        values, and the write fails with ``DUPLICATE_VALUE``."""
        with self.guard:
            self._races[(self.type_of(sobject).name, fold(value))] = count

    def take_race(self, sobject: str, value: Any) -> bool:
        held = (sobject, fold(value))
        left = self._races.get(held, 0)
        if left <= 0:
            return False
        if left == 1:
            del self._races[held]
        else:
            self._races[held] = left - 1
        return True

    # -- made by hand ----------------------------------------------------------------------------

    def add(self, sobject: str, **fields: Any) -> Record:
        """A record made by hand in Salesforce: checked like an API write (``ValueError``
        if Salesforce would refuse it), created by the integration user."""
        from adapters.salesforce.sandbox.writes import Change, load_record, save

        t = self.type_of(sobject)
        (outcome,) = save(
            self,
            [Change(t.name, load_record(t, fields), "insert")],
            all_or_none=True,
            user_id=self.user_id,
        )
        if outcome.errors:
            raise ValueError("; ".join(f"{i.code}: {i.message}" for i in outcome.errors))
        found = self.get(t.name, str(outcome.id))
        assert found is not None
        return found

    def add_user(
        self,
        *,
        email: str,
        name: str,
        username: str | None = None,
        active: bool = True,
        title: str | None = None,
    ) -> str:
        """A user (who can own records); returns its id. ``name`` is "First Last"."""
        first, _, last = name.strip().rpartition(" ")
        with self.guard:
            t = self.type_of("User")
            if self.match("User", "Username", username or email):
                raise ValueError(f"username {username or email!r} is taken")
            values = {
                "Username": username or email,
                "Email": email,
                "FirstName": first or None,
                "LastName": last or name,
                "Alias": (first[:1] + last)[:8].lower() or "user",
                "IsActive": active,
                "Title": title,
            }
            record = self.insert(t, values, self.user_id)
            if not self.user_id:  # the integration user, the org's first, made itself
                record["CreatedById"] = record["LastModifiedById"] = record["Id"]
            return str(record["Id"])
