"""Failures as the client reports them: translated, retried when safe, never looping."""

from __future__ import annotations

import math

import pytest

from connector.errors import (
    ApiError,
    CredentialsError,
    NotFoundError,
    RateLimitedError,
    RequestError,
    TransientError,
)
from connector.revont.models import CallDetail
from connector.sandbox import FaultRule


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (400, RequestError, "invalid_request"),
        (401, CredentialsError, "unauthorized"),
        (403, CredentialsError, "forbidden"),
        (404, RequestError, "not_found"),  # a list route is never "gone": bad base URL
        (408, TransientError, "invalid_request"),
        (409, RequestError, "invalid_request"),
        (422, RequestError, "invalid_request"),
        (425, TransientError, "invalid_request"),
        (500, TransientError, "internal_error"),
        (502, TransientError, "internal_error"),
        (503, TransientError, "internal_error"),
    ],
)
def test_every_error_status_is_translated(sandbox, make_client, status, error, code):
    """Each status becomes the class named for what the caller must do, with code and message."""
    client = make_client(sandbox, max_attempts=2)
    sandbox.inject(FaultRule(kind="status", status=status, path="/calls", count=None))
    with pytest.raises(error) as info:
        next(client.iter_call_pages())
    exc = info.value
    assert exc.status == status and exc.code == code and exc.service == "revont"
    assert exc.method == "GET" and exc.path == "/calls"
    assert exc.message
    retried = isinstance(exc, TransientError)
    assert sandbox.requests.count("GET /calls", status) == (2 if retried else 1)


def test_429_is_translated_after_retries_are_spent(make_sandbox, make_client):
    sandbox = make_sandbox(window_seconds=1)
    client = make_client(sandbox, max_attempts=2)
    sandbox.inject(FaultRule(kind="rate_limit", path="/calls", count=None))
    with pytest.raises(RateLimitedError) as info:
        next(client.iter_call_pages())
    assert info.value.status == 429 and info.value.code == "rate_limit_exceeded"
    assert info.value.retry_at is not None
    assert info.value.attempts == 2


def test_real_401_403_and_404(sandbox, make_client):
    with pytest.raises(CredentialsError, match="Missing or invalid API key") as info:
        next(make_client(sandbox, key="rvt_wrong").iter_call_pages())
    assert info.value.status == 401 and "REVONT_API_KEY" in str(info.value)
    assert "[unauthorized]" in str(info.value)
    with pytest.raises(CredentialsError, match="read-write key") as info:
        make_client(sandbox).list_webhooks()  # a read-only key
    assert info.value.status == 403 and info.value.code == "forbidden"
    with pytest.raises(NotFoundError) as info:
        make_client(sandbox).get_call("call_DOESNOTEXIST00000000")
    assert info.value.status == 404 and info.value.path == "/calls/call_DOESNOTEXIST00000000"


def test_a_wrong_base_url_says_so(sandbox, make_client):
    """A 404 on a list route means the base URL is wrong (e.g. without /v1), not 'skip it'."""
    from connector.revont.client import RevontClient

    client = RevontClient(sandbox.read_key, base_url=sandbox.url, max_attempts=1)
    with pytest.raises(RequestError, match="check revont.base_url"):
        next(client.iter_call_pages())
    client.close()


def test_real_400_for_bad_parameters(sandbox, make_client):
    client = make_client(sandbox)
    with pytest.raises(RequestError, match="from must be an ISO 8601") as info:
        next(client.iter_call_pages(since="yesterday"))
    assert info.value.code == "invalid_request"
    with pytest.raises(RequestError, match="from must not be after to"):
        next(client.iter_call_pages(until="2026-01-01T00:00:00Z", since="2026-02-01T00:00:00Z"))
    # The client refuses what it knows Revont refuses, before spending a request.
    with pytest.raises(ValueError, match="outcome"):
        client.iter_call_pages(outcome="maybe")


def test_sandbox_rejects_bad_limit_and_outcome(sandbox):
    """What the client never sends, the sandbox still answers as Revont would."""
    import requests

    headers = {"Authorization": f"Bearer {sandbox.read_key}"}
    for query in ("limit=0", "limit=101", "limit=ten", "outcome=maybe", "cursor=bogus"):
        answer = requests.get(f"{sandbox.api_url}/calls?{query}", headers=headers, timeout=5)
        assert answer.status_code == 400, query
        code = "invalid_cursor" if query.startswith("cursor") else "invalid_request"
        assert answer.json()["error"]["code"] == code


def test_malformed_json_is_retried_then_succeeds(sandbox, client):
    sandbox.inject(FaultRule(kind="malformed_json", path="/calls", count=2))
    page = next(client.iter_call_pages(limit=10))
    assert len(page.items) == 10
    assert client.stats.retries == 2
    assert sandbox.requests.count("GET /calls", 200) == 3


def test_malformed_json_is_reported_when_it_persists(sandbox, make_client):
    client = make_client(sandbox, max_attempts=3)
    sandbox.inject(FaultRule(kind="malformed_json", path="/calls/*", count=None))
    call_id = next(iter(sandbox.workspace.calls.by_id))
    with pytest.raises(TransientError) as info:
        client.get_call(call_id)
    text = str(info.value)
    assert "malformed JSON" in text and "after 3 attempts" in text and "GET /calls/" in text
    assert sandbox.requests.count("GET /calls/{id}") == 3


