"""``revont-sync demo``: the connector on embedded sandboxes, nothing to set up.

Today the demo covers the Revont side: it starts the Revont sandbox on
loopback, pulls every contact and call through the real client (paced to the
sandbox's rate-limit headers), fetches a few calls in detail, and reports what
it saw and what it cost in requests. The CRM side joins when the adapters land.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connector.quota import WindowPacer
from connector.revont.client import RevontClient
from connector.revont.sandbox import RevontSandbox


def run_demo(
    *, calls: int, contacts: int, details: int, rate_limit: int, console: Console | None = None
) -> dict[str, int]:
    """Run the demo and return its figures (also printed)."""
    console = console or Console()
    figures: Counter[str] = Counter()
    with RevontSandbox(
        calls=calls, contacts=contacts, rate_limit=rate_limit, window_seconds=10
    ) as sandbox:
        console.print(
            f"Revont sandbox running at [bold]{sandbox.api_url}[/] "
            f"({rate_limit} requests per 10 s window)"
        )
        pacer = WindowPacer("revont", reserve_fraction=0.1, max_wait=30)
        with RevontClient(sandbox.read_key, base_url=sandbox.api_url, pacer=pacer) as client:
            progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            )
            with progress:
                task = progress.add_task("contacts", total=contacts)
                for contact_page in client.iter_contact_pages():
                    figures["contacts"] += len(contact_page.items)
                    figures["invalid"] += len(contact_page.invalid)
                    progress.advance(task, len(contact_page.items) + len(contact_page.invalid))
                task = progress.add_task("calls", total=calls)
                newest: list[str] = []
                for page in client.iter_call_pages():
                    for call in page.items:
                        figures["calls"] += 1
                        figures["calls without prospect"] += call.prospect_email is None
                        if len(newest) < details:
                            newest.append(call.id)
                    figures["invalid"] += len(page.invalid)
                    progress.advance(task, len(page.items) + len(page.invalid))
                task = progress.add_task("call details", total=len(newest))
                for call_id in newest:
                    detail = client.get_call(call_id)
                    figures["details"] += 1
                    figures["summaries pending"] += detail.summary_pending
                    figures["action items"] += len(detail.action_items or [])
                    progress.advance(task)
            table = Table(title="What the demo pulled from Revont")
            table.add_column("what")
            table.add_column("count", justify="right")
            for key in (
                "contacts",
                "calls",
                "calls without prospect",
                "details",
                "summaries pending",
                "action items",
                "invalid",
            ):
                table.add_row(key, str(figures[key]))
            table.add_row("Revont requests", str(client.stats.total))
            table.add_row("429 answers", str(sandbox.requests.count(status=429)))
            table.add_row("retries", str(client.stats.retries))
            console.print(table)
            figures["requests"] = client.stats.total
            figures["429"] = sandbox.requests.count(status=429)
    return dict(figures)
