"""Configuration models that hold secrets without ever showing them.

A secret field is a :class:`~pydantic.SecretStr` (it prints as ``**********``).
It is never read from the config file: it comes from an environment variable
named in ``env_vars`` (``REVONT_API_KEY``, ``HUBSPOT_ACCESS_TOKEN``,
``SALESFORCE_*``), or from a file whose path the config gives in the companion
key ``<field>_file`` (for Docker and Kubernetes secrets). Relative paths are
relative to the config file.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationInfo, model_validator


class FieldProblem(ValueError):
    """A model-level validation problem that belongs to one key of the table."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class SecretsModel(BaseModel):
    """Base of every configuration table: unknown keys refused, secrets kept secret."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    #: field name -> environment variable that provides it (secret or not)
    env_vars: ClassVar[dict[str, str]] = {}

    @classmethod
    def secret_fields(cls) -> list[str]:
        return [
            name for name, info in cls.model_fields.items() if "SecretStr" in str(info.annotation)
        ]

    @classmethod
    def secret_hint(cls, name: str) -> str:
        """Where the secret ``name`` should come from, e.g. ``set REVONT_API_KEY or ...``."""
        var = cls.env_vars.get(name)
        where = f"set {var}" if var else "set it in the environment"
        if f"{name}_file" in cls.model_fields:
            where += f" or give {name}_file"
        return where

    @model_validator(mode="after")
    def _read_secret_files(self, info: ValidationInfo) -> Self:
        if getattr(self, "enabled", True) is False:
            return self  # a disabled table's secrets are not needed, so not read
        base_dir = Path((info.context or {}).get("base_dir", "."))
        for name in self.secret_fields():
            file_field = f"{name}_file"
            path = getattr(self, file_field, None)
            if getattr(self, name) is not None or path is None:
                continue
            path = path if Path(path).is_absolute() else base_dir / path
            try:
                value = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise FieldProblem(
                    file_field, f"cannot read the secret file {path} ({exc.strerror})"
                ) from None
            except UnicodeDecodeError:
                raise FieldProblem(
                    file_field, f"the secret file {path} is not UTF-8 text"
                ) from None
            if not value:
                raise FieldProblem(file_field, f"the secret file {path} is empty")
            object.__setattr__(self, name, SecretStr(value))
        return self

    def require_secret(self, name: str) -> SecretStr:
        """The secret, or a clear error naming where it should come from."""
        value = getattr(self, name)
        if value is None:
            raise FieldProblem(name, f"missing secret; {self.secret_hint(name)}")
        assert isinstance(value, SecretStr)
        return value
