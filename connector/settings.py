"""Configuration: the only reader of the TOML file and the environment.

Precedence, highest first (stated once, here):

1. ``REVONT_SYNC_<SECTION>__<KEY>`` environment variables, e.g.
   ``REVONT_SYNC_REVONT__PAGE_SIZE=50`` (for containers);
2. the named secret variables: ``REVONT_API_KEY``, ``HUBSPOT_ACCESS_TOKEN``,
   ``SALESFORCE_*`` (see each adapter's ``env_vars``);
3. the TOML file (``--config``, default ``./revont-sync.toml``);
4. the defaults below.

Secrets never come from the TOML file (a secret key there is an error); they
come from the environment or from a ``<key>_file``. Every problem becomes one
:class:`ConfigError` naming the file, each bad key's dotted path and what is
expected.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from adapters.base import AdapterConfig
from connector.errors import ConfigError, ConfigProblem
from connector.plugins import AdapterRegistry
from connector.revont.client import DEFAULT_BASE_URL
from connector.secrets import SecretsModel

DEFAULT_CONFIG_PATH = Path("revont-sync.toml")
ENV_PREFIX = "REVONT_SYNC_"


def _http_url(value: str) -> str:
    value = value.strip()
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


class RevontSettings(SecretsModel):
    """The ``[revont]`` table: how to reach Revont and how gently."""

    env_vars: ClassVar[dict[str, str]] = {"api_key": "REVONT_API_KEY"}

    base_url: str = DEFAULT_BASE_URL
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    page_size: int = Field(default=100, ge=1, le=100)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=20)
    rate_limit_reserve: float = Field(default=0.1, ge=0.0, lt=1.0)
    max_rate_limit_wait: float = Field(default=300.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _http_url(value)


class StateSettings(SecretsModel):
    """The ``[state]`` table: where cursors, id maps and run history are kept."""

    #: SQLAlchemy URL; None means a SQLite file next to the config file.
    url: str | None = None


class _Sources(BaseSettings):
    """Merges the sources in the order of the module docstring; validates nothing else."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    revont: dict[str, Any] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)
    adapters: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init_settings carries the TOML file's tables: below the environment.
        return (env_settings, init_settings)


@dataclass(frozen=True)
class Config:
    """The validated configuration, handed down as plain typed objects."""

    path: Path
    revont: RevontSettings
    state: StateSettings
    adapters: dict[str, AdapterConfig] = field(default_factory=dict)

    @property
    def state_url(self) -> str:
        return self.state.url or f"sqlite:///{self.path.resolve().parent / 'revont-sync.db'}"

    def enabled_adapters(self) -> dict[str, AdapterConfig]:
        return {name: cfg for name, cfg in self.adapters.items() if cfg.enabled}


def load_config(
    path: Path | str = DEFAULT_CONFIG_PATH,
    *,
    environ: Mapping[str, str] | None = None,
    registry: AdapterRegistry | None = None,
) -> Config:
    """Read, merge and validate the configuration; raise :class:`ConfigError` on any problem."""
    path = Path(path)
    environ = os.environ if environ is None else environ
    registry = registry or AdapterRegistry()
    source = str(path)
    raw = _read_toml(path)
    problems = _inline_secrets(raw, registry)
    if problems:
        raise ConfigError(source, problems)
    try:
        merged = _Sources(**raw)
    except ValidationError as exc:
        raise ConfigError(source, _problems(exc, prefix="", model=_Sources)) from None
    except SettingsError as exc:
        raise ConfigError(
            source, [ConfigProblem(f"{ENV_PREFIX}*", f"unreadable environment override: {exc}")]
        ) from None

    context = {"base_dir": path.resolve().parent}
    problems = []
    revont = _validate(RevontSettings, merged.revont, "revont", environ, context, problems)
    if revont is not None and revont.api_key is None:
        problems.append(
            ConfigProblem(
                "revont.api_key", RevontSettings.missing_secret_message("api_key").split(": ", 1)[1]
            )
        )
    state = _validate(StateSettings, merged.state, "state", environ, context, problems)
    adapters: dict[str, AdapterConfig] = {}
    for name, table in merged.adapters.items():
        if name not in registry:
            problems.append(ConfigProblem(f"adapters.{name}", registry.unknown_message(name)))
            continue
        model = registry.load(name).config_model
        cfg = _validate(model, table, f"adapters.{name}", environ, context, problems)
        if cfg is not None:
            adapters[name] = cfg
    if problems:
        raise ConfigError(source, problems)
    assert revont is not None and state is not None
    return Config(path=path, revont=revont, state=state, adapters=adapters)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            str(path),
            [
                ConfigProblem(
                    "",
                    (
                        "the file does not exist; pass --config PATH, or copy config.example.toml "
                        f"to {DEFAULT_CONFIG_PATH}"
                    ),
                )
            ],
        ) from None
    except OSError as exc:
        raise ConfigError(
            str(path), [ConfigProblem("", f"cannot read the file ({exc.strerror})")]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [ConfigProblem("", f"invalid TOML: {exc}")]) from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), [ConfigProblem("", "invalid TOML: not UTF-8 text")]) from None


