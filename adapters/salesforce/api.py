"""Salesforce's wire: login, the SDK client, the daily allowance, and error translation.

Every request goes through :meth:`SalesforceApi.call`, which

1. refuses to start a request when only ``daily_reserve`` of the org's daily API
   allowance is left, as last reported by ``Sforce-Limit-Info`` (read by a hook on
   the session, so Bulk requests and errors count too): :class:`QuotaExhaustedError`
   stops the run cleanly, the next run resumes;
2. calls simple-salesforce, built once with the session of :mod:`session`
   (timeouts, safe retries, the sandbox override);
3. on an expired session logs in again once (JWT, client credentials or password;
   a bare access token cannot) and repeats the call, then gives up with
   :class:`CredentialsError`;
4. translates simple-salesforce's exceptions and raw ``requests`` errors into the
   connector's error tree: ``REQUEST_LIMIT_EXCEEDED`` stops the run (never retried),
   ``UNABLE_TO_LOCK_ROW`` and 5xx are transient, other 4xx are request errors that
   carry Salesforce's error list.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceOperationError,
)
from simple_salesforce.login import SalesforceLogin

from adapters.base import (
    ApiError,
    CredentialsError,
    NotFoundError,
    QuotaExhaustedError,
    QuotaState,
    RequestError,
    RevontSyncError,
    TransientError,
)
from adapters.salesforce.config import SalesforceConfig
from adapters.salesforce.session import build_session
from connector.errors import InvalidResponseError

log = logging.getLogger(__name__)

SERVICE = "salesforce"
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceRequestError(RequestError):
    """A 4xx Salesforce explains in its error list (kept in ``errors``)."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]], **kw: Any) -> None:
        self.errors = errors
        super().__init__(message, **kw)


