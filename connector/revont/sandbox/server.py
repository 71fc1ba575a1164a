"""The Revont sandbox: a local server that behaves like the Revont API.

:class:`RevontSandbox` ties the pieces together: the synthetic
:mod:`workspace`, the :mod:`api` it serves under ``/v1``, the
:mod:`deliveries` of signed webhooks, and control endpoints under
``/_sandbox`` (not rate limited, not authenticated, not counted) that add and
change data, inject faults and read counters. Each control endpoint is also a
method, for in-process use. See ``docs/sandbox.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Self

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.revont.sandbox.api import (
    API_PREFIX,
    DEFAULT_KEYS,
    PLANS,
    READ,
    READ_WRITE,
    ApiProblem,
    FixedWindowLimiter,
    RevontApi,
    error_response,
    json_response,
)
from connector.revont.sandbox.deliveries import WebhookDeliverer
from connector.revont.sandbox.workspace import Event, Workspace
from connector.sandbox import FaultInjector, FaultRule, RequestLog, SandboxServer, ServedSandbox

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


class RevontSandbox(ServedSandbox):
    """The Revont sandbox: data, quota, faults, webhooks and the HTTP server.

    Use as a context manager, or ``start()`` / ``stop()``. ``api_url`` is the
    base URL to give the client (it ends in ``/v1``, like Revont's).

    Data: ``seed``, ``contacts``, ``calls`` and ``anchor`` (the "now" the data
    is generated around). Quota: ``plan`` or ``rate_limit`` requests per
    ``window_seconds``; ``window_offset`` shifts window starts off whole
    seconds and ``round_reset_down`` reports resets rounded down, as a careless
    server might. Details: ``bare_detail`` drops the ``{"data": ...}``
    envelope. Webhooks: ``allow_insecure_webhooks`` accepts ``http://`` URLs;
    ``duplicate_deliveries``, ``drop_deliveries`` (probabilities) and
    ``max_delivery_delay`` (seconds; reorders) make deliveries unreliable.
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
        duplicate_deliveries: float = 0.0,
        drop_deliveries: float = 0.0,
        max_delivery_delay: float = 0.0,
        window_offset: float = 0.0,
        round_reset_down: bool = False,
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
        self.limiter = FixedWindowLimiter(
            rate_limit or PLANS[plan],
            window_seconds,
            clock,
            offset=window_offset,
            round_reset_down=round_reset_down,
        )
        self.faults = FaultInjector()
        self.requests = RequestLog()
        self.api = RevontApi(
            workspace=self.workspace,
            limiter=self.limiter,
            faults=self.faults,
            requests=self.requests,
            keys=self.keys,
            now=self.now,
            bare_detail=bare_detail,
            allow_insecure_webhooks=allow_insecure_webhooks,
        )
        self.webhooks = WebhookDeliverer(
            self._subscribers,
            duplicate=duplicate_deliveries,
            drop=drop_deliveries,
            max_delay=max_delivery_delay,
            seed=seed,
        )
        self._server = SandboxServer(self.wsgi_app, host=host, port=port)

    # -- lifecycle ------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self._server.url + API_PREFIX

    @property
    def read_key(self) -> str:
        return next(k for k, scope in self.keys.items() if scope == READ)

    @property
    def write_key(self) -> str:
        return next(k for k, scope in self.keys.items() if scope == READ_WRITE)

    def start(self) -> Self:
        super().start()
        self.webhooks.start()
        return self

    def stop(self) -> None:
        super().stop()
        self.webhooks.stop()

    # -- control (in-process) ---------------------------------------------------------

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Webhook deliveries so far, each with its status or error and attempts."""
        return self.webhooks.snapshot()

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
                return json_response({"error": str(exc)}, exc.code or 404)
            problem = ApiProblem(exc.code or 404)
            _, headers, _ = self.limiter.take(spend=False)
            route = f"{request.method} (unknown route)"
            self.requests.record(route, problem.status)
            return error_response(problem, headers)
        if endpoint.startswith("control:"):
            return self._control(endpoint.removeprefix("control:"), request, dict(args))
        return self.api.handle(endpoint, request, dict(args), environ)

    def _control(self, action: str, request: Request, args: dict[str, str]) -> Response:
        body = request.get_json(silent=True) or {}
        if not isinstance(body, dict):
            return json_response({"error": "the body must be a JSON object"}, 400)
        item_id = args.get("item_id", "")
        try:
            if action == "add_call":
                count = int(body.pop("count", 1))
                return json_response({"data": [self.add_call(**body) for _ in range(count)]}, 201)
            if action == "update_call":
                return json_response({"data": self.update_call(item_id, **body)})
            if action == "delete_call":
                self.delete_call(item_id)
                return json_response({"data": {"id": item_id, "deleted": True}})
            if action == "summary":
                self.make_summary_ready(item_id, body.get("text"))
                return json_response({"data": {"id": item_id, "summary": "ready"}})
            if action == "add_action_item":
                return json_response({"data": self.add_action_item(item_id, **body)}, 201)
            if action == "complete_action_item":
                return json_response({"data": self.complete_action_item(item_id)})
            if action == "add_contact":
                return json_response({"data": self.add_contact(**body)}, 201)
            if action == "faults":
                if request.method == "POST":
                    self.inject(FaultRule(**body))
                elif request.method == "DELETE":
                    self.faults.clear()
                return json_response({"data": self.faults.describe()})
            if action == "stats":
                if request.method == "DELETE":
                    self.requests.reset()
                return json_response({"data": self.requests.snapshot()})
            if action == "rate_limit":
                if request.method == "PUT":
                    self.set_rate_limit(int(body["limit"]), float(body["window_seconds"]))
                return json_response(
                    {
                        "data": {
                            "limit": self.limiter.limit,
                            "window_seconds": self.limiter.window_seconds,
                        }
                    }
                )
            if action == "deliveries":
                return json_response({"data": self.deliveries})
        except KeyError as exc:
            return json_response({"error": f"not found: {exc.args[0]}"}, 404)
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        except HTTPException as exc:  # pragma: no cover
            return json_response({"error": str(exc)}, exc.code or 500)
        return json_response({"error": f"unknown control action {action}"}, 404)  # pragma: no cover

    def _publish(self, events: list[Event]) -> None:
        self.webhooks.publish(events, self.now())

    def _subscribers(self, event: str) -> list[dict[str, Any]]:
        with self.workspace.lock:
            return [
                dict(hook)
                for hook in self.workspace.webhooks.values()
                if hook["status"] == "active" and event in hook["events"]
            ]