def test_dropped_connections_and_timeouts_are_retried(sandbox, make_client):
    client = make_client(sandbox, read_timeout=0.3)
    call_id = next(iter(sandbox.workspace.calls.by_id))
    sandbox.inject(FaultRule(kind="drop", path="/calls/*", count=1))
    sandbox.inject(FaultRule(kind="latency", seconds=1.0, path="/calls/*", count=1))
    detail = client.get_call(call_id)
    assert detail.id == call_id
    assert client.stats.retries == 2
    assert client.stats.count(status="error") == 1
    assert client.stats.count(status="timeout") == 1


def test_timeouts_exhausted_become_transient_errors(sandbox, make_client):
    client = make_client(sandbox, read_timeout=0.2, max_attempts=2)
    sandbox.inject(FaultRule(kind="latency", seconds=0.6, path="/contacts", count=None))
    with pytest.raises(TransientError, match="no answer within 0.2 s"):
        next(client.iter_contact_pages())


def test_non_idempotent_create_is_not_retried(sandbox, make_client):
    """POST /webhooks after a 500 may have created the webhook: never sent twice."""
    client = make_client(sandbox, key=sandbox.write_key)
    sandbox.inject(FaultRule(kind="status", status=500, method="POST", path="/webhooks"))
    with pytest.raises(TransientError):
        client.create_webhook("https://hooks.example.com/revont", ["call.ended"])
    assert sandbox.requests.count("POST /webhooks") == 1


def test_429_on_create_is_retried(make_sandbox, make_client):
    """A 429 was refused before any work, so even a create is sent again."""
    sandbox = make_sandbox(window_seconds=1)
    client = make_client(sandbox, key=sandbox.write_key)
    sandbox.inject(FaultRule(kind="rate_limit", method="POST", path="/webhooks"))
    hook = client.create_webhook("https://hooks.example.com/revont", ["call.ended"])
    assert hook.id.startswith("wh_")
    assert sandbox.requests.count("POST /webhooks") == 2


def test_every_api_error_is_an_api_error(sandbox, make_client):
    client = make_client(sandbox, max_attempts=1)
    sandbox.inject(FaultRule(kind="status", status=503, count=None))
    with pytest.raises(ApiError):
        client.get_contact("contact_X")


def test_detail_envelope_bare_or_wrapped(make_sandbox, make_client):
    for bare in (False, True):
        sandbox = make_sandbox(calls=30, bare_detail=bare)
        call_id = next(iter(sandbox.workspace.calls.by_id))
        detail = make_client(sandbox).get_call(call_id)
        assert isinstance(detail, CallDetail) and detail.id == call_id
        assert detail.transcript and detail.summary is not None
        # Fields the models do not name are kept and reachable.
        assert detail.model_extra and "talk_ratio" in detail.model_extra
        assert "language" in detail.raw()


def test_requests_identify_the_connector(sandbox, client):
    from connector import __version__

    next(client.iter_contact_pages(limit=1))
    assert sandbox.requests.user_agents == {f"revont-sync/{__version__}": 1}


def test_a_429_with_only_a_reset_header_is_still_waited_out(make_sandbox, make_client):
    """Whatever headers a 429 carries, the pacer records it and waits before the retry."""
    sandbox = make_sandbox(window_seconds=1)
    client = make_client(sandbox)
    sandbox.inject(FaultRule(kind="rate_limit", path="/contacts", reset_header_only=True))
    next(client.iter_contact_pages(limit=5))
    assert client.pacer.stats.rate_limited == 1
    events = [e for e in sandbox.requests.recent if e[1] == "GET /contacts"]
    assert [status for _, _, status in events] == [429, 200]
    (t429, _, _), (t_retry, _, _) = events
    assert t_retry >= math.floor(t429) + 1  # the 1-second window's reset


def test_a_retried_delete_that_finds_the_webhook_gone_succeeds(make_sandbox, make_client):
    """The first DELETE worked but its answer was lost (504); the retry's 404 means done."""
    sandbox = make_sandbox()
    client = make_client(sandbox, key=sandbox.write_key)
    hook = client.create_webhook("https://hooks.example.com/h", ["call.ended"])
    sandbox.inject(FaultRule(kind="status", status=504, method="DELETE", path="/webhooks/*",
                             after_serving=True))
    client.delete_webhook(hook.id)
    assert sandbox.requests.count("DELETE /webhooks/{id}") == 2
    assert client.list_webhooks() == []


def test_a_malformed_detail_is_a_record_problem(sandbox, client):
    """A detail that fails validation names the record; it is not a transient error."""
    from connector.errors import MalformedRecordError

    call = sandbox.add_call(created_at="2026-11-30T11:00:00Z", coaching_score="excellent")
    with pytest.raises(MalformedRecordError) as info:
        client.get_call(call["id"])
    assert info.value.record_id == call["id"] and "coaching_score" in str(info.value)
    assert info.value.status == 200