class SalesforceApi:
    """The adapter's one door to Salesforce (see the module docstring)."""

    def __init__(self, config: SalesforceConfig) -> None:
        self.config = config
        self.session = build_session(
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            max_attempts=config.max_attempts,
            sandbox_url=config.sandbox_url,
        )
        self.session.hooks["response"].append(self._observe)
        self._lock = threading.Lock()
        self.used: int | None = None
        self.limit: int | None = None
        #: Requests sent, by "METHOD path-template" and status, for run reports.
        self.counts: Counter[tuple[str, str]] = Counter()
        self._sf: Salesforce | None = None

    # -- the client, logged in once ----------------------------------------------------------

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._sf = self._login()
        return self._sf

    def _login(self) -> Salesforce:
        """Log in (the connector does it, with simple-salesforce's ``SalesforceLogin``) and
        build the client from the session id: the client then never logs in by itself, so
        an expired session is renewed exactly once, here, for REST and Bulk alike."""
        c = self.config
        common: dict[str, Any] = {"session": self.session, "version": c.api_version}
        secret = c.require_secret
        if c.auth == "access_token":
            return Salesforce(
                instance_url=c.instance_url,
                session_id=secret("access_token").get_secret_value(),
                **common,
            )
        login: dict[str, Any] = {"session": self.session, "sf_version": c.api_version}
        if c.auth == "jwt":
            login |= {
                "username": c.username,
                "consumer_key": secret("consumer_key").get_secret_value(),
                "privatekey": secret("private_key").get_secret_value(),
                "domain": c.domain,
            }
        elif c.auth == "client_credentials":
            login |= {
                "consumer_key": secret("consumer_key").get_secret_value(),
                "consumer_secret": secret("consumer_secret").get_secret_value(),
                "domain": c.domain,
            }
        else:
            log.warning(
                "salesforce: username-password login is deprecated by Salesforce (blocked in "
                "new orgs, gone from API 65.0); switch auth to jwt or client_credentials"
            )
            login |= {
                "username": c.username,
                "password": secret("password").get_secret_value(),
                "security_token": secret("security_token").get_secret_value(),
                "domain": c.domain,
            }
        try:
            session_id, instance = SalesforceLogin(**login)
        except SalesforceAuthenticationFailed as exc:
            raise CredentialsError(
                f"login refused ({exc.code}): {exc.auth_message}. Check the SALESFORCE_* "
                f"credentials for auth = {c.auth!r} and the domain {c.domain!r}.",
                service=SERVICE,
                method="POST",
                path="/services/oauth2/token",
                status=400,
                code=str(exc.code),
            ) from None
        except requests.RequestException as exc:
            raise TransientError(
                f"login failed ({type(exc).__name__})",
                service=SERVICE,
                method="POST",
                path="/services/oauth2/token",
            ) from exc
        return Salesforce(instance=instance, session_id=session_id, **common)

    @property
    def sent(self) -> int:
        """HTTP requests answered so far."""
        return sum(self.counts.values())

    # -- sending -----------------------------------------------------------------------------

    def call(self, route: str, action: Callable[[Salesforce], Any]) -> Any:
        """Run ``action(sf)``, one logical request (or a Bulk job), with the reserve check,
        one re-login on an expired session, and errors translated. ``route`` names it in
        errors."""
        self._check_reserve()
        try:
            return self._translated(route, action)
        except _Expired:
            if self.config.auth == "access_token":
                raise CredentialsError(
                    "the session expired and auth = 'access_token' cannot log in again; give "
                    "a fresh SALESFORCE_ACCESS_TOKEN, or use auth = 'jwt'",
                    service=SERVICE,
                    path=route,
                    status=401,
                    code="INVALID_SESSION_ID",
                ) from None
            log.info("salesforce: the session expired; logging in again")
            self._sf = self._login()
            try:
                return self._translated(route, action)
            except _Expired:
                raise CredentialsError(
                    "the session expired again right after a fresh login; check the "
                    "integration user's session settings",
                    service=SERVICE,
                    path=route,
                    status=401,
                    code="INVALID_SESSION_ID",
                ) from None

    def _translated(self, route: str, action: Callable[[Salesforce], Any]) -> Any:
        verb, _, path = route.partition(" ")
        where: dict[str, Any] = {"service": SERVICE, "method": verb, "path": path}
        try:
            return action(self.sf)
        except SalesforceExpiredSession:
            raise _Expired() from None
        except SalesforceError as exc:
            raise self._translate(exc, where) from exc
        except SalesforceOperationError as exc:  # a Bulk job that failed or timed out
            raise TransientError(f"Bulk API job failed: {exc}", **where) from exc
        except requests.Timeout as exc:
            raise TransientError(f"no answer in time ({type(exc).__name__})", **where) from exc
        except requests.RequestException as exc:
            raise TransientError(f"connection failed ({type(exc).__name__})", **where) from exc
        except (ValueError, KeyError, csv.Error) as exc:  # a body of the wrong shape
            raise InvalidResponseError(
                f"the answer is not what Salesforce documents ({type(exc).__name__}: {exc})",
                **where,
            ) from exc

    def _translate(self, exc: SalesforceError, where: dict[str, Any]) -> RevontSyncError:
        errors = _errors(exc.content)
        code = next((str(e.get("errorCode")) for e in errors if e.get("errorCode")), None)
        message = (
            "; ".join(str(e.get("message")) for e in errors if e.get("message"))
            or str(exc.content)[:300]
        )
        kw: dict[str, Any] = {**where, "status": exc.status, "code": code}
        if code == "REQUEST_LIMIT_EXCEEDED":
            return QuotaExhaustedError(
                f"salesforce: the org's API allowance is used up ({message}). The run stops "
                "here with its state intact and resumes on a later run; the allowance is a "
                "rolling 24 hours.",
                service=SERVICE,
                resume_at=None,
            )
        if exc.status == 401:
            return CredentialsError(message, **kw)
        if exc.status == 403:
            return CredentialsError(
                f"{message} The integration user lacks a permission this needs (API Enabled, "
                "object and field access).",
                **kw,
            )
        if exc.status == 404:
            return NotFoundError(message, **kw)
        if exc.status >= 500 or code == "UNABLE_TO_LOCK_ROW":
            return TransientError(message, **kw)
        return SalesforceRequestError(message, errors=errors, **kw)

    # -- the daily allowance ----------------------------------------------------------------

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Session hook: count every response and read ``Sforce-Limit-Info``."""
        self.counts[(response.request.method or "", str(response.status_code))] += 1
        match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            with self._lock:
                self.used, self.limit = int(match.group(1)), int(match.group(2))

    def _check_reserve(self) -> None:
        with self._lock:
            used, limit = self.used, self.limit
        if used is None or limit is None:
            return
        reserve = int(limit * self.config.daily_reserve)
        if limit - used > reserve:
            return
        raise QuotaExhaustedError(
            f"salesforce: {used:,} of the org's {limit:,} daily API calls are used; the rest "
            f"is the reserve kept for its other integrations (daily_reserve = "
            f"{self.config.daily_reserve:g}). The run stops here with its state intact and "
            "resumes on a later run.",
            service=SERVICE,
            resume_at=None,
        )

    def forget_usage(self) -> None:
        """A new run: the rolling allowance may have recovered; the next answer tells."""
        with self._lock:
            self.used = self.limit = None

    def quota(self) -> QuotaState:
        with self._lock:
            remaining = None if self.used is None or self.limit is None else self.limit - self.used
            return QuotaState(SERVICE, remaining, self.limit, None)

    def close(self) -> None:
        self.session.close()


class _Expired(Exception):
    """The session id is no longer accepted (internal: triggers one new login)."""


def _errors(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, bytes | str):
        try:
            content = json.loads(content)
        except ValueError:
            return [{"message": str(content)[:300]}]
    if isinstance(content, dict):
        content = [content]
    return [e for e in content or [] if isinstance(e, dict)] if isinstance(content, list) else []


__all__ = ["ApiError", "SalesforceApi", "SalesforceRequestError"]
