"""The Revont REST client: the only code that speaks HTTP to Revont.

Every request goes through :meth:`RevontClient._request`, which

1. waits for the :class:`~connector.quota.WindowPacer` (proactive pacing from
   the ``X-RateLimit-*`` headers of earlier answers, with a reserve),
2. sends with explicit connect and read timeouts,
3. feeds the answer's rate-limit headers back to the pacer,
4. translates failures into :mod:`connector.errors` (the one place that does),
5. retries, with tenacity: 429s always (the pacer waits out the reset);
   5xx, dropped connections, timeouts and malformed bodies only for idempotent
   requests, with exponential backoff and jitter, a bounded number of times.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from pydantic import BaseModel, SecretStr, ValidationError
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
    NotFoundError,
    RateLimitedError,
    RequestError,
    RetryableError,
    TransientError,
)
from connector.quota import Clock, SystemClock, WindowPacer
from connector.revont.models import (
    OUTCOMES,
    Call,
    CallDetail,
    Contact,
    CreatedWebhook,
    Webhook,
    format_time,
)
from connector.revont.pagination import Page, describe_validation_error, iter_pages

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

DEFAULT_BASE_URL = "https://api.revont.ai/v1"
MAX_PAGE_SIZE = 100
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass
class RequestStats:
    """Requests this client sent, by route template and final status (``"error"`` if none)."""

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


class RevontClient:
    """A typed client for the Revont API.

    ``clock`` provides time and sleep to the pacer and the retry policy, so tests
    can run without waiting. ``pacer`` may be shared by several clients of one
    workspace (the quota is per workspace).
    """

    service = "revont"

    def __init__(
        self,
        api_key: SecretStr | str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        page_size: int = MAX_PAGE_SIZE,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        clock: Clock | None = None,
        pacer: WindowPacer | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self._key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.clock = clock or SystemClock()
        self.pacer = pacer or WindowPacer(self.service, clock=self.clock)
        self.stats = RequestStats()
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial
        )
        self._session = session or requests.Session()
        # Retries are ours (with pacing and idempotency rules), never urllib3's.
        adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=8)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {
                "Authorization": f"Bearer {self._key.get_secret_value()}",
                "User-Agent": f"revont-sync/{__version__}",
                "Accept": "application/json",
            }
        )

    # -- lifecycle --------------------------------------------------------------

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> RevontClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls ------------------------------------------------------------------

    def iter_call_pages(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        rep_id: str | None = None,
        outcome: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Page[Call]]:
        """Pages of ``GET /calls``, newest first; ``since``/``until`` are inclusive."""
        if outcome is not None and outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        filters = {"from": since, "to": until, "rep_id": rep_id, "outcome": outcome}
        return self._iter_pages("/calls", Call, filters, cursor, limit)

    def get_call(self, call_id: str) -> CallDetail:
        """``GET /calls/{id}``: the call with transcript, summary and action items."""
        return self._get_one("/calls/{id}", call_id, CallDetail)

    # -- contacts ---------------------------------------------------------------

    def iter_contact_pages(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Page[Contact]]:
        """Pages of ``GET /contacts``, newest first; ``since``/``until`` are inclusive."""
        return self._iter_pages("/contacts", Contact, {"from": since, "to": until}, cursor, limit)

    def get_contact(self, contact_id: str) -> Contact:
        return self._get_one("/contacts/{id}", contact_id, Contact)

    # -- webhooks (read-write key) ----------------------------------------------

    def list_webhooks(self) -> list[Webhook]:
        """All webhooks; follows paging too, in case Revont adds it."""
        hooks: list[Webhook] = []
        for page in self._iter_pages("/webhooks", Webhook, {}, None, None, paged=False):
            hooks.extend(page.items)
        return hooks

    def create_webhook(
        self, url: str, events: list[str], description: str | None = None
    ) -> CreatedWebhook:
        """``POST /webhooks``. The answer holds the signing secret, shown only this once.

        Not retried after a dropped connection or 5xx: the webhook may exist.
        """
        body: dict[str, Any] = {"url": url, "events": events}
        if description is not None:
            body["description"] = description
        data = self._request("POST", "/webhooks", json=body)
        return self._parse_one(data, CreatedWebhook, "POST /webhooks")

    def delete_webhook(self, webhook_id: str) -> None:
        self._request("DELETE", "/webhooks/{id}", path_params={"id": webhook_id})

    # -- plumbing ---------------------------------------------------------------

    def _iter_pages(
        self,
        path: str,
        model: type[Any],
        filters: dict[str, Any],
        cursor: str | None,
        limit: int | None,
        *,
        paged: bool = True,
    ) -> Iterator[Page[Any]]:
        params: dict[str, Any] = {}
        if paged:
            params["limit"] = limit or self.page_size
        for key, value in filters.items():
            if value is not None:
                params[key] = format_time(value) if key in ("from", "to") else value

        def fetch(page_cursor: str | None) -> Any:
            query = dict(params)
            if page_cursor is not None:
                query["cursor"] = page_cursor
            return self._request("GET", path, params=query)

        return iter_pages(fetch, model, endpoint=f"GET {path}", cursor=cursor)

    def _get_one(self, route: str, object_id: str, model: type[M]) -> M:
        data = self._request("GET", route, path_params={"id": object_id})
        return self._parse_one(data, model, f"GET {route}")

    def _parse_one(self, data: Any, model: type[M], route: str) -> M:
        # The detail envelope may be {"data": {...}} or the bare object.
        if isinstance(data, dict) and isinstance(data.get("data"), dict) and "id" not in data:
            data = data["data"]
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            method, _, path = route.partition(" ")
            raise RequestError(
                f"the answer does not describe a valid {model.__name__}: "
                f"{describe_validation_error(exc)}",
                service=self.service,
                method=method,
                path=path,
            ) from exc

    def _request(
        self,
        method: str,
        route: str,
        *,
        path_params: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one logical request with pacing and retries; return the parsed JSON body."""
        path = route.format(**{k: quote(v, safe="") for k, v in (path_params or {}).items()})
        idempotent = method in IDEMPOTENT_METHODS

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
            log.warning(
                "%s (attempt %d of %d); retrying",
                exc,
                state.attempt_number,
                self.max_attempts,
            )

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=retry_if_exception(should_retry),
            sleep=self.clock.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    return self._send_once(method, route, path, params, json)
        except RetryableError as exc:
            exc.attempts = attempts
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(
        self, method: str, route: str, path: str, params: dict[str, Any] | None, json: Any
    ) -> Any:
        self.pacer.acquire()
        try:
            response = self._session.request(
                method, self.base_url + path, params=params, json=json, timeout=self.timeout
            )
        except requests.Timeout as exc:
            self.stats.by_route[(f"{method} {route}", "timeout")] += 1
            raise TransientError(
                f"no answer within {self.timeout[1]:g} s ({type(exc).__name__})",
                service=self.service,
                method=method,
                path=path,
            ) from exc
        except requests.RequestException as exc:
            self.stats.by_route[(f"{method} {route}", "error")] += 1
            raise TransientError(
                f"connection failed ({type(exc).__name__})",
                service=self.service,
                method=method,
                path=path,
            ) from exc
        self.stats.by_route[(f"{method} {route}", str(response.status_code))] += 1
        self._observe_rate_limit(response)
        if response.status_code >= 400:
            raise self._translate(response, method, path)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError(
                f"malformed JSON in a {response.status_code} answer",
                service=self.service,
                method=method,
                path=path,
                status=response.status_code,
            ) from exc

    def _observe_rate_limit(self, response: requests.Response) -> None:
        headers = response.headers
        try:
            limit = int(headers["X-RateLimit-Limit"])
            remaining = int(headers["X-RateLimit-Remaining"])
            reset_at = float(headers["X-RateLimit-Reset"])
        except (KeyError, ValueError):
            return
        server_time = None
        if "Date" in headers:
            try:
                server_time = parsedate_to_datetime(headers["Date"]).timestamp()
            except (TypeError, ValueError):
                server_time = None
        if response.status_code == 429:
            skew = (server_time - self.clock.time()) if server_time else 0.0
            self.pacer.observe(limit, 0, reset_at, server_time=server_time)
            self.pacer.observe_rate_limited(reset_at - (skew if abs(skew) > 2 else 0.0))
        else:
            self.pacer.observe(limit, remaining, reset_at, server_time=server_time)

    def _translate(self, response: requests.Response, method: str, path: str) -> ApiError:
        code, message = self._error_body(response)
        status = response.status_code
        kw: dict[str, Any] = {
            "service": self.service,
            "method": method,
            "path": path,
            "status": status,
            "code": code,
        }
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
            return NotFoundError(message, **kw)
        if status == 429:
            if "X-RateLimit-Reset" not in response.headers:
                self.pacer.observe_rate_limited(None)
            try:
                retry_at: float | None = float(response.headers["X-RateLimit-Reset"])
            except (KeyError, ValueError):
                retry_at = None
            return RateLimitedError(message, retry_at=retry_at, **kw)
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
