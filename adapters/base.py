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

from dataclasses import dataclass
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
    "CrmField",
    "CrmFields",
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


@dataclass(frozen=True)
class CrmField:
    """What a CRM says about one of its fields, for checking mappings before any write.

    ``max_length`` for text fields, ``picklist`` for fields that only take
    certain values, ``required`` when a create without it fails.
    """

    name: str
    type: str = "string"
    max_length: int | None = None
    picklist: frozenset[str] | None = None
    required: bool = False


#: CRM object type -> field name -> what the CRM says about it.
CrmFields = dict[str, dict[str, CrmField]]


class CrmAdapter(Protocol):
    """The class an adapter plugin registers.

    Optional capability, found by name: ``describe_fields(config) -> CrmFields``
    reports the CRM's field metadata (live when credentials are configured, the
    adapter's sandbox otherwise) for ``revont-sync mappings check``.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[AdapterConfig]]
