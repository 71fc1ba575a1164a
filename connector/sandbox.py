"""What every sandbox server shares: serving, fault injection and request counters.

The sandboxes (Revont now, the CRMs later) are local servers that behave like
the real APIs, for tests, benchmarks, the demo and users trying the connector
without credentials. Each is a WSGI application served by werkzeug in a
background thread on 127.0.0.1; this module holds the parts that do not depend
on which API is imitated:

* :class:`SandboxServer` runs a WSGI app on a loopback port (HTTP/1.1 keep-alive).
* :class:`FaultInjector` makes the next N matching requests fail on purpose:
  an HTTP status, a 429, added latency, a dropped connection or malformed JSON.
  A sandbox may accept only the kinds it can imitate.
* :class:`RequestLog` counts requests by route and status (and, optionally, by a
  more specific name of the same request), and the requests served in each
  rate-limit window.
"""

from __future__ import annotations

import contextlib
import fnmatch
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

FAULT_KINDS = (
    "status",  # answer with `status` (and `message`, if given) in the API's error envelope
    "rate_limit",  # answer 429 as if the quota were spent
    "latency",  # wait `seconds`, then answer normally
    "drop",  # close the connection without answering
    "malformed_json",  # answer 200 with a truncated JSON body
    "repeat_cursor",  # a list page that hands back the cursor it was fetched with
    "lost_cursor",  # a list page that says has_more but gives no cursor
    "drop_has_more",  # a list page without the has_more field
    "string_has_more",  # a list page whose has_more is a string ("false")
)


@dataclass
class FaultRule:
    """Make ``count`` requests matching ``method`` and ``path`` misbehave.

    ``path`` is a glob (``/calls*``) on the path below the API prefix; ``skip``
    matching requests are served normally first; ``count`` None means every
    matching request until the rule is cleared. ``kind`` is one of
    :data:`FAULT_KINDS`. ``after_serving`` makes a ``status`` fault happen after
    the request took effect (a lost answer); ``reset_header_only`` sends only
    the rate-limit reset header with the answer. ``policy`` names which limit a
    ``rate_limit`` fault imitates, for APIs with several (HubSpot's
    ``TEN_SECONDLY_ROLLING``, ``DAILY`` or ``SECONDLY``; Salesforce's
    ``ConcurrentPerOrgLongTxn``); None means the sandbox's usual one. ``code``
    names the API's error code for a ``status`` fault, for APIs whose error bodies
    carry one (Salesforce's ``UNABLE_TO_LOCK_ROW``); None means the sandbox's
    usual code for that status.
    """

    kind: str
    path: str = "*"
    method: str = "*"
    count: int | None = 1
    skip: int = 0
    status: int = 500
    message: str | None = None
    seconds: float = 0.0
    after_serving: bool = False
    reset_header_only: bool = False
    policy: str | None = None
    code: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")

    def matches(self, method: str, path: str) -> bool:
        return fnmatch.fnmatchcase(method, self.method.upper()) and fnmatch.fnmatchcase(
            path, self.path
        )


class FaultInjector:
    """Rules consulted by a sandbox before it serves a request (first match wins).

    ``kinds`` limits the rules to the fault kinds a sandbox can imitate: adding
    another kind raises ``ValueError`` instead of being silently ignored.
    """

    def __init__(self, kinds: tuple[str, ...] | None = None) -> None:
        self.kinds = kinds
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> None:
        if self.kinds is not None and rule.kind not in self.kinds:
            raise ValueError(
                f"this sandbox cannot imitate {rule.kind!r} faults; one of {', '.join(self.kinds)}"
            )
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule that applies to this request, counting it as used."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count <= 0:
                            self._rules.remove(rule)
                    return rule
        return None

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]


class RequestLog:
    """Requests by route template and status, requests served per window, and the
    last ``keep`` requests with their arrival time (status 0: connection dropped).

    A request may also carry a ``detail``: a more specific name for the same
    request, such as its route with the object type filled in
    (``POST /crm/v3/objects/contacts/batch/upsert`` besides
    ``POST /crm/v3/objects/{type}/batch/upsert``). Details are counted apart, so
    :meth:`count` answers for a template or a detail, and totals count each
    request once.
    """

    def __init__(self, keep: int = 10_000) -> None:
        self._lock = threading.Lock()
        self.by_route: Counter[tuple[str, int]] = Counter()
        self.by_detail: Counter[tuple[str, int]] = Counter()
        self.per_window: Counter[float] = Counter()
        self.recent: deque[tuple[float, str, int]] = deque(maxlen=keep)
        self.user_agents: Counter[str] = Counter()

    def record(
        self,
        route: str,
        status: int,
        window_start: float | None = None,
        user_agent: str | None = None,
        detail: str | None = None,
    ) -> None:
        with self._lock:
            self.by_route[(route, status)] += 1
            if detail is not None and detail != route:
                self.by_detail[(detail, status)] += 1
            if user_agent:
                self.user_agents[user_agent] += 1
            self.recent.append((time.time(), route, status))
            if window_start is not None and status != 429:
                self.per_window[window_start] += 1

    def count(self, route: str | None = None, status: int | None = None) -> int:
        """Requests with this route template or detail (any, if None) and status."""
        with self._lock:
            counters = [self.by_route] if route is None else [self.by_route, self.by_detail]
            return sum(
                n
                for counter in counters
                for (r, s), n in counter.items()
                if (route is None or r == route) and (status is None or s == status)
            )

    def reset(self) -> None:
        with self._lock:
            self.by_route.clear()
            self.by_detail.clear()
            self.per_window.clear()
            self.recent.clear()
            self.user_agents.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            routes: dict[str, dict[str, int]] = {}
            for (route, status), n in sorted(self.by_route.items()):
                routes.setdefault(route, {})[str(status)] = n
            details: dict[str, dict[str, int]] = {}
            for (detail, status), n in sorted(self.by_detail.items()):
                details.setdefault(detail, {})[str(status)] = n
            return {
                "total": sum(self.by_route.values()),
                "routes": routes,
                "details": details,
                "windows": [[start, n] for start, n in sorted(self.per_window.items())],
            }


def drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's socket without answering, as a crashed proxy would."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


class _QuietHandler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive, no access log on stderr."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


class SandboxServer:
    """Serve a WSGI application on a loopback port from a background thread.

    ``poll_interval`` is how often the serving loop looks for a stop request:
    ``stop()`` waits up to that long (werkzeug's default, 0.5 s, made every
    test with its own sandbox half a second slower).
    """

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, poll_interval: float = 0.05
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.poll_interval = poll_interval
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> str:
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=self.poll_interval),
            name="sandbox-server",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (for the CLI)."""
        if self._thread is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                time.sleep(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class ServedSandbox:
    """The lifecycle every sandbox shares, over its :class:`SandboxServer` in
    ``self._server``: ``url``, ``start`` (returns the sandbox), ``serve_forever`` (the
    CLI's ``revont-sync sandbox ...``), ``stop``, and use as a context manager."""

    _server: SandboxServer

    @property
    def url(self) -> str:
        """The base URL (no trailing slash)."""
        return self._server.url

    def start(self) -> Self:
        self._server.start()
        return self

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
