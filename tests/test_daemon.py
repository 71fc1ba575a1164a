"""`revont-sync daemon` as a subprocess: schedules converge, SIGTERM stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from adapters.memory import MemoryAdapter, MemoryConfig
from connector.sandbox import FaultRule
from connector.state import SqlStateStore
from tests.test_sync_cli import MAPPING


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_daemon(
    sandbox,
    tmp_path,
    interval: int = 1,
    state: str | None = None,
    name="a",
    metrics=None,
    extra: str = "",
):
    (tmp_path / "mapping.toml").write_text(MAPPING)
    config = tmp_path / f"revont-sync-{name}.toml"
    state = state or f"sqlite:///{tmp_path / 'state.db'}"
    config.write_text(
        f'[revont]\nbase_url = "{sandbox.api_url}"\n'
        f'[state]\nurl = "{state}"\n'
        f"[daemon]\ninterval_seconds = {interval}\njitter_seconds = 0\ngrace_seconds = 20\n"
        f'metrics_address = "{metrics or ""}"\n'
        '[adapters.memory]\nmapping = "mapping.toml"\npath = "crm.db"\n' + extra
    )
    env = {**os.environ, "REVONT_API_KEY": sandbox.read_key, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "--config", str(config), "daemon"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def crm_calls(path) -> int:
    if not path.exists():
        return 0
    crm = MemoryAdapter(MemoryConfig(path=path))
    try:
        return len(crm.records("call"))
    finally:
        crm.close()


def test_the_daemon_converges_and_picks_up_new_calls_then_stops_on_sigterm(
    make_sandbox, tmp_path
):
    sandbox = make_sandbox(calls=80, contacts=20, anchor=datetime.now(UTC))
    proc = start_daemon(sandbox, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while crm_calls(tmp_path / "crm.db") < 80 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert crm_calls(tmp_path / "crm.db") == 80
        sandbox.add_call(duration_seconds=120)  # the next scheduled run brings it
        while crm_calls(tmp_path / "crm.db") < 81 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert crm_calls(tmp_path / "crm.db") == 81
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "daemon: stopped" in stderr
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    runs = store.runs(adapter="memory", limit=50)
    assert len(runs) >= 2 and {r.status for r in runs} <= {"succeeded", "stopped"}
    # No lease left behind: another process may run the adapter at once.
    lease = store.acquire_lease(
        "sync:memory", "other:1", now=datetime.now(UTC), ttl=timedelta(minutes=1)
    )
    assert lease is None
    store.close()


def test_sigterm_mid_run_checkpoints_the_page_and_exits_0(make_sandbox, tmp_path):
    sandbox = make_sandbox(calls=400, contacts=10, anchor=datetime.now(UTC))
    # Slow pages, so the first run is surely in flight when the signal comes.
    sandbox.inject(FaultRule(kind="latency", seconds=0.4, path="/calls", count=None))
    proc = start_daemon(sandbox, tmp_path, interval=3600)
    try:
        deadline = time.monotonic() + 60
        while crm_calls(tmp_path / "crm.db") == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert crm_calls(tmp_path / "crm.db") > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    landed = crm_calls(tmp_path / "crm.db")
    assert 0 < landed < 400  # stopped mid-window
    store = SqlStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    [run] = store.runs(adapter="memory")
    assert run.status == "stopped"
    state = store.stream("memory", "calls")
    assert state.window_cursor is not None  # the next start resumes from the checkpoint
    store.close()


def test_two_daemons_on_one_postgresql_never_run_an_adapter_at_once(
    make_sandbox, tmp_path, postgres_url
):
    sandbox = make_sandbox(calls=150, contacts=10, anchor=datetime.now(UTC))
    # Runs long enough (slow pages) that the two daemons' schedules keep colliding.
    sandbox.inject(FaultRule(kind="latency", seconds=0.15, path="/calls", count=None))
    daemons = [
        start_daemon(sandbox, tmp_path, state=postgres_url, name=n) for n in ("a", "b")
    ]
    try:
        time.sleep(8)
    finally:
        for proc in daemons:
            proc.send_signal(signal.SIGTERM)
        errors = [proc.communicate(timeout=30)[1] for proc in daemons]
    assert [p.returncode for p in daemons] == [0, 0], errors
    assert any("skipped" in e for e in errors)  # a start found the other's lease
    store = SqlStateStore(postgres_url)
    runs = sorted(store.runs(adapter="memory", limit=500), key=lambda r: r.started_at)
    store.close()
    assert len(runs) >= 2
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier.ended_at is not None
        assert later.started_at >= earlier.ended_at, (earlier, later)
    assert crm_calls(tmp_path / "crm.db") == 150


def test_metrics_are_scraped_and_health_flips_when_a_run_fails(make_sandbox, tmp_path):
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    sandbox = make_sandbox(calls=80, contacts=10, anchor=datetime.now(UTC))
    port = free_port()
    proc = start_daemon(sandbox, tmp_path, metrics=f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"

    def scrape() -> dict[tuple[str, tuple], float]:
        text = requests.get(f"{base}/metrics", timeout=5).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    try:
        deadline = time.monotonic() + 60
        while crm_calls(tmp_path / "crm.db") < 80 and time.monotonic() < deadline:
            time.sleep(0.3)
        time.sleep(1.5)  # the run has been counted
        samples = scrape()
        runs = samples[("revont_sync_runs_total", (("adapter", "memory"), ("status", "succeeded")))]
        assert runs >= 1
        created = samples[("revont_sync_records_total", (("adapter", "memory"), ("outcome", "created")))]
        assert created >= 80
        assert samples[("revont_sync_api_requests_total", (("service", "revont"),))] > 0
        assert ("revont_sync_lag_seconds", (("adapter", "memory"),)) in samples
        assert samples[("revont_sync_failures_pending", (("adapter", "memory"),))] >= 0
        health = requests.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        # Revont starts failing: the next run fails, and health says so.
        sandbox.inject(FaultRule(kind="status", status=500, count=None))
        while time.monotonic() < deadline:
            health = requests.get(f"{base}/healthz", timeout=5)
            if health.status_code == 503:
                break
            time.sleep(0.3)
        assert health.status_code == 503
        assert "memory: the last run failed" in health.json()["problems"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr


def test_each_stream_can_have_its_own_schedule(make_sandbox, tmp_path):
    sandbox = make_sandbox(calls=30, contacts=5, anchor=datetime.now(UTC))
    streams = (
        "[daemon.adapters.memory.streams.contacts]\ninterval_seconds = 3600\n"
        "[daemon.adapters.memory.streams.calls]\ninterval_seconds = 1\n"
    )
    proc = start_daemon(sandbox, tmp_path, extra=streams)
    try:
        deadline = time.monotonic() + 60
        while crm_calls(tmp_path / "crm.db") < 30 and time.monotonic() < deadline:
            time.sleep(0.2)
        sandbox.add_contact(email="late.contact@example.com")
        sandbox.add_call(duration_seconds=60)
        while crm_calls(tmp_path / "crm.db") < 31 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert crm_calls(tmp_path / "crm.db") == 31  # calls: every second
        crm = MemoryAdapter(MemoryConfig(path=tmp_path / "crm.db"))
        emails = {r.values.get("email") for r in crm.records("contact")}
        crm.close()
        assert "late.contact@example.com" not in emails  # contacts: hourly
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "memory:calls syncs every 1 s" in stderr
