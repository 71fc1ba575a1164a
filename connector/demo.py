"""``revont-sync demo``: the whole sync on embedded sandboxes, nothing to set up.

It starts the Revont, HubSpot and Salesforce sandboxes on loopback, prepares both
CRMs (``setup``), and syncs Revont's contacts and calls through the real client,
engine, state store, shipped mappings and adapters (hubspot-api-client and
simple-salesforce, over HTTP) into both CRMs at once, the Revont pages pulled once
for both. Then it changes things in Revont the way a working day does (new calls,
summaries ready, action items completed, outcomes edited), runs an incremental
sync, and shows what landed in each CRM and what each run cost in requests on each
side. No credentials, nothing external.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from adapters.hubspot import HubSpotAdapter, HubSpotConfig
from adapters.hubspot.sandbox import HubSpotSandbox
from adapters.salesforce import SalesforceAdapter, SalesforceConfig
from adapters.salesforce.sandbox import SalesforceSandbox
from connector.engine import Destination, EngineOptions, RunReport, SyncEngine
from connector.mapping import load_mapping, shipped_mappings
from connector.quota import WindowPacer
from connector.revont.client import RevontClient
from connector.revont.sandbox import RevontSandbox
from connector.state import SqlStateStore
from connector.sync_commands import page_progress

COLUMNS = ("pulled", "created", "updated", "unchanged", "skipped", "failed")
ADAPTERS = ("hubspot", "salesforce")


def run_demo(
    *, calls: int, contacts: int, rate_limit: int, console: Console | None = None
) -> dict[str, int]:
    """Run the demo; return the figures it printed."""
    console = console or Console()
    rng = random.Random(7)
    with ExitStack() as stack:
        revont = stack.enter_context(
            RevontSandbox(calls=calls, contacts=contacts, rate_limit=rate_limit, window_seconds=10)
        )
        hubspot = stack.enter_context(HubSpotSandbox())
        salesforce = stack.enter_context(SalesforceSandbox(bulk_delay_seconds=0.2))
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        console.print(
            f"Revont sandbox at [bold]{revont.api_url}[/] ({calls} calls, {contacts} contacts; "
            f"{rate_limit} requests per 10 s)\nHubSpot sandbox at [bold]{hubspot.url}[/], "
            f"Salesforce sandbox at [bold]{salesforce.url}[/]"
        )
        client = RevontClient(
            revont.read_key,
            base_url=revont.api_url,
            pacer=WindowPacer("revont", reserve_fraction=0.1, max_wait=30),
        )
        stack.callback(client.close)
        store = SqlStateStore(f"sqlite:///{Path(folder) / 'state.db'}")
        stack.callback(store.close)
        writers: dict[str, HubSpotAdapter | SalesforceAdapter] = {
            "hubspot": HubSpotAdapter(
                HubSpotConfig(base_url=hubspot.url, access_token=hubspot.token)
            ),
            "salesforce": SalesforceAdapter(
                SalesforceConfig(
                    auth="access_token",
                    access_token=salesforce.access_token,
                    instance_url=salesforce.instance_url,
                    sandbox_url=salesforce.url,
                    bulk_poll_seconds=0.5,
                )
            ),
        }
        destinations = {}
        for name, writer in writers.items():
            stack.callback(writer.close)
            mapping = load_mapping(shipped_mappings()[name])
            objects = {
                o.name: (o.crm_object, o.external_id_field) for o in mapping.objects.values()
            }
            steps = writer.setup(objects)
            created = sum(1 for s in steps if s.action == "created")
            console.print(
                f"setup {name}: "
                + (f"{created} id properties and groups created" if created else "ready")
            )
            destinations[name] = Destination(name, writer, mapping)
        options = EngineOptions(enrichment_first_check=timedelta(0), reconcile_every=timedelta(0))
        engine = SyncEngine(client, store, destinations, options=options)
        first = _run(engine, console, "first sync")
        changes = _change_the_day(revont, rng)
        console.print(f"Meanwhile in Revont: {changes}.")
        second = _run(engine, console, "incremental sync")
        landed = _landed(hubspot, salesforce)
        _show(console, [("first sync", first), ("incremental sync", second)], landed)
        _show_sample(console, salesforce)
    figures: dict[str, int] = {}
    for name in ADAPTERS:
        figures[f"{name}_first_created"] = first[name].counts["created"]
        figures[f"{name}_second_created"] = second[name].counts["created"]
        figures[f"{name}_second_updated"] = second[name].counts["updated"]
    for crm, counted in landed.items():
        for obj, count in counted.items():
            figures[f"{crm}:{obj}"] = count
    figures["failed_runs"] = sum(
        r.status != "succeeded" for reports in (first, second) for r in reports.values()
    )
    return figures


def _run(engine: SyncEngine, console: Console, label: str) -> dict[str, RunReport]:
    progress, engine.progress = page_progress(console, label)
    with progress:
        reports = engine.run_all(list(ADAPTERS), trigger="manual")
    for report in reports:
        if report.exception is not None:
            console.print(f"[bold red]{report.adapter}: the run {report.status}:[/] {report.error}")
    return {r.adapter: r for r in reports}


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


def _landed(hubspot: HubSpotSandbox, salesforce: SalesforceSandbox) -> dict[str, Counter[str]]:
    hs = Counter(
        {t: len(hubspot.portal.records(t)) for t in ("contacts", "calls", "tasks", "notes")}
    )
    sf: Counter[str] = Counter()
    for sobject in ("Contact", "Lead"):
        sf[sobject] = len(salesforce.org.records(sobject))
    for task in salesforce.org.records("Task"):
        sf["Task (call)" if task.get("Revont_Call_Id__c") else "Task (action item)"] += 1
    return {"hubspot": hs, "salesforce": sf}


def _show(
    console: Console,
    runs: list[tuple[str, dict[str, RunReport]]],
    landed: dict[str, Counter[str]],
) -> None:
    table = Table(
        "run", "CRM", *COLUMNS, "Revont requests", "CRM requests", title="What each run did"
    )
    for label, reports in runs:
        for name, report in reports.items():
            table.add_row(
                label,
                name,
                *(str(report.counts.get(c, 0)) for c in COLUMNS),
                str(report.requests.get("revont", 0)),
                str(report.requests.get(name, 0)),
            )
    console.print(table)
    console.print(
        "(Both CRMs are fed from the same Revont pages: a run's Revont requests are shared.)"
    )
    table = Table("CRM", "object", "records", title="What landed in the CRM sandboxes")
    for crm, objects in landed.items():
        for obj, count in objects.items():
            table.add_row(crm, obj, str(count))
    console.print(table)


def _show_sample(console: Console, salesforce: SalesforceSandbox) -> None:
    sample = next(
        (
            t
            for t in salesforce.org.records("Task")
            if t.get("Revont_Call_Id__c") and t.get("WhoId")
        ),
        None,
    )
    if sample is None:
        return
    console.print(f"A call as Salesforce holds it (Task {sample['Id']}):")
    for name in ("Subject", "ActivityDate", "Status", "TaskSubtype", "CallDisposition",
                 "CallDurationInSeconds", "WhoId", "Revont_Call_Id__c", "Description"):  # fmt: skip
        text = str(sample.get(name)).replace("\n", " ")
        console.print(
            f"  {name} = {text[:90] + '...' if len(text) > 90 else text}",
            markup=False,
            highlight=False,
        )
