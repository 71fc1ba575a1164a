"""The Salesforce adapter (built on simple-salesforce).

Today it declares its configuration; the writes, setup check and sandbox are
issue #6.
"""

from typing import ClassVar

from adapters.salesforce.config import SalesforceConfig


class SalesforceAdapter:
    name: ClassVar[str] = "salesforce"
    config_model: ClassVar[type[SalesforceConfig]] = SalesforceConfig


__all__ = ["SalesforceAdapter", "SalesforceConfig"]
