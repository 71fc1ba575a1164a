"""The Revont API as the sandbox serves it: routes, auth, quota, paging, webhooks.

Behaviour follows ``shared/revont-api.md``: the documented envelopes and
``{"error": {"code", "message"}}`` bodies; bearer keys with a ``read`` or
``read_write`` scope (all keys share one workspace, hence one quota); fixed
rate-limit windows aligned to the epoch with ``X-RateLimit-*`` on every
answer; newest-first listing with inclusive ``from``/``to``; cursors that are
keyset positions bound to their filters, so they stay correct while calls are
inserted between pages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from connector.revont.models import OUTCOMES, WEBHOOK_EVENTS, parse_time
from connector.revont.models import format_time as iso
from connector.revont.sandbox.vocabulary import make_id
from connector.revont.sandbox.workspace import Workspace
from connector.sandbox import FaultInjector, RequestLog, drop_connection

PLANS = {"starter": 100, "professional": 500, "enterprise": 2000}
READ, READ_WRITE = "read", "read_write"
DEFAULT_KEYS = {"rvt_sandbox_read_key": READ, "rvt_sandbox_write_key": READ_WRITE}
API_PREFIX = "/v1"

_ERROR_MESSAGES = {
    400: ("invalid_request", "The request is invalid."),
    401: ("unauthorized", "Missing or invalid API key."),
    403: ("forbidden", "This API key does not have the required scope."),
    404: ("not_found", "The requested resource does not exist."),
    405: ("invalid_request", "Method not allowed."),
    429: ("rate_limit_exceeded", "Rate limit exceeded. Retry after X-RateLimit-Reset."),
    500: ("internal_error", "An internal error occurred."),
    502: ("internal_error", "Bad gateway."),
    503: ("internal_error", "Service temporarily unavailable."),
}

# The three read scopes need any key; webhook management needs a read-write key.
_WRITE_SCOPE_ROUTES = {"GET /webhooks", "POST /webhooks", "DELETE /webhooks/{id}"}


class ApiProblem(Exception):
    """An error answer in Revont's envelope."""

    def __init__(self, status: int, message: str | None = None, code: str | None = None) -> None:
        fallback = ("invalid_request", "Error.") if status < 500 else ("internal_error", "Error.")
        default_code, default_message = _ERROR_MESSAGES.get(status, fallback)
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        super().__init__(self.message)


class FixedWindowLimiter:
    """Revont's per-workspace quota: ``limit`` requests per window aligned to the epoch."""

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.time,
        *,
        offset: float = 0.0,
        round_reset_down: bool = False,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        #: Windows start at epoch + offset + k * window_seconds.
        self.offset = offset
        #: Report X-RateLimit-Reset rounded down, as a careless server might.
        self.round_reset_down = round_reset_down
        self._lock = threading.Lock()
        self._window_start = -1.0
        self._used = 0

    def configure(self, limit: int, window_seconds: float) -> None:
        with self._lock:
            self.limit, self.window_seconds = limit, window_seconds
            self._window_start, self._used = -1.0, 0

    def take(
        self, *, refuse: bool = False, spend: bool = True
    ) -> tuple[bool, dict[str, str], float]:
        """Count one request; return (allowed, headers, window start).

        ``refuse`` forces a 429 (an injected fault) without spending quota;
        ``spend=False`` only reports the window (for unauthenticated requests).
        """
        with self._lock:
            now = self.clock()
            w = self.window_seconds
            start = math.floor((now - self.offset) / w) * w + self.offset
            if start != self._window_start:
                self._window_start, self._used = start, 0
            allowed = not refuse and self._used < self.limit
            if allowed and spend:
                self._used += 1
            remaining = 0 if refuse else self.limit - self._used
            end = start + self.window_seconds
            reset = math.floor(end) if self.round_reset_down else math.ceil(end)
            headers = {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(remaining, 0)),
                "X-RateLimit-Reset": str(reset),
            }
            return allowed, headers, start


