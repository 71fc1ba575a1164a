"""What an adapter author imports: configuration base and the connector's error tree.

An adapter is a class registered in the ``revont_sync.adapters`` entry-point
group (built-in adapters register there exactly like third-party ones). The
class names its configuration model in ``config_model``: a subclass of
:class:`AdapterConfig` that validates the adapter's ``[adapters.<name>]`` table.

The write contract (upserts, per-record results, field metadata, quota state)
and its shipped contract test suite are specified in issue #5 and land with it;
until then an adapter class declares only its name and configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol, Self

from pydantic import Field, ValidationInfo, model_validator

from connector.errors import (
    ApiError,
    ConfigError,
    CredentialsError,
    NotFoundError,
    QuotaExhaustedError,
    RateLimitedError,
    RequestError,
    RetryableError,
    RevontSyncError,
    SyncAbortedError,
    TransientError,
)
from connector.secrets import FieldProblem, SecretsModel

__all__ = [
    "AdapterConfig",
    "ApiError",
    "ConfigError",
    "CredentialsError",
    "CrmAdapter",
    "FieldProblem",
    "NotFoundError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "RequestError",
    "RetryableError",
    "RevontSyncError",
    "SyncAbortedError",
    "TransientError",
]


class AdapterConfig(SecretsModel):
    """Keys every ``[adapters.<name>]`` table has; adapters subclass it with their own."""

    enabled: bool = True
    #: The mapping file (relative to the config file); None means the shipped default.
    mapping: Path | None = None
    #: Value maps laid over the mapping's [maps], e.g. owners: Revont rep id -> CRM owner id.
    maps: dict[str, dict[str, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _mapping_exists(self, info: ValidationInfo) -> Self:
        if self.mapping is not None:
            base_dir = Path((info.context or {}).get("base_dir", "."))
            path = self.mapping if self.mapping.is_absolute() else base_dir / self.mapping
            if not path.is_file():
                raise FieldProblem("mapping", f"no mapping file at {path}")
            object.__setattr__(self, "mapping", path)
        return self


class CrmAdapter(Protocol):
    """The class an adapter plugin registers."""

    name: ClassVar[str]
    config_model: ClassVar[type[AdapterConfig]]
