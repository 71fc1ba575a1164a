"""The webhook receiver: Revont's deliveries turned into targeted syncs of those calls.

A ``POST`` to the configured path is accepted (202) only when

- its body is at most ``MAX_BODY`` bytes (else 413),
- ``X-Revont-Signature`` is the HMAC-SHA256 of the raw body under the signing secret,
  compared in constant time (else 401, saying no more than that),
- it is JSON with a known event and a call id (else 400; a well-formed event the
  connector does not act on, 422).

A delivery seen in the last ``DEDUPE_SECONDS`` (Revont retries, and may deliver one
event twice: same body) is answered 200 and not acted on again. Accepted events
(``call.ended``, ``summary.ready``, ``action_item.created``/``completed``) queue their call id; the
daemon drains the queue every second into targeted syncs under the same leases and
quotas as scheduled runs. Polling stays the source of truth: a lost delivery is
caught by the next scheduled run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from connector.revont.models import WEBHOOK_EVENTS
from connector.revont.signature import SIGNATURE_HEADER, verify_signature

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
DEDUPE_SECONDS = 3600.0
#: Events that change what a call looks like in the CRM (all Revont sends but the start).
ACTED_ON = frozenset(WEBHOOK_EVENTS) - {"call.started"}


class WebhookReceiver:
    """A WSGI app for Revont's deliveries (see the module docstring)."""

    def __init__(self, secret: str, path: str = "/revont/webhooks") -> None:
        self.secret = secret
        self.path = path
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}
        self._queue: dict[str, str] = {}  # call id -> event, in arrival order
        self.counts: dict[str, int] = {}

    def take(self) -> list[str]:
        """The call ids queued since the last call (each once)."""
        with self._lock:
            calls, self._queue = list(self._queue), {}
            return calls

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        response = self._answer(Request(environ))
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        if request.path != self.path:
            return _reply(404, "not found")
        if request.method != "POST":
            return _reply(405, "POST only")
        if (request.content_length or 0) > MAX_BODY:
            self._count("too_large")
            return _reply(413, "body too large")
        body = request.get_data(cache=False)
        if len(body) > MAX_BODY:
            self._count("too_large")
            return _reply(413, "body too large")
        if not verify_signature(self.secret, body, request.headers.get(SIGNATURE_HEADER)):
            self._count("bad_signature")
            log.warning("webhook refused: missing or invalid signature")
            return _reply(401, "invalid signature")
        try:
            payload = json.loads(body)
            event = str(payload["event"])
            call_id = str(payload["data"]["call_id"])
        except (ValueError, KeyError, TypeError):
            self._count("malformed")
            return _reply(400, "not a Revont event")
        digest = hashlib.sha256(body).hexdigest()
        now = time.monotonic()
        with self._lock:
            self._seen = {k: t for k, t in self._seen.items() if now - t < DEDUPE_SECONDS}
            if digest in self._seen:
                self._count("duplicate")
                return _reply(200, "duplicate")
            self._seen[digest] = now
            if event not in ACTED_ON:
                self._count("ignored")
                return _reply(422, f"event {event!r} is not acted on")
            self._queue[call_id] = event
            self._count("accepted")
        log.info("webhook %s for %s: queued", event, call_id)
        return _reply(202, "queued")


def _reply(status: int, message: str) -> Response:
    return Response(json.dumps({"status": message}), status=status, content_type="application/json")
