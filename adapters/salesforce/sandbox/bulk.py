"""Bulk API 2.0 ingest jobs, as simple-salesforce's ``bulk2`` drives them.

1. ``POST …/jobs/ingest`` ``{object, operation (insert | update | upsert |
   delete | hardDelete), externalIdFieldName, contentType: CSV, lineEnding (LF |
   CRLF), columnDelimiter (COMMA, TAB, PIPE, SEMICOLON, CARET, BACKQUOTE)}`` →
   the job, state ``Open``;
2. ``PUT …/jobs/ingest/{jobId}/batches`` with the CSV (once per job) → 201;
3. ``PATCH …/jobs/ingest/{jobId}`` ``{"state": "UploadComplete"}`` (or
   ``"Aborted"``);
4. ``GET …/jobs/ingest/{jobId}`` answers ``UploadComplete``, then
   ``InProgress``, and ``JobComplete`` (or ``Failed`` with ``errorMessage``)
   once ``bulk_delay_seconds`` have passed on the sandbox's clock since step 3;
   ``numberRecordsProcessed`` counts failed rows too, ``numberRecordsFailed``
   those;
5. ``GET …/successfulResults/`` (``sf__Id``, ``sf__Created``, then the
   uploaded columns), ``…/failedResults/`` (``sf__Id``, ``sf__Error`` as
   ``CODE:message:fields --``, then the columns), ``…/unprocessedrecords/``
   (the columns of rows an abort left): CSV in the job's delimiter and line
   ending, every value quoted, rows **not** in upload order.

Cells: an empty cell leaves the field unchanged (null on insert), ``#N/A``
clears it; a value that is not of the field's type fails its row
(``INVALID_TYPE_ON_FIELD_IN_RECORD``). A header naming an unknown field fails the
job (``InvalidBatch : Field name not found : Foo``), as does a CSV whose line
endings are not the job's. Rows then go through the same checks as every other
write (see :mod:`writes`), so a locked row, a duplicate value or a bad email
fails that row only. Each processed job also spends ``DailyBulkApiBatches``:
one per 10,000 rows.
"""

from __future__ import annotations

import csv
import io

from werkzeug.wrappers import Response

from adapters.salesforce.sandbox.context import Answer, ApiRequest
from adapters.salesforce.sandbox.ingest import (
    DELIMITERS,
    LINE_ENDINGS,
    OPERATIONS,
    BulkJobs,
    IngestJob,
    read_rows,
)
from adapters.salesforce.sandbox.problems import bad_request


def _jobs(api: ApiRequest) -> BulkJobs:
    return api.sandbox.bulk


def create_job(api: ApiRequest) -> Answer:
    body = api.json_object()
    t = api.org.sobject(str(body.get("object", "")))
    if t is None:
        raise bad_request(
            "INVALIDENTITY",
            f"InvalidEntity : Entity '{body.get('object')}' is not supported by the Bulk API.",
        )
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise bad_request("INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    allowed = {
        "insert": t.createable,
        "update": t.updateable,
        "upsert": t.createable and t.updateable,
    }
    if not allowed.get(str(operation), t.deletable):
        raise bad_request(
            "INVALIDJOB", f"InvalidJob : Entity type cannot be used with {operation}: {t.name}"
        )
    key = body.get("externalIdFieldName")
    if operation == "upsert":
        found = t.field(str(key or ""))
        if found is None or not found.id_lookup:
            raise bad_request(
                "INVALIDJOB",
                f"InvalidJob : Field name provided, {key} does not match an External ID, "
                f"Salesforce Id, or indexed field for {t.name}",
            )
        key = found.name
    line_ending = body.get("lineEnding", "LF")
    delimiter = body.get("columnDelimiter", "COMMA")
    if line_ending not in LINE_ENDINGS or delimiter not in DELIMITERS:
        raise bad_request("INVALIDJOB", "InvalidJob : Invalid lineEnding or columnDelimiter")
    if body.get("contentType", "CSV") != "CSV":
        raise bad_request("INVALIDJOB", "InvalidJob : Only CSV content is supported")
    jobs = _jobs(api)
    with jobs.guard:
        now = api.sandbox.clock.time()
        job = IngestJob(
            jobs.new_id(),
            t.name,
            str(operation),
            key if operation == "upsert" else None,
            str(line_ending),
            str(delimiter),
            api.user_id,
            now,
            api.version,
            modified=now,
        )
        jobs.jobs[job.id] = job
    api.detail = t.name
    return 200, job.info(full=False)


