"""Configuration: the only reader of the TOML file and the environment.

Precedence, highest first (stated once, here; :meth:`_Sources.settings_customise_sources`
implements it):

1. ``REVONT_SYNC_<TABLE>__<KEY>`` environment variables, e.g.
   ``REVONT_SYNC_REVONT__PAGE_SIZE=50`` (for containers);
2. the named variables: ``REVONT_API_KEY``, ``HUBSPOT_ACCESS_TOKEN``,
   ``SALESFORCE_*`` (see each table model's ``env_vars``);
3. the TOML file (``--config``, default ``./revont-sync.toml``);
4. the defaults of the models below.

Secrets never come from the TOML file (a secret key there is an error); they
come from the environment or from a ``<key>_file``. Every problem becomes one
:class:`ConfigError` naming the file, each bad key's dotted path (and the
environment variable, when the value came from one) and what is expected.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from adapters.base import AdapterConfig
from connector.errors import ConfigError, ConfigProblem
from connector.plugins import AdapterRegistry
from connector.revont.client import DEFAULT_BASE_URL
from connector.secrets import FieldProblem, SecretsModel

DEFAULT_CONFIG_PATH = Path("revont-sync.toml")
ENV_PREFIX = "REVONT_SYNC_"
#: Not a configuration key: the CLI's way to name the file.
_NOT_OVERRIDES = {"REVONT_SYNC_CONFIG"}


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
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class SyncSettings(SecretsModel):
    """The ``[sync]`` table: how the engine walks Revont's history."""

    #: Windows start this many seconds before the watermark (late-indexed calls).
    lag_seconds: int = Field(default=300, ge=0)
    #: The first run syncs records created since this time (unset: everything).
    since: datetime | None = None
    #: A pending summary is first checked again after this many seconds, then at doubling
    #: intervals, until the deadline (then the call is reported as a failure).
    enrichment_first_check_seconds: int = Field(default=120, ge=0)
    enrichment_deadline_hours: float = Field(default=6.0, gt=0)
    #: Reconciliation re-lists this many days of calls, this often.
    reconcile_lookback_days: float = Field(default=7.0, gt=0)
    reconcile_every_hours: float = Field(default=6.0, gt=0)
    #: How long a run's lease lasts without renewal (another process may take it after).
    lease_ttl_seconds: int = Field(default=900, ge=60)

    @field_validator("since")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-01-01T00:00:00Z")
        return value


class ScheduleSettings(SecretsModel):
    """When an adapter's incremental run starts: every ``interval_seconds``, or on a
    ``cron`` expression (five fields, e.g. ``*/5 * * * *``; UTC) when given."""

    interval_seconds: int = Field(default=300, ge=1)
    cron: str | None = None

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) != 5:
            raise ValueError("give five fields: minute hour day month weekday, e.g. '*/5 * * * *'")
        return value


class AdapterSchedule(ScheduleSettings):
    """``[daemon.adapters.<name>]``: one adapter's schedule, and optionally one per stream
    (``[daemon.adapters.<name>.streams.contacts]``, ``.calls``), each then run alone."""

    streams: dict[Literal["contacts", "calls"], ScheduleSettings] = Field(default_factory=dict)


