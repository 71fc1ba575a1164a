"""HubSpot's error answers, as the sandbox raises and serves them.

Whole-request errors are :class:`HubSpotProblem` (status plus body
``{"status": "error", "message", "correlationId", "category", ...}``).
Per-input errors inside a 207 are ``StandardError`` dicts from
:func:`batch_error`; they always carry ``context``, ``links`` and ``errors``
because the SDK's ``StandardError`` model refuses to deserialise without them.
"""

from __future__ import annotations

import uuid
from typing import Any

from adapters.hubspot.sandbox.values import Issue, validation_message

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. Read more about "
    "required scopes here: https://developers.hubspot.com/scopes."
)
RATE_LIMIT_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
    "SECONDLY": "You have reached your secondly limit.",
}
BATCH_LIMIT = 100
BATCH_LIMIT_MESSAGE = (
    "The maximum number of inputs supported in a batch request is 100. "
    "Please reduce the number of items and try again"
)

#: Bodies of statuses a fault can inject: (category, message).
_FAULT_BODIES = {
    400: ("VALIDATION_ERROR", "Invalid input JSON on line 1, column 1"),
    404: ("OBJECT_NOT_FOUND", "resource not found"),
    409: ("CONFLICT", "Conflict"),
    423: ("LOCKED", "The record is locked by another request. Wait at least 2 seconds and retry."),
    500: ("INTERNAL_ERROR", "internal error"),
    502: ("BAD_GATEWAY", "Bad Gateway"),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable"),
    504: ("GATEWAY_TIMEOUT", "Gateway Timeout"),
}


def correlation_id() -> str:
    return str(uuid.uuid4())


class HubSpotProblem(Exception):
    """An error answer: ``status`` and HubSpot's error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        super().__init__(body.get("message", ""))


def problem(
    status: int,
    category: str,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    context: dict[str, list[str]] | None = None,
    **extra: Any,
) -> HubSpotProblem:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
    }
    if context is not None:
        body["context"] = context
    if errors is not None:
        body["errors"] = errors
    body["category"] = category
    body.update(extra)
    return HubSpotProblem(status, body)


def bad_request(message: str) -> HubSpotProblem:
    return problem(400, "VALIDATION_ERROR", message)


def invalid_properties(issues: list[Issue], portal_id: int) -> HubSpotProblem:
    return problem(
        400,
        "VALIDATION_ERROR",
        validation_message(issues, portal_id),
        errors=[issue.detail() for issue in issues],
    )


def not_found(message: str = "resource not found") -> HubSpotProblem:
    return problem(404, "OBJECT_NOT_FOUND", message)


def unauthenticated(message: str | None = None) -> HubSpotProblem:
    return problem(401, "INVALID_AUTHENTICATION", message or AUTH_MESSAGE)


def missing_scopes(scopes: list[str], message: str | None = None) -> HubSpotProblem:
    return problem(
        403,
        "MISSING_SCOPES",
        message or SCOPES_MESSAGE,
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": scopes},
            }
        ],
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )


def rate_limited(policy: str, group: str) -> HubSpotProblem:
    body: dict[str, Any] = {
        "status": "error",
        "message": RATE_LIMIT_MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
    }
    if policy != "SECONDLY":
        body["groupName"] = group
    return HubSpotProblem(429, body)


def injected(status: int, message: str | None, scopes: list[str]) -> HubSpotProblem:
    """The answer of a ``status`` fault, in the body HubSpot uses for that status
    (a 403 names ``scopes``, the ones the request needs)."""
    if status == 401:
        return unauthenticated(message)
    if status == 403:
        return missing_scopes(scopes, message)
    category, default = _FAULT_BODIES.get(status, ("INTERNAL_ERROR", "internal error"))
    return problem(status, category, message or default)


def batch_error(
    category: str,
    message: str,
    context: dict[str, list[str]],
    *,
    errors: list[dict[str, Any]] | None = None,
    sub_category: str | None = None,
) -> dict[str, Any]:
    """One entry of a 207's ``errors``: the SDK's ``StandardError``."""
    entry: dict[str, Any] = {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "links": {},
        "errors": errors or [],
    }
    if sub_category is not None:
        entry["subCategory"] = sub_category
    return entry
