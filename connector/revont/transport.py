"""The wire to Revont: the only code that sends HTTP requests to it.

Every request goes through :meth:`RevontTransport.request`, which

1. waits for the :class:`~connector.quota.WindowPacer` (proactive pacing from
   the ``X-RateLimit-*`` headers of earlier answers, with a reserve),
2. sends with explicit connect and read timeouts, on a session of its own (so
   the API key is only ever sent to ``base_url``),
3. feeds the answer's rate-limit headers back to the pacer,
4. translates failures into :mod:`connector.errors`: the one place that does,
5. retries, with tenacity: 429s always (the pacer waits out the reset); 5xx,
   dropped connections, timeouts and unusable bodies only for idempotent
   requests, with exponential backoff and jitter, a bounded number of times.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from connector import __version__
from connector.errors import (
    ApiError,
    CredentialsError,
    InvalidCursorError,
    InvalidResponseError,
    NotFoundError,
    RateLimitedError,
    RequestError,
    RetryableError,
    TransientError,
)
from connector.quota import Clock, SystemClock, WindowPacer

log = logging.getLogger(__name__)

SERVICE = "revont"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})

#: Checks a parsed 2xx body inside the retry loop; raises InvalidResponseError if unusable.
BodyCheck = Callable[[Any], str | None]


@dataclass
class RequestStats:
    """Requests sent, by route template and outcome (a status, ``timeout`` or ``error``)."""

    by_route: Counter[tuple[str, str]] = field(default_factory=Counter)
    retries: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_route.values())

    def count(self, route: str | None = None, status: str | None = None) -> int:
        return sum(
            n
            for (r, s), n in self.by_route.items()
            if (route is None or r == route) and (status is None or s == status)
        )


class RevontTransport:
    """Paced, retried, translated HTTP to one Revont base URL."""

    def __init__(
        self,
        api_key: SecretStr,
        *,
        base_url: str,
        connect_timeout: float,
        read_timeout: float,
        max_attempts: int,
        backoff_initial: float,
        backoff_max: float,
        clock: Clock | None = None,
        pacer: WindowPacer | None = None,
    ) -> None:
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.clock = clock or SystemClock()
        self.pacer = pacer or WindowPacer(SERVICE, clock=self.clock)
        self.stats = RequestStats()
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial
        )
        self._session = requests.Session()
        # Retries are ours (with pacing and idempotency rules), never urllib3's.
        adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=8)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {
                "Authorization": f"Bearer {api_key.get_secret_value()}",
                "User-Agent": f"revont-sync/{__version__}",
                "Accept": "application/json",
            }
        )

    def close(self) -> None:
        self._session.close()

    def request(
        self,
        method: str,
        route: str,
        *,
        path_params: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        check: BodyCheck | None = None,
    ) -> Any:
        """Send one logical request with pacing and retries; return the parsed JSON body.

        ``route`` is the path template (``/calls/{id}``), used in counters and
        errors. ``check`` inspects a 2xx body; what it returns (a reason) makes
        the answer an :class:`InvalidResponseError`, retried like a 5xx.
        """
        path = route.format(**{k: quote(v, safe="") for k, v in (path_params or {}).items()})
        idempotent = method in IDEMPOTENT_METHODS
        attempts = 0

        def should_retry(exc: BaseException) -> bool:
            # A 429 was refused before any work: always safe to send again.
            if isinstance(exc, RateLimitedError):
                return True
            return idempotent and isinstance(exc, TransientError)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RateLimitedError):
                return 0.0  # the pacer sleeps until the window resets
            return float(self._backoff(state))

        def before_sleep(state: RetryCallState) -> None:
            self.stats.retries += 1
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s (attempt %d of %d); retrying", exc, attempts, self.max_attempts)

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=retry_if_exception(should_retry),
            sleep=self.clock.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    return self._send_once(method, route, path, params, json, check)
        except RetryableError as exc:
            exc.attempts = attempts
            raise
        except NotFoundError:
            # A retried DELETE that finds the object gone: an earlier attempt,
            # whose answer was lost, deleted it.
            if method == "DELETE" and attempts > 1:
                return None
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(
        self,
        method: str,
        route: str,
        path: str,
        params: dict[str, Any] | None,
        json: Any,
        check: BodyCheck | None,
    ) -> Any:
        self.pacer.acquire()
        where: dict[str, Any] = {"service": SERVICE, "method": method, "path": path}
        counter = f"{method} {route}"
        try:
            response = self._session.request(
                method, self.base_url + path, params=params, json=json, timeout=self.timeout
            )
        except requests.ConnectTimeout as exc:
            self.stats.by_route[(counter, "timeout")] += 1
            raise TransientError(
                f"could not connect within {self.timeout[0]:g} s", **where
            ) from exc
        except requests.Timeout as exc:
            self.stats.by_route[(counter, "timeout")] += 1
            raise TransientError(f"no answer within {self.timeout[1]:g} s", **where) from exc
        except requests.RequestException as exc:
            self.stats.by_route[(counter, "error")] += 1
            raise TransientError(f"connection failed ({type(exc).__name__})", **where) from exc
        self.stats.by_route[(counter, str(response.status_code))] += 1
        self._observe_rate_limit(response)
        if response.status_code >= 400:
            raise self._translate(response, route, where)
        if response.status_code == 204 or not response.content:
            return None
        try:
            body = response.json()
        except ValueError as exc:
            raise InvalidResponseError(
                "malformed JSON in the answer", status=response.status_code, **where
            ) from exc
        problem = check(body) if check else None
        if problem:
            raise InvalidResponseError(problem, status=response.status_code, **where)
        return body

    def _observe_rate_limit(self, response: requests.Response) -> None:
        """Feed the pacer; every 429 is recorded, whatever headers came with it."""
        headers = response.headers
        limit = _int_header(headers, "X-RateLimit-Limit")
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        reset_at = _float_header(headers, "X-RateLimit-Reset")
        server_time = None
        if "Date" in headers:
            try:
                server_time = parsedate_to_datetime(headers["Date"]).timestamp()
            except (TypeError, ValueError):
                server_time = None
        if response.status_code == 429:
            self.pacer.observe_rate_limited(reset_at, limit=limit, server_time=server_time)
        elif limit is not None and remaining is not None and reset_at is not None:
            self.pacer.observe(limit, remaining, reset_at, server_time=server_time)

    def _translate(
        self, response: requests.Response, route: str, where: dict[str, Any]
    ) -> ApiError:
        code, message = self._error_body(response)
        status = response.status_code
        kw: dict[str, Any] = {**where, "status": status, "code": code}
        if status == 401:
            return CredentialsError(
                f"{message} Check REVONT_API_KEY (or revont.api_key_file).", **kw
            )
        if status == 403:
            return CredentialsError(
                f"{message} The key lacks the scope for this request "
                "(managing webhooks needs a read-write key).",
                **kw,
            )
        if status == 404:
            if "{id}" not in route:
                # A list route is never "gone": the base URL is wrong.
                return RequestError(
                    f"{message} No such endpoint at {self.base_url}: check revont.base_url "
                    "(it normally ends in /v1).",
                    **kw,
                )
            return NotFoundError(message, **kw)
        if status == 429:
            return RateLimitedError(
                message, retry_at=_float_header(response.headers, "X-RateLimit-Reset"), **kw
            )
        if status == 400 and code == "invalid_cursor":
            return InvalidCursorError(message, **kw)
        if status in (408, 425) or status >= 500:
            return TransientError(message, **kw)
        return RequestError(message, **kw)

    def _error_body(self, response: requests.Response) -> tuple[str | None, str]:
        """Revont's ``{"error": {"code", "message"}}``, tolerant of other bodies."""
        code: str | None = None
        message = response.reason or "error"
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            err = body["error"]
            code = str(err["code"]) if err.get("code") is not None else None
            message = str(err.get("message") or message)
        elif response.text:
            message = response.text[:200].strip() or message
        return code, self._scrub(message)

    def _scrub(self, text: str) -> str:
        """Never let a server's echo of our key reach an exception or a log line."""
        secret = self._key.get_secret_value()
        return text.replace(secret, "[redacted]") if secret else text


def _int_header(headers: Any, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError, TypeError):
        return None


def _float_header(headers: Any, name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError, TypeError):
        return None
