"""One API request as the handlers see it: body, query, path arguments, the portal."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request

from adapters.hubspot.sandbox.portal import Portal
from adapters.hubspot.sandbox.problems import BATCH_LIMIT, BATCH_LIMIT_MESSAGE, bad_request, problem
from adapters.hubspot.sandbox.schema import ObjectType, resolve_type


@dataclass
class ApiRequest:
    """A matched request. ``shuffle`` orders batch results the way HubSpot does: not
    in input order (deterministically from the sandbox's seed)."""

    request: Request
    args: dict[str, str]
    portal: Portal
    rng: random.Random
    shuffle_results: bool = True

    def object_type(self, arg: str = "object_type") -> ObjectType:
        raw = self.args[arg]
        found = resolve_type(raw)
        if found is None:
            raise bad_request(f"Unable to infer object type from: {raw}")
        return found

    def body(self) -> dict[str, Any]:
        raw = self.request.get_data(as_text=True)
        try:
            data = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            message = f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}"
            raise problem(400, "VALIDATION_ERROR", message) from None
        if not isinstance(data, dict):
            raise bad_request("The request body must be a JSON object.")
        return data

    def any_body(self) -> Any:
        raw = self.request.get_data(as_text=True)
        try:
            return json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError as exc:
            raise bad_request(f"Invalid input JSON: {exc.msg}") from None

    def inputs(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """A batch body's ``inputs``, at most 100 of them, each an object."""
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise bad_request("Some required fields were not set: [inputs]")
        if len(inputs) > BATCH_LIMIT:
            raise bad_request(BATCH_LIMIT_MESSAGE)
        if not all(isinstance(item, dict) for item in inputs):
            raise bad_request("Each input must be a JSON object.")
        return inputs

    def query_list(self, name: str) -> list[str] | None:
        """A list query parameter, repeated (``a=1&a=2``) or comma-separated, or both."""
        values = self.request.args.getlist(name)
        if not values:
            return None
        return [part.strip() for value in values for part in value.split(",") if part.strip()]

    def query_int(self, name: str, default: int, maximum: int) -> int:
        raw = self.request.args.get(name)
        try:
            value = int(raw) if raw is not None else default
        except ValueError:
            raise bad_request(f"{name} must be an integer.") from None
        return max(1, min(value, maximum))

    def shuffle(self, items: list[Any]) -> list[Any]:
        if not self.shuffle_results or len(items) < 2:
            return items
        shuffled = list(items)
        self.rng.shuffle(shuffled)
        if shuffled == items:  # never hand back input order by chance
            shuffled = shuffled[1:] + shuffled[:1]
        return shuffled

    def batch(
        self,
        results: list[Any],
        errors: list[dict[str, Any]],
        started: str,
        ok_status: int = 200,
    ) -> tuple[int, dict[str, Any]]:
        """A batch answer: ``ok_status`` when nothing failed, else 207 with the errors."""
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": self.shuffle(results),
            "startedAt": started,
            "completedAt": self.portal.now(),
        }
        if not errors:
            return ok_status, body
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return 207, body
