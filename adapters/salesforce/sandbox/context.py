"""One API request as the handlers see it: the matched route's arguments, the API
version, the session's user, the body, and the sandbox it reached.

Handlers answer ``(status, JSON body)`` or a ready :class:`werkzeug.Response`
(CSV, XML, 204) and raise :class:`SalesforceProblem` for errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from adapters.salesforce.sandbox.problems import bad_request, not_found
from adapters.salesforce.sandbox.schema import Field, SObjectType

if TYPE_CHECKING:
    from adapters.salesforce.sandbox.org import Org, Record
    from adapters.salesforce.sandbox.server import SalesforceSandbox

Answer = tuple[int, Any] | Response


@dataclass
class ApiRequest:
    request: Request
    args: dict[str, str]
    version: str
    user_id: str
    sandbox: SalesforceSandbox
    #: The sObject a request without one in its path acted on (a query, a Bulk job), for
    #: the request log's detail.
    detail: str | None = None

    @property
    def org(self) -> Org:
        return self.sandbox.org

    @property
    def prefix(self) -> str:
        return f"/services/data/v{self.version}"

    def sobject(self, arg: str = "sobject") -> SObjectType:
        """The sObject named in the path (404 ``NOT_FOUND`` if the org has none such)."""
        found = self.org.sobject(self.args[arg])
        if found is None:
            raise not_found()
        return found

    def json(self) -> Any:
        raw = self.request.get_data(as_text=True)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise bad_request(
                "JSON_PARSER_ERROR",
                f"Unexpected character ('{raw[exc.pos : exc.pos + 1]}'): {exc.msg} at "
                f"[line:{exc.lineno}, column:{exc.colno}]",
            ) from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            token = "START_ARRAY" if isinstance(body, list) else "VALUE_STRING"
            raise bad_request(
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of sobject from {token} value or request may be "
                "missing a required field",
            )
        return body

    def url(self, sobject: str, record_id: str) -> str:
        return f"{self.prefix}/sobjects/{sobject}/{record_id}"

    def view(
        self, t: SObjectType, record: Record, fields: list[Field] | None = None
    ) -> dict[str, Any]:
        """A record as the REST API returns it: ``attributes``, then its fields."""
        chosen = t.fields if fields is None else fields
        body: dict[str, Any] = {
            "attributes": {"type": t.name, "url": self.url(t.name, record["Id"])}
        }
        for f in chosen:
            body[f.name] = record.get(f.name)
        return body

    def fields_param(self, t: SObjectType) -> list[Field] | None:
        """``?fields=a,b`` as fields of ``t`` (400 ``INVALID_FIELD`` for unknown ones)."""
        raw = self.request.args.get("fields")
        if not raw:
            return None
        chosen: list[Field] = []
        for name in (part.strip() for part in raw.split(",") if part.strip()):
            found = t.field(name)
            if found is None:
                raise bad_request(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {t.name}"
                )
            chosen.append(found)
        return chosen
