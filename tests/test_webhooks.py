"""The webhook receiver over HTTP, and deliveries turned into syncs by the daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import requests

from adapters.memory import MemoryAdapter, MemoryConfig
from connector.revont.signature import SIGNATURE_HEADER, sign_body
from connector.sandbox import SandboxServer
from connector.webhooks import MAX_BODY, WebhookReceiver
from tests.test_daemon import free_port

SECRET = "whsec_test_0123456789"


@pytest.fixture
def receiver():
    hook = WebhookReceiver(SECRET)
    server = SandboxServer(hook.wsgi_app)
    server.start()
    yield hook, f"{server.url}/revont/webhooks"
    server.stop()


def event(name: str, call_id: str = "call_1", **data) -> bytes:
    body = {"event": name, "timestamp": "2026-12-04T10:00:00Z", "data": {"call_id": call_id}}
    body["data"].update(data)
    return json.dumps(body).encode()


def post(url, body: bytes, signature: str | None = "valid"):
    headers = {"Content-Type": "application/json"}
    if signature == "valid":
        headers[SIGNATURE_HEADER] = sign_body(SECRET, body)
    elif signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return requests.post(url, data=body, headers=headers, timeout=5)


def test_signed_deliveries_are_queued_once_and_the_rest_refused(receiver):
    hook, url = receiver
    body = event("summary.ready", "call_7")
    assert post(url, body).status_code == 202
    assert post(url, body).status_code == 200  # the same delivery again: not acted on
    assert hook.take() == ["call_7"] and hook.take() == []
    # Unsigned, wrongly signed, signed with another secret: 401, and nothing said why.
    other = sign_body("another secret", body)
    for signature in (None, "sha256=00", other, "md5=abc"):
        answer = post(url, event("call.ended", "call_8"), signature)
        assert answer.status_code == 401 and answer.json() == {"status": "invalid signature"}
    assert post(url, b"x" * (MAX_BODY + 1)).status_code == 413
    assert post(url, b"not json").status_code == 400
    assert post(url, event("call.started", "call_9")).status_code == 422
    assert requests.get(url, timeout=5).status_code == 405
    assert hook.take() == []
    assert hook.counts["bad_signature"] == 4


WEBHOOK_MAPPING = """
version = 1
[objects.call]
source = "calls"
external_id = "revont_call_id"
[objects.call.fields]
summary = { template = "{{ summary.text or 'pending' }}" }
"""


def test_the_daemon_syncs_a_call_within_seconds_of_its_summary(make_sandbox, tmp_path):
    sandbox = make_sandbox(
        calls=40, contacts=5, anchor=datetime.now(UTC), allow_insecure_webhooks=True
    )
    port = free_port()
    (tmp_path / "mapping.toml").write_text(WEBHOOK_MAPPING)
    config = tmp_path / "revont-sync.toml"
    config.write_text(
        f'[revont]\nbase_url = "{sandbox.api_url}"\n'
        # Scheduled runs only once an hour: what follows can only come from webhooks.
        '[daemon]\ninterval_seconds = 3600\njitter_seconds = 0\nmetrics_address = ""\n'
        f'webhook_address = "127.0.0.1:{port}"\n'
        '[adapters.memory]\nmapping = "mapping.toml"\npath = "crm.db"\n'
    )
    env = {
        **os.environ,
        "REVONT_API_KEY": sandbox.write_key,
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }
    cli = [sys.executable, "-m", "connector.cli", "--config", str(config)]
    url = f"http://127.0.0.1:{port}/revont/webhooks"
    registered = subprocess.run(
        [*cli, "webhooks", "register", "--url", url], capture_output=True, text=True, env=env
    )
    assert registered.returncode == 0, registered.stderr
    secret_file = tmp_path / "revont-sync-webhook.secret"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    listed = subprocess.run([*cli, "webhooks", "list"], capture_output=True, text=True, env=env)
    assert url in listed.stdout
    proc = subprocess.Popen(
        [*cli, "daemon"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    crm_path = tmp_path / "crm.db"

    def summary_of(call_id: str) -> str | None:
        if not crm_path.exists():
            return None
        crm = MemoryAdapter(MemoryConfig(path=crm_path))
        try:
            found = [r for r in crm.records("call") if r.external_id == call_id]
        finally:
            crm.close()
        return found[0].values.get("summary") if found else None

    try:
        pending = next(
            c["id"] for c in sandbox.workspace.calls.by_id.values() if c["_summary"] is None
        )
        deadline = time.monotonic() + 60
        while summary_of(pending) != "pending" and time.monotonic() < deadline:
            time.sleep(0.2)  # the first scheduled run, at start
        assert summary_of(pending) == "pending"
        started = time.monotonic()
        sandbox.make_summary_ready(pending, "They will sign in March.")
        while summary_of(pending) != "They will sign in March." and time.monotonic() < deadline:
            time.sleep(0.1)
        took = time.monotonic() - started
        assert summary_of(pending) == "They will sign in March."
        assert took < 10, took
        # At the daemon itself: a wrongly signed delivery is refused, a repeated one is
        # acknowledged and not acted on twice.
        secret = secret_file.read_text().strip()
        forged = event("summary.ready", pending)
        bad = requests.post(url, data=forged, timeout=5,
                            headers={SIGNATURE_HEADER: sign_body("guess", forged)})  # fmt: skip
        assert bad.status_code == 401
        signed = {SIGNATURE_HEADER: sign_body(secret, forged)}
        assert requests.post(url, data=forged, headers=signed, timeout=5).status_code == 202
        assert requests.post(url, data=forged, headers=signed, timeout=5).status_code == 200
        time.sleep(2.5)  # the daemon drains its queue every second
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert stderr.count("synced 1 calls from webhooks") == 2  # the delivery, ours once
    assert "webhook refused: missing or invalid signature" in stderr
    hook_id = registered.stdout.split("Registered webhook ")[1].split()[0]
    deleted = subprocess.run(
        [*cli, "webhooks", "delete", hook_id], capture_output=True, text=True, env=env
    )
    assert deleted.returncode == 0, deleted.stderr
    listed = subprocess.run([*cli, "webhooks", "list"], capture_output=True, text=True, env=env)
    assert url not in listed.stdout
