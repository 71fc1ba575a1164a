"""The Revont API client: typed endpoints over :mod:`connector.revont.transport`.

Endpoints return the models of :mod:`connector.revont.models`; lists come as
pages (:mod:`connector.revont.pagination`), one in memory at a time. Pacing,
retries and error translation happen in the transport, for every request.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from connector.errors import MalformedRecordError
from connector.quota import Clock, WindowPacer
from connector.revont.models import (
    OUTCOMES,
    Call,
    CallDetail,
    Contact,
    CreatedWebhook,
    Webhook,
    format_time,
)
from connector.revont.pagination import Page, describe_validation_error, iter_pages, list_problem
from connector.revont.transport import RequestStats, RevontTransport

DEFAULT_BASE_URL = "https://api.revont.ai/v1"
MAX_PAGE_SIZE = 100
M = TypeVar("M", bound=BaseModel)


def _object_problem(body: Any) -> str | None:
    return None if isinstance(body, dict) else "the answer is not a JSON object"


class RevontSource(Protocol):
    """What the sync engine reads Revont through: :class:`RevontClient`, or a stand-in
    (the engine benchmark feeds generated pages without a network)."""

    @property
    def stats(self) -> RequestStats: ...

    def iter_call_pages(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        cursor: str | None = None,
    ) -> Iterator[Page[Call]]: ...

    def iter_contact_pages(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        cursor: str | None = None,
    ) -> Iterator[Page[Contact]]: ...

    def get_call(self, call_id: str) -> CallDetail: ...

    def get_contact(self, contact_id: str) -> Contact: ...

    def close(self) -> None: ...


class RevontClient:
    """A typed client for the Revont API.

    ``clock`` provides time and sleep to the pacer and the retry policy, so tests
    can run without waiting. ``pacer`` may be shared by several clients of one
    workspace (the quota is per workspace).
    """

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
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self.page_size = page_size
        self._transport = RevontTransport(
            api_key if isinstance(api_key, SecretStr) else SecretStr(api_key),
            base_url=base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_attempts=max_attempts,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            clock=clock,
            pacer=pacer,
        )

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def pacer(self) -> WindowPacer:
        return self._transport.pacer

    @property
    def stats(self) -> RequestStats:
        """Requests sent so far, by route and outcome, and retries."""
        return self._transport.stats

    # -- lifecycle --------------------------------------------------------------

    def close(self) -> None:
        self._transport.close()

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
        data = self._transport.request("POST", "/webhooks", json=body, check=_object_problem)
        return self._parse_one(data, CreatedWebhook, "POST /webhooks")

    def delete_webhook(self, webhook_id: str) -> None:
        """``DELETE /webhooks/{id}`` (one already deleted by a lost earlier attempt is fine)."""
        self._transport.request("DELETE", "/webhooks/{id}", path_params={"id": webhook_id})

    # -- plumbing ---------------------------------------------------------------

    def _iter_pages(
        self,
        path: str,
        model: type[M],
        filters: dict[str, Any],
        cursor: str | None,
        limit: int | None,
        *,
        paged: bool = True,
    ) -> Iterator[Page[M]]:
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
            return self._transport.request("GET", path, params=query, check=list_problem)

        return iter_pages(fetch, model, endpoint=f"GET {path}", cursor=cursor)

    def _get_one(self, route: str, object_id: str, model: type[M]) -> M:
        data = self._transport.request(
            "GET", route, path_params={"id": object_id}, check=_object_problem
        )
        return self._parse_one(data, model, f"GET {route}")

    def _parse_one(self, data: Any, model: type[M], route: str) -> M:
        # The detail envelope may be {"data": {...}} or the bare object.
        if isinstance(data, dict) and isinstance(data.get("data"), dict) and "id" not in data:
            data = data["data"]
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            method, _, path = route.partition(" ")
            record_id = data.get("id") if isinstance(data, dict) else None
            raise MalformedRecordError(
                f"the answer is not a valid {model.__name__}: {describe_validation_error(exc)}",
                record_id=record_id if isinstance(record_id, str) else None,
                raw=data,
                service="revont",
                method=method,
                path=path,
                status=200,
            ) from exc
