"""``revont-sync demo``: the whole sync on embedded sandboxes, nothing to set up.

It starts the Revont sandbox on loopback, syncs its contacts and calls through
the real client, engine, state store and the shipped HubSpot mapping into the
in-memory CRM, then changes things in Revont the way a working day does (new
calls, summaries ready, action items completed, outcomes edited), runs an
incremental sync, and shows what landed and what each run cost in requests.
The HubSpot and Salesforce sandboxes join when their adapters land.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from adapters.memory import MemoryAdapter
from connector.engine import Destination, EngineOptions, RunReport, SyncEngine
from connector.mapping import load_mapping, shipped_mappings
from connector.quota import WindowPacer
from connector.revont.client import RevontClient
from connector.revont.sandbox import RevontSandbox
from connector.state import SqlStateStore
from connector.sync_commands import page_progress

COLUMNS = ("pulled", "created", "updated", "unchanged", "skipped", "failed")


def run_demo(
    *, calls: int, contacts: int, rate_limit: int, console: Console | None = None
) -> dict[str, int]:
    """Run the demo; return the figures it printed."""
    console = console or Console()
    rng = random.Random(7)
    with (
        RevontSandbox(
            calls=calls, contacts=contacts, rate_limit=rate_limit, window_seconds=10
        ) as sandbox,
        tempfile.TemporaryDirectory() as folder,
    ):
        console.print(
            f"Revont sandbox at [bold]{sandbox.api_url}[/] "
            f"({calls} calls, {contacts} contacts; {rate_limit} requests per 10 s)"
        )
        pacer = WindowPacer("revont", reserve_fraction=0.1, max_wait=30)
        client = RevontClient(sandbox.read_key, base_url=sandbox.api_url, pacer=pacer)
        store = SqlStateStore(f"sqlite:///{Path(folder) / 'state.db'}")
        crm = MemoryAdapter()
        mapping = load_mapping(shipped_mappings()["hubspot"])
        options = EngineOptions(enrichment_first_check=timedelta(0), reconcile_every=timedelta(0))
        engine = SyncEngine(
            client, store, {"crm": Destination("crm", crm, mapping)}, options=options
        )
        try:
            first = _run(engine, console, "first sync")
            changes = _change_the_day(sandbox, rng)
            console.print(f"Meanwhile in Revont: {changes}.")
            second = _run(engine, console, "incremental sync")
            _show(console, [("first sync", first), ("incremental sync", second)], crm)
        finally:
            client.close()
            crm_counts = Counter(r.crm_object for r in crm.records())
            crm.close()
            store.close()
    return {
        "first_created": first.counts["created"],
        "second_created": second.counts["created"],
        "second_updated": second.counts["updated"],
        "contacts": crm_counts["contacts"],
        "calls": crm_counts["calls"],
        "tasks": crm_counts["tasks"],
    }


def _run(engine: SyncEngine, console: Console, label: str) -> RunReport:
    progress, engine.progress = page_progress(console, label)
    with progress:
        return engine.run("crm", trigger="manual")


def _change_the_day(sandbox: RevontSandbox, rng: random.Random) -> str:
    ws = sandbox.workspace
    new = [sandbox.add_call() for _ in range(3)]
    pending = [
        c["id"]
        for c in ws.calls.by_id.values()
        if c["_summary"] is None and c["id"] not in {n["id"] for n in new}
    ]
    for call_id in pending[:5]:
        sandbox.make_summary_ready(call_id)
    recent = sorted(ws.calls.by_id.values(), key=lambda c: c["created_at"])[-60:]
    open_items = [i["id"] for c in recent for i in c["_action_items"] if i["status"] == "open"]
    for item_id in open_items[:3]:
        sandbox.complete_action_item(item_id)
    edited = rng.sample([c["id"] for c in recent], 2)
    for call_id in edited:
        sandbox.update_call(call_id, outcome="won")
    return (
        f"{len(new)} new calls, {min(5, len(pending))} summaries ready, "
        f"{min(3, len(open_items))} action items completed, 2 outcomes edited"
    )


def _show(console: Console, runs: list[tuple[str, RunReport]], crm: MemoryAdapter) -> None:
    table = Table("run", *COLUMNS, "Revont requests", "CRM requests", title="What each run did")
    for label, report in runs:
        table.add_row(
            label,
            *(str(report.counts.get(c, 0)) for c in COLUMNS),
            str(report.requests.get("revont", 0)),
            str(report.requests.get("crm", 0)),
        )
    console.print(table)
    landed = Counter(r.crm_object for r in crm.records())
    table = Table("CRM object", "records", title="What landed in the (in-memory) CRM")
    for crm_object, count in sorted(landed.items()):
        table.add_row(crm_object, str(count))
    console.print(table)
    sample = next((r for r in crm.records("calls") if r.values.get("hs_call_body")), None)
    if sample is not None:
        console.print(f"A call as the CRM holds it ({sample.external_id} -> {sample.crm_id}):")
        for name, value in sorted(sample.values.items()):
            text = str(value).replace("\n", " ")
            console.print(
                f"  {name} = {text[:90] + '...' if len(text) > 90 else text}",
                markup=False,
                highlight=False,
            )
