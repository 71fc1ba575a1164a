"""``GET …/query?q=`` and ``…/queryAll?q=``, and the pages after the first.

An answer is ``{"totalSize", "done", "records": [{"attributes": {"type",
"url"}, field: value, ...}]}`` with at most the batch size of records
(``query_batch_size``, 2,000 by default; a ``Sforce-Query-Options:
batchSize=N`` header asks for 200 to 2,000). When more remain, ``done`` is
false and ``nextRecordsUrl`` is ``/services/data/vXX.X/query/01g…-2000``: the
results are a snapshot taken when the query ran, kept while the cursor is used
at least every 15 minutes (then 400 ``INVALID_QUERY_LOCATOR``).

``queryAll`` also sees records in the recycle bin (``IsDeleted`` true).
``SELECT COUNT() …`` answers ``totalSize`` and no records.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass
from typing import Any

from adapters.salesforce.sandbox import soql
from adapters.salesforce.sandbox.context import Answer, ApiRequest
from adapters.salesforce.sandbox.ids import KEY_PREFIXES, IdFactory
from adapters.salesforce.sandbox.problems import bad_request
from connector.quota import Clock

CURSOR_IDLE_SECONDS = 15 * 60
_BATCH_OPTION = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


@dataclass
class _Cursor:
    records: list[dict[str, Any]]
    batch: int
    last_used: float


class QueryCursors:
    """The results of queries with pages left, by locator (``01g…``)."""

    def __init__(self, clock: Clock, seed: int = 0) -> None:
        self.clock = clock
        self._ids = IdFactory(random.Random(f"cursors-{seed}"))
        self._cursors: dict[str, _Cursor] = {}
        self._lock = threading.Lock()

    def open(self, cursor: _Cursor) -> str:
        """Keep ``cursor`` for the pages after the first; its locator."""
        with self._lock:
            self._prune()
            locator = self._ids.new(KEY_PREFIXES["QueryLocator"])
            self._cursors[locator] = cursor
            return locator

    def get(self, locator: str) -> _Cursor | None:
        with self._lock:
            self._prune()
            cursor = self._cursors.get(locator)
            if cursor is not None:
                cursor.last_used = self.clock.time()
            return cursor

    def _prune(self) -> None:
        now = self.clock.time()
        for key in [k for k, c in self._cursors.items() if now - c.last_used > CURSOR_IDLE_SECONDS]:
            del self._cursors[key]


def _batch_size(api: ApiRequest) -> int:
    found = _BATCH_OPTION.search(api.request.headers.get("Sforce-Query-Options", ""))
    if found is None:
        return api.sandbox.query_batch_size
    return max(200, min(int(found.group(1)), 2000))


def _page(
    api: ApiRequest, endpoint: str, locator: str, cursor: _Cursor, start: int
) -> dict[str, Any]:
    end = start + cursor.batch
    body: dict[str, Any] = {"totalSize": len(cursor.records), "done": end >= len(cursor.records)}
    if not body["done"]:
        body["nextRecordsUrl"] = f"{api.prefix}/{endpoint}/{locator}-{end}"
    body["records"] = cursor.records[start:end]
    return body


def run_query(api: ApiRequest, *, include_deleted: bool) -> Answer:
    endpoint = "queryAll" if include_deleted else "query"
    text = api.request.args.get("q")
    if text is None:
        raise bad_request("MALFORMED_QUERY", "A query string has to be specified")
    org = api.org
    with org.guard:
        query = soql.parse(text, org.catalog)
        api.detail = query.sobject.name
        found = soql.run(query, org.rows(query.sobject.name, include_deleted=include_deleted))
        if query.fields is None:
            return 200, {"totalSize": len(found), "done": True, "records": []}
        records = [api.view(query.sobject, row, query.fields) for row in found]
    cursor = _Cursor(records, _batch_size(api), api.sandbox.clock.time())
    locator = api.sandbox.cursors.open(cursor) if len(records) > cursor.batch else ""
    return 200, _page(api, endpoint, locator, cursor, 0)


def more(api: ApiRequest, *, include_deleted: bool) -> Answer:
    endpoint = "queryAll" if include_deleted else "query"
    locator, _, start = api.args["locator"].partition("-")
    cursor = api.sandbox.cursors.get(locator)
    if cursor is None or not start.isdigit() or int(start) >= len(cursor.records):
        raise bad_request("INVALID_QUERY_LOCATOR", "invalid query locator")
    api.detail = str(cursor.records[0]["attributes"]["type"])
    return 200, _page(api, endpoint, locator, cursor, int(start))


def query(api: ApiRequest) -> Answer:
    return run_query(api, include_deleted=False)


def query_all(api: ApiRequest) -> Answer:
    return run_query(api, include_deleted=True)


def query_more(api: ApiRequest) -> Answer:
    return more(api, include_deleted=False)


def query_all_more(api: ApiRequest) -> Answer:
    return more(api, include_deleted=True)
