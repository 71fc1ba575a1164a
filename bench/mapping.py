"""How fast does a mapping turn calls into CRM payloads?

Maps realistic calls (from the sandbox's synthetic workspace, with summaries
and action items) through the shipped HubSpot mapping on one core, and prints
calls mapped per second: without transcripts (the note object is skipped), with
notes off, with the transcript written as notes (the default, ``notes = "full"``),
and for calls whose transcript is over 100,000 characters (split into notes).

Target (issue #3): >= 20,000 calls/s without transcript rendering.

    python bench/mapping.py [--calls 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from connector.mapping import load_mapping, shipped_mappings
from connector.revont.sandbox.workspace import Workspace


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
    print(
        f"{len(records)} calls, {sum(len(r['action_items']) for r in records)} action items, "
        f"transcripts of {chars:,.0f} characters on average; best of {args.rounds} rounds"
    )

    lean = [{**r, "transcript": None} for r in records]
    per_second, outcomes = rate(load_mapping(shipped), lean, args.rounds)
    verdict = "met" if per_second >= 20_000 else "MISSED"
    print(
        f"shipped HubSpot mapping, no transcript: {per_second:>9,.0f} calls/s "
        f"({outcomes} outcomes)  target 20,000: {verdict}"
    )

    per_second, outcomes = rate(load_mapping(shipped, vars={"notes": "off"}), records, args.rounds)
    print(
        f'with transcripts, notes = "off":        {per_second:>9,.0f} calls/s ({outcomes} outcomes)'
    )
    per_second, outcomes = rate(load_mapping(shipped), records, args.rounds)
    print(
        f'with transcripts, notes = "full":       {per_second:>9,.0f} calls/s ({outcomes} outcomes)'
    )
    huge = [r for r in records if sum(len(s["text"]) for s in r["transcript"]) > 100_000]
    if huge:
        per_second, outcomes = rate(load_mapping(shipped), huge, args.rounds)
        print(
            f"only transcripts over 100,000 chars:    {per_second:>9,.0f} calls/s "
            f"({outcomes} outcomes from {len(huge)} calls)"
        )


if __name__ == "__main__":
    main()
