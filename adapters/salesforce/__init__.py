"""The Salesforce adapter (built on simple-salesforce), its configuration and its sandbox.

- :mod:`config`: the ``[adapters.salesforce]`` table;
- :mod:`session`: the ``requests.Session`` simple-salesforce is built with;
- :mod:`api`: login, the daily allowance, error translation;
- :mod:`people`: Contacts and Leads by email;
- :mod:`writes`: sObject Collections and Bulk API 2.0 upserts with per-record results;
- :mod:`setup`: the external-id fields (``revont-sync setup salesforce``);
- :mod:`adapter`: :class:`SalesforceAdapter`, the class registered as ``salesforce``;
- :mod:`sandbox`: a local server that behaves like Salesforce, for trying and testing.
"""

from adapters.salesforce.adapter import SalesforceAdapter
from adapters.salesforce.config import SalesforceConfig

__all__ = ["SalesforceAdapter", "SalesforceConfig"]
