"""The ``[adapters.hubspot]`` table."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, SecretStr, model_validator

from adapters.base import AdapterConfig, FieldProblem


class HubSpotConfig(AdapterConfig):
    """HubSpot private-app settings. The token comes from ``HUBSPOT_ACCESS_TOKEN``."""

    env_vars: ClassVar[dict[str, str]] = {"access_token": "HUBSPOT_ACCESS_TOKEN"}

    #: API host; point it at the HubSpot sandbox (``http://127.0.0.1:PORT``) to try things out.
    base_url: str = "https://api.hubapi.com"
    access_token: SecretStr | None = None
    access_token_file: Path | None = None
    #: Seconds to wait for a connection and for an answer.
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _token_when_enabled(self) -> Self:
        if self.enabled and self.access_token is None:
            raise FieldProblem(
                "access_token", f"missing secret; {self.secret_hint('access_token')}"
            )
        return self
