"""How long from a summary.ready delivery to the updated record in the CRM sandbox?

Starts the Revont sandbox (delivering signed webhooks to loopback) and the HubSpot
sandbox, sets HubSpot up, registers the daemon's endpoint, runs `revont-sync daemon`
as a subprocess with hourly schedules (so only webhooks can bring changes) and the
shipped HubSpot mapping, waits for the first sync, then makes summaries ready one
after another and times each until the call's engagement in HubSpot carries it.
Target: under 2 s.

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

# Run as a script, this folder comes first on sys.path, and bench/hubspot.py would hide
# the SDK's own ``hubspot`` package: take the folder out before importing anything.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from adapters.hubspot import HubSpotAdapter, HubSpotConfig  # noqa: E402
from adapters.hubspot.sandbox import HubSpotSandbox  # noqa: E402
from connector.mapping import load_mapping, shipped_mappings  # noqa: E402
from connector.revont.client import RevontClient  # noqa: E402
from connector.revont.sandbox import RevontSandbox  # noqa: E402


def call_body(hs: HubSpotSandbox, call_id: str) -> str:
    for record in hs.portal.records("calls"):
        if record["properties"].get("revont_call_id") == call_id:
            return str(record["properties"].get("hs_call_body") or "")
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--summaries", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, RevontSandbox(
        calls=200, contacts=20, anchor=datetime.now(UTC), rate_limit=100_000,
        allow_insecure_webhooks=True,
    ) as sandbox, HubSpotSandbox() as hs:  # fmt: skip
        tmp = Path(folder)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        (tmp / "revont-sync.toml").write_text(
            f'[revont]\nbase_url = "{sandbox.api_url}"\n'
            '[daemon]\ninterval_seconds = 3600\njitter_seconds = 0\nmetrics_address = ""\n'
            f'webhook_address = "127.0.0.1:{port}"\n'
            f'[adapters.hubspot]\nbase_url = "{hs.url}"\n'
        )
        setup = HubSpotAdapter(HubSpotConfig(base_url=hs.url, access_token=hs.token))
        mapping = load_mapping(shipped_mappings()["hubspot"])
        setup.setup({o.name: (o.crm_object, o.external_id_field) for o in mapping.objects.values()})
        setup.close()
        client = RevontClient(sandbox.write_key, base_url=sandbox.api_url)
        hook = client.create_webhook(
            f"http://127.0.0.1:{port}/revont/webhooks", ["summary.ready", "call.ended"]
        )
        client.close()
        assert hook.secret is not None
        (tmp / "revont-sync-webhook.secret").write_text(hook.secret.get_secret_value())
        fresh = [sandbox.add_call(duration_seconds=300)["id"] for _ in range(args.summaries)]
        env = {
            **os.environ,
            "REVONT_API_KEY": sandbox.read_key,
            "HUBSPOT_ACCESS_TOKEN": hs.token,
            "PYTHONUNBUFFERED": "1",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "--config", str(tmp / "revont-sync.toml"),
             "--log-level", "WARNING", "daemon"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            pending = fresh  # just ended: their summaries are pending
            deadline = time.monotonic() + 120
            while "not ready yet" not in call_body(hs, pending[-1]):
                if time.monotonic() > deadline:
                    raise SystemExit("the first sync did not finish")
                time.sleep(0.2)
            took = []
            for n, call_id in enumerate(pending):
                text = f"Summary number {n}."
                started = time.monotonic()
                sandbox.make_summary_ready(call_id, text)
                while text not in call_body(hs, call_id):
                    time.sleep(0.02)
                took.append(time.monotonic() - started)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    print(f"summary.ready -> the call's HubSpot engagement updated, {len(took)} summaries:")
    print(
        f"  median {statistics.median(took):.2f} s, max {max(took):.2f} s "
        f"(target < 2 s: {'met' if max(took) < 2 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