def _encode_cursor(key: tuple[str, str], scope: str) -> str:
    raw = json.dumps({"k": list(key), "s": scope}, separators=(",", ":")).encode()
    return "cur_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, scope: str) -> tuple[str, str]:
    try:
        if not cursor.startswith("cur_"):
            raise ValueError("prefix")
        body = cursor[4:]
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if data["s"] != scope:
            raise ValueError("scope")
        created_at, record_id = data["k"]
        return str(created_at), str(record_id)
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiProblem(
            400, "The cursor is invalid or was issued for other filters.", "invalid_cursor"
        ) from exc


@dataclass
class RevontApi:
    """Answers requests to ``/v1/...`` routes (already matched to a route template)."""

    workspace: Workspace
    limiter: FixedWindowLimiter
    faults: FaultInjector
    requests: RequestLog
    keys: dict[str, str]
    now: Callable[[], datetime]
    bare_detail: bool = False
    allow_insecure_webhooks: bool = False

    def handle(
        self, route: str, request: Request, args: dict[str, str], environ: dict[str, Any]
    ) -> Response:
        fault = self.faults.take(request.method, request.path.removeprefix(API_PREFIX))
        if fault is not None and fault.kind == "drop":
            self.requests.record(route, 0)
            drop_connection(environ)
            return Response(b"", status=200)
        if fault is not None and fault.kind == "latency":
            time.sleep(fault.seconds)
        scope = self.keys.get(_bearer(request) or "")
        kind = fault.kind if fault is not None else None
        # Unauthenticated requests spend no workspace quota: they have no workspace.
        allowed, headers, window = self.limiter.take(
            refuse=kind == "rate_limit", spend=scope is not None
        )
        if fault is not None and fault.reset_header_only:
            headers = {"X-RateLimit-Reset": headers["X-RateLimit-Reset"]}
        try:
            if scope is None:
                raise ApiProblem(401)
            if not allowed:
                raise ApiProblem(429)
            if route in _WRITE_SCOPE_ROUTES and scope != READ_WRITE:
                raise ApiProblem(403)
            if fault is not None and kind == "status" and not fault.after_serving:
                raise ApiProblem(fault.status, fault.message)
            if kind == "malformed_json":
                self.requests.record(route, 200, window)
                return Response(
                    '{"data": [{"id": "call_',
                    status=200,
                    headers=headers,
                    mimetype="application/json",
                )
            status, body = self._serve(route, request, args)
            if fault is not None and kind == "status":  # after_serving: the answer is lost
                raise ApiProblem(fault.status, fault.message)
            if kind is not None and "next_cursor" in body:
                _break_paging(kind, body, request.args.get("cursor"))
        except ApiProblem as problem:
            self.requests.record(route, problem.status, window if scope else None)
            return error_response(problem, headers)
        self.requests.record(route, status, window, request.user_agent.string)
        return json_response(body, status, headers)

    def _serve(self, route: str, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        ws = self.workspace
        with ws.lock:
            if route == "GET /calls":
                return 200, self._list(request, "calls")
            if route == "GET /contacts":
                return 200, self._list(request, "contacts")
            if route == "GET /calls/{id}":
                call = ws.calls.by_id.get(args["item_id"])
                if call is None:
                    raise ApiProblem(404, "Call not found.")
                return 200, self._envelope(ws.detail_view(call))
            if route == "GET /contacts/{id}":
                contact = ws.contacts.by_id.get(args["item_id"])
                if contact is None:
                    raise ApiProblem(404, "Contact not found.")
                return 200, self._envelope(dict(contact))
            if route == "GET /webhooks":
                return 200, {"data": [_public_webhook(h) for h in ws.webhooks.values()]}
            if route == "POST /webhooks":
                return 201, self._create_webhook(request)
            if route == "DELETE /webhooks/{id}":
                if ws.webhooks.pop(args["item_id"], None) is None:
                    raise ApiProblem(404, "Webhook not found.")
                return 200, {"data": {"id": args["item_id"], "deleted": True}}
        raise ApiProblem(404)  # pragma: no cover - every API route is handled above

    def _envelope(self, record: dict[str, Any]) -> dict[str, Any]:
        return record if self.bare_detail else {"data": record}

    def _list(self, request: Request, kind: str) -> dict[str, Any]:
        params = request.args
        raw_limit = params.get("limit", "20")
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise ApiProblem(400, "limit must be an integer between 1 and 100.")
        bounds: dict[str, str | None] = {}
        for name in ("from", "to"):
            value = params.get(name)
            if value is None:
                bounds[name] = None
                continue
            try:
                bounds[name] = iso(parse_time(value))
            except ValueError:
                raise ApiProblem(400, f"{name} must be an ISO 8601 date-time.") from None
        if bounds["from"] and bounds["to"] and bounds["from"] > bounds["to"]:
            raise ApiProblem(400, "from must not be after to.")
        filters: dict[str, str] = {}
        if kind == "calls":
            outcome = params.get("outcome")
            if outcome is not None and outcome not in OUTCOMES:
                raise ApiProblem(400, f"outcome must be one of {', '.join(OUTCOMES)}.")
            for name in ("rep_id", "outcome"):
                if params.get(name) is not None:
                    filters[name] = params[name]
        scope = hashlib.sha256(
            json.dumps([kind, bounds, filters], sort_keys=True).encode()
        ).hexdigest()[:16]
        cursor = params.get("cursor")
        before = _decode_cursor(cursor, scope) if cursor else None
        collection = self.workspace.calls if kind == "calls" else self.workspace.contacts
        listing = collection.page(
            limit=limit,
            before=before,
            newest=bounds["to"],
            oldest=bounds["from"],
            match=lambda rec: all(rec.get(k) == v for k, v in filters.items()),
        )
        view = Workspace.list_view
        return {
            "data": [view(rec) for rec in listing.records],
            "next_cursor": _encode_cursor(listing.last_key, scope) if listing.last_key else None,
            "has_more": listing.has_more,
        }

    def _create_webhook(self, request: Request) -> dict[str, Any]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiProblem(400, "The body must be a JSON object.")
        url, events = body.get("url"), body.get("events")
        schemes = ("https://", "http://") if self.allow_insecure_webhooks else ("https://",)
        if not isinstance(url, str) or not url.startswith(schemes):
            raise ApiProblem(400, "url must be an https:// URL.")
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and e in WEBHOOK_EVENTS for e in events)
        ):
            raise ApiProblem(
                400, f"events must be a non-empty list of: {', '.join(WEBHOOK_EVENTS)}."
            )
        hook_id = make_id("wh_", self.workspace.control_rng)
        hook: dict[str, Any] = {
            "id": hook_id,
            "url": url,
            "events": events,
            "description": body.get("description"),
            "created_at": iso(self.now()),
            "status": "active",
            "secret": "whsec_" + secrets.token_hex(24),
        }
        self.workspace.webhooks[hook_id] = hook
        return {"data": hook}


def _break_paging(kind: str, body: dict[str, Any], cursor: str | None) -> None:
    """Apply a paging fault to a list answer."""
    if kind == "repeat_cursor":
        body["next_cursor"] = cursor or body["next_cursor"]
        body["has_more"] = True
    elif kind == "lost_cursor":
        body["next_cursor"], body["has_more"] = None, True
    elif kind == "drop_has_more":
        del body["has_more"]
    elif kind == "string_has_more":
        body["has_more"] = str(body["has_more"]).lower()


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _public_webhook(hook: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in hook.items() if k != "secret"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def error_response(problem: ApiProblem, headers: dict[str, str]) -> Response:
    return json_response(
        {"error": {"code": problem.code, "message": problem.message}}, problem.status, headers
    )
