"""The connector's exceptions, named for what the caller must do.

Errors from the outside world (HTTP libraries, SDKs, TOML parsers) are
translated where they enter, in exactly one place per boundary, into this tree::

    RevontSyncError                  base of all the connector raises on purpose
    ├── ConfigError                  fix the configuration file or environment; not retried (exit 2)
    │   ├── MappingError             fix the mapping file
    │   └── CrmSetupError            run `revont-sync setup <adapter>` (the CRM lacks id fields)
    ├── ApiError                     a service answered with an error, or not at all
    │   ├── CredentialsError         401 / 403: fix the key, token or its scope; never retried
    │   ├── NotFoundError            404 for one object: it is gone (e.g. retention); skip it
    │   ├── MalformedRecordError     one record in an answer fails validation; skip, report it
    │   ├── RequestError             any other 4xx: a bug, a bad base URL or parameter; abort
    │   │   └── InvalidCursorError   a stored cursor is no longer accepted; restart the window
    │   └── RetryableError           wait and try again
    │       ├── RateLimitedError     429: wait until ``retry_at``
    │       └── TransientError       5xx, connection dropped, timeout
    │           └── InvalidResponseError  a 2xx whose body is not the documented JSON
    └── SyncAbortedError             stop this run cleanly, state intact, resume next run
        ├── QuotaExhaustedError      waiting for the quota would take longer than allowed
        ├── PaginationError          the API broke its paging contract (a loop)
        ├── StopRequestedError       the process is shutting down; the last page is saved
        └── LeaseHeldError           another process is syncing this adapter now

Every :class:`ApiError` carries ``service``, ``method``, ``path``, ``status``,
the service's machine-readable ``code`` and its human ``message``. None of them
ever contains a credential: clients scrub their own secrets from anything a
server echoes back before raising.
"""

from __future__ import annotations

from dataclasses import dataclass


class RevontSyncError(Exception):
    """Base class of every error the connector raises on purpose."""


class ConfigError(RevontSyncError):
    """The configuration is wrong. Fix the file or the environment; retrying cannot help.

    ``problems`` lists one :class:`ConfigProblem` per bad key so that a user sees
    every mistake at once, not one per attempt.
    """

    title = "invalid configuration"

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{self.title} in {source}:"]
        for p in problems:
            where = p.key or "(top level)"
            if p.line is not None:
                where += f" (line {p.line})"
            lines.append(f"  {where}: {p.message}")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class ConfigProblem:
    """One bad key: its dotted path (``revont.page_size``), what is expected, and the
    line of the file where it stands, when known."""

    key: str
    message: str
    line: int | None = None


class MappingError(ConfigError):
    """A mapping file cannot load: fix the file (the problems name key paths and lines)."""

    title = "invalid mapping"


class CrmSetupError(ConfigError):
    """The CRM lacks what the connector needs (its id fields): run ``revont-sync setup``."""

    title = "the CRM is not set up for the connector"


class ApiError(RevontSyncError):
    """A remote API answered with an error, or did not answer usably."""

    def __init__(
        self,
        message: str,
        *,
        service: str,
        method: str = "",
        path: str = "",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.service = service
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.message = message
        self.attempts = 1  # set by a retrying caller when it gives up
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.method} {self.path}".strip()
        what = f"HTTP {self.status}" if self.status is not None else "no response"
        detail = f" [{self.code}]" if self.code else ""
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"{self.service}: {where} failed ({what}){detail}{tries}: {self.message}"


class CredentialsError(ApiError):
    """401 or 403: the key or token is missing, invalid, revoked or lacks the scope."""


class NotFoundError(ApiError):
    """404: the object does not exist (any more)."""


class MalformedRecordError(ApiError):
    """The service answered, but the record it returned fails validation.

    ``record_id`` names it when known; ``raw`` keeps the record for the report.
    """

    def __init__(
        self, message: str, *, record_id: str | None = None, raw: object = None, **kw: object
    ) -> None:
        self.record_id = record_id
        self.raw = raw
        super().__init__(message, **kw)  # type: ignore[arg-type]


class RequestError(ApiError):
    """A 4xx other than 401/403/404/429: the request itself is wrong. Not retried."""


class InvalidCursorError(RequestError):
    """The service no longer accepts a stored paging cursor."""


class RetryableError(ApiError):
    """Waiting and trying again may succeed."""


class RateLimitedError(RetryableError):
    """429: over the rate limit. ``retry_at`` is the Unix time the window resets, if known."""

    def __init__(self, message: str, *, retry_at: float | None = None, **kw: object) -> None:
        self.retry_at = retry_at
        super().__init__(message, **kw)  # type: ignore[arg-type]


class TransientError(RetryableError):
    """5xx, dropped connection, timeout or an unreadable body."""


class InvalidResponseError(TransientError):
    """A success status whose body is not the documented JSON (truncated, wrong shape)."""


class SyncAbortedError(RevontSyncError):
    """This run must stop now; committed state is intact and the next run resumes."""


class QuotaExhaustedError(SyncAbortedError):
    """Waiting for a service's quota would take longer than the configured maximum."""

    def __init__(self, message: str, *, service: str, resume_at: float | None) -> None:
        self.service = service
        self.resume_at = resume_at
        super().__init__(message)


class PaginationError(SyncAbortedError):
    """The API broke its paging contract, e.g. repeated a cursor; continuing would loop."""


class StopRequestedError(SyncAbortedError):
    """The process was asked to stop (SIGTERM): the page in flight was checkpointed."""


class LeaseHeldError(SyncAbortedError):
    """Another process holds the adapter's sync lease; ``owner`` says who, until when."""

    def __init__(self, adapter: str, owner: str, expires_at: object) -> None:
        self.adapter = adapter
        self.owner = owner
        self.expires_at = expires_at
        super().__init__(
            f"{adapter}: another sync is running ({owner}, lease until {expires_at}); "
            "wait for it, or run again with --wait"
        )
