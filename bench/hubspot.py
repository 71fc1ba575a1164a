"""How many calls does a HubSpot sync land per API request, and per second?

A first sync of generated Revont calls (with contacts, action items and
transcripts) from the Revont sandbox, through the engine and the shipped HubSpot
mapping, into the HubSpot sandbox, over HTTP with the real SDK. HubSpot's window
is compressed to one second with Professional's rate (19 requests per second
instead of 190 per ten seconds), so pacing shows within seconds; the adapter keeps
its default 10 % reserve.

Prints calls synced per HubSpot request (the economy: batches of 100 and link
batches), calls per second, the request rate against the window, and 429s
(target: zero).

    python bench/hubspot.py [--calls 2000] [--contacts 500] [--limit 19] [--interval-ms 1000]
                            [--notes full|summary|off]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file's name would
# hide the SDK's own ``hubspot`` package: take the folder out before importing anything.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from adapters.hubspot import HubSpotAdapter, HubSpotConfig  # noqa: E402 (after the path fix)
from adapters.hubspot.sandbox import HubSpotSandbox  # noqa: E402
from connector.engine import Destination, SyncEngine  # noqa: E402
from connector.mapping import load_mapping, shipped_mappings  # noqa: E402
from connector.quota import WindowPacer  # noqa: E402
from connector.revont.client import RevontClient  # noqa: E402
from connector.revont.sandbox import RevontSandbox  # noqa: E402
from connector.state import SqlStateStore  # noqa: E402

OBJECTS = {
    "contact": ("contacts", "revont_contact_id"),
    "call": ("calls", "revont_call_id"),
    "task": ("tasks", "revont_action_item_id"),
    "note": ("notes", "revont_note_id"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--limit", type=int, default=19, help="requests per window")
    parser.add_argument("--interval-ms", type=int, default=1000, help="the window's length")
    parser.add_argument("--notes", choices=["full", "summary", "off"], default="full")
    args = parser.parse_args()

    revont = RevontSandbox(
        calls=args.calls, contacts=args.contacts, anchor=datetime.now(UTC), rate_limit=1_000_000
    ).start()
    hs = HubSpotSandbox(ten_second_limit=args.limit, interval_ms=args.interval_ms).start()
    try:
        client = RevontClient(
            revont.read_key,
            base_url=revont.api_url,
            page_size=100,
            pacer=WindowPacer("revont", reserve_fraction=0.0),
        )
        adapter = HubSpotAdapter(
            HubSpotConfig(base_url=hs.url, access_token=hs.token, vars={"notes": args.notes})
        )
        adapter.setup(OBJECTS)
        mapping = load_mapping(shipped_mappings()["hubspot"], vars={"notes": args.notes})
        with tempfile.TemporaryDirectory() as tmp:
            store = SqlStateStore(f"sqlite:///{Path(tmp) / 'state.db'}")
            dest = Destination("hubspot", adapter, mapping)
            engine = SyncEngine(client, store, {"hubspot": dest})
            before = hs.log.count()
            started = time.perf_counter()
            report = engine.run("hubspot")
            elapsed = time.perf_counter() - started
            store.close()
        requests = hs.log.count() - before
        calls = len(hs.portal.records("calls"))
        stats = adapter.api.pacer.stats
        window = args.interval_ms / 1000
        print(f"HubSpot window: {args.limit} requests per {window:g} s (reserve 10 %)")
        print(
            f"synced: {calls} calls, {len(hs.portal.records('contacts'))} contacts, "
            f"{len(hs.portal.records('tasks'))} tasks, {len(hs.portal.records('notes'))} notes "
            f"(notes = {args.notes}); run {report.status}"
        )
        print(f"HubSpot requests: {requests}  ->  {calls / requests:.1f} calls per request")
        print(
            f"time: {elapsed:.1f} s  ->  {calls / elapsed:.0f} calls/s; "
            f"{requests / elapsed * window:.0f} requests per window "
            f"(pacer waited {stats.waits} times, {stats.waited_seconds:.1f} s)"
        )
        per_second = args.limit / window * 0.9
        print(
            f"at this rate ({per_second:.1f} requests/s after the reserve) HubSpot alone "
            f"allows {calls / requests * per_second:.0f} calls/s"
        )
        print(f"429 answers: {hs.log.count(status=429)}")
        client.close()
        adapter.close()
    finally:
        hs.stop()
        revont.stop()


if __name__ == "__main__":
    main()
