"""The HubSpot sandbox's control endpoints under ``/_sandbox``, for the command line.

No token, no limits, not counted; each does what a Python method does:

=====================================  =============================================
``POST /_sandbox/owners``              ``portal.add_owner`` (``email``, ``first_name``,
                                       ``last_name``)
``GET /_sandbox/records/{type}``       ``portal.records``
``POST /_sandbox/records/{type}``      ``portal.add_record`` (a record "made by hand")
``GET|POST|DELETE /_sandbox/faults``   list, add (a ``FaultRule`` as JSON), clear
``GET|DELETE /_sandbox/stats``         the request log, or reset it
``GET|PUT /_sandbox/limits``           read or change the limits and the daily remaining
=====================================  =============================================
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from connector.sandbox import FaultRule

if TYPE_CHECKING:
    from adapters.hubspot.sandbox.server import HubSpotSandbox


def _reply(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _limits(sandbox: HubSpotSandbox) -> dict[str, Any]:
    limits = sandbox.limits
    headers = limits.take(search=False, spend=False).headers
    return {
        "ten_second_limit": limits.window.limit,
        "interval_ms": round(limits.window.interval * 1000),
        "daily_limit": limits.daily.limit,
        "daily_remaining": int(headers["X-HubSpot-RateLimit-Daily-Remaining"]),
        "search_per_second": limits.search.limit,
        "headers": headers,
    }


def serve_control(sandbox: HubSpotSandbox, request: Request) -> Response:
    parts = request.path.strip("/").split("/")[1:]
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        return _reply({"error": "the body must be a JSON object"}, 400)
    method = request.method
    try:
        if parts == ["owners"] and method == "POST":
            owner_id = sandbox.portal.add_owner(
                str(body["email"]), str(body.get("first_name", "")), str(body.get("last_name", ""))
            )
            return _reply({"id": owner_id}, 201)
        if len(parts) == 2 and parts[0] == "records" and method == "GET":
            return _reply({"results": sandbox.portal.records(parts[1])})
        if len(parts) == 2 and parts[0] == "records" and method == "POST":
            return _reply(sandbox.portal.add_record(parts[1], **body), 201)
        if parts == ["faults"]:
            if method == "POST":
                sandbox.faults.add(FaultRule(**body))
            elif method == "DELETE":
                sandbox.faults.clear()
            return _reply({"results": sandbox.faults.describe()})
        if parts == ["stats"]:
            if method == "DELETE":
                sandbox.log.reset()
            return _reply(sandbox.log.snapshot())
        if parts == ["limits"]:
            if method == "PUT":
                sandbox.set_rate_limit(
                    ten_second_limit=body.get("ten_second_limit"),
                    interval_ms=body.get("interval_ms"),
                    daily_limit=body.get("daily_limit"),
                    search_per_second=body.get("search_per_second"),
                )
                if body.get("daily_remaining") is not None:
                    sandbox.set_daily_remaining(int(body["daily_remaining"]))
            return _reply(_limits(sandbox))
    except KeyError as exc:
        return _reply({"error": f"not found or missing: {exc.args[0]}"}, 404)
    except (TypeError, ValueError) as exc:
        return _reply({"error": str(exc)}, 400)
    return _reply({"error": f"no control endpoint {method} {request.path}"}, 404)
