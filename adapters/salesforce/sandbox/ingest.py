"""Bulk API 2.0 ingest jobs: their state, and processing their CSV into writes.

A job is processed the first time it is looked at once ``bulk_delay_seconds``
have passed (on the sandbox's clock) since it was closed: its rows become
:class:`~adapters.salesforce.sandbox.writes.Change` objects and go through the
same write path as every other API, and the outcomes become the job's result
rows, shuffled (Bulk results are not in upload order). The endpoints are in
:mod:`bulk`.
"""

from __future__ import annotations

import csv
import io
import math
import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.salesforce.sandbox.ids import KEY_PREFIXES, IdFactory, normalize
from adapters.salesforce.sandbox.problems import not_found
from adapters.salesforce.sandbox.values import read_csv, timestamp
from adapters.salesforce.sandbox.writes import Change, Outcome, delete, save

if TYPE_CHECKING:
    from adapters.salesforce.sandbox.limits import OrgLimits
    from adapters.salesforce.sandbox.org import Org
    from connector.quota import Clock

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
ROWS_PER_BATCH = 10_000


@dataclass
class IngestJob:
    id: str
    object: str
    operation: str
    external_id_field: str | None
    line_ending: str
    column_delimiter: str
    created_by: str
    created: float
    version: str
    state: str = "Open"
    modified: float = 0.0
    data: str | None = None
    ready_at: float = 0.0
    error_message: str | None = None
    header: list[str] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    processing_ms: int = 0

    def info(self, *, full: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": timestamp(self.created),
            "systemModstamp": timestamp(self.modified or self.created),
            "state": self.state,
            "externalIdFieldName": self.external_id_field,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
        }
        if self.state == "Open":
            body["contentUrl"] = f"services/data/v{self.version}/jobs/ingest/{self.id}/batches"
        body["lineEnding"] = self.line_ending
        body["columnDelimiter"] = self.column_delimiter
        if full:
            body.update(
                {
                    "jobType": "V2Ingest",
                    "numberRecordsProcessed": len(self.successes) + len(self.failures),
                    "numberRecordsFailed": len(self.failures),
                    "retries": 0,
                    "totalProcessingTime": self.processing_ms,
                    "apiActiveProcessingTime": self.processing_ms,
                    "apexProcessingTime": 0,
                }
            )
            if self.error_message:
                body["errorMessage"] = self.error_message
        return body


class BulkJobs:
    """The org's ingest jobs; a job is processed the first time it is looked at after
    its delay (so a test clock decides when)."""

    def __init__(
        self, *, org: Org, limits: OrgLimits, clock: Clock, delay_seconds: float, seed: int
    ) -> None:
        self.org = org
        self.limits = limits
        self.clock = clock
        self.delay_seconds = delay_seconds
        self.jobs: dict[str, IngestJob] = {}
        self.guard = threading.RLock()
        self._ids = IdFactory(random.Random(f"bulk-{seed}"))
        self._rng = random.Random(f"bulk-order-{seed}")

    def new_id(self) -> str:
        return self._ids.new(KEY_PREFIXES["BulkJob"])

    def job(self, raw_id: str) -> IngestJob:
        with self.guard:
            found = self.jobs.get(normalize(raw_id) or "")
            if found is None:
                raise not_found()
            self.advance(found)
            return found

    def advance(self, job: IngestJob) -> None:
        if job.state not in ("UploadComplete", "InProgress"):
            return
        now = self.clock.time()
        if now < job.ready_at:
            job.state, job.modified = "InProgress", now
            return
        self._process(job)
        job.modified = max(now, job.modified)
        job.processing_ms = round(max(now - job.ready_at + self.delay_seconds, 0) * 1000)

    def _fail(self, job: IngestJob, message: str) -> None:
        job.state, job.error_message = "Failed", message

    def _process(self, job: IngestJob) -> None:
        t = self.org.type_of(job.object)
        if not job.data:
            return self._fail(job, "InvalidBatch : No data was uploaded for this job")
        if job.line_ending == "LF" and "\r\n" in job.data:
            return self._fail(
                job,
                "ClientInputError : LineEnding is invalid on user data. Current LineEnding "
                "setting is LF",
            )
        rows = read_rows(job)
        if not rows:
            return self._fail(job, "InvalidBatch : No data was uploaded for this job")
        job.header, rows = rows[0], rows[1:]
        fields = [t.field(name) for name in job.header]
        for name, found in zip(job.header, fields, strict=True):
            if found is None:
                return self._fail(job, f"InvalidBatch : Field name not found : {name}")
        names = [f.name for f in fields if f is not None]
        needed = {
            "update": "Id",
            "delete": "Id",
            "hardDelete": "Id",
            "upsert": job.external_id_field,
        }
        wanted = needed.get(job.operation)
        if wanted is not None and wanted not in names:
            return self._fail(job, f"InvalidBatch : Field name not provided: {wanted}")
        if any(len(row) != len(names) for row in rows):
            return self._fail(
                job, "InvalidBatch : The number of columns of a row differs from the header"
            )
        if job.operation in ("delete", "hardDelete"):
            index = names.index("Id")
            outcomes = delete(self.org, [row[index] for row in rows], all_or_none=False, only=t)
        else:
            changes = [self._change(job, names, row) for row in rows]
            outcomes = save(self.org, changes, all_or_none=False, user_id=job.created_by)
        self._collect(job, rows, outcomes)
        self.limits.bulk_batches.try_spend(max(1, math.ceil(len(rows) / ROWS_PER_BATCH)))
        job.state = "JobComplete"

    def _change(self, job: IngestJob, names: list[str], row: list[str]) -> Change:
        t = self.org.type_of(job.object)
        values: dict[str, Any] = {}
        issues = []
        for name, cell in zip(names, row, strict=True):
            if cell == "":
                continue  # an empty cell leaves the field as it is
            f = t.field(name)
            assert f is not None
            try:
                values[f.name] = read_csv(f, cell)
            except ValueError as exc:
                issues.append(exc.args[0])
        if job.operation == "insert":
            return Change(t.name, values, "insert", issues=issues)
        if job.operation == "update":
            raw = values.pop("Id", None)
            return Change(
                t.name, values, "update", record_id=normalize(str(raw or "")), issues=issues
            )
        key = str(job.external_id_field)
        return Change(t.name, values, "upsert", key=(key, values.pop(key, None)), issues=issues)

    def _collect(self, job: IngestJob, rows: list[list[str]], outcomes: list[Outcome]) -> None:
        for row, outcome in zip(rows, outcomes, strict=True):
            if outcome.success:
                job.successes.append([outcome.id or "", str(outcome.created).lower(), *row])
            else:
                error = " ".join(issue.bulk() for issue in outcome.errors)
                job.failures.append([outcome.id or "", error, *row])
        for found in (job.successes, job.failures):
            original = list(found)
            self._rng.shuffle(found)
            if len(found) > 1 and found == original:  # never hand back upload order by chance
                found.append(found.pop(0))


def read_rows(job: IngestJob) -> list[list[str]]:
    """The uploaded CSV's rows (header first), blank lines dropped."""
    reader = csv.reader(
        io.StringIO(job.data or "", newline=""), delimiter=DELIMITERS[job.column_delimiter]
    )
    return [row for row in reader if row != []]
