"""The Salesforce sandbox: a local server that behaves like Salesforce's REST API.

``SalesforceSandbox`` (in :mod:`server`) is the entry point; :mod:`org` holds
the data and :mod:`writes` the one write path, :mod:`routes` lists what is
served (REST records and describe, SOQL in :mod:`soql`, sObject Collections in
:mod:`composite`, Bulk API 2.0 in :mod:`bulk`, OAuth and SOAP login in
:mod:`auth`) and :mod:`limits` the org's API allowance. The real
``simple-salesforce`` works against it unpatched::

    from simple_salesforce import Salesforce
    from adapters.salesforce.session import build_session

    with SalesforceSandbox() as sf:
        client = Salesforce(
            instance_url=sf.instance_url,
            session_id=sf.access_token,
            session=build_session(connect_timeout=5, read_timeout=30, sandbox_url=sf.url),
            version="62.0",
        )

See ``docs/sandbox.md``.
"""

from adapters.salesforce.sandbox.org import Org
from adapters.salesforce.sandbox.schema import CUSTOM_FIELDS, SOBJECTS
from adapters.salesforce.sandbox.server import (
    DEFAULT_INSTANCE_URL,
    DEFAULT_PASSWORD,
    DEFAULT_SECURITY_TOKEN,
    FAULT_KINDS,
    SalesforceSandbox,
)
from connector.sandbox import FaultRule

__all__ = [
    "CUSTOM_FIELDS",
    "DEFAULT_INSTANCE_URL",
    "DEFAULT_PASSWORD",
    "DEFAULT_SECURITY_TOKEN",
    "FAULT_KINDS",
    "SOBJECTS",
    "FaultRule",
    "Org",
    "SalesforceSandbox",
]
