"""The HubSpot adapter (built on hubspot-api-client).

Today it declares its configuration; the writes, setup command and sandbox are
issue #5.
"""

from typing import ClassVar

from adapters.hubspot.config import HubSpotConfig


class HubSpotAdapter:
    name: ClassVar[str] = "hubspot"
    config_model: ClassVar[type[HubSpotConfig]] = HubSpotConfig


__all__ = ["HubSpotAdapter", "HubSpotConfig"]
