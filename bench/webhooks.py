"""How long from a summary.ready delivery to the updated record in the CRM?

Starts the Revont sandbox (delivering signed webhooks to loopback), registers the
daemon's endpoint, runs `revont-sync daemon` as a subprocess with hourly schedules
(so only webhooks can bring changes) into the in-memory CRM kept in a file, waits
for the first sync, then makes summaries ready one after another and times each
until the CRM holds it. Target: under 2 s.

    python bench/webhooks.py [--summaries 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from adapters.memory import MemoryAdapter, MemoryConfig
from connector.revont.client import RevontClient
from connector.revont.sandbox import RevontSandbox

MAPPING = """
version = 1
[objects.call]
source = "calls"
external_id = "revont_call_id"
[objects.call.fields]
summary = { template = "{{ summary.text or 'pending' }}" }
"""


def summary_of(path: Path, call_id: str) -> str | None:
    if not path.exists():
        return None
    crm = MemoryAdapter(MemoryConfig(path=path))
    try:
        found = [r for r in crm.records("call") if r.external_id == call_id]
    finally:
        crm.close()
    return found[0].values.get("summary") if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--summaries", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, RevontSandbox(
        calls=200, contacts=20, anchor=datetime.now(UTC), rate_limit=100_000,
        allow_insecure_webhooks=True,
    ) as sandbox:  # fmt: skip
        tmp = Path(folder)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        (tmp / "mapping.toml").write_text(MAPPING)
        (tmp / "revont-sync.toml").write_text(
            f'[revont]\nbase_url = "{sandbox.api_url}"\n'
            '[daemon]\ninterval_seconds = 3600\njitter_seconds = 0\nmetrics_address = ""\n'
            f'webhook_address = "127.0.0.1:{port}"\n'
            '[adapters.memory]\nmapping = "mapping.toml"\npath = "crm.db"\n'
        )
        client = RevontClient(sandbox.write_key, base_url=sandbox.api_url)
        hook = client.create_webhook(
            f"http://127.0.0.1:{port}/revont/webhooks", ["summary.ready", "call.ended"]
        )
        client.close()
        assert hook.secret is not None
        (tmp / "revont-sync-webhook.secret").write_text(hook.secret.get_secret_value())
        fresh = [sandbox.add_call(duration_seconds=300)["id"] for _ in range(args.summaries)]
        env = {**os.environ, "REVONT_API_KEY": sandbox.read_key, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "--config", str(tmp / "revont-sync.toml"),
             "--log-level", "WARNING", "daemon"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            pending = fresh  # just ended: their summaries are pending
            deadline = time.monotonic() + 120
            while summary_of(tmp / "crm.db", pending[-1]) != "pending":
                if time.monotonic() > deadline:
                    raise SystemExit("the first sync did not finish")
                time.sleep(0.2)
            took = []
            for n, call_id in enumerate(pending):
                text = f"Summary number {n}."
                started = time.monotonic()
                sandbox.make_summary_ready(call_id, text)
                while summary_of(tmp / "crm.db", call_id) != text:
                    time.sleep(0.02)
                took.append(time.monotonic() - started)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    print(f"summary.ready -> CRM record updated, {len(took)} summaries:")
    print(
        f"  median {statistics.median(took):.2f} s, max {max(took):.2f} s "
        f"(target < 2 s: {'met' if max(took) < 2 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
