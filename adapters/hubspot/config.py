"""The ``[adapters.hubspot]`` table."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

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
    #: Attempts per request on 429s of the ten-second window, 5xx, 423 and dropped
    #: connections (only for requests that are safe to repeat).
    max_attempts: int = Field(default=4, ge=1, le=10)
    #: Fraction of the ten-second window left to the account's other integrations.
    rate_limit_reserve: float = Field(default=0.1, ge=0.0, lt=1.0)
    #: Fraction of the account's daily allowance left to its other integrations: the sync
    #: stops cleanly (and resumes next run) when only this much is left.
    daily_reserve: float = Field(default=0.1, ge=0.0, lt=1.0)
    #: The longest single wait for the ten-second window before the run stops instead.
    max_rate_limit_wait: float = Field(default=60.0, gt=0)
    #: A call whose prospect is not a HubSpot contact: "create" the contact (from the
    #: email), or "skip" the association and log the call without a contact.
    unknown_prospect: Literal["create", "skip"] = "create"
    #: Also associate calls (and tasks, notes) with the company of their contact.
    associate_company: bool = False
    #: The property group `revont-sync setup hubspot` creates the id properties in.
    property_group: str = Field(default="revont", pattern=r"^[a-z][a-z0-9_]*$")

    @model_validator(mode="after")
    def _token_when_enabled(self) -> Self:
        if self.enabled and self.access_token is None:
            raise FieldProblem(
                "access_token", f"missing secret; {self.secret_hint('access_token')}"
            )
        return self