class DaemonSettings(ScheduleSettings):
    """The ``[daemon]`` table: ``revont-sync daemon``'s schedules, shutdown, metrics and
    webhook receiver."""

    env_vars: ClassVar[dict[str, str]] = {"webhook_secret": "REVONT_WEBHOOK_SECRET"}

    #: Up to this many seconds added to each start, so adapters do not all start together.
    jitter_seconds: int = Field(default=10, ge=0)
    #: On SIGTERM or SIGINT, how long the run in flight may take to finish its page and
    #: checkpoint before the daemon exits anyway (the next start resumes from the last
    #: checkpoint either way).
    grace_seconds: float = Field(default=30.0, gt=0)
    #: Where to serve /metrics (Prometheus) and /healthz, host:port; "" turns them off.
    metrics_address: str = "127.0.0.1:9464"
    #: /healthz turns unhealthy when an adapter's newest synced call is older than this.
    max_lag_seconds: float = Field(default=3600.0, gt=0)
    #: Where to receive Revont's webhooks, host:port ("" turns the receiver off), and path.
    webhook_address: str = ""
    webhook_path: str = Field(default="/revont/webhooks", pattern=r"^/")
    #: The signing secret (REVONT_WEBHOOK_SECRET), or the file holding it; unset: the file
    #: `revont-sync webhooks register` writes next to the config file.
    webhook_secret: SecretStr | None = None
    webhook_secret_file: Path | None = None
    #: Per-adapter schedules, e.g. [daemon.adapters.salesforce] cron = "0 * * * *".
    adapters: dict[str, AdapterSchedule] = Field(default_factory=dict)

    def schedules(self, adapter: str) -> dict[str | None, ScheduleSettings]:
        """Stream (None: all streams) -> schedule, for ``adapter``."""
        own = self.adapters.get(adapter)
        if own is not None and own.streams:
            return {str(stream): schedule for stream, schedule in own.streams.items()}
        return {None: own or self}


class StateSettings(SecretsModel):
    """The ``[state]`` table: where cursors, id maps and run history are kept."""

    #: SQLAlchemy URL; None means a SQLite file next to the config file.
    url: str | None = None


@dataclass
class _Environment:
    """What one load reads from the environment, and where each key came from."""

    environ: Mapping[str, str]
    registry: AdapterRegistry
    tables: dict[str, Any]  # the TOML file's tables, to know which adapters are configured
    origins: dict[str, str] = field(default_factory=dict)  # dotted key -> variable name
    typos: list[str] = field(default_factory=list)  # REVONT_SYNC_REVONT_KEY, one "_" short


_LOADING: ContextVar[_Environment] = ContextVar("revont_sync_settings_environment")


class _PrefixedVariables(PydanticBaseSettingsSource):
    """``REVONT_SYNC_<TABLE>__<KEY>[__<KEY>]`` variables as nested tables."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ builds the whole mapping

    def __call__(self) -> dict[str, Any]:
        env = _LOADING.get()
        out: dict[str, Any] = {}
        for name, value in env.environ.items():
            if not name.startswith(ENV_PREFIX) or name in _NOT_OVERRIDES or not value:
                continue
            if "__" not in name:
                # Not an override (e.g. a tool's own REVONT_SYNC_SOMETHING), unless it
                # looks like one with a single underscore: that is a typo to report.
                rest = name[len(ENV_PREFIX) :].lower()
                table = next(
                    (t for t in ("revont_", "state_", "adapters_") if rest.startswith(t)), None
                )
                if table:
                    env.typos.append(name)
                continue
            path = name[len(ENV_PREFIX) :].lower().split("__")
            if value.startswith(("[", "{")):
                with contextlib.suppress(ValueError):  # not JSON: keep the text
                    value = json.loads(value)
            _set_path(out, path, value)
            env.origins[".".join(path)] = name
        return out


class _NamedVariables(PydanticBaseSettingsSource):
    """``REVONT_API_KEY`` and each configured adapter's own variables."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env = _LOADING.get()
        tables: list[tuple[list[str], type[SecretsModel]]] = [(["revont"], RevontSettings)]
        adapters = env.tables.get("adapters")
        for name in adapters if isinstance(adapters, dict) else ():
            if name in env.registry:
                try:
                    tables.append((["adapters", name], env.registry.load(name).config_model))
                except ConfigError:
                    continue  # reported when the table is validated
        out: dict[str, Any] = {}
        for path, model in tables:
            for key, var in model.env_vars.items():
                value = env.environ.get(var)
                if value:
                    _set_path(out, [*path, key], value)
                    env.origins.setdefault(".".join([*path, key]), var)
        return out


def _set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        node = tree.setdefault(part, {})
        if not isinstance(node, dict):
            return
        tree = node
    tree[path[-1]] = value


class _Sources(BaseSettings):
    """Merges the sources in the order of the module docstring; the tables are validated
    afterwards by their own models, with the adapters' models found through plugins."""

    model_config = SettingsConfigDict(extra="forbid")

    revont: dict[str, Any] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)
    sync: dict[str, Any] = Field(default_factory=dict)
    daemon: dict[str, Any] = Field(default_factory=dict)
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
        # init_settings carries the TOML file's tables.
        return (_PrefixedVariables(settings_cls), _NamedVariables(settings_cls), init_settings)


