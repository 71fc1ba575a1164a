"""Walking a cursor-paginated Revont list, one page in memory at a time.

Every Revont list answers ``{"data": [...], "next_cursor": "cur_..." | null,
"has_more": true | false}``. :func:`iter_pages` follows ``next_cursor`` until
``has_more`` is false, and refuses to loop: a cursor it has already followed,
or ``has_more: true`` without a cursor, raises :class:`PaginationError` before
the offending page is handed out, so the caller's stored cursor always points
at a page that was really consumed.

Records that do not validate are not dropped: each page carries them in
``invalid`` with the reason, for the caller to report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from connector.errors import InvalidResponseError, PaginationError

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class InvalidRecord:
    """A list item that did not validate: kept whole, with the reason."""

    raw: Any
    error: str

    @property
    def id(self) -> str | None:
        value = self.raw.get("id") if isinstance(self.raw, dict) else None
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list. ``cursor`` fetched it; ``next_cursor`` fetches the next."""

    number: int
    items: list[T]
    invalid: list[InvalidRecord]
    cursor: str | None
    next_cursor: str | None
    has_more: bool


def describe_validation_error(exc: ValidationError) -> str:
    """A one-line reason naming each bad field, e.g. ``created_at: Input should be ...``."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(record)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_records(model: type[T], data: list[Any]) -> tuple[list[T], list[InvalidRecord]]:
    """Validate list items, separating the good from the malformed."""
    items: list[T] = []
    invalid: list[InvalidRecord] = []
    for raw in data:
        try:
            items.append(model.model_validate(raw))
        except ValidationError as exc:
            invalid.append(InvalidRecord(raw=raw, error=describe_validation_error(exc)))
    return items, invalid


def list_problem(body: Any) -> str | None:
    """Why ``body`` is not a usable list answer, or None if it is."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return "the list answer has no 'data' array"
    has_more = body.get("has_more")
    if has_more is not None and not isinstance(has_more, bool):
        return f"has_more is {has_more!r}, not true or false"
    cursor = body.get("next_cursor")
    if cursor is not None and not isinstance(cursor, str):
        return f"next_cursor is {cursor!r}, not a string"
    return None


#: Pages in a row that may come back empty while promising more before we call it a loop.
MAX_EMPTY_PAGES = 25


def iter_pages(
    fetch: Callable[[str | None], Any],
    model: type[T],
    *,
    endpoint: str,
    cursor: str | None = None,
) -> Iterator[Page[T]]:
    """Yield pages from ``fetch(cursor)`` (a parsed JSON body), starting at ``cursor``.

    ``endpoint`` names the list in error messages (``GET /calls``). An answer
    without ``has_more`` is followed as long as it gives a ``next_cursor``:
    stopping early would silently lose records.
    """
    followed: set[str] = set()
    if cursor is not None:
        followed.add(cursor)
    number = empty = 0
    while True:
        body = fetch(cursor)
        problem = list_problem(body)
        if problem:
            method, _, path = endpoint.partition(" ")
            raise InvalidResponseError(problem, service="revont", method=method, path=path)
        next_cursor = body.get("next_cursor")
        has_more = body.get("has_more")
        if has_more is None:
            has_more = next_cursor is not None
        if has_more and not next_cursor:
            raise PaginationError(
                f"{endpoint}: the API said has_more=true but gave no next_cursor "
                f"(after page {number + 1}); stopping instead of guessing."
            )
        if has_more and next_cursor in followed:
            raise PaginationError(
                f"{endpoint}: the API returned cursor {next_cursor!r} a second time "
                f"(after page {number + 1}); stopping instead of looping."
            )
        empty = empty + 1 if has_more and not body["data"] else 0
        if empty > MAX_EMPTY_PAGES:
            raise PaginationError(
                f"{endpoint}: {empty} empty pages in a row that all promise more; "
                "stopping instead of looping."
            )
        items, invalid = parse_records(model, body["data"])
        number += 1
        yield Page(
            number=number,
            items=items,
            invalid=invalid,
            cursor=cursor,
            next_cursor=next_cursor if has_more else None,
            has_more=has_more,
        )
        if not has_more:
            return
        assert next_cursor is not None
        followed.add(next_cursor)
        cursor = next_cursor
