"""The Salesforce sandbox: a local server the real ``simple-salesforce`` can talk to.

:class:`SalesforceSandbox` ties the pieces together: the :mod:`org` data, the
:mod:`routes` it serves (REST, SOQL, sObject Collections, Bulk API 2.0, OAuth
and SOAP login), sessions, the org's API allowance (:mod:`limits`), fault
injection and the request log from :mod:`connector.sandbox`. Control endpoints
under ``/_sandbox`` (no session, not metered, not counted) do what the Python
methods do, for the command line. See ``docs/sandbox.md``.

simple-salesforce always speaks ``https://`` to ``login.salesforce.com`` and to
the org's ``instance_url``; build it with
``adapters.salesforce.session.build_session(sandbox_url=sf.url)``, whose
transport sends all of that here, path and query kept.

Fault rules match the request path without a trailing slash
(``/services/data/v62.0/query``, ``/services/data/*/composite/sobjects/Task/*``).

The order of checks for an API request: an injected ``drop`` or ``latency``;
the API version (404); the session (401); the allowance (403, or an injected
``rate_limit``); an injected ``status``; then the request itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from adapters.salesforce.sandbox.auth import Authenticator, Credentials, KeyPair, Sessions
from adapters.salesforce.sandbox.context import Answer, ApiRequest
from adapters.salesforce.sandbox.control import serve_control
from adapters.salesforce.sandbox.ingest import BulkJobs
from adapters.salesforce.sandbox.limits import OrgLimits
from adapters.salesforce.sandbox.org import Org
from adapters.salesforce.sandbox.problems import (
    OAuthProblem,
    SalesforceProblem,
    injected,
    injected_oauth,
    invalid_session,
    limit_exceeded,
    not_found,
    problem,
)
from adapters.salesforce.sandbox.query import QueryCursors
from adapters.salesforce.sandbox.routes import ROUTES, URL_MAP, Route, detail_name
from connector.quota import Clock, SystemClock
from connector.sandbox import (
    FaultInjector,
    FaultRule,
    RequestLog,
    SandboxServer,
    ServedSandbox,
    drop_connection,
)

#: The fault kinds the Salesforce sandbox imitates (paging faults are Revont's).
FAULT_KINDS = ("status", "rate_limit", "latency", "drop", "malformed_json")
DEFAULT_INSTANCE_URL = "https://revont-sandbox.my.salesforce.com"
DEFAULT_PASSWORD = "sandbox-password"  # noqa: S105 - published sandbox credentials
DEFAULT_SECURITY_TOKEN = "sandbox-security-token"  # noqa: S105
_JSON = "application/json;charset=UTF-8"


class SalesforceSandbox(ServedSandbox):
    """A Salesforce org on a loopback port: data, logins, limits, faults, counters.

    Use as a context manager or ``start()`` / ``stop()``; build simple-salesforce
    with ``session=build_session(..., sandbox_url=sf.url)`` and either
    ``instance_url=sf.instance_url, session_id=sf.access_token`` or one of the
    logins (JWT with ``privatekey=sf.private_key_pem``, client credentials,
    password).

    Org: ``api_version`` (the newest it serves), ``daily_limit`` (API requests
    per rolling 24 h), ``with_custom_fields`` (the ``Revont_*__c`` external ids),
    ``session_ttl_seconds`` (idle time before a session expires), ``clock`` (a
    :class:`connector.quota.Clock`: record times, session expiry, the rolling
    allowance, Bulk processing), ``seed`` (ids, tokens, the order of Bulk
    results), ``query_batch_size`` (records per query page) and
    ``bulk_delay_seconds`` (how long a closed Bulk job stays in progress).
    """

    def __init__(
        self,
        *,
        api_version: str = "62.0",
        daily_limit: int = 15_000,
        with_custom_fields: bool = True,
        session_ttl_seconds: float = 7200,
        clock: Clock | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        consumer_key: str = "sandbox-consumer-key",
        consumer_secret: str = "sandbox-consumer-secret",  # noqa: S107 - a published sandbox secret
        username: str = "integration@revont-sync.example",
        password: str = DEFAULT_PASSWORD,
        security_token: str = DEFAULT_SECURITY_TOKEN,
        instance_url: str = DEFAULT_INSTANCE_URL,
        query_batch_size: int = 2000,
        bulk_delay_seconds: float = 2.0,
        bulk_batch_limit: int = 15_000,
    ) -> None:
        if not instance_url.startswith("https://"):
            raise ValueError("instance_url must be https:// (simple-salesforce builds https URLs)")
        self.api_version = f"{float(api_version):.1f}"
        self.clock = clock or SystemClock()
        self.instance_url = instance_url.rstrip("/")
        self.query_batch_size = query_batch_size
        self.org = Org(
            clock=self.clock, seed=seed, with_custom_fields=with_custom_fields, username=username
        )
        self.credentials = Credentials(
            username, password, security_token, consumer_key, consumer_secret
        )
        self.keys = KeyPair()
        self.sessions = Sessions(
            org_id=self.org.org_id, ttl_seconds=session_ttl_seconds, clock=self.clock, seed=seed
        )
        self.auth = Authenticator(
            org=self.org,
            sessions=self.sessions,
            credentials=self.credentials,
            keys=self.keys,
            instance_url=self.instance_url,
            clock=self.clock,
        )
        self.limits = OrgLimits(
            daily_limit=daily_limit, bulk_batches=bulk_batch_limit, clock=self.clock
        )
        self.cursors = QueryCursors(self.clock, seed)
        self.bulk = BulkJobs(
            org=self.org,
            limits=self.limits,
            clock=self.clock,
            delay_seconds=bulk_delay_seconds,
            seed=seed,
        )
        self.faults = FaultInjector(kinds=FAULT_KINDS)
        self.log = RequestLog()
        self.access_token = self.sessions.issue(self.org.user_id)
        self._server = SandboxServer(self.wsgi_app, host=host, port=port)

    # -- control (in-process) --------------------------------------------------------------

    @property
    def private_key_pem(self) -> str:
        """The private key of the connected app's certificate (PKCS#8 PEM), for JWT login."""
        return self.keys.private_pem

    @property
    def public_key(self) -> str:
        """The public key JWT assertions are verified with (PEM)."""
        return self.keys.public_pem

    @property
    def username(self) -> str:
        return self.credentials.username

    @property
    def consumer_key(self) -> str:
        return self.credentials.consumer_key

    @property
    def consumer_secret(self) -> str:
        return self.credentials.consumer_secret

    def issue_access_token(self) -> str:
        """A fresh session for the integration user (also kept as ``access_token``)."""
        self.access_token = self.sessions.issue(self.org.user_id)
        return self.access_token

    def expire_sessions(self) -> None:
        """Every session issued so far becomes invalid (401 ``INVALID_SESSION_ID``)."""
        self.sessions.expire_all()

    def set_api_usage(self, *, used: int, limit: int | None = None) -> None:
        """Pretend ``used`` API requests were made in the last 24 hours (and the limit)."""
        self.limits.requests.set_usage(used, limit)

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
        except MethodNotAllowed as exc:
            allowed = ",".join(sorted(exc.valid_methods or []))
            self.log.record(f"{request.method} (unknown route)", 405)
            failure = problem(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}",
            )
            return _json(failure.body, 405, {})
        except NotFound:
            self.log.record(f"{request.method} (unknown route)", 404)
            return _json(not_found().body, 404, {})
        return self._serve(ROUTES[endpoint], request, dict(args), environ)

    def _serve(
        self, route: Route, request: Request, args: dict[str, str], environ: dict[str, Any]
    ) -> Response:
        fault = self.faults.take(request.method, request.path.rstrip("/") or "/")
        kind = fault.kind if fault is not None else None
        if fault is not None and kind == "drop":
            self.log.record(route.template, 0)
            drop_connection(environ)
            return Response(b"", status=200)
        if fault is not None and kind == "latency":
            time.sleep(fault.seconds)
        version = args.get("version", self.api_version)
        api = ApiRequest(request, args, version, "", self)
        headers: dict[str, str] = {}
        agent = request.user_agent.string
        try:
            answer = self._answer(route, api, fault, headers)
        except SalesforceProblem as failure:
            answer = failure.status, failure.body
        except OAuthProblem as failure:
            answer = failure.status, failure.body
        detail = detail_name(route.template, args, self.org, api.detail)
        if isinstance(answer, Response):
            response = answer
            response.headers.update(headers)
        elif kind == "malformed_json" and answer[0] < 300:
            response = Response('[{"attributes":{"type":"', 200, headers, content_type=_JSON)
        else:
            response = _json(answer[1], answer[0], headers)
        self.log.record(route.template, response.status_code, user_agent=agent, detail=detail)
        return response

    def _answer(
        self, route: Route, api: ApiRequest, fault: FaultRule | None, headers: dict[str, str]
    ) -> Answer:
        kind = fault.kind if fault is not None else None
        if route.family in ("data", "soap") and not self._serves(api.version):
            raise not_found()
        if route.auth:
            user_id = self.sessions.check(_bearer(api.request))
            if user_id is None:
                raise invalid_session()
            api.user_id = user_id
        if route.metered:
            verdict = self.limits.take(forced=kind == "rate_limit")
            headers.update(verdict.headers)
            if verdict.refused:
                raise limit_exceeded(fault.policy if fault is not None else None)
        if fault is not None and kind == "status" and not fault.after_serving:
            raise self._injected(route, fault)
        answer = route.handler(api)
        if fault is not None and kind == "status":  # after_serving: the answer is lost
            raise self._injected(route, fault)
        return answer

    @staticmethod
    def _injected(route: Route, fault: FaultRule) -> Exception:
        if route.family == "oauth":
            return injected_oauth(fault.status, fault.message)
        return injected(fault.status, fault.code, fault.message)

    def _serves(self, version: str) -> bool:
        try:
            wanted = float(version)
        except ValueError:
            return False
        return 31.0 <= wanted <= float(self.api_version) and wanted.is_integer()


def _json(body: Any, status: int, headers: dict[str, str]) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, headers=headers, content_type=_JSON
    )


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") and token.strip() else None
