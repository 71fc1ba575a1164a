"""A local server that behaves like the Revont API (``shared/revont-api.md``).

What it imitates, and how:

* ``/v1/calls``, ``/v1/calls/{id}``, ``/v1/contacts``, ``/v1/contacts/{id}``,
  ``/v1/webhooks`` (list, create, delete) with the documented envelopes and
  ``{"error": {"code", "message"}}`` bodies; newest first by ``created_at``;
  inclusive ``from``/``to``; ``rep_id`` and ``outcome`` filters; 400
  ``invalid_request`` / ``invalid_cursor`` for bad parameters.
* Bearer keys with a ``read`` or ``read_write`` scope (401 and 403 as Revont
  answers them). All keys share one workspace and therefore one quota.
* Fixed rate-limit windows aligned to the epoch: ``X-RateLimit-Limit``,
  ``-Remaining`` and ``-Reset`` (Unix seconds) on every answer, 429
  ``rate_limit_exceeded`` past the limit. Plan and window length are
  configurable, so tests can use one- or two-second windows.
* Cursors are keyset positions (``created_at``, ``id``) bound to the filters
  they were issued for, so they stay correct while calls are inserted.
* Webhook deliveries signed with ``X-Revont-Signature``, sent from a background
  thread, only ever to loopback addresses.

Control endpoints under ``/_sandbox`` (not rate limited, not authenticated, not
counted) add and change data, inject faults and read counters; the same
operations are methods of :class:`RevontSandbox` for in-process use.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import math
import queue
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.revont.models import OUTCOMES, WEBHOOK_EVENTS
from connector.revont.sandbox_data import Event, Workspace, iso, make_id, parse_iso
from connector.revont.signature import SIGNATURE_HEADER, sign_body
from connector.sandbox import FaultInjector, FaultRule, RequestLog, SandboxServer, drop_connection

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

ROUTES = Map(
    [
        Rule(f"{API_PREFIX}/calls", endpoint="GET /calls", methods=["GET"]),
        Rule(f"{API_PREFIX}/calls/<item_id>", endpoint="GET /calls/{id}", methods=["GET"]),
        Rule(f"{API_PREFIX}/contacts", endpoint="GET /contacts", methods=["GET"]),
        Rule(f"{API_PREFIX}/contacts/<item_id>", endpoint="GET /contacts/{id}", methods=["GET"]),
        Rule(f"{API_PREFIX}/webhooks", endpoint="GET /webhooks", methods=["GET"]),
        Rule(f"{API_PREFIX}/webhooks", endpoint="POST /webhooks", methods=["POST"]),
        Rule(
            f"{API_PREFIX}/webhooks/<item_id>", endpoint="DELETE /webhooks/{id}", methods=["DELETE"]
        ),
        Rule("/_sandbox/calls", endpoint="control:add_call", methods=["POST"]),
        Rule("/_sandbox/calls/<item_id>", endpoint="control:update_call", methods=["PATCH"]),
        Rule("/_sandbox/calls/<item_id>", endpoint="control:delete_call", methods=["DELETE"]),
        Rule("/_sandbox/calls/<item_id>/summary", endpoint="control:summary", methods=["POST"]),
        Rule(
            "/_sandbox/calls/<item_id>/action-items",
            endpoint="control:add_action_item",
            methods=["POST"],
        ),
        Rule(
            "/_sandbox/action-items/<item_id>/complete",
            endpoint="control:complete_action_item",
            methods=["POST"],
        ),
        Rule("/_sandbox/contacts", endpoint="control:add_contact", methods=["POST"]),
        Rule("/_sandbox/faults", endpoint="control:faults", methods=["GET", "POST", "DELETE"]),
        Rule("/_sandbox/stats", endpoint="control:stats", methods=["GET", "DELETE"]),
        Rule("/_sandbox/rate-limit", endpoint="control:rate_limit", methods=["GET", "PUT"]),
        Rule("/_sandbox/deliveries", endpoint="control:deliveries", methods=["GET"]),
    ]
)
# The three read scopes need any key; webhook management needs a read-write key.
_WRITE_SCOPE_ROUTES = {"GET /webhooks", "POST /webhooks", "DELETE /webhooks/{id}"}


class ApiProblem(Exception):
    """An error answer in Revont's envelope."""

    def __init__(self, status: int, message: str | None = None, code: str | None = None) -> None:
        default_code, default_message = _ERROR_MESSAGES.get(status, ("internal_error", "Error."))
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        super().__init__(self.message)


