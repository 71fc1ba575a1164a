"""HubSpot's wire: the SDK client, pacing, retries and error translation, in one place.

Every request the adapter makes goes through :meth:`HubSpotApi.call`, which

1. waits for the ten-second window (a :class:`~connector.quota.RollingWindowPacer` fed by
   ``X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds``, keeping
   ``rate_limit_reserve`` of it for the account's other integrations) and refuses to
   start a request when only the daily reserve is left (``-Daily-Remaining``):
   :class:`QuotaExhaustedError` stops the run cleanly, the next run resumes;
2. sends it through the SDK's ``*_with_http_info`` variant (the only way to see the
   headers of a success) with explicit timeouts;
3. translates what comes back into the connector's error tree: the SDK's per-group
   ``ApiException`` classes (they share no parent) and the raw urllib3 errors it lets
   through never escape;
4. retries: a 429 of the ten-second window always (HubSpot refused it before doing
   anything), once the window has room again; a daily 429 never (the run stops until
   the reset); 5xx, 423, timeouts, dropped connections and unreadable answers only for
   requests that are safe to repeat.

API objects are built once (each SDK API object owns a connection pool).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Any

import urllib3
from hubspot import HubSpot
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from adapters.base import (
    ApiError,
    CredentialsError,
    NotFoundError,
    QuotaExhaustedError,
    QuotaState,
    RateLimitedError,
    RequestError,
    RevontSyncError,
    TransientError,
)
from adapters.hubspot.config import HubSpotConfig
from connector import __version__
from connector.errors import InvalidResponseError
from connector.quota import Clock, RollingWindowPacer, SystemClock

log = logging.getLogger(__name__)

SERVICE = "hubspot"
TRANSIENT_STATUSES = frozenset({0, 423, 500, 502, 503, 504, 524})
#: What the SDK raises before sending, for arguments it refuses.
_SDK_REQUEST_ERRORS = frozenset(
    {"ApiTypeError", "ApiValueError", "ApiKeyError", "ApiAttributeError"}
)
DAILY_POLICIES = frozenset({"DAILY"})


def _user_agent_factory(package: Any, api_name: str, config: dict[str, Any]) -> Any:
    """The SDK's own factory (hubspot.discovery), plus our User-Agent."""
    configuration = package.Configuration()
    for key, value in config.items():
        if key == "retry":
            configuration.retries = value
        else:
            setattr(configuration, key, value)
    client = package.ApiClient(configuration=configuration)
    sdk = metadata.version("hubspot-api-client")
    client.user_agent = f"revont-sync/{__version__} hubspot-api-client-python/{sdk}"
    return getattr(package, api_name)(api_client=client)


