"""How fast does a mapping turn calls into CRM payloads?

Maps realistic calls (from the sandbox's synthetic workspace, with summaries
and action items) through the shipped HubSpot mapping on one core, and prints
calls mapped per second: once without transcript rendering (the shipped
mapping) and once with a note object that renders the full transcript.

Target (issue #3): >= 20,000 calls/s without transcript rendering.

    python bench/mapping.py [--calls 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from connector.mapping import load_mapping, shipped_mappings
from connector.revont.sandbox.workspace import Workspace

NOTE_OBJECT = """
[objects.note]
source = "calls"
crm_object = "notes"
external_id = "revont_call_id"
[objects.note.fields]
hs_timestamp = { path = "created_at", transforms = ["epoch_ms"] }
hs_note_body = { path = "transcript", transforms = ["transcript_text", { truncate = 65536 }] }
"""


def calls(n: int) -> list[dict]:
    ws = Workspace(seed=11, anchor=datetime(2026, 11, 30, tzinfo=UTC))
    ws.populate(contacts=max(10, n // 10), calls=n)
    return [ws.detail_view(c) for c in ws.calls.by_id.values()]


def rate(mapping, records: list[dict], rounds: int) -> tuple[float, int]:
    best, outcomes = 0.0, 0
    for _ in range(rounds):
        started = time.perf_counter()
        outcomes = sum(len(mapping.map_call(r)) for r in records)
        best = max(best, len(records) / (time.perf_counter() - started))
    return best, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    shipped = shipped_mappings()["hubspot"]
    records = calls(args.calls)
    chars = sum(len(s["text"]) for r in records for s in r["transcript"]) / len(records)
    print(f"{len(records)} calls, {sum(len(r['action_items']) for r in records)} action items, "
          f"transcripts of {chars:,.0f} characters on average; best of {args.rounds} rounds")

    lean = [{**r, "transcript": None} for r in records]
    per_second, outcomes = rate(load_mapping(shipped), lean, args.rounds)
    verdict = "met" if per_second >= 20_000 else "MISSED"
    print(f"shipped HubSpot mapping, no transcript: {per_second:>9,.0f} calls/s "
          f"({outcomes} outcomes)  target 20,000: {verdict}")

    with tempfile.TemporaryDirectory() as folder:
        with_note = Path(folder) / "hubspot-with-transcript.toml"
        with_note.write_text(shipped.read_text(encoding="utf-8") + NOTE_OBJECT, encoding="utf-8")
        per_second, outcomes = rate(load_mapping(with_note), records, args.rounds)
    print(f"with the full transcript as a note:     {per_second:>9,.0f} calls/s "
          f"({outcomes} outcomes)")


if __name__ == "__main__":
    main()
