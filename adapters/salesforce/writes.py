"""Writing records into Salesforce: sObject Collections, or Bulk API 2.0 for large loads.

Records are upserted by their external-id field (``Revont_Call_Id__c`` ...) with
sObject Collections (``PATCH composite/sobjects/{SObject}/{field}``, 200 per
request, ``allOrNone`` false): one result per record, in input order. Records
that already have a Salesforce id from a match by email are updated by ``Id``
(``PATCH composite/sobjects``). Per-record answers that a retry fixes are not
reported as failures:

- ``UNABLE_TO_LOCK_ROW`` (a parallel load holds the row): retried, one at a time;
- ``DUPLICATE_VALUE`` on the external id (two writers raced to create the same
  new record): retried, which now updates the winner's record;
- ``INVALID_FIELD_FOR_INSERT_UPDATE`` on a create-only field (``TaskSubtype`` of a
  Task that exists although the engine did not know it): retried without it.

Create-only fields are left out whenever the engine knows the record exists.
From ``bulk_threshold`` rows of one object in one write, a Bulk API 2.0 upsert
job is used instead (about six API calls whatever its size); its result files
are read back into per-record results by external id (they come unordered).
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Sequence
from typing import Any

from adapters.base import CrmRecord, WriteOutcome, WriteResult
from adapters.salesforce.api import SalesforceApi
from connector.errors import InvalidResponseError, TransientError

log = logging.getLogger(__name__)

COLLECTION_LIMIT = 200
#: Fields Salesforce accepts on create only.
CREATE_ONLY = {"Task": frozenset({"TaskSubtype"})}
#: Per-record codes a second attempt fixes.
RETRIED = frozenset({"UNABLE_TO_LOCK_ROW", "DUPLICATE_VALUE", "INVALID_FIELD_FOR_INSERT_UPDATE"})


def rejected(record: CrmRecord, code: str, message: str) -> WriteResult:
    return WriteResult(
        record.object, record.external_id, WriteOutcome.REJECTED, None, code, message
    )


class SObjectWriter:
    """Upserts the records of one sObject (see the module docstring)."""

    def __init__(self, api: SalesforceApi, *, bulk_threshold: int, bulk_poll_seconds: float):
        self.api = api
        self.bulk_threshold = bulk_threshold
        self.bulk_poll_seconds = bulk_poll_seconds

    def upsert(
        self, records: Sequence[CrmRecord], ids: dict[Any, str] | None = None
    ) -> dict[Any, WriteResult]:
        """Write ``records`` (one sObject, one external-id field); ``ids`` gives the
        Salesforce id of records to update by id (people matched by email)."""
        ids = ids or {}
        # Salesforce fails every copy of an external id repeated in one request: later
        # copies go in a following round (the last one written wins, as it would alone).
        rounds: list[list[CrmRecord]] = []
        seen: list[set[str]] = []
        for record in records:
            for batch, ids_in in zip(rounds, seen, strict=True):
                if record.external_id not in ids_in:
                    batch.append(record)
                    ids_in.add(record.external_id)
                    break
            else:
                rounds.append([record])
                seen.append({record.external_id})
        if len(rounds) > 1:
            results: dict[Any, WriteResult] = {}
            for batch in rounds:
                results.update(self.upsert(batch, ids))
            return results
        by_id = [r for r in records if r.key in ids]
        by_key = [r for r in records if r.key not in ids]
        results = {}
        if by_key and self.bulk_threshold and len(by_key) >= self.bulk_threshold:
            try:
                results.update(self._bulk(by_key))
            except TransientError as exc:
                # The job failed as a whole (a row it could not read, a job limit): the
                # same rows through Collections, 200 per request, rather than again.
                log.warning("salesforce: Bulk job failed (%s); using Collections", exc)
                results.update(self._collections(by_key, ids={}))
            # Rows a second attempt fixes (locked, raced, create-only field) go again
            # through Collections, which retries them.
            again = [r for r in by_key if results[r.key].error_class in RETRIED]
            if again:
                results.update(self._collections(again, ids={}))
        else:
            results.update(self._collections(by_key, ids={}))
        results.update(self._collections(by_id, ids=ids))
        return results

    # -- sObject Collections ---------------------------------------------------------------

    def _collections(
        self, records: Sequence[CrmRecord], *, ids: dict[Any, str]
    ) -> dict[Any, WriteResult]:
        results: dict[Any, WriteResult] = {}
        pending = list(records)
        dropped: dict[Any, frozenset[str]] = {}
        for attempt in range(1, self.api.config.max_attempts + 1):
            retry: list[CrmRecord] = []
            for start in range(0, len(pending), COLLECTION_LIMIT):
                chunk = pending[start : start + COLLECTION_LIMIT]
                answers = self._send(chunk, ids, dropped)
                for record, answer in zip(chunk, answers, strict=True):
                    result, again = _result(record, answer, ids.get(record.key))
                    if again is not None and attempt < self.api.config.max_attempts:
                        if again in ("INVALID_FIELD_FOR_INSERT_UPDATE", "DUPLICATE_VALUE"):
                            # It exists now (ours or a racing writer's): update, without
                            # the fields Salesforce takes on create only.
                            dropped[record.key] = CREATE_ONLY.get(record.crm_object, frozenset())
                        retry.append(record)
                    results[record.key] = result
            if not retry:
                break
            log.info("salesforce: %d records retried (locked rows, races)", len(retry))
            time.sleep(0.2 * attempt)
            pending = retry
        return results

    def _send(
        self,
        chunk: Sequence[CrmRecord],
        ids: dict[Any, str],
        dropped: dict[Any, frozenset[str]],
    ) -> list[dict[str, Any]]:
        sobject, field = chunk[0].crm_object, chunk[0].external_id_field
        body = [_payload(r, ids.get(r.key), dropped.get(r.key, frozenset())) for r in chunk]
        if ids:
            path, route = "composite/sobjects", f"PATCH /composite/sobjects ({sobject} by Id)"
        else:
            path = f"composite/sobjects/{sobject}/{field}"
            route = f"PATCH /composite/sobjects/{sobject}/{field}"
        answers = self.api.call(
            route,
            lambda sf: sf.restful(path, method="PATCH", json={"allOrNone": False, "records": body}),
        )
        if not isinstance(answers, list) or len(answers) != len(chunk):
            raise_invalid(route, answers)
        return list(answers)

    # -- Bulk API 2.0 -----------------------------------------------------------------------

    def _bulk(self, records: Sequence[CrmRecord]) -> dict[Any, WriteResult]:
        sobject, field = records[0].crm_object, records[0].external_id_field
        columns = sorted(
            {k for r in records for k in _payload(r, None, frozenset())} - {"attributes"}
        )
        rows = []
        for record in records:
            payload = _payload(record, None, frozenset())
            rows.append({c: _cell(payload, c) for c in columns})
        route = f"POST /jobs/ingest ({sobject} upsert by {field})"

        def run(sf: Any) -> list[tuple[str, str]]:
            bulk = getattr(sf.bulk2, sobject)
            jobs = bulk.upsert(records=rows, external_id_field=field, wait=self.bulk_poll_seconds)
            return [
                (
                    _utf8(bulk.get_successful_records(job["job_id"])),
                    _utf8(bulk.get_failed_records(job["job_id"])),
                )
                for job in jobs
            ]

        files = self.api.call(route, run)
        by_key = {r.external_id: r for r in records}
        results: dict[Any, WriteResult] = {}
        for successful, failed in files:
            for row in csv.DictReader(io.StringIO(successful)):
                found = by_key.get(row.get(field, ""))
                if found is not None:
                    created = str(row.get("sf__Created", "")).lower() == "true"
                    outcome = WriteOutcome.CREATED if created else WriteOutcome.UPDATED
                    results[found.key] = WriteResult(
                        found.object, found.external_id, outcome, row.get("sf__Id") or None
                    )
            for row in csv.DictReader(io.StringIO(failed)):
                found = by_key.get(row.get(field, ""))
                if found is not None:
                    code, _, message = str(row.get("sf__Error", "")).partition(":")
                    results[found.key] = rejected(found, code or "BULK_ERROR", message.strip())
        for record in records:  # rows the job did not process: retried as failures
            results.setdefault(
                record.key, rejected(record, "UNPROCESSED", "the Bulk job did not process it")
            )
        return results


def _payload(record: CrmRecord, record_id: str | None, drop: frozenset[str]) -> dict[str, Any]:
    payload: dict[str, Any] = {"attributes": {"type": record.crm_object}}
    skip = set(drop)
    if record.crm_id or record_id:  # known to exist: create-only fields would be refused
        skip |= CREATE_ONLY.get(record.crm_object, frozenset())
    payload.update({k: v for k, v in record.values.items() if v is not None and k not in skip})
    payload[record.external_id_field] = record.external_id
    if record_id:
        payload["Id"] = record_id
    return payload


def _result(
    record: CrmRecord, answer: dict[str, Any], record_id: str | None
) -> tuple[WriteResult, str | None]:
    """The record's result, and the error code if a second attempt should fix it."""
    if answer.get("success"):
        created = bool(answer.get("created")) and record_id is None
        outcome = WriteOutcome.CREATED if created else WriteOutcome.UPDATED
        return WriteResult(record.object, record.external_id, outcome, answer.get("id")), None
    errors = [e for e in answer.get("errors") or [] if isinstance(e, dict)]
    code = str(errors[0].get("statusCode")) if errors else "REJECTED"
    message = "; ".join(
        f"{e.get('message')}" + (f" ({', '.join(e['fields'])})" if e.get("fields") else "")
        for e in errors
    )
    again = code if code in RETRIED else None
    if code == "INVALID_FIELD_FOR_INSERT_UPDATE" and not any(
        f in CREATE_ONLY.get(record.crm_object, ()) for e in errors for f in e.get("fields") or []
    ):
        again = None  # not a create-only field: a mapping problem, reported
    return rejected(record, code, message or "refused"), again


def _csv(value: Any) -> str:
    """A CSV cell for Bulk: line breaks as LF, the job's line ending (a CR would make
    Salesforce refuse the whole job)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("\r\n", "\n").replace("\r", "\n")


def _cell(payload: dict[str, Any], column: str) -> str:
    """A Bulk cell: empty leaves the field unchanged (as a value left out of a Collections
    request does); ``#N/A`` clears it (as an empty value does there)."""
    if column not in payload:
        return ""
    value = payload[column]
    return "#N/A" if value == "" else _csv(value)


def _utf8(text: str) -> str:
    """Result files come as text/csv without a charset, which requests reads as
    ISO-8859-1; they are UTF-8."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def raise_invalid(route: str, answer: Any) -> None:
    raise InvalidResponseError(
        f"expected one result per record, got {str(answer)[:200]}",
        service="salesforce",
        path=route,
    )
