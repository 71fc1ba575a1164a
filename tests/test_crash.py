"""Killed at random points, a sync neither loses nor duplicates a record.

`revont-sync run` runs in a subprocess against the Revont sandbox (served by
this test process on 127.0.0.1) into the in-memory CRM kept in a file, and is
SIGKILLed at random moments at least 20 times while Revont keeps changing.
Then one run goes to completion, and the CRM must hold exactly one record per
Revont record, each at its latest version. A killed run's lease is taken over
at once by the next run on the same host (its process is gone).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from adapters.memory import MemoryAdapter, MemoryConfig
from connector.sandbox import FaultRule

MAPPING = """
version = 1
[objects.contact]
source = "contacts"
external_id = "revont_contact_id"
[objects.contact.fields]
email = { path = "email", transforms = [{ email = "null" }] }
name = "name"
[objects.call]
source = "calls"
external_id = "revont_call_id"
[objects.call.fields]
outcome = { path = "outcome", default = "none" }
summary = { template = "{{ summary.text or 'pending' }}" }
"""


@pytest.mark.slow
def test_random_sigkills_lose_and_duplicate_nothing(make_sandbox, tmp_path):
    sandbox = make_sandbox(calls=2000, contacts=500, anchor=datetime.now(UTC))
    # 10 ms per call detail: the first full sync takes long enough to be killed often.
    sandbox.inject(FaultRule(kind="latency", seconds=0.01, path="/calls/*", count=None))
    (tmp_path / "mapping.toml").write_text(MAPPING)
    config = tmp_path / "revont-sync.toml"
    config.write_text(
        f'[revont]\nbase_url = "{sandbox.api_url}"\nmax_attempts = 2\n'
        "[sync]\nenrichment_first_check_seconds = 0\n"
        '[adapters.memory]\nmapping = "mapping.toml"\npath = "crm.db"\nbatch_size = 50\n'
    )
    env = {**os.environ, "REVONT_API_KEY": sandbox.read_key}
    command = [sys.executable, "-m", "connector.cli", "--log-level", "WARNING",
               "--config", str(config), "run"]
    rng = random.Random(20261204)
    kills, attempts = 0, 0
    while kills < 20 and attempts < 60:
        attempts += 1
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        # Revont moves on between runs: new calls, summaries ready, outcomes edited.
        sandbox.add_call()
        pending = [c for c in sandbox.workspace.calls.by_id.values() if c["_summary"] is None]
        if pending:
            sandbox.make_summary_ready(rng.choice(pending)["id"])
        sandbox.update_call(rng.choice(list(sandbox.workspace.calls.by_id)), outcome="won")
    assert kills >= 20, f"only {kills} runs were still running when killed"

    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    # Edits to calls older than the last window reach the CRM through reconciliation,
    # which the default cadence runs every 6 hours: force it for the final check.
    forced = subprocess.run(
        [*command[:-1], "resync", "--adapter", "memory"], env=env, capture_output=True,
        text=True, timeout=300,
    )
    assert forced.returncode == 0, forced.stderr

    crm = MemoryAdapter(MemoryConfig(path=tmp_path / "crm.db"))
    try:
        calls = {r.external_id: r for r in crm.records("call")}
        contacts = {r.external_id: r for r in crm.records("contact")}
    finally:
        crm.close()
    ws = sandbox.workspace
    assert set(contacts) == set(ws.contacts.by_id), "every contact once, none extra"
    assert set(calls) == set(ws.calls.by_id), "every call once, none extra"
    for call_id, call in ws.calls.by_id.items():
        summary = (call["_summary"] or {}).get("text") or "pending"
        assert calls[call_id].values == {"outcome": call["outcome"] or "none",
                                         "summary": summary}, call_id
