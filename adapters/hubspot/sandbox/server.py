"""The HubSpot sandbox: a local server the real ``hubspot-api-client`` SDK can talk to.

:class:`HubSpotSandbox` ties the pieces together: the :mod:`portal` data, the
:mod:`routes` it serves (objects, properties, owners, associations), bearer
tokens with scopes, the :mod:`limits` (and their headers), fault injection and
the request log from :mod:`connector.sandbox`. Control endpoints under
``/_sandbox`` (no token, no limits, not counted) do what the Python methods do,
for the command line. See ``docs/sandbox.md``.

The order of checks for an API request: an injected ``drop`` or ``latency``;
the token (401); the limits (429, or an injected ``rate_limit``); the object
types in the path (400) and the token's scopes (403); an injected ``status``;
then the request itself.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from adapters.hubspot.sandbox.context import ApiRequest
from adapters.hubspot.sandbox.control import serve_control
from adapters.hubspot.sandbox.limits import PortalLimits
from adapters.hubspot.sandbox.portal import Portal
from adapters.hubspot.sandbox.problems import (
    HubSpotProblem,
    correlation_id,
    injected,
    missing_scopes,
    problem,
    rate_limited,
    unauthenticated,
)
from adapters.hubspot.sandbox.routes import ROUTES, URL_MAP, Route, detail_name, fault_path
from adapters.hubspot.sandbox.schema import ALL_SCOPES
from connector.quota import Clock, SystemClock
from connector.sandbox import (
    FaultInjector,
    FaultRule,
    RequestLog,
    SandboxServer,
    ServedSandbox,
    drop_connection,
)

#: The fault kinds the HubSpot sandbox imitates (paging faults are Revont's).
FAULT_KINDS = ("status", "rate_limit", "latency", "drop", "malformed_json")
DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - a published sandbox token, not a secret


def json_response(body: Any, status: int, headers: dict[str, str]) -> Response:
    if status == 204:
        return Response(b"", status=204, headers=headers)
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=headers,
        content_type="application/json;charset=utf-8",
    )


class HubSpotSandbox(ServedSandbox):
    """A HubSpot portal on a loopback port: data, tokens, limits, faults, counters.

    Use as a context manager or ``start()`` / ``stop()``; point the SDK at
    ``url`` with ``HubSpot(access_token=token, host=url)``.

    Limits: ``ten_second_limit`` requests per rolling ``interval_ms``,
    ``daily_limit`` per day in ``time_zone``, ``search_per_second`` searches.
    Data: ``seed`` (ids, owners, the order of batch results), ``clock`` (record
    times and limit windows; a :class:`connector.quota.Clock`),
    ``search_lag_seconds`` (how long a write takes to reach search), and
    ``shuffle_results`` (batch results out of input order, as HubSpot's are).
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        ten_second_limit: int = 190,
        interval_ms: int = 10_000,
        daily_limit: int = 1_000_000,
        clock: Clock | None = None,
        seed: int = 0,
        search_lag_seconds: float = 0.0,
        shuffle_results: bool = True,
        search_per_second: int = 5,
        time_zone: str = "UTC",
        portal_id: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.clock = clock or SystemClock()
        self.token = token
        self.portal = Portal(
            clock=self.clock, seed=seed, search_lag_seconds=search_lag_seconds, portal_id=portal_id
        )
        self.limits = PortalLimits(
            ten_second_limit=ten_second_limit,
            interval_ms=interval_ms,
            daily_limit=daily_limit,
            search_per_second=search_per_second,
            time_zone=time_zone,
            clock=self.clock,
        )
        self.faults = FaultInjector(kinds=FAULT_KINDS)
        self.log = RequestLog()
        self.shuffle_results = shuffle_results
        self.tokens: dict[str, frozenset[str]] = {token: ALL_SCOPES}
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self.app_id = 1_000_000 + self._rng.randrange(8_000_000)
        self._server = SandboxServer(self.wsgi_app, host=host, port=port)

    # -- control (in-process) --------------------------------------------------------------

    def add_token(self, token: str, scopes: Iterable[str] | None = None) -> None:
        """Another private-app token for this portal, with ``scopes`` (all if None)."""
        self.tokens[token] = ALL_SCOPES if scopes is None else frozenset(scopes)

    def set_daily_remaining(self, remaining: int) -> None:
        """Pretend the portal has ``remaining`` requests left today."""
        self.limits.set_daily_remaining(remaining)

    def set_rate_limit(
        self,
        *,
        ten_second_limit: int | None = None,
        interval_ms: int | None = None,
        daily_limit: int | None = None,
        search_per_second: int | None = None,
    ) -> None:
        self.limits.configure(
            ten_second_limit=ten_second_limit,
            interval_ms=interval_ms,
            daily_limit=daily_limit,
            search_per_second=search_per_second,
        )

    def inject(self, rule: FaultRule) -> None:
        self.faults.add(rule)

    # -- HTTP -------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        if request.path.startswith("/_sandbox"):
            response = serve_control(self, request)
        else:
            response = self._dispatch(request, environ)
        return response(environ, start_response)

    def _dispatch(self, request: Request, environ: dict[str, Any]) -> Response:
        urls = URL_MAP.bind_to_environ(environ)
        try:
            endpoint, args = urls.match()
        except (NotFound, MethodNotAllowed) as exc:
            status = exc.code or 404
            self.log.record(f"{request.method} (unknown route)", status)
            verdict = self.limits.take(search=False, spend=False)
            category = "OBJECT_NOT_FOUND" if status == 404 else "VALIDATION_ERROR"
            failure = problem(status, category, f"No route for {request.method} {request.path}")
            return json_response(failure.body, status, self._headers(verdict.headers, failure.body))
        return self._serve(ROUTES[endpoint], request, dict(args), environ)

    def _serve(
        self, route: Route, request: Request, args: dict[str, str], environ: dict[str, Any]
    ) -> Response:
        template = route.template
        detail = detail_name(template, args)
        fault = self.faults.take(request.method, fault_path(template, args))
        kind = fault.kind if fault is not None else None
        if fault is not None and kind == "drop":
            self.log.record(template, 0, detail=detail)
            drop_connection(environ)
            return Response(b"", status=200)
        if fault is not None and kind == "latency":
            time.sleep(fault.seconds)
        scopes = self.tokens.get(_bearer(request) or "")
        forced = None
        if fault is not None and kind == "rate_limit":
            forced = fault.policy or ("SECONDLY" if route.search else "TEN_SECONDLY_ROLLING")
        verdict = self.limits.take(search=route.search, spend=scopes is not None, forced=forced)
        headers = dict(verdict.headers)
        agent = request.user_agent.string
        try:
            if scopes is None:
                raise unauthenticated()
            if verdict.refused_by is not None:
                raise rate_limited(verdict.refused_by, self._group(verdict.refused_by))
            needed = route.scopes(args)
            if not set(needed) <= scopes:
                raise missing_scopes(needed)
            if fault is not None and kind == "status" and not fault.after_serving:
                raise injected(fault.status, fault.message, needed)
            if kind == "malformed_json":
                self.log.record(template, 200, user_agent=agent, detail=detail)
                body = '{"status":"COMPLETE","results":[{"id":"'
                return Response(body, 200, self._headers(headers), content_type="application/json")
            api = ApiRequest(request, args, self.portal, self._rng, self.shuffle_results)
            with self.portal.lock, self._rng_lock:
                status, body = route.handler(api)
            if fault is not None and kind == "status":  # after_serving: the answer is lost
                raise injected(fault.status, fault.message, needed)
        except HubSpotProblem as failure:
            self.log.record(template, failure.status, user_agent=agent, detail=detail)
            return json_response(failure.body, failure.status, self._headers(headers, failure.body))
        self.log.record(template, status, user_agent=agent, detail=detail)
        return json_response(body, status, self._headers(headers))

    def _group(self, policy: str) -> str:
        kind = "daily" if policy == "DAILY" else "ten-secondly"
        return f"publicapi:private_app-api-calls-{kind}:{self.app_id}:{self.portal.portal_id}"

    @staticmethod
    def _headers(limits: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, str]:
        cid = (
            str(body.get("correlationId"))
            if body and body.get("correlationId")
            else correlation_id()
        )
        return {**limits, "X-HubSpot-Correlation-Id": cid}


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
