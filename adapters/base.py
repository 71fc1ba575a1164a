"""What an adapter author imports: the contract, its value types, the error tree.

An adapter is a class registered in the ``revont_sync.adapters`` entry-point
group (built-in adapters register there exactly like third-party ones). The
class names its configuration model in ``config_model``: a subclass of
:class:`AdapterConfig` that validates the adapter's ``[adapters.<name>]`` table.

The write contract is small (:class:`CrmWriter`): the engine hands over a
batch of :class:`CrmRecord` values (each keyed by the Revont id in its
external-id field) and gets back one :class:`WriteResult` per record, matched
by key, not by position: created, updated, unchanged, or rejected with the
reason. A record the CRM refuses is a result, not an exception; exceptions
are for the whole batch, and come from the connector's error tree below
(:class:`RateLimitedError`, :class:`TransientError`, :class:`CredentialsError`,
:class:`QuotaExhaustedError`...), never an SDK's own.

The shipped contract test suite every adapter runs is issue #5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

from pydantic import Field, ValidationInfo, model_validator

from connector.errors import (
    ApiError,
    ConfigError,
    CredentialsError,
    CrmSetupError,
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
    "CrmRecord",
    "CrmSetupError",
    "CrmWriter",
    "FieldProblem",
    "NotFoundError",
    "QuotaExhaustedError",
    "QuotaState",
    "RateLimitedError",
    "RecordLink",
    "RequestError",
    "RetryableError",
    "RevontSyncError",
    "SetupStep",
    "SyncAbortedError",
    "TransientError",
    "WriteOutcome",
    "WriteResult",
]


class AdapterConfig(SecretsModel):
    """Keys every ``[adapters.<name>]`` table has; adapters subclass it with their own."""

    enabled: bool = True
    #: The mapping file (relative to the config file); None means the shipped default.
    mapping: Path | None = None
    #: Value maps laid over the mapping's [maps], e.g. owners: Revont rep id -> CRM owner id.
    maps: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: Values for variables the mapping declares in its [vars] (e.g. notes = "summary");
    #: a name the mapping does not declare is refused when the mapping loads.
    vars: dict[str, str | int | float | bool] = Field(default_factory=dict)

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


@dataclass(frozen=True)
class RecordLink:
    """The record should be linked to the ``to`` object's record identified by ``value``
    (a contact by its email, a call or action item by its Revont id)."""

    to: str
    value: str | int
    field: str | None = None


@dataclass(frozen=True)
class CrmRecord:
    """One record to create or update, idempotently, by ``external_id``."""

    object: str  # the mapping's name for the object type ("call", "CallTask")
    crm_object: str  # the CRM's name ("calls", "Task")
    external_id_field: str
    external_id: str
    values: dict[str, Any]
    links: tuple[RecordLink, ...] = ()
    #: The CRM id from the last successful write, when the engine knows it.
    crm_id: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.object, self.external_id)


class WriteOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


@dataclass(frozen=True)
class WriteResult:
    """What happened to one record of a batch. ``error_class`` and ``message`` say why
    a record was rejected (``INVALID_EMAIL``, "Email: invalid email address")."""

    object: str
    external_id: str
    outcome: WriteOutcome
    crm_id: str | None = None
    error_class: str | None = None
    message: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.object, self.external_id)


@dataclass(frozen=True)
class SetupStep:
    """One thing an adapter's ``setup`` looked at in its CRM (``revont-sync setup NAME``):
    what and where, and what it did or found: created, exists, missing or problem, with
    a detail saying what to do about the last two."""

    crm_object: str
    name: str
    kind: str  # group | property | field ...
    action: str  # created | exists | missing | problem
    detail: str = ""


@dataclass(frozen=True)
class QuotaState:
    """What an adapter knows of its CRM quota, for status and metrics."""

    service: str
    remaining: int | None = None
    limit: int | None = None
    resets_at: float | None = None  # Unix time


class CrmWriter(Protocol):
    """An adapter instance: writes batches, reports quota, closes (idempotently)."""

    #: The most records one call of :meth:`upsert` takes; larger batches are split.
    batch_size: int

    def upsert(self, records: Sequence[CrmRecord]) -> list[WriteResult]: ...

    def quota(self) -> QuotaState | None: ...

    def close(self) -> None: ...


class CrmAdapter(Protocol):
    """The class an adapter plugin registers.

    Optional capability, found by name: ``describe_fields(config) -> CrmFields``
    reports the CRM's field metadata (live when credentials are configured, the
    adapter's sandbox otherwise) for ``revont-sync mappings check``.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[AdapterConfig]]