def _inline_secrets(raw: dict[str, Any], registry: AdapterRegistry) -> list[ConfigProblem]:
    """Secret keys written into the file: refused, with where they belong instead."""
    found: list[ConfigProblem] = []
    tables: list[tuple[str, Any, type[SecretsModel]]] = [
        ("revont", raw.get("revont"), RevontSettings)
    ]
    for name, table in (raw.get("adapters") or {}).items():
        if isinstance(table, dict) and name in registry:
            try:
                tables.append((f"adapters.{name}", table, registry.load(name).config_model))
            except ConfigError as exc:
                found.extend(exc.problems)
    for prefix, table, model in tables:
        if not isinstance(table, dict):
            continue
        for secret in model.secret_fields():
            if secret in table:
                hint = model.missing_secret_message(secret).split("; ", 1)[1]
                found.append(
                    ConfigProblem(
                        f"{prefix}.{secret}",
                        f"secrets do not belong in the config file; {hint}",
                    )
                )
    return found


def _validate(
    model: type[SecretsModel],
    table: Mapping[str, Any],
    prefix: str,
    environ: Mapping[str, str],
    context: dict[str, Any],
    problems: list[ConfigProblem],
) -> Any:
    try:
        return model.model_validate(model.with_environment(table, environ), context=context)
    except ValidationError as exc:
        problems.extend(_problems(exc, prefix=prefix, model=model))
        return None


_SECRET_WORDS = ("key", "token", "secret", "password")


def _problems(exc: ValidationError, *, prefix: str, model: type[BaseModel]) -> list[ConfigProblem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        key = ".".join(([prefix] if prefix else []) + loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            close = difflib.get_close_matches(loc[-1], allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = f"unknown key{hint} (allowed here: {', '.join(allowed)})"
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "value_error":
            message = str(err["msg"]).removeprefix("Value error, ")
            if ": " in message and not loc:
                field_name, message = message.split(": ", 1)
                key = ".".join(([prefix] if prefix else []) + [field_name])
        else:
            message = str(err["msg"])
            value = err.get("input")
            secret = any(word in (loc[-1] if loc else "") for word in _SECRET_WORDS)
            if not secret and isinstance(value, str | int | float | bool):
                message += f" (got {value!r})"
        out.append(ConfigProblem(key, message))
    return out


def _allowed_keys(model: type[BaseModel], loc: list[str]) -> list[str]:
    if loc or model is _Sources:
        return sorted(_Sources.model_fields) if model is _Sources and not loc else []
    return sorted(k for k in model.model_fields if not k.startswith("_"))


def describe(config: Config) -> dict[str, Any]:
    """The effective configuration as JSON-ready data, secrets shown as set or not."""

    def table(model: SecretsModel) -> dict[str, Any]:
        data = model.model_dump(mode="json")
        for name in model.secret_fields():
            data[name] = "(set)" if getattr(model, name) is not None else "(not set)"
        return data

    return {
        "config": str(config.path),
        "revont": table(config.revont),
        "state": {"url": config.state_url},
        "adapters": {name: table(cfg) for name, cfg in config.adapters.items()},
    }


__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Config",
    "RevontSettings",
    "StateSettings",
    "describe",
    "load_config",
]