class HubSpotApi:
    """The adapter's one door to HubSpot (see the module docstring)."""

    def __init__(self, config: HubSpotConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.timeout = (config.connect_timeout, config.read_timeout)
        self.pacer = RollingWindowPacer(
            SERVICE,
            clock=self.clock,
            reserve_fraction=config.rate_limit_reserve,
            max_wait=config.max_rate_limit_wait,
        )
        self.client = HubSpot(
            access_token=config.require_secret("access_token").get_secret_value(),
            host=config.base_url.rstrip("/"),
            api_factory=_user_agent_factory,
        )
        self._apis: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.daily_limit: int | None = None
        self.daily_remaining: int | None = None
        #: Requests sent, by "METHOD route" and status (or "error"), for run reports.
        self.counts: Counter[tuple[str, str]] = Counter()

    # -- API objects, built once ----------------------------------------------------------

    def objects(self, object_type: str) -> Any:
        """The batch API of ``contacts``, ``companies``, ``calls``, ``tasks`` or ``notes``."""
        return self._api(f"batch:{object_type}", lambda: _batch_api(self.client, object_type))

    def associations(self) -> Any:
        return self._api("assoc", lambda: self.client.crm.associations.v4.batch_api)

    def association_definitions(self) -> Any:
        return self._api(
            "assoc-defs", lambda: self.client.crm.associations.v4.schema.definitions_api
        )

    def properties(self) -> Any:
        return self._api("props", lambda: self.client.crm.properties.core_api)

    def property_groups(self) -> Any:
        return self._api("groups", lambda: self.client.crm.properties.groups_api)

    def owners(self) -> Any:
        return self._api("owners", lambda: self.client.crm.owners.owners_api)

    def _api(self, key: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._apis:
                self._apis[key] = build()
            return self._apis[key]

    @property
    def requests(self) -> int:
        return sum(self.counts.values())

    # -- sending ----------------------------------------------------------------------------

    def call(
        self,
        route: str,
        method: Callable[..., Any],
        *args: Any,
        idempotent: bool = True,
        raw: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Send ``method(*args, **kwargs)`` (an SDK ``*_with_http_info`` method) paced and
        retried; return the deserialised body. ``route`` ("POST /crm/v3/objects/calls/batch/
        upsert") names the request in counters and errors. ``raw`` returns the JSON as a
        dict instead of the SDK's model, for answers the SDK does not model (a 207 from
        ``associate/default``)."""
        attempts = 0

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, RateLimitedError):
                return True  # refused before any work: always safe to send again
            return idempotent and isinstance(exc, TransientError)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RateLimitedError):
                return 0.0  # the pacer waits for the window itself
            return float(wait_exponential_jitter(multiplier=0.5, max=20, jitter=0.5)(state))

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s (attempt %d of %d); retrying", exc, attempts, self.config.max_attempts)

        retrying = Retrying(
            stop=stop_after_attempt(self.config.max_attempts),
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
                    return self._send_once(route, method, args, kwargs, raw)
        except ApiError as exc:
            exc.attempts = attempts
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(
        self,
        route: str,
        method: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        raw: bool,
    ) -> Any:
        self._check_daily_reserve()
        self.pacer.acquire()
        verb, _, path = route.partition(" ")
        where: dict[str, Any] = {"service": SERVICE, "method": verb, "path": path}
        try:
            if raw:
                response = method(
                    *args, _request_timeout=self.timeout, _preload_content=False, **kwargs
                )
                data, status, headers = response.data, response.status, response.headers
            else:
                data, status, headers = method(*args, _request_timeout=self.timeout, **kwargs)
        except urllib3.exceptions.TimeoutError as exc:
            self.counts[(route, "timeout")] += 1
            raise TransientError(f"no answer in time ({type(exc).__name__})", **where) from exc
        except urllib3.exceptions.HTTPError as exc:
            self.counts[(route, "error")] += 1
            raise TransientError(f"connection failed ({type(exc).__name__})", **where) from exc
        except Exception as exc:
            if _is_api_exception(exc):
                self.counts[(route, str(exc.status))] += 1  # type: ignore[attr-defined]
                raise self._translate(exc, where) from exc
            if type(exc).__name__ in _SDK_REQUEST_ERRORS:
                # The SDK refused to build the request (a bad argument): a bug, not retried.
                raise RequestError(f"the SDK refused the request: {exc}", **where) from exc
            # Anything else came out of reading the answer (a body of the wrong shape or
            # charset): the answer is unusable, which a retry may fix.
            self.counts[(route, "malformed")] += 1
            raise InvalidResponseError(
                f"the answer is not the documented JSON ({type(exc).__name__}: {exc})", **where
            ) from exc
        self.counts[(route, str(status))] += 1
        self._observe(headers or {}, status)
        if raw:
            try:
                parsed = json.loads(data) if data else {}
            except ValueError as exc:
                raise InvalidResponseError("malformed JSON in the answer", **where) from exc
            if not isinstance(parsed, dict):
                raise InvalidResponseError("the answer is not a JSON object", **where)
            return parsed
        if data is None or (hasattr(data, "results") and data.results is None):
            # The SDK reads an unreadable body into an empty model, and an answer whose
            # status it does not expect into None, rather than failing.
            raise InvalidResponseError(
                f"the answer (HTTP {status}) is not the documented JSON", **where
            )
        return data

    # -- quota ------------------------------------------------------------------------------

    def _check_daily_reserve(self) -> None:
        with self._lock:
            limit, remaining = self.daily_limit, self.daily_remaining
            if limit is None or remaining is None:
                return
            reserve = int(limit * self.config.daily_reserve)
            if remaining > reserve:
                self.daily_remaining = remaining - 1  # until the answer says better
                return
        raise QuotaExhaustedError(
            f"hubspot: only {remaining:,} of the account's {limit:,} daily API calls are "
            f"left, the reserve kept for its other integrations (daily_reserve = "
            f"{self.config.daily_reserve:g}). The run stops here with its state intact and "
            "resumes on the next run after HubSpot's daily reset (midnight in the account's "
            "time zone).",
            service=SERVICE,
            resume_at=_next_midnight_utc(self.clock.time()),
        )

    def _observe(self, headers: Any, status: int) -> None:
        """Feed the pacers from ``X-HubSpot-RateLimit-*`` (absent on search answers)."""
        limit = _int(headers, "X-HubSpot-RateLimit-Max")
        remaining = _int(headers, "X-HubSpot-RateLimit-Remaining")
        interval = _int(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        daily = _int(headers, "X-HubSpot-RateLimit-Daily")
        daily_remaining = _int(headers, "X-HubSpot-RateLimit-Daily-Remaining")
        if daily is not None and daily_remaining is not None:
            with self._lock:
                self.daily_limit, self.daily_remaining = daily, daily_remaining
        if status != 429 and limit is not None and remaining is not None:
            self.pacer.observe(limit, remaining, (interval or 10_000) / 1000)

    def forget_daily_quota(self) -> None:
        """Drop what the last answers said of the daily allowance (it resets at midnight in
        the account's zone, which the API does not say): the next answer tells again."""
        with self._lock:
            self.daily_limit = self.daily_remaining = None

    def quota(self) -> QuotaState:
        reset = _next_midnight_utc(self.clock.time()) if self.daily_limit else None
        return QuotaState(SERVICE, self.daily_remaining, self.daily_limit, reset)

    # -- errors -----------------------------------------------------------------------------

    def _translate(self, exc: Any, where: dict[str, Any]) -> RevontSyncError:
        status = int(exc.status or 0)
        headers = exc.headers or {}
        body = _json_body(exc.body)
        category = str(body.get("category") or body.get("errorType") or "") or None
        details = body.get("errors")
        code = next(
            (str(d["code"]) for d in details or [] if isinstance(d, dict) and d.get("code")),
            None,
        )
        message = str(body.get("message") or exc.reason or f"HTTP {status}")
        kw: dict[str, Any] = {**where, "status": status, "code": code or category}
        if status:
            self._observe(headers, status)
        if status == 429:
            policy = str(body.get("policyName") or "")
            if policy in DAILY_POLICIES:
                self.daily_remaining = 0
                return QuotaExhaustedError(
                    f"hubspot: the account's daily API limit is used up ({message}). The run "
                    "stops here with its state intact and resumes after HubSpot's daily reset "
                    "(midnight in the account's time zone).",
                    service=SERVICE,
                    resume_at=_next_midnight_utc(self.clock.time()),
                )
            interval = _int(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
            self.pacer.observe_rate_limited(interval / 1000 if interval else None)
            retry_at = self.clock.time() + self.pacer.delay()
            return RateLimitedError(
                f"{message} (policy {policy or 'unknown'})", retry_at=retry_at, **kw
            )
        if status == 401:
            return CredentialsError(
                f"{message} Check HUBSPOT_ACCESS_TOKEN (or adapters.hubspot.access_token_file).",
                **kw,
            )
        if status == 403:
            return CredentialsError(
                f"{message} The private app's token lacks a scope this needs (crm.objects."
                "contacts.write, crm.objects.companies.read, crm.schemas.*.write, "
                "crm.objects.owners.read ...): add it in HubSpot under Private apps.",
                **kw,
            )
        if status == 404:
            return NotFoundError(message, **kw)
        if status in TRANSIENT_STATUSES:
            return TransientError(message, **kw)
        return HubSpotRequestError(message, body=body, **kw)


class HubSpotRequestError(RequestError):
    """A 4xx HubSpot explains in its error body (kept in ``body``): validation, conflict."""

    def __init__(self, message: str, *, body: dict[str, Any], **kw: Any) -> None:
        self.body = body
        super().__init__(message, **kw)

    @property
    def category(self) -> str:
        return str(self.body.get("category") or "")

    @property
    def detail_codes(self) -> list[str]:
        details = self.body.get("errors")
        if not isinstance(details, list):
            return []
        return [str(d.get("code")) for d in details if isinstance(d, dict) and d.get("code")]


def _batch_api(client: HubSpot, object_type: str) -> Any:
    if object_type == "contacts":
        return client.crm.contacts.batch_api
    if object_type == "companies":
        return client.crm.companies.batch_api
    return getattr(client.crm.objects, object_type).batch_api


def _is_api_exception(exc: BaseException) -> bool:
    """The SDK's per-group ``ApiException`` classes share no parent: know them by shape."""
    return type(exc).__module__.startswith("hubspot.") and hasattr(exc, "status")


def _json_body(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        return {"message": str(body)[:500]} if body else {}
    return parsed if isinstance(parsed, dict) else {}


def _int(headers: Any, name: str) -> int | None:
    value = headers.get(name) if hasattr(headers, "get") else None
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _next_midnight_utc(now: float) -> float:
    """HubSpot resets daily limits at midnight in the account's zone; UTC is the estimate."""
    day = datetime.fromtimestamp(now, UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