def upload(api: ApiRequest) -> Answer:
    jobs = _jobs(api)
    with jobs.guard:
        job = jobs.job(api.args["job_id"])
        api.detail = job.object
        if job.state != "Open":
            raise bad_request("INVALIDJOBSTATE", f"InvalidJobState : Job is not open: {job.state}")
        if job.data is not None:
            raise bad_request(
                "BULK_API_ERROR",
                f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / "
                "'Delete' the current Job then create a new Job and make sure you only do "
                "'PUT' once on a given Job.",
            )
        job.data = api.request.get_data(as_text=True)
        job.modified = api.sandbox.clock.time()
    return Response(status=201)


def set_state(api: ApiRequest) -> Answer:
    wanted = api.json_object().get("state")
    jobs = _jobs(api)
    with jobs.guard:
        job = jobs.job(api.args["job_id"])
        api.detail = job.object
        now = api.sandbox.clock.time()
        if wanted == "UploadComplete" and job.state == "Open":
            job.state, job.ready_at = "UploadComplete", now + jobs.delay_seconds
        elif wanted == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
            job.state = "Aborted"
            rows = read_rows(job)
            job.header, job.unprocessed = (rows[0], rows[1:]) if rows else ([], [])
        else:
            raise bad_request(
                "INVALIDJOBSTATE",
                f"InvalidJobState : Invalid state transition from {job.state} to {wanted}",
            )
        job.modified = now
        return 200, job.info(full=False)


def get_job(api: ApiRequest) -> Answer:
    job = _jobs(api).job(api.args["job_id"])
    api.detail = job.object
    return 200, job.info(full=True)


def list_jobs(api: ApiRequest) -> Answer:
    jobs = _jobs(api)
    with jobs.guard:
        for job in jobs.jobs.values():
            jobs.advance(job)
        found = [job.info(full=True) for job in jobs.jobs.values()]
    return 200, {"done": True, "records": found, "nextRecordsUrl": None}


def delete_job(api: ApiRequest) -> Answer:
    jobs = _jobs(api)
    with jobs.guard:
        job = jobs.job(api.args["job_id"])
        api.detail = job.object
        if job.state in ("Open", "InProgress"):
            raise bad_request(
                "INVALIDJOBSTATE", f"InvalidJobState : Cannot delete a job in state {job.state}"
            )
        del jobs.jobs[job.id]
    return Response(status=204)


def _csv(job: IngestJob, head: list[str], rows: list[list[str]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=DELIMITERS[job.column_delimiter],
        lineterminator=LINE_ENDINGS[job.line_ending],
        quoting=csv.QUOTE_ALL,
    )
    writer.writerow(head)
    writer.writerows(rows)
    return Response(buffer.getvalue(), status=200, content_type="text/csv")


def successful_results(api: ApiRequest) -> Answer:
    job = _jobs(api).job(api.args["job_id"])
    api.detail = job.object
    return _csv(job, ["sf__Id", "sf__Created", *job.header], job.successes)


def failed_results(api: ApiRequest) -> Answer:
    job = _jobs(api).job(api.args["job_id"])
    api.detail = job.object
    return _csv(job, ["sf__Id", "sf__Error", *job.header], job.failures)


def unprocessed_records(api: ApiRequest) -> Answer:
    job = _jobs(api).job(api.args["job_id"])
    api.detail = job.object
    return _csv(job, list(job.header), job.unprocessed)