class FixedWindowLimiter:
    """Revont's per-workspace quota: ``limit`` requests per window aligned to the epoch."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
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
            start = math.floor(now / self.window_seconds) * self.window_seconds
            if start != self._window_start:
                self._window_start, self._used = start, 0
            allowed = not refuse and self._used < self.limit
            if allowed and spend:
                self._used += 1
            remaining = 0 if refuse else self.limit - self._used
            reset = math.ceil(start + self.window_seconds)
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


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RevontSandbox:
    """The Revont sandbox: data, quota, faults, webhooks and the HTTP server.

    Use as a context manager, or ``start()`` / ``stop()``. ``api_url`` is the
    base URL to give the client (it ends in ``/v1``, like Revont's).
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        contacts: int = 200,
        calls: int = 1000,
        anchor: datetime | None = None,
        plan: str = "professional",
        rate_limit: int | None = None,
        window_seconds: float = 60.0,
        keys: dict[str, str] | None = None,
        bare_detail: bool = False,
        allow_insecure_webhooks: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; one of {', '.join(PLANS)}")
        self.clock = clock
        self.workspace = Workspace(seed=seed, anchor=anchor)
        self.workspace.populate(contacts=contacts, calls=calls)
        self.keys = dict(keys or DEFAULT_KEYS)
        self.limiter = FixedWindowLimiter(rate_limit or PLANS[plan], window_seconds, clock)
        self.faults = FaultInjector()
        self.requests = RequestLog()
        self.bare_detail = bare_detail
        self.allow_insecure_webhooks = allow_insecure_webhooks
        self.deliveries: list[dict[str, Any]] = []
        self._deliveries_lock = threading.Lock()
        self._outbox: queue.Queue[tuple[Event, datetime] | None] = queue.Queue()
        self._delivery_thread: threading.Thread | None = None
        self._server = SandboxServer(self.wsgi_app, host=host, port=port)

    # -- lifecycle ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def api_url(self) -> str:
        return self._server.url + API_PREFIX

    @property
    def read_key(self) -> str:
        return next(k for k, scope in self.keys.items() if scope == READ)

    @property
    def write_key(self) -> str:
        return next(k for k, scope in self.keys.items() if scope == READ_WRITE)

    def start(self) -> RevontSandbox:
        self._server.start()
        self._delivery_thread = threading.Thread(
            target=self._deliver_loop, name="revont-sandbox-webhooks", daemon=True
        )
        self._delivery_thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.stop()
        if self._delivery_thread is not None:
            self._outbox.put(None)
            self._delivery_thread.join(timeout=5)
            self._delivery_thread = None

    def __enter__(self) -> RevontSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control (in-process) ---------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC).replace(microsecond=0)

    def add_call(self, **fields: Any) -> dict[str, Any]:
        """A call that just ended (``created_at`` now unless given); summary pending."""
        call, events = self.workspace.add_call(self.now(), **fields)
        self._publish(events)
        return call

    def add_contact(self, **fields: Any) -> dict[str, Any]:
        return self.workspace.add_contact(self.now(), **fields)

    def make_summary_ready(self, call_id: str, text: str | None = None) -> None:
        self._publish(self.workspace.make_summary_ready(call_id, self.now(), text))

    def add_action_item(self, call_id: str, **fields: Any) -> dict[str, Any]:
        item, events = self.workspace.add_action_item(call_id, self.now(), **fields)
        self._publish(events)
        return item

    def complete_action_item(self, item_id: str) -> dict[str, Any]:
        item, events = self.workspace.complete_action_item(item_id, self.now())
        self._publish(events)
        return item

    def update_call(self, call_id: str, **fields: Any) -> dict[str, Any]:
        return self.workspace.update_call(call_id, **fields)

    def delete_call(self, call_id: str) -> None:
        self.workspace.delete_call(call_id)

    def inject(self, rule: FaultRule) -> None:
        self.faults.add(rule)

    def set_rate_limit(self, limit: int, window_seconds: float) -> None:
        self.limiter.configure(limit, window_seconds)

    # -- HTTP -------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self._dispatch(request, environ)
        return response(environ, start_response)

    def _dispatch(self, request: Request, environ: dict[str, Any]) -> Response:
        adapter = ROUTES.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            if request.path.startswith("/_sandbox"):
                return _json({"error": str(exc)}, exc.code or 404)
            problem = ApiProblem(exc.code or 404)
            _, headers, _ = self.limiter.take(spend=False)
            route = f"{request.method} (unknown route)"
            self.requests.record(route, problem.status)
            return _error(problem, headers)
        if endpoint.startswith("control:"):
            return self._control(endpoint.removeprefix("control:"), request, dict(args))
        return self._api(endpoint, request, dict(args), environ)

    def _api(
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
        refuse = fault is not None and fault.kind == "rate_limit"
        # Unauthenticated requests spend no workspace quota: they have no workspace.
        allowed, headers, window = self.limiter.take(refuse=refuse, spend=scope is not None)
        try:
            if scope is None:
                raise ApiProblem(401)
            if not allowed:
                raise ApiProblem(429)
            if route in _WRITE_SCOPE_ROUTES and scope != READ_WRITE:
                raise ApiProblem(403)
            if fault is not None and fault.kind == "status":
                raise ApiProblem(fault.status, fault.message)
            if fault is not None and fault.kind == "malformed_json":
                self.requests.record(route, 200, window)
                return Response(
                    '{"data": [{"id": "call_',
                    status=200,
                    headers=headers,
                    mimetype="application/json",
                )
            status, body = self._serve(route, request, args)
            if fault is not None and fault.kind == "repeat_cursor" and "next_cursor" in body:
                body["next_cursor"] = request.args.get("cursor") or body["next_cursor"]
                body["has_more"] = True
            if fault is not None and fault.kind == "lost_cursor" and "next_cursor" in body:
                body["next_cursor"], body["has_more"] = None, True
        except ApiProblem as problem:
            self.requests.record(route, problem.status, window if scope else None)
            return _error(problem, headers)
        self.requests.record(route, status, window)
        return _json(body, status, headers)

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
                bounds[name] = iso(parse_iso(value))
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
        hook_id = make_id("wh_", self.workspace.rng)
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

    # -- control over HTTP ---------------------------------------------------------------

    def _control(self, action: str, request: Request, args: dict[str, str]) -> Response:
        body = request.get_json(silent=True) or {}
        if not isinstance(body, dict):
            return _json({"error": "the body must be a JSON object"}, 400)
        item_id = args.get("item_id", "")
        try:
            if action == "add_call":
                count = int(body.pop("count", 1))
                return _json({"data": [self.add_call(**body) for _ in range(count)]}, 201)
            if action == "update_call":
                return _json({"data": self.update_call(item_id, **body)})
            if action == "delete_call":
                self.delete_call(item_id)
                return _json({"data": {"id": item_id, "deleted": True}})
            if action == "summary":
                self.make_summary_ready(item_id, body.get("text"))
                return _json({"data": {"id": item_id, "summary": "ready"}})
            if action == "add_action_item":
                return _json({"data": self.add_action_item(item_id, **body)}, 201)
            if action == "complete_action_item":
                return _json({"data": self.complete_action_item(item_id)})
            if action == "add_contact":
                return _json({"data": self.add_contact(**body)}, 201)
            if action == "faults":
                if request.method == "POST":
                    self.inject(FaultRule(**body))
                elif request.method == "DELETE":
                    self.faults.clear()
                return _json({"data": self.faults.describe()})
            if action == "stats":
                if request.method == "DELETE":
                    self.requests.reset()
                return _json({"data": self.requests.snapshot()})
            if action == "rate_limit":
                if request.method == "PUT":
                    self.set_rate_limit(int(body["limit"]), float(body["window_seconds"]))
                return _json(
                    {
                        "data": {
                            "limit": self.limiter.limit,
                            "window_seconds": self.limiter.window_seconds,
                        }
                    }
                )
            if action == "deliveries":
                with self._deliveries_lock:
                    return _json({"data": list(self.deliveries)})
        except KeyError as exc:
            return _json({"error": f"not found: {exc.args[0]}"}, 404)
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        except HTTPException as exc:  # pragma: no cover
            return _json({"error": str(exc)}, exc.code or 500)
        return _json({"error": f"unknown control action {action}"}, 404)  # pragma: no cover

    # -- webhook deliveries -------------------------------------------------------------

    def _publish(self, events: list[Event]) -> None:
        now = self.now()
        for event in events:
            self._outbox.put((event, now))

    def _deliver_loop(self) -> None:
        session = requests.Session()
        while True:
            item = self._outbox.get()
            if item is None:
                return
            event, when = item
            with self.workspace.lock:
                hooks = [
                    dict(h)
                    for h in self.workspace.webhooks.values()
                    if h["status"] == "active" and event.name in h["events"]
                ]
            body = json.dumps(event.payload(when)).encode()
            for hook in hooks:
                self._deliver(session, hook, event, body)

    def _deliver(
        self, session: requests.Session, hook: dict[str, Any], event: Event, body: bytes
    ) -> None:
        record: dict[str, Any] = {
            "webhook_id": hook["id"],
            "event": event.name,
            "call_id": event.call["id"],
            "attempts": 0,
            "status": None,
            "error": None,
        }
        if not _is_loopback(hook["url"]):
            record["error"] = "not delivered: the sandbox only delivers to loopback addresses"
        else:
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign_body(hook["secret"], body),
            }
            for attempt in range(1, 4):
                record["attempts"] = attempt
                try:
                    answer = session.post(hook["url"], data=body, headers=headers, timeout=5)
                    record["status"], record["error"] = answer.status_code, None
                    if answer.status_code < 500:
                        break
                except requests.RequestException as exc:
                    record["error"] = type(exc).__name__
                time.sleep(0.2 * attempt)
        with self._deliveries_lock:
            self.deliveries.append(record)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _public_webhook(hook: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in hook.items() if k != "secret"}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def _error(problem: ApiProblem, headers: dict[str, str]) -> Response:
    return _json(
        {"error": {"code": problem.code, "message": problem.message}}, problem.status, headers
    )
