"""The routes the Salesforce sandbox serves, each with its handler.

Each route has a template (``PATCH /services/data/vXX.X/composite/sobjects/{sobject}/{field}``),
the name the request log counts it under; :func:`detail_name` fills in the
sObject and field (``PATCH /services/data/vXX.X/composite/sobjects/Task/Revont_Call_Id__c``)
or, for routes whose path names no sObject (a query, a Bulk job), appends the
one the request acted on (``GET /services/data/vXX.X/query [Contact]``).

``auth``: needs a session; ``metered``: spends the org's API allowance and
carries ``Sforce-Limit-Info``. ``family`` picks the error shape of injected
faults (REST arrays, OAuth objects, SOAP).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.routing import Map, Rule

from adapters.salesforce.sandbox import bulk, composite, query, rest
from adapters.salesforce.sandbox.auth import revoke_endpoint, soap_endpoint, token_endpoint
from adapters.salesforce.sandbox.context import Answer, ApiRequest
from adapters.salesforce.sandbox.org import Org

Handler = Callable[[ApiRequest], Answer]


@dataclass(frozen=True)
class Route:
    template: str
    handler: Handler
    family: str = "data"  # data | versions | oauth | soap

    @property
    def auth(self) -> bool:
        return self.family == "data"

    @property
    def metered(self) -> bool:
        return self.family == "data"


def _versions(api: ApiRequest) -> Answer:
    return 200, rest.versions(api.sandbox.api_version)


PLACEHOLDERS = {
    "v<version>": "vXX.X",
    "/u/<version>": "/u/XX.X",
    "<sobject>": "{sobject}",
    "<id>": "{id}",
    "<field>": "{field}",
    "<path:value>": "{value}",
    "<locator>": "{locator}",
    "<job_id>": "{jobId}",
}

_D = "/services/data/v<version>"
_S = f"{_D}/sobjects/<sobject>"
_J = f"{_D}/jobs/ingest/<job_id>"
_TABLE: list[tuple[str, str, Handler, str]] = [
    ("GET", "/services/data/", _versions, "versions"),
    ("POST", "/services/oauth2/token", token_endpoint, "oauth"),
    ("POST", "/services/oauth2/revoke", revoke_endpoint, "oauth"),
    ("POST", "/services/Soap/u/<version>", soap_endpoint, "soap"),
    ("GET", f"{_D}/", rest.resources, "data"),
    ("GET", f"{_D}/limits", rest.limits, "data"),
    ("GET", f"{_D}/sobjects", rest.global_describe, "data"),
    ("GET", _S, rest.sobject_info, "data"),
    ("POST", _S, rest.create, "data"),
    ("GET", f"{_S}/describe", rest.describe, "data"),
    ("GET", f"{_S}/<id>", rest.get_record, "data"),
    ("PATCH", f"{_S}/<id>", rest.update_record, "data"),
    ("DELETE", f"{_S}/<id>", rest.delete_record, "data"),
    ("GET", f"{_S}/<field>/<path:value>", rest.get_by_external_id, "data"),
    ("PATCH", f"{_S}/<field>/<path:value>", rest.upsert_record, "data"),
    ("GET", f"{_D}/query", query.query, "data"),
    ("GET", f"{_D}/query/<locator>", query.query_more, "data"),
    ("GET", f"{_D}/queryAll", query.query_all, "data"),
    ("GET", f"{_D}/queryAll/<locator>", query.query_all_more, "data"),
    ("POST", f"{_D}/composite/sobjects", composite.create, "data"),
    ("PATCH", f"{_D}/composite/sobjects", composite.update, "data"),
    ("DELETE", f"{_D}/composite/sobjects", composite.remove, "data"),
    ("GET", f"{_D}/composite/sobjects/<sobject>", composite.retrieve, "data"),
    ("PATCH", f"{_D}/composite/sobjects/<sobject>/<field>", composite.upsert, "data"),
    ("POST", f"{_D}/jobs/ingest", bulk.create_job, "data"),
    ("GET", f"{_D}/jobs/ingest", bulk.list_jobs, "data"),
    ("GET", _J, bulk.get_job, "data"),
    ("PATCH", _J, bulk.set_state, "data"),
    ("DELETE", _J, bulk.delete_job, "data"),
    ("PUT", f"{_J}/batches", bulk.upload, "data"),
    ("GET", f"{_J}/successfulResults", bulk.successful_results, "data"),
    ("GET", f"{_J}/failedResults", bulk.failed_results, "data"),
    ("GET", f"{_J}/unprocessedrecords", bulk.unprocessed_records, "data"),
]
#: Other spellings Salesforce (and simple-salesforce) use for the same resource.
_ALIASES = [("GET", f"{_J}/unprocessedRecords", f"{_J}/unprocessedrecords")]


def _template(method: str, rule: str) -> str:
    for raw, placeholder in PLACEHOLDERS.items():
        rule = rule.replace(raw, placeholder)
    return f"{method} {rule.rstrip('/') if rule != '/services/data/' else rule}"


ROUTES: dict[str, Route] = {
    _template(method, rule): Route(_template(method, rule), handler, family)
    for method, rule, handler, family in _TABLE
}

URL_MAP = Map(
    [
        Rule(rule, endpoint=_template(method, rule), methods=[method])
        for method, rule, _, _ in _TABLE
    ]
    + [
        Rule(rule, endpoint=_template(method, same), methods=[method])
        for method, rule, same in _ALIASES
    ],
    strict_slashes=False,
    merge_slashes=False,
)


def detail_name(template: str, args: dict[str, str], org: Org, acted_on: str | None) -> str:
    """The template with the sObject and field filled in (by their API names), or with
    the sObject the request acted on appended."""
    if "{sobject}" not in template:
        return f"{template} [{acted_on}]" if acted_on else template
    t = org.sobject(args["sobject"])
    name = template.replace("{sobject}", t.name if t else args["sobject"])
    if "{field}" in name:
        f = t.field(args["field"]) if t else None
        name = name.replace("{field}", f.name if f else args["field"])
    return name
