"""The HubSpot adapter (built on hubspot-api-client), its configuration and its sandbox.

- :mod:`config`: the ``[adapters.hubspot]`` table;
- :mod:`api`: the wire (SDK client, pacing, retries, error translation);
- :mod:`writes`: batch upserts with per-record results;
- :mod:`links`: link targets and associations;
- :mod:`setup`: the connector's unique id properties (``revont-sync setup hubspot``);
- :mod:`adapter`: :class:`HubSpotAdapter`, the class registered as ``hubspot``;
- :mod:`sandbox`: a local server that behaves like HubSpot, for trying and testing.
"""

from adapters.hubspot.adapter import HubSpotAdapter
from adapters.hubspot.config import HubSpotConfig

__all__ = ["HubSpotAdapter", "HubSpotConfig"]