@dataclass(frozen=True)
class Config:
    """The validated configuration, handed down as plain typed objects."""

    path: Path
    revont: RevontSettings
    state: StateSettings
    adapters: dict[str, AdapterConfig] = field(default_factory=dict)
    sync: SyncSettings = field(default_factory=SyncSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)

    @property
    def webhook_secret_path(self) -> Path:
        """Where the webhook signing secret is kept (``webhooks register`` writes it)."""
        return self.daemon.webhook_secret_file or (
            self.path.resolve().parent / "revont-sync-webhook.secret"
        )

    @property
    def state_url(self) -> str:
        return self.state.url or f"sqlite:///{self.path.resolve().parent / 'revont-sync.db'}"

    def enabled_adapters(self) -> dict[str, AdapterConfig]:
        return {name: cfg for name, cfg in self.adapters.items() if cfg.enabled}


def secret_values(config: Config) -> list[str]:
    """The values of every secret in ``config`` (to keep them out of logs)."""
    values = []
    models: list[SecretsModel] = [config.revont, config.daemon, *config.adapters.values()]
    for model in models:
        for name in model.secret_fields():
            secret = getattr(model, name, None)
            if secret is not None:
                values.append(secret.get_secret_value())
    return values


def load_config(
    path: Path | str = DEFAULT_CONFIG_PATH,
    *,
    environ: Mapping[str, str] | None = None,
    registry: AdapterRegistry | None = None,
    need_revont_key: bool = True,
) -> Config:
    """Read, merge and validate the configuration; raise :class:`ConfigError` on any problem.

    ``need_revont_key=False`` is for commands that never call Revont (``mappings check``).
    """
    path = Path(path)
    registry = registry or AdapterRegistry()
    raw = _read_toml(path)
    env = _Environment(os.environ if environ is None else environ, registry, raw)
    token = _LOADING.set(env)
    try:
        return _load(path, raw, env, need_revont_key)
    finally:
        _LOADING.reset(token)


def _load(path: Path, raw: dict[str, Any], env: _Environment, need_revont_key: bool) -> Config:
    source = str(path)
    problems = _table_shapes(raw) or _inline_secrets(raw, env.registry)
    if problems:
        raise ConfigError(source, problems)
    try:
        merged = _Sources(**raw)
    except ValidationError as exc:
        raise ConfigError(source, _problems(exc, "", _Sources, env)) from None
    for variable in env.typos:
        head, _, tail = variable[len(ENV_PREFIX) :].partition("_")
        problems.append(
            ConfigProblem(
                variable,
                "not an override: tables and keys are separated by two underscores, "
                f"e.g. {ENV_PREFIX}{head}__{tail}",
            )
        )

    context = {"base_dir": path.resolve().parent}
    revont = _validate(RevontSettings, merged.revont, "revont", context, env, problems)
    if need_revont_key and revont is not None and revont.api_key is None:
        hint = RevontSettings.secret_hint("api_key")
        problems.append(ConfigProblem("revont.api_key", f"missing secret; {hint}"))
    state = _validate(StateSettings, merged.state, "state", context, env, problems)
    sync = _validate(SyncSettings, merged.sync, "sync", context, env, problems)
    daemon = _validate(DaemonSettings, merged.daemon, "daemon", context, env, problems)
    adapters: dict[str, AdapterConfig] = {}
    for name, table in merged.adapters.items():
        if name not in env.registry:
            problems.append(ConfigProblem(f"adapters.{name}", env.registry.unknown_message(name)))
            continue
        model = env.registry.load(name).config_model
        cfg = _validate(model, table, f"adapters.{name}", context, env, problems)
        if cfg is not None:
            adapters[name] = cfg
    if problems:
        raise ConfigError(source, problems)
    assert revont is not None and state is not None and sync is not None and daemon is not None
    return Config(
        path=path, revont=revont, state=state, adapters=adapters, sync=sync, daemon=daemon
    )


