"""Salesforce's error answers, as the sandbox raises and serves them.

REST errors are a JSON *array* of ``{"message", "errorCode"}`` objects (with
``"fields"`` when fields are to blame), whatever the status:

=====  ==========================================================================
400    ``MALFORMED_QUERY``, ``INVALID_FIELD``, ``JSON_PARSER_ERROR``,
       ``INVALID_QUERY_LOCATOR``, validation codes of a single-record write
       (``STRING_TOO_LONG``, ``REQUIRED_FIELD_MISSING``, ...),
       ``EXCEEDED_ID_LIMIT`` (a collection over 200 records)
401    ``INVALID_SESSION_ID`` "Session expired or invalid"
403    ``REQUEST_LIMIT_EXCEEDED`` "TotalRequests Limit exceeded."
404    ``NOT_FOUND`` "The requested resource does not exist", ``ENTITY_IS_DELETED``
=====  ==========================================================================

The OAuth token endpoint answers ``{"error", "error_description"}`` objects
instead (:class:`OAuthProblem`).
"""

from __future__ import annotations

from typing import Any

from adapters.salesforce.sandbox.values import Issue

SESSION_MESSAGE = "Session expired or invalid"
LIMIT_MESSAGES = {
    None: "TotalRequests Limit exceeded.",
    "TotalRequests": "TotalRequests Limit exceeded.",
    "ConcurrentPerOrgLongTxn": "ConcurrentPerOrgLongTxn Limit exceeded.",
}
NOT_FOUND_MESSAGE = "The requested resource does not exist"

#: Bodies of statuses a ``status`` fault can inject: (errorCode, message).
FAULT_BODIES: dict[int, tuple[str, str]] = {
    400: ("JSON_PARSER_ERROR", "Unexpected character: was expecting a value"),
    401: ("INVALID_SESSION_ID", SESSION_MESSAGE),
    403: ("API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."),
    404: ("NOT_FOUND", NOT_FOUND_MESSAGE),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1438512391-12345 (-1234567890)",
    ),
    502: ("SERVER_UNAVAILABLE", "Bad Gateway: the server is temporarily unavailable"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later."),
    504: ("SERVER_UNAVAILABLE", "Gateway Timeout: the server took too long to answer"),
}


class SalesforceProblem(Exception):
    """An error answer: ``status`` and Salesforce's body (usually a list of errors)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        first = body[0] if isinstance(body, list) and body else {}
        super().__init__(first.get("message", "") if isinstance(first, dict) else "")


class OAuthProblem(Exception):
    """An OAuth error: ``{"error", "error_description"}`` with its status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        self.status = status
        self.body = {"error": error, "error_description": description}
        super().__init__(description)


def problem(
    status: int, code: str, message: str, fields: list[str] | None = None
) -> SalesforceProblem:
    entry: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        entry["fields"] = fields
    return SalesforceProblem(status, [entry])


def refused(issues: list[Issue], status: int = 400) -> SalesforceProblem:
    """A single-record write Salesforce refused, with every reason."""
    return SalesforceProblem(status, [issue.body() for issue in issues])


def bad_request(code: str, message: str) -> SalesforceProblem:
    return problem(400, code, message)


def not_found(message: str = NOT_FOUND_MESSAGE) -> SalesforceProblem:
    return problem(404, "NOT_FOUND", message)


def entity_deleted() -> SalesforceProblem:
    return problem(404, "ENTITY_IS_DELETED", "entity is deleted")


def invalid_session() -> SalesforceProblem:
    return problem(401, "INVALID_SESSION_ID", SESSION_MESSAGE)


def limit_exceeded(policy: str | None = None) -> SalesforceProblem:
    return problem(403, "REQUEST_LIMIT_EXCEEDED", LIMIT_MESSAGES.get(policy, LIMIT_MESSAGES[None]))


def injected(status: int, code: str | None, message: str | None) -> SalesforceProblem:
    """The answer of a ``status`` fault: Salesforce's body for that status (or ``code``)."""
    default_code, default_message = FAULT_BODIES.get(status, FAULT_BODIES[500])
    return problem(status, code or default_code, message or default_message)


def injected_oauth(status: int, message: str | None) -> OAuthProblem:
    """A ``status`` fault on the token endpoint, in OAuth's shape."""
    return OAuthProblem("unknown_error", message or "retry your request", status)
