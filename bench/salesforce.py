"""How many calls does a Salesforce sync land per API call, with Collections and Bulk 2.0?

A first sync of generated Revont calls (with contacts and action items) from the
Revont sandbox, through the engine and the shipped Salesforce mapping, into the
Salesforce sandbox, over HTTP with simple-salesforce: once with sObject
Collections only (bulk_threshold = 0), once with Bulk API 2.0 from 2,000 rows of
an object (the default). Prints calls synced per Salesforce API call, per second,
and the calls spent on each route family.

    python bench/salesforce.py [--calls 5000] [--contacts 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from adapters.salesforce import SalesforceAdapter, SalesforceConfig
from adapters.salesforce.sandbox import SalesforceSandbox
from connector.engine import Destination, SyncEngine
from connector.mapping import load_mapping, shipped_mappings
from connector.quota import WindowPacer
from connector.revont.client import RevontClient
from connector.revont.sandbox import RevontSandbox
from connector.state import SqlStateStore

OBJECTS = {
    "Contact": ("Contact", "Revont_Contact_Id__c"),
    "CallTask": ("Task", "Revont_Call_Id__c"),
    "ActionItemTask": ("Task", "Revont_Action_Item_Id__c"),
}


def sync(revont: RevontSandbox, bulk_threshold: int) -> None:
    sf = SalesforceSandbox(bulk_delay_seconds=0.2, daily_limit=1_000_000).start()
    client = RevontClient(
        revont.read_key,
        base_url=revont.api_url,
        page_size=100,
        pacer=WindowPacer("revont", reserve_fraction=0.0),
    )
    adapter = SalesforceAdapter(
        SalesforceConfig(
            auth="access_token",
            access_token=sf.access_token,
            instance_url=sf.instance_url,
            sandbox_url=sf.url,
            bulk_threshold=bulk_threshold,
            bulk_poll_seconds=0.5,
        )
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlStateStore(f"sqlite:///{Path(tmp) / 'state.db'}")
            dest = Destination(
                "salesforce", adapter, load_mapping(shipped_mappings()["salesforce"])
            )
            engine = SyncEngine(client, store, {"salesforce": dest})
            before = sf.log.count()
            started = time.perf_counter()
            report = engine.run("salesforce")
            elapsed = time.perf_counter() - started
            store.close()
        spent = sf.log.count() - before
        calls = sum(1 for t in sf.org.records("Task") if t.get("Revont_Call_Id__c"))
        families: Counter[str] = Counter()
        for route, statuses in sf.log.snapshot()["routes"].items():
            family = (
                "bulk" if "/jobs/ingest" in route
                else "collections" if "composite/sobjects" in route
                else "query" if "/query" in route
                else "other"
            )  # fmt: skip
            families[family] += sum(statuses.values())
        mode = f"Bulk 2.0 from {bulk_threshold:,} rows" if bulk_threshold else "Collections only"
        print(f"{mode}: run {report.status}")
        print(
            f"  {calls} call Tasks, {report.counts['created']} records created; "
            f"{spent} Salesforce API calls -> {calls / spent:.1f} calls per API call"
        )
        print(f"  {elapsed:.1f} s -> {calls / elapsed:.0f} calls/s; by family: {dict(families)}")
    finally:
        client.close()
        adapter.close()
        sf.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--contacts", type=int, default=500)
    args = parser.parse_args()
    revont = RevontSandbox(
        calls=args.calls, contacts=args.contacts, anchor=datetime.now(UTC), rate_limit=1_000_000
    ).start()
    try:
        sync(revont, bulk_threshold=0)
        sync(revont, bulk_threshold=2000)
    finally:
        revont.stop()


if __name__ == "__main__":
    main()
