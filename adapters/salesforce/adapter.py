"""The Salesforce adapter: the connector's write contract on simple-salesforce.

One :meth:`SalesforceAdapter.upsert` takes records of one or more objects and, per
(sObject, external-id field) in the order given:

- **people** (the mapping's Contact records): a record Salesforce already has (the
  engine knows its id) is upserted by ``Revont_Contact_Id__c`` on its sObject (a
  Lead stays a Lead); a new one is first looked up by email, Contacts then Leads
  (:mod:`people`), and updated by ``Id`` when found, so people created by hand are
  never duplicated; otherwise created as the ``unknown_person`` policy says (a Lead
  with Company from the email's domain, or a Contact);
- **activities** (Tasks for calls and action items): each link with a ``field``
  (``WhoId``) is filled with the person's id, found by email, or created by the
  policy (``skip`` leaves it empty: the call is logged without a person); then the
  records are upserted by their external id (:mod:`writes`: Collections, or Bulk
  API 2.0 from ``bulk_threshold`` rows).

Before each run :meth:`prepare` checks the external-id fields exist (describe, once
per process) and forgets what it knew of the daily allowance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from adapters.base import (
    CrmField,
    CrmFields,
    CrmRecord,
    QuotaState,
    RequestError,
    SetupStep,
    WriteOutcome,
    WriteResult,
)
from adapters.salesforce.api import SalesforceApi
from adapters.salesforce.config import SalesforceConfig
from adapters.salesforce.notes import CALL_ID_FIELD, TranscriptNotes
from adapters.salesforce.people import People, company_from_domain
from adapters.salesforce.setup import check_fields, require_fields
from adapters.salesforce.writes import SObjectWriter, rejected

PEOPLE = ("Contact", "Lead")
#: Per-record codes saying a referenced record (the person in WhoId) is gone.
STALE_REFERENCE = frozenset(
    {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "FIELD_INTEGRITY_EXCEPTION"}
)
_TEXT_TYPES = ("string", "textarea", "email", "phone", "url", "combobox")
#: Objects ``describe_fields`` reports.
DESCRIBED = ("Contact", "Lead", "Task", "ContentNote")


class SalesforceAdapter:
    """Writes mapped records into Salesforce (see the module docstring)."""

    name: ClassVar[str] = "salesforce"
    config_model: ClassVar[type[SalesforceConfig]] = SalesforceConfig
    #: Records per upsert call: Collections take 200 per request; a larger write (a
    #: resync) may go through Bulk API 2.0.
    batch_size = 10_000

    def __init__(self, config: SalesforceConfig) -> None:
        self.config = config
        self.api = SalesforceApi(config)
        self.people = People(self.api)
        self.notes = TranscriptNotes(self.api)
        self.writer = SObjectWriter(
            self.api,
            bulk_threshold=config.bulk_threshold,
            bulk_poll_seconds=config.bulk_poll_seconds,
        )
        #: The engine gathers this many rows of an object across pages, so a large run
        #: (a first sync, a resync) reaches Bulk API 2.0 instead of 200-record requests.
        self.gather_rows = config.bulk_threshold
        self.batch_size = max(SalesforceAdapter.batch_size, config.bulk_threshold)
        self._checked: set[tuple[str, str]] = set()
        self._closed = False

    # -- the contract -----------------------------------------------------------------------

    def prepare(self, objects: Mapping[str, tuple[str, str]]) -> None:
        """Before each run: check the external-id fields the mapping upserts by (once per
        process; people may be Leads, so Lead's too) and forget the last allowance seen."""
        self.api.forget_usage()
        needed = _id_fields(objects) - self._checked
        if needed:
            require_fields(self.api, needed)
            self._checked |= needed

    def upsert(self, records: Sequence[CrmRecord]) -> list[WriteResult]:
        if self._closed:
            raise RequestError("the Salesforce adapter is closed", service=self.name)
        groups: dict[tuple[str, str], list[CrmRecord]] = {}
        for record in records:
            groups.setdefault((record.crm_object, record.external_id_field), []).append(record)
        results: dict[Any, WriteResult] = {}
        for (sobject, _), group in groups.items():
            if sobject in PEOPLE:
                results.update(self._people(group))
            elif sobject == "ContentNote":
                results.update(self.notes.upsert(group))
            else:
                results.update(self._activities(group))
        return list({r.key: results[r.key] for r in records if r.key in results}.values())

    def quota(self) -> QuotaState | None:
        return self.api.quota()

    @property
    def requests(self) -> int:
        """HTTP requests answered by Salesforce for this adapter so far."""
        return self.api.sent

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.api.close()

    # -- capabilities -------------------------------------------------------------------------

    def setup(self, objects: Mapping[str, tuple[str, str]]) -> list[SetupStep]:
        """Report the external-id fields the mapping needs: there, missing (with how to
        create them) or misconfigured. Salesforce fields are created by an admin."""
        return check_fields(self.api, _id_fields(objects))

    @classmethod
    def describe_fields(cls, config: SalesforceConfig | None) -> CrmFields:
        """Salesforce's fields of Contact, Lead, Task and ContentNote (describe), for
        ``mappings check``:
        the configured org's, or without configuration those of a standard org (the
        Salesforce sandbox, started for the purpose on loopback)."""
        if config is None:
            from adapters.salesforce.sandbox import SalesforceSandbox

            with SalesforceSandbox() as sandbox:
                return cls.describe_fields(
                    SalesforceConfig(
                        auth="access_token",
                        access_token=sandbox.access_token,
                        instance_url=sandbox.instance_url,
                        sandbox_url=sandbox.url,
                    )
                )
        api = SalesforceApi(config)
        try:
            fields: CrmFields = {}
            for sobject in DESCRIBED:
                body = api.call(f"GET /sobjects/{sobject}/describe", _describe(sobject))
                fields[sobject] = {f["name"]: _field(f) for f in body.get("fields") or []}
            return fields
        finally:
            api.close()

    # -- people -----------------------------------------------------------------------------

    def _people(self, group: list[CrmRecord]) -> dict[Any, WriteResult]:
        known = [r for r in group if r.crm_id]
        new = [r for r in group if not r.crm_id]
        found = self.people.find(str(r.values.get("Email") or "") for r in new)
        ids: dict[Any, str] = {}
        targets: list[CrmRecord] = []
        for record in known:
            # A Lead stays a Lead (with its required Company, should it need creating again).
            lead = str(record.crm_id).startswith("00Q")
            targets.append(_as_lead(record) if lead else replace(record, crm_object="Contact"))
        for record in new:
            match = found.get(str(record.values.get("Email") or "").strip().lower())
            if match is not None:
                sobject, record_id = match
                record = replace(record, crm_object=sobject)
                ids[record.key] = record_id
            elif self.config.unknown_person == "lead":
                record = _as_lead(record)
            targets.append(record)
        results: dict[Any, WriteResult] = {}
        for sobject in PEOPLE:
            part = [r for r in targets if r.crm_object == sobject]
            if part:
                written = self.writer.upsert(part, ids)
                for record in part:
                    result = written.get(record.key)
                    email = record.values.get("Email")
                    if result and result.crm_id and email:
                        self.people.remember(str(email), sobject, result.crm_id)
                results.update(written)
        return results

    # -- activities -------------------------------------------------------------------------

    def _activities(self, group: list[CrmRecord]) -> dict[Any, WriteResult]:
        # Links that fill a field (WhoId) with a person found by email.
        emails = {str(k.value) for r in group for k in r.links if k.field and "@" in str(k.value)}
        found = self.people.find(emails)
        missing = sorted(e for e in {x.strip().lower() for x in emails} if e not in found)
        if missing and self.config.unknown_person != "skip":
            prospects = [
                self.people.prospect_record(e, self.config.unknown_person) for e in missing
            ]
            refused: dict[str, WriteResult] = {}
            for result in self.writer.upsert(prospects).values():
                email = result.external_id.removeprefix("prospect:")
                if result.outcome != WriteOutcome.REJECTED and result.crm_id:
                    sobject = "Lead" if self.config.unknown_person == "lead" else "Contact"
                    found[email] = (sobject, result.crm_id)
                    self.people.remember(email, sobject, result.crm_id)
                elif result.error_class != "INVALID_EMAIL_ADDRESS":
                    refused[email] = result
        else:
            refused = {}
        # Not there and not made ("skip", or an address Salesforce refuses): logged without
        # a person, and not looked up again for a while. Any other refusal is retried.
        self.people.absent(e for e in missing if e not in found and e not in refused)
        ready, held = [], {}
        for record in group:
            values = dict(record.values)
            for link in record.links:
                if not link.field:
                    continue
                email = str(link.value).strip().lower()
                person = found.get(email)
                if person is not None:
                    values[link.field] = person[1]
                elif email in refused:
                    why = refused[email]
                    held[record.key] = rejected(
                        record,
                        "LINK_TARGET_MISSING",
                        f"creating the person {email} was refused ({why.error_class}: "
                        f"{why.message}); retried with the record",
                    )
            if record.key not in held:
                ready.append(replace(record, values=values))
        results = {**held, **self.writer.upsert(ready)}
        for record in ready:  # a person deleted or merged since it was cached: look again
            outcome = results.get(record.key)
            if outcome is not None and outcome.error_class in STALE_REFERENCE:
                for link in record.links:
                    if link.field and record.values.get(link.field) is not None:
                        self.people.forget_email(str(link.value))
        for record in ready:  # call Tasks, for the transcript notes linked to them
            task = results.get(record.key)
            if record.external_id_field == CALL_ID_FIELD and task and task.crm_id:
                self.notes.tasks[record.external_id] = task.crm_id
                if task.outcome == WriteOutcome.CREATED:
                    self.notes.new_tasks.add(task.crm_id)
        return results


def _id_fields(objects: Mapping[str, tuple[str, str]]) -> set[tuple[str, str]]:
    """The external-id fields the mapping needs: its objects' (people may be Leads, so
    Lead's too); ContentNote has none (notes are found through their Task)."""
    needed = {(o, f) for o, f in objects.values() if o != "ContentNote"}
    return needed | {("Lead", f) for o, f in objects.values() if o == "Contact"}


def _as_lead(record: CrmRecord) -> CrmRecord:
    """A new person as a Lead: Company (required) from the email's domain."""
    values = dict(record.values)
    if not values.get("Company"):
        values["Company"] = company_from_domain(str(values.get("Email") or "").partition("@")[2])
    return replace(record, crm_object="Lead", values=values)


def _describe(sobject: str) -> Any:
    return lambda sf: getattr(sf, sobject).describe()


def _field(f: dict[str, Any]) -> CrmField:
    kind = str(f.get("type") or "string")
    picklist = None
    if kind in ("picklist", "multipicklist") and f.get("restrictedPicklist"):
        picklist = frozenset(
            str(v["value"]) for v in f.get("picklistValues") or [] if v.get("active", True)
        )
    length = f.get("length") if kind in _TEXT_TYPES else None
    required = bool(
        f.get("createable") and not f.get("nillable", True) and not f.get("defaultedOnCreate")
    )
    return CrmField(str(f["name"]), kind, int(length) if length else None, picklist, required)
