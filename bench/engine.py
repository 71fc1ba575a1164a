"""How fast is the sync engine itself, and how much memory does it hold?

Resyncs of 10k, 50k and 100k calls through the real engine (mapping,
fingerprints, state commits to SQLite, writes to the in-memory CRM kept in a
file) from a generated source with no network: pages of calls are made on
the fly, so the source holds one page at a time and the figures are the
engine's own. Each size runs in a fresh process, so its peak RSS is its own.

Targets (issue #4): >= 5,000 calls/s on one core, peak RSS < 300 MB and flat
as the dataset grows.

    python bench/engine.py [--sizes 10000 50000 100000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.memory import MemoryAdapter, MemoryConfig
from connector.engine import Destination, SyncEngine
from connector.mapping import load_mapping
from connector.revont.models import Call, CallDetail, Contact, format_time
from connector.revont.pagination import Page
from connector.revont.transport import RequestStats
from connector.state import SqlStateStore

MAPPING = """
version = 1
[objects.call]
source = "calls"
external_id = "revont_call_id"
[objects.call.fields]
timestamp = { path = "created_at", transforms = ["epoch_ms"] }
title = { template = "Call with {{ prospect_email or 'an unknown prospect' }}" }
duration = { path = "duration_seconds", transforms = ["seconds_to_ms"] }
outcome = { path = "outcome", transforms = [{ map = { won = "Won", default = "Open" } }] }
score = "coaching_score"
"""
START = datetime(2026, 1, 1, tzinfo=UTC)


class GeneratedSource:
    """Calls made on the fly, newest first, 100 per page; no network."""

    def __init__(self, calls: int) -> None:
        self.calls = calls
        self.stats = RequestStats()

    def _call(self, i: int) -> dict[str, object]:
        return {
            "id": f"call_{i:08d}",
            "created_at": format_time(START + timedelta(seconds=30 * i)),
            "duration_seconds": 60 + i % 900,
            "rep_id": f"user_{i % 12}",
            "prospect_email": f"prospect{i % 5000}@example.com",
            "coaching_score": round((i % 100) / 10, 1),
            "outcome": ("won", "lost", "follow_up", None)[i % 4],
        }

    def iter_call_pages(self, *, since: object = None, until: object = None,
                        cursor: str | None = None) -> Iterator[Page[Call]]:
        for number, top in enumerate(range(self.calls - 1, -1, -100), start=1):
            items = [Call.model_validate(self._call(i)) for i in range(top, max(top - 100, -1), -1)]
            more = top - 100 >= 0
            yield Page(number, items, [], None, f"cur_{top - 100}" if more else None, more)

    def iter_contact_pages(self, **kw: object) -> Iterator[Page[Contact]]:
        yield Page(1, [], [], None, None, False)

    def get_call(self, call_id: str) -> CallDetail:
        return CallDetail.model_validate(self._call(int(call_id.removeprefix("call_"))))

    def get_contact(self, contact_id: str) -> Contact:
        raise NotImplementedError

    def close(self) -> None:
        pass


def measure(calls: int) -> None:
    """Run one resync of ``calls`` calls in this process and print its figures."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        (path / "mapping.toml").write_text(MAPPING)
        store = SqlStateStore(f"sqlite:///{path / 'state.db'}")
        crm = MemoryAdapter(MemoryConfig(path=path / "crm.db", batch_size=100))
        dest = Destination("memory", crm, load_mapping(path / "mapping.toml"))
        engine = SyncEngine(GeneratedSource(calls), store, {"memory": dest})
        started = time.perf_counter()
        report = engine.resync("memory", streams=["calls"])
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert report.counts["created"] == calls, report.counts
        print(f"{calls:>8,} calls  {calls / elapsed:>8,.0f} calls/s  "
              f"peak RSS {peak_mb:>6,.0f} MB  ({elapsed:.1f} s)")
        crm.close()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        measure(args.one)
        return
    print("engine resync, no network: mapping, fingerprints, state commits, CRM writes")
    print("targets: >= 5,000 calls/s, peak RSS < 300 MB and flat")
    for size in args.sizes:
        subprocess.run([sys.executable, __file__, "--one", str(size)], check=True)


if __name__ == "__main__":
    main()
