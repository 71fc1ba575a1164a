"""Batch upserts into HubSpot, one object type at a time, with per-record results.

Contacts are upserted by ``email`` (HubSpot stores it lower-case and matches it
case-insensitively), so a contact someone created by hand is updated, never
duplicated; a contact without an email is upserted by the connector's unique id
property instead. HubSpot refuses an email-keyed batch as a whole when one input
is bad, so emails are checked before sending, and a batch HubSpot still refuses
is split in halves until the bad record is alone: it is reported, the rest land.

Calls, tasks and notes are upserted by the connector's unique id property
(``revont_call_id`` ...), where HubSpot answers 207 with per-input errors; those
become REJECTED results. Results are correlated by ``objectWriteTraceId`` (set to
the external id) and the id property, never by position: HubSpot returns them in
any order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from adapters.base import CrmRecord, WriteOutcome, WriteResult
from adapters.hubspot.api import HubSpotApi, HubSpotRequestError

BATCH_LIMIT = 100
EMAIL = "email"
#: What HubSpot accepts as an email, closely enough to catch bad ones before a request.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
#: HubSpot's per-property limit for text values.
MAX_TEXT = 65_536


def rejected(record: CrmRecord, error_class: str, message: str) -> WriteResult:
    return WriteResult(
        record.object, record.external_id, WriteOutcome.REJECTED, None, error_class, message
    )


class ObjectWriter:
    """Upserts the records of one HubSpot object type (see the module docstring)."""

    def __init__(self, api: HubSpotApi) -> None:
        self.api = api

    def upsert(self, crm_object: str, records: Sequence[CrmRecord]) -> dict[Any, WriteResult]:
        results: dict[Any, WriteResult] = {}
        ready: list[CrmRecord] = []
        seen: set[str] = set()
        for record in records:
            problem = self._check(record)
            key = _id_of(record)[1]
            if problem is None and key in seen:
                problem = ("DUPLICATE_IN_BATCH", f"another record of this batch has {key!r}")
            if problem is not None:
                results[record.key] = rejected(record, *problem)
                continue
            seen.add(key)
            ready.append(record)
        by_property: dict[str, list[CrmRecord]] = {}
        for record in ready:  # one idProperty per request
            by_property.setdefault(_id_of(record)[0], []).append(record)
        for group in by_property.values():
            for start in range(0, len(group), BATCH_LIMIT):
                results.update(self._isolating(crm_object, group[start : start + BATCH_LIMIT]))
        # A contact first written under another email (the engine lost its HubSpot id, or
        # this is a resync from scratch): HubSpot names our id property in the conflict.
        # Upsert it by that property instead, which updates the email in place.
        moved = [
            r
            for r in ready
            if _id_of(r)[0] == EMAIL
            and (result := results.get(r.key)) is not None
            and result.error_class == "CONFLICT"
            and r.external_id_field in (result.message or "")
        ]
        if moved:
            results.update(self._isolating(crm_object, moved, by_external_id=True))
        return results

    @staticmethod
    def _check(record: CrmRecord) -> tuple[str, str] | None:
        """Problems HubSpot would refuse anyway, found without spending a request."""
        email = record.values.get(EMAIL)
        if email not in (None, "") and not _EMAIL.match(str(email)):
            return ("INVALID_EMAIL", f"{str(email)[:100]!r} is not a valid email address")
        for name, value in record.values.items():
            if isinstance(value, str) and len(value) > MAX_TEXT:
                return (
                    "VALUE_TOO_LONG",
                    f"{name} has {len(value):,} characters; HubSpot keeps at most {MAX_TEXT:,} "
                    "(truncate or split it in the mapping)",
                )
        return None

    def _isolating(
        self, crm_object: str, records: Sequence[CrmRecord], *, by_external_id: bool = False
    ) -> dict[Any, WriteResult]:
        """Send a batch; when HubSpot refuses it whole for one bad record (it does for an
        email-keyed batch), halve it until the bad record is alone and report that one."""
        try:
            return self._send(crm_object, records, by_external_id)
        except HubSpotRequestError as exc:
            if not _one_record_problem(exc):
                raise
            if len(records) == 1:
                code = exc.detail_codes[0] if exc.detail_codes else exc.category
                return {records[0].key: rejected(records[0], code or "REJECTED", exc.message)}
        middle = len(records) // 2
        results = self._isolating(crm_object, records[:middle], by_external_id=by_external_id)
        results.update(self._isolating(crm_object, records[middle:], by_external_id=by_external_id))
        return results

    def _send(
        self, crm_object: str, records: Sequence[CrmRecord], by_external_id: bool
    ) -> dict[Any, WriteResult]:
        if not records:
            return {}
        inputs = []
        for record in records:
            id_property, id_value = _id_of(record, by_external_id)
            properties = {k: _wire(v) for k, v in record.values.items() if v is not None}
            properties[record.external_id_field] = record.external_id
            if id_property == EMAIL:
                properties[EMAIL] = id_value
            inputs.append(
                {
                    "id": id_value,
                    "idProperty": id_property,
                    "objectWriteTraceId": record.external_id,
                    "properties": properties,
                }
            )
        route = f"POST /crm/v3/objects/{crm_object}/batch/upsert"
        try:
            body = self.api.call(
                route, self.api.objects(crm_object).upsert_with_http_info, {"inputs": inputs}
            )
        except HubSpotRequestError as exc:
            if _mapping_problem(exc):
                raise exc.__class__(
                    f"{exc.message} — the mapping writes a property HubSpot does not have; "
                    "check it with `revont-sync mappings check --adapter hubspot`, or run "
                    "`revont-sync setup hubspot` for the connector's id properties.",
                    body=exc.body,
                    service=exc.service,
                    method=exc.method,
                    path=exc.path,
                    status=exc.status,
                    code=exc.code,
                ) from exc
            raise
        return self._correlate(records, body)

    @staticmethod
    def _correlate(records: Sequence[CrmRecord], body: Any) -> dict[Any, WriteResult]:
        by_trace = {r.external_id: r for r in records}
        by_id = {_id_of(r)[1].lower(): r for r in records}
        out: dict[Any, WriteResult] = {}
        for result in getattr(body, "results", None) or []:
            props = result.properties or {}
            record = by_trace.get(result.object_write_trace_id or "")
            for record_ in records if record is None else ():
                if str(props.get(_id_of(record_)[0], "")).lower() == _id_of(record_)[1].lower():
                    record = record_
                    break
            if record is None:
                continue
            outcome = WriteOutcome.CREATED if result.new else WriteOutcome.UPDATED
            out[record.key] = WriteResult(record.object, record.external_id, outcome, result.id)
        for error in getattr(body, "errors", None) or []:
            values = [v for vs in (error.context or {}).values() for v in (vs or [])]
            code = next((d.code for d in (error.errors or []) if d.code), None)
            for value in values:
                record = by_trace.get(value) or by_id.get(str(value).lower())
                if record is not None and record.key not in out:
                    out[record.key] = rejected(
                        record, code or error.category or "REJECTED", error.message or ""
                    )
        return out


def _id_of(record: CrmRecord, by_external_id: bool = False) -> tuple[str, str]:
    """(idProperty, id) to upsert by. A contact written for the first time goes by its
    email (which finds a contact made by hand); once HubSpot has it (the engine knows its
    id), by the connector's id property, so a changed email is updated in place."""
    email = record.values.get(EMAIL)
    if record.crm_object == "contacts" and email and not record.crm_id and not by_external_id:
        return EMAIL, str(email).strip().lower()
    return record.external_id_field, record.external_id


def _mapping_problem(exc: HubSpotRequestError) -> bool:
    return "PROPERTY_DOESNT_EXIST" in exc.detail_codes


def _one_record_problem(exc: HubSpotRequestError) -> bool:
    """A refusal caused by some input's values (a property value HubSpot names, a unique
    value taken), not by the request as a whole: worth isolating."""
    if _mapping_problem(exc):
        return False
    if (exc.status, exc.category) == (409, "CONFLICT"):
        return True
    return (exc.status, exc.category) == (400, "VALIDATION_ERROR") and bool(exc.detail_codes)


def _wire(value: Any) -> str:
    """HubSpot property values are strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
