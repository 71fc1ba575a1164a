"""The Revont sandbox is part of the product: it must behave like Revont."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connector.revont.sandbox import RevontSandbox
from connector.revont.signature import verify_signature
from tests.conftest import ANCHOR


def fingerprint(sandbox: RevontSandbox) -> str:
    ws = sandbox.workspace
    data = [sorted(ws.contacts.by_id.items()), sorted(ws.calls.by_id.items())]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def test_same_seed_same_workspace():
    a = RevontSandbox(seed=11, calls=300, contacts=50, anchor=ANCHOR)
    b = RevontSandbox(seed=11, calls=300, contacts=50, anchor=ANCHOR)
    c = RevontSandbox(seed=12, calls=300, contacts=50, anchor=ANCHOR)
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)
    call_id = next(iter(a.workspace.calls.by_id))
    assert a.workspace.detail_view(a.workspace.call(call_id)) == b.workspace.detail_view(
        b.workspace.call(call_id)
    )


def test_the_data_has_what_real_workspaces_throw_at_a_connector(make_sandbox, make_client):
    sandbox = make_sandbox(calls=1500, contacts=300)
    ws = sandbox.workspace
    contacts = list(ws.contacts.by_id.values())
    emails = [c["email"] for c in contacts]
    names = [c["name"] or "" for c in contacts]
    assert any(not n.isascii() for n in names), "Unicode names"
    assert any("'" in e for e in emails), "apostrophes in emails"
    assert any(e.startswith('"') for e in emails), "quoted local parts"
    assert any("+" in e for e in emails), "plus tags"
    assert any(e != e.lower() for e in emails), "mixed case"
    calls = list(ws.calls.by_id.values())
    assert any(c["prospect_email"] is None for c in calls), "calls without a prospect"
    known = {e.lower() for e in emails}
    assert any(c["prospect_email"] and c["prospect_email"].lower() not in known for c in calls)
    ties = Counter(c["created_at"] for c in calls)
    assert max(ties.values()) >= 5, "many calls sharing one created_at"
    assert any(c["_summary"] is None for c in calls), "pending summaries"
    assert any(c["_action_items"] for c in calls), "action items"
    huge = [c for c in calls if c["_transcript_chars"] > 100_000]
    assert huge, "a transcript over 100,000 characters"
    detail = make_client(sandbox).get_call(huge[0]["id"])
    assert len(detail.transcript_text()) > 100_000
    pending = next(c for c in calls if c["_summary"] is None)
    detail = make_client(sandbox).get_call(pending["id"])
    assert detail.summary is not None and detail.summary.status == "pending"
    assert detail.summary_pending


def test_newest_first_with_documented_envelopes(sandbox):
    headers = {"Authorization": f"Bearer {sandbox.read_key}"}
    body = requests.get(f"{sandbox.api_url}/calls", headers=headers, timeout=5).json()
    assert set(body) == {"data", "next_cursor", "has_more"}
    assert len(body["data"]) == 20  # Revont's default page size
    created = [c["created_at"] for c in body["data"]]
    assert created == sorted(created, reverse=True)
    assert body["next_cursor"].startswith("cur_") and body["has_more"] is True
    unauth = requests.get(f"{sandbox.api_url}/calls", timeout=5)
    assert unauth.status_code == 401
    assert unauth.json() == {
        "error": {"code": "unauthorized", "message": "Missing or invalid API key."}
    }
    missing = requests.get(f"{sandbox.api_url}/calls/call_NOPE", headers=headers, timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_read_only_keys_cannot_manage_webhooks(sandbox):
    headers = {"Authorization": f"Bearer {sandbox.read_key}"}
    answer = requests.get(f"{sandbox.api_url}/webhooks", headers=headers, timeout=5)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"


def test_control_endpoints_over_http(sandbox, client):
    """What a test in another process (or a user with curl) can do to the sandbox."""
    base = sandbox.url + "/_sandbox"
    added = requests.post(f"{base}/calls", json={"count": 2}, timeout=5).json()["data"]
    call_id = added[0]["id"]
    detail = client.get_call(call_id)
    assert detail.summary_pending and detail.action_items == []

    requests.post(f"{base}/calls/{call_id}/summary", json={"text": "Agreed."}, timeout=5)
    item = requests.post(f"{base}/calls/{call_id}/action-items",
                         json={"text": "Send contract", "due_date": "2026-12-24"},
                         timeout=5).json()["data"]
    detail = client.get_call(call_id)
    assert detail.summary and detail.summary.text == "Agreed." and not detail.summary_pending
    assert [a.id for a in detail.action_items or []] == [item["id"]]
    assert detail.action_items[0].status == "open"

    requests.post(f"{base}/action-items/{item['id']}/complete", timeout=5)
    requests.patch(f"{base}/calls/{call_id}", json={"outcome": "won", "coaching_score": 9.5},
                   timeout=5)
    detail = client.get_call(call_id)
    assert detail.action_items and detail.action_items[0].status == "completed"
    assert detail.action_items[0].completed_at is not None
    assert detail.outcome == "won" and detail.coaching_score == 9.5

    requests.post(f"{base}/faults", json={"kind": "status", "status": 503, "path": "/contacts"},
                  timeout=5)
    assert requests.get(f"{base}/faults", timeout=5).json()["data"][0]["status"] == 503
    requests.delete(f"{base}/faults", timeout=5)
    stats = requests.get(f"{base}/stats", timeout=5).json()["data"]
    assert stats["routes"]["GET /calls/{id}"]["200"] == 3
    requests.delete(f"{base}/calls/{call_id}", timeout=5)
    assert requests.get(f"{sandbox.api_url}/calls/{call_id}", timeout=5,
                        headers={"Authorization": f"Bearer {sandbox.read_key}"}).status_code == 404
    limit = requests.put(f"{base}/rate-limit", json={"limit": 7, "window_seconds": 2},
                         timeout=5).json()["data"]
    assert limit == {"limit": 7, "window_seconds": 2.0}
    bad = requests.post(f"{base}/faults", json={"kind": "gremlins"}, timeout=5)
    assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


class Receiver:
    """A webhook receiver on loopback that verifies signatures as the daemon will."""

    def __init__(self) -> None:
        self.secret = ""
        self.received: list[tuple[bool, dict]] = []

        @Request.application
        def app(request: Request) -> Response:
            body = request.get_data()
            ok = verify_signature(self.secret, body, request.headers.get("X-Revont-Signature"))
            self.received.append((ok, json.loads(body)))
            return Response("", status=204)

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/revont"

    def close(self) -> None:
        self.server.shutdown()


def test_webhooks_are_registered_and_deliveries_signed(make_sandbox, make_client):
    sandbox = make_sandbox(allow_insecure_webhooks=True)
    receiver = Receiver()
    try:
        client = make_client(sandbox, key=sandbox.write_key)
        created = client.create_webhook(receiver.url, ["call.ended", "summary.ready"], "tests")
        assert created.secret is not None
        receiver.secret = created.secret.get_secret_value()
        assert [h.id for h in client.list_webhooks()] == [created.id]
        assert "secret" not in client.list_webhooks()[0].raw()

        call = sandbox.add_call()
        sandbox.make_summary_ready(call["id"])
        sandbox.add_action_item(call["id"], text="not subscribed")
        wait_for(lambda: len(receiver.received) >= 2)
        events = [(ok, body["event"], body["data"]["call_id"]) for ok, body in receiver.received]
        assert events == [(True, "call.ended", call["id"]), (True, "summary.ready", call["id"])]
        assert receiver.received[0][1]["timestamp"].endswith("Z")

        client.delete_webhook(created.id)
        assert client.list_webhooks() == []
    finally:
        receiver.close()


def test_webhooks_need_https_and_known_events(sandbox, make_client):
    import pytest

    from connector.errors import RequestError

    client = make_client(sandbox, key=sandbox.write_key)
    with pytest.raises(RequestError, match="https"):
        client.create_webhook("http://127.0.0.1:1/h", ["call.ended"])
    with pytest.raises(RequestError, match="events"):
        client.create_webhook("https://hooks.example.com/h", ["call.exploded"])


def test_deliveries_only_go_to_loopback(sandbox, make_client):
    """The sandbox never sends traffic off this machine, whatever URL is registered."""
    client = make_client(sandbox, key=sandbox.write_key)
    client.create_webhook("https://hooks.example.com/revont", ["call.ended"])
    sandbox.add_call()
    wait_for(lambda: bool(sandbox.deliveries))
    assert sandbox.deliveries[0]["error"].startswith("not delivered")
    assert sandbox.deliveries[0]["attempts"] == 0


def test_deliveries_can_repeat_vanish_and_reorder(make_sandbox, make_client):
    """As Revont promises nothing about deliveries, the sandbox can break each promise."""
    sandbox = make_sandbox(allow_insecure_webhooks=True, duplicate_deliveries=0.3,
                           drop_deliveries=0.2, max_delivery_delay=0.3, seed=5)
    receiver = Receiver()
    try:
        client = make_client(sandbox, key=sandbox.write_key)
        created = client.create_webhook(receiver.url, ["call.ended"])
        receiver.secret = created.secret.get_secret_value()
        calls = [sandbox.add_call()["id"] for _ in range(40)]
        wait_for(lambda: len(sandbox.deliveries) >= 40, timeout=10)
        time.sleep(0.5)  # delayed copies
        got = [body["data"]["call_id"] for ok, body in receiver.received if ok]
        dropped = [d for d in sandbox.deliveries if d["error"] and "drop" in d["error"]]
        assert dropped, "some deliveries should be dropped"
        assert len(got) != len(set(got)), "some deliveries should repeat"
        order = [calls.index(c) for c in dict.fromkeys(got)]
        assert order != sorted(order), "some deliveries should arrive out of order"
        assert set(got) | {d["call_id"] for d in dropped} == set(calls)
    finally:
        receiver.close()
