"""The HubSpot sandbox: a local server that behaves like HubSpot's CRM API.

``HubSpotSandbox`` (in :mod:`server`) is the entry point; :mod:`portal` holds
the data, :mod:`routes` lists what is served (objects, properties, owners,
associations) and :mod:`limits` HubSpot's request limits. The real
``hubspot-api-client`` works against it unpatched::

    with HubSpotSandbox() as hs:
        client = HubSpot(access_token=hs.token, host=hs.url)

See ``docs/sandbox.md``.
"""

from adapters.hubspot.sandbox.portal import Portal
from adapters.hubspot.sandbox.schema import ALL_SCOPES, ASSOCIATION_TYPES, OBJECT_TYPES
from adapters.hubspot.sandbox.server import DEFAULT_TOKEN, FAULT_KINDS, HubSpotSandbox
from connector.sandbox import FaultRule

__all__ = [
    "ALL_SCOPES",
    "ASSOCIATION_TYPES",
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "OBJECT_TYPES",
    "FaultRule",
    "HubSpotSandbox",
    "Portal",
]
