"""A call's transcript as a ContentNote linked to the call's Task (when the mapping asks).

ContentNote has no custom fields, so it cannot be upserted by an external id. It is
kept idempotent this way instead:

- a note the engine already wrote (it knows its id) is updated in place;
- otherwise the notes linked to the Task are looked up (ContentDocumentLink by the
  Task's id, then their titles; the title carries the Revont call id) and the one
  found is updated, so a lost state or a retry never adds a second note; a Task
  created in this process has no notes yet, so that lookup is skipped;
- only then is a note created (``Content`` base64-encoded HTML) and linked
  (ContentDocumentLink, ``ShareType`` V).

This costs two or three requests per new call (notes take no batches), so the
shipped mapping leaves it off (``[adapters.salesforce.vars] transcript_note``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from typing import Any

from simple_salesforce.format import format_soql

from adapters.base import CrmRecord, NotFoundError, WriteOutcome, WriteResult
from adapters.salesforce.api import SalesforceApi, SalesforceRequestError
from adapters.salesforce.writes import rejected

CALL_ID_FIELD = "Revont_Call_Id__c"


class TranscriptNotes:
    """Writes ContentNote records linked to call Tasks (see the module docstring)."""

    def __init__(self, api: SalesforceApi) -> None:
        self.api = api
        #: Revont call id -> Task id, and the Tasks created by this process.
        self.tasks: dict[str, str] = {}
        self.new_tasks: set[str] = set()
        #: Revont call id -> the note this process created for it, and the notes known to
        #: be linked (a retry after a lost answer or a failed link must not make another).
        self.written: dict[str, str] = {}
        self.linked: set[str] = set()

    def upsert(self, records: Sequence[CrmRecord]) -> dict[Any, WriteResult]:
        call_ids = {str(link.value) for r in records for link in r.links}
        self._load_tasks(sorted(c for c in call_ids if c not in self.tasks))
        results: dict[Any, WriteResult] = {}
        for record in records:
            task = next((self.tasks.get(str(k.value)) for k in record.links), None)
            if task is None:
                results[record.key] = rejected(
                    record,
                    "LINK_TARGET_MISSING",
                    "the call's Task is not in Salesforce (its own write failed or is pending); "
                    "retried once it lands",
                )
                continue
            try:
                results[record.key] = self._write(record, task)
            except SalesforceRequestError as exc:
                results[record.key] = rejected(record, exc.code or "REJECTED", exc.message)
        return results

    def _write(self, record: CrmRecord, task: str) -> WriteResult:
        title = str(record.values.get("Title") or f"Revont call {record.external_id}")[:255]
        body = {
            "Title": title,
            "Content": base64.b64encode(str(record.values.get("Content") or "").encode()).decode(),
        }
        call = record.external_id
        note = record.crm_id or self.written.get(call)
        if note is None and task not in self.new_tasks:
            note = self._find(task, record)
            if note is not None:
                self.linked.add(note)
        outcome = WriteOutcome.UPDATED
        if note is not None:
            try:
                self.api.call(
                    "PATCH /sobjects/ContentNote/{id}",
                    _call("ContentNote", "update", note, body),
                )
            except NotFoundError:
                note = None  # deleted in Salesforce meanwhile: made again below
        if note is None:
            created = self.api.call(
                "POST /sobjects/ContentNote", _call("ContentNote", "create", body)
            )
            note = str(created["id"])
            self.written[call] = note
            outcome = WriteOutcome.CREATED
        if record.crm_id is None and note not in self.linked:
            self.api.call(
                "POST /sobjects/ContentDocumentLink",
                _call(
                    "ContentDocumentLink",
                    "create",
                    {"ContentDocumentId": note, "LinkedEntityId": task, "ShareType": "V"},
                ),
            )
            self.linked.add(note)
        return WriteResult(record.object, call, outcome, note)

    def _find(self, task: str, record: CrmRecord) -> str | None:
        """The note of this call already linked to ``task``, if any (found by its title)."""
        links = self.api.call(
            "GET /query (ContentDocumentLink by Task)",
            _query(
                format_soql(
                    "SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = {}",
                    task,
                )
            ),
        )["records"]
        ids = [str(r["ContentDocumentId"]) for r in links]
        if not ids:
            return None
        notes = self.api.call(
            "GET /query (ContentNote by id)",
            _query(format_soql("SELECT Id, Title FROM ContentNote WHERE Id IN {}", ids)),
        )["records"]
        own = re.compile(rf"(?<![\w-]){re.escape(record.external_id)}(?![\w-])")
        for note in notes:
            if own.search(str(note.get("Title") or "")):
                return str(note["Id"])
        return None

    def _load_tasks(self, call_ids: list[str]) -> None:
        for start in range(0, len(call_ids), 200):
            chunk = call_ids[start : start + 200]
            rows = self.api.call(
                "GET /query (Task by Revont_Call_Id__c)",
                _query(
                    format_soql(
                        "SELECT Id, Revont_Call_Id__c FROM Task WHERE Revont_Call_Id__c IN {}",
                        chunk,
                    )
                ),
            )["records"]
            for row in rows:
                self.tasks[str(row[CALL_ID_FIELD])] = str(row["Id"])


def _query(soql: str) -> Callable[[Any], Any]:
    return lambda sf: sf.query_all(soql)


def _call(sobject: str, method: str, *args: Any) -> Callable[[Any], Any]:
    return lambda sf: getattr(getattr(sf, sobject), method)(*args)