def _read_toml(path: Path) -> dict[str, Any]:
    def fail(message: str) -> ConfigError:
        return ConfigError(str(path), [ConfigProblem("", message)])

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise fail(
            "the file does not exist; pass --config PATH, or copy config.example.toml "
            f"to {DEFAULT_CONFIG_PATH}"
        ) from None
    except OSError as exc:
        raise fail(f"cannot read the file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise fail("invalid TOML: not UTF-8 text") from None


def _table_shapes(raw: dict[str, Any]) -> list[ConfigProblem]:
    """Tables that are not tables: reported before the environment is laid over them."""
    found = [
        ConfigProblem(key, f"must be a table ([{key}]), not {type(raw[key]).__name__}")
        for key in ("revont", "state", "sync", "daemon", "adapters")
        if key in raw and not isinstance(raw[key], dict)
    ]
    adapters = raw.get("adapters")
    for name, table in adapters.items() if isinstance(adapters, dict) else ():
        if not isinstance(table, dict):
            found.append(
                ConfigProblem(
                    f"adapters.{name}",
                    f"must be a table ([adapters.{name}]), not {type(table).__name__}",
                )
            )
    return found


def _inline_secrets(raw: dict[str, Any], registry: AdapterRegistry) -> list[ConfigProblem]:
    """Secret keys written into the file: refused, with where they belong instead."""
    found: list[ConfigProblem] = []
    tables: list[tuple[str, Any, type[SecretsModel]]] = [
        ("revont", raw.get("revont"), RevontSettings)
    ]
    adapters = raw.get("adapters")
    for name, table in adapters.items() if isinstance(adapters, dict) else ():
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
                found.append(
                    ConfigProblem(
                        f"{prefix}.{secret}",
                        "secrets do not belong in the config file; " + model.secret_hint(secret),
                    )
                )
    return found


def _validate(
    model: type[SecretsModel],
    table: Mapping[str, Any],
    prefix: str,
    context: dict[str, Any],
    env: _Environment,
    problems: list[ConfigProblem],
) -> Any:
    try:
        return model.model_validate(table, context=context)
    except ValidationError as exc:
        problems.extend(_problems(exc, prefix, model, env))
        return None


_SECRET_WORDS = ("key", "token", "secret", "password")


def _problems(
    exc: ValidationError, prefix: str, model: type[BaseModel], env: _Environment
) -> list[ConfigProblem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblem):
            loc, message = [*loc, cause.field], cause.message
        elif err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            close = difflib.get_close_matches(loc[-1], allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = f"unknown key{hint} (allowed here: {', '.join(allowed) or 'none'})"
        elif err["type"] == "missing":
            message = "required key is missing"
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
            value = err.get("input")
            secret = any(word in (loc[-1] if loc else "") for word in _SECRET_WORDS)
            if not secret and isinstance(value, str | int | float | bool):
                message += f" (got {value!r})"
        key = ".".join(([prefix] if prefix else []) + loc)
        origin = env.origins.get(key)
        if origin:
            message += f" [from the environment variable {origin}]"
        out.append(ConfigProblem(key, message))
    return out


def _allowed_keys(model: type[BaseModel], loc: list[str]) -> list[str]:
    """The keys a table allows, for "unknown key" messages (nested tables: none listed)."""
    return sorted(model.model_fields) if not loc else []


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def describe(config: Config) -> dict[str, Any]:
    """The effective configuration as JSON-ready data; secrets only as set or not set."""

    def table(model: SecretsModel) -> dict[str, Any]:
        data = model.model_dump(mode="json")
        for name in model.secret_fields():
            data[name] = "(set)" if getattr(model, name) is not None else "(not set)"
        return data

    return {
        "config": str(config.path),
        "revont": table(config.revont),
        "state": {"url": _hide_password(config.state_url)},
        "sync": config.sync.model_dump(mode="json"),
        "daemon": config.daemon.model_dump(mode="json"),
        "adapters": {name: table(cfg) for name, cfg in config.adapters.items()},
    }


__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Config",
    "DaemonSettings",
    "RevontSettings",
    "StateSettings",
    "SyncSettings",
    "describe",
    "load_config",
    "secret_values",
]
