"""Whole syncs under HubSpot's limits: a small rolling window, and the daily reserve."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.engine import Destination, EngineOptions, SyncEngine
from connector.mapping import load_mapping, shipped_mappings
from connector.state import SqlStateStore
from tests.hubspot.test_sync import assert_no_duplicates, ids


def engine_for(client, store, adapter) -> SyncEngine:
    dest = Destination("hubspot", adapter, load_mapping(shipped_mappings()["hubspot"]))
    return SyncEngine(client, store, {"hubspot": dest}, options=EngineOptions())


def test_a_small_window_is_paced_with_zero_429s(
    make_sandbox, make_client, make_hubspot, make_adapter, tmp_path
):
    revont = make_sandbox(calls=150, contacts=60, anchor=datetime.now(UTC))
    client = make_client(revont, page_size=50)
    # A compressed window: 8 requests per second instead of 190 per ten seconds.
    hs = make_hubspot(ten_second_limit=8, interval_ms=1_000)
    adapter = make_adapter(hs, rate_limit_reserve=0.25)
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    [report] = engine_for(client, store, adapter).run_all(["hubspot"])
    assert report.status == "succeeded", report.error
    assert hs.log.count(status=429) == 0
    assert adapter.api.pacer.stats.rate_limited == 0
    assert adapter.api.pacer.stats.waits > 0  # it did have to pace
    assert report.requests["hubspot"] > 16  # more than two windows' worth
    store.close()


def test_the_daily_reserve_stops_the_run_cleanly_and_the_next_run_resumes(
    make_sandbox, make_client, make_hubspot, make_adapter, tmp_path
):
    revont = make_sandbox(calls=300, contacts=100, anchor=datetime.now(UTC))
    client = make_client(revont, page_size=50)
    hs = make_hubspot(daily_limit=10_000)
    adapter = make_adapter(hs, daily_reserve=0.1)
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    # 15 requests above the reserve of 1,000 left today: not enough for the whole sync.
    hs.set_daily_remaining(1_015)
    [stopped] = engine_for(client, store, adapter).run_all(["hubspot"])
    assert stopped.status == "stopped"
    assert "daily_reserve" in (stopped.error or "") and "resumes" in (stopped.error or "")
    assert adapter.quota().remaining == 1_000  # the reserve is untouched
    assert store.runs(adapter="hubspot")[0].status == "stopped"
    assert_no_duplicates(hs)
    partial = len(ids(hs, "calls", "revont_call_id")) + len(hs.portal.records("contacts"))
    assert partial > 0
    # The next day: the run resumes from its checkpoint and completes; nothing doubles.
    hs.set_daily_remaining(10_000)
    [resumed] = engine_for(client, store, adapter).run_all(["hubspot"])
    assert resumed.status == "succeeded", resumed.error
    assert_no_duplicates(hs)
    written = ids(hs, "calls", "revont_call_id")
    kept = {
        i
        for i, c in revont.workspace.calls.by_id.items()
        if c.get("duration_seconds") is None or c["duration_seconds"] >= 10
    }
    assert set(written) == kept
    store.close()
