"""Control endpoints for the command line: not authenticated, not metered, not counted.

Each does what a Python method does:

=========================================  =============================================
``GET /_sandbox/credentials``              what to log in with: ``instance_url``,
                                           ``access_token``, ``username``, ``password``,
                                           ``security_token``, ``consumer_key``,
                                           ``consumer_secret``, ``private_key_pem``
``POST|DELETE /_sandbox/sessions``         ``issue_access_token()`` / ``expire_sessions()``
``POST /_sandbox/users``                   ``org.add_user`` (``email``, ``name``, ``active``)
``GET /_sandbox/records/{sobject}``        ``org.records`` (``?deleted=true`` adds the bin)
``POST /_sandbox/records/{sobject}``       ``org.add`` (a record "made by hand")
``POST /_sandbox/custom-fields``           ``org.add_custom_fields()``
``POST|DELETE /_sandbox/locks``            ``org.lock`` (``sobject``, ``key``, ``count``) /
                                           ``org.unlock`` (all)
``POST /_sandbox/races``                   ``org.race`` (``sobject``, ``value``, ``count``)
``GET|POST|DELETE /_sandbox/faults``       list, add (a ``FaultRule`` as JSON), clear
``GET|DELETE /_sandbox/stats``             the request log, or reset it
``GET|PUT /_sandbox/limits``               the ``/limits`` resource; ``PUT {"used",
                                           "limit"}`` is ``set_api_usage``
=========================================  =============================================
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from connector.sandbox import FaultRule

if TYPE_CHECKING:
    from adapters.salesforce.sandbox.server import SalesforceSandbox


def _reply(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _credentials(sandbox: SalesforceSandbox) -> dict[str, str]:
    creds = sandbox.credentials
    return {
        "instance_url": sandbox.instance_url,
        "access_token": sandbox.access_token,
        "username": creds.username,
        "password": creds.password,
        "security_token": creds.security_token,
        "consumer_key": creds.consumer_key,
        "consumer_secret": creds.consumer_secret,
        "private_key_pem": sandbox.private_key_pem,
    }


def serve_control(sandbox: SalesforceSandbox, request: Request) -> Response:
    parts = request.path.strip("/").split("/")[1:]
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        return _reply({"error": "the body must be a JSON object"}, 400)
    method, org = request.method, sandbox.org
    try:
        if parts == ["credentials"] and method == "GET":
            return _reply(_credentials(sandbox))
        if parts == ["sessions"] and method == "POST":
            return _reply({"access_token": sandbox.issue_access_token()}, 201)
        if parts == ["sessions"] and method == "DELETE":
            sandbox.expire_sessions()
            return _reply({"expired": True})
        if parts == ["users"] and method == "POST":
            user_id = org.add_user(
                email=str(body["email"]),
                name=str(body.get("name") or body["email"]),
                active=bool(body.get("active", True)),
            )
            return _reply({"id": user_id}, 201)
        if len(parts) == 2 and parts[0] == "records" and method == "GET":
            deleted = request.args.get("deleted", "").lower() == "true"
            return _reply({"records": org.records(parts[1], include_deleted=deleted)})
        if len(parts) == 2 and parts[0] == "records" and method == "POST":
            return _reply(org.add(parts[1], **body), 201)
        if parts == ["custom-fields"] and method == "POST":
            org.add_custom_fields()
            return _reply({"added": True}, 201)
        if parts == ["locks"] and method == "POST":
            org.lock(str(body["sobject"]), str(body["key"]), count=body.get("count"))
            return _reply({"locked": True}, 201)
        if parts == ["locks"] and method == "DELETE":
            org.unlock()
            return _reply({"locked": False})
        if parts == ["races"] and method == "POST":
            org.race(str(body["sobject"]), str(body["value"]), count=int(body.get("count", 1)))
            return _reply({"armed": True}, 201)
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
                sandbox.set_api_usage(used=int(body["used"]), limit=body.get("limit"))
            return _reply(sandbox.limits.describe())
    except KeyError as exc:
        return _reply({"error": f"not found or missing: {exc.args[0]}"}, 404)
    except (TypeError, ValueError) as exc:
        return _reply({"error": str(exc)}, 400)
    return _reply({"error": f"no control endpoint {method} {request.path}"}, 404)
