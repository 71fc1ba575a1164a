"""Building the collaborators from validated configuration (used by the CLI and daemon).

The engine never reads configuration; this module turns the typed settings
into the objects it is handed: a paced Revont client, the state store, and one
destination (adapter instance and compiled mapping) per enabled adapter.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from adapters.base import AdapterConfig
from connector.engine import Destination, EngineOptions, SyncEngine
from connector.errors import ConfigError, ConfigProblem
from connector.mapping import Mapping, default_mapping_path, load_mapping
from connector.mapping.spec import VarValue
from connector.plugins import AdapterRegistry
from connector.quota import Clock, SystemClock, WindowPacer
from connector.revont.client import RevontClient
from connector.settings import Config, RevontSettings, SyncSettings
from connector.state import SqlStateStore


def build_revont_client(settings: RevontSettings, clock: Clock | None = None) -> RevontClient:
    """A Revont client paced and retried as the ``[revont]`` table says."""
    clock = clock or SystemClock()
    pacer = WindowPacer(
        "revont",
        clock=clock,
        reserve_fraction=settings.rate_limit_reserve,
        max_wait=settings.max_rate_limit_wait,
    )
    return RevontClient(
        settings.require_secret("api_key"),
        base_url=settings.base_url,
        page_size=settings.page_size,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_attempts=settings.max_attempts,
        clock=clock,
        pacer=pacer,
    )


def resolve_mapping(
    name: str, config: AdapterConfig | None, explicit: Path | None = None
) -> tuple[Path, dict[str, dict[str, str]], dict[str, VarValue]]:
    """The mapping file for adapter ``name``, and the value maps and variable values its
    configuration lays over the file's ``[maps]`` and ``[vars]``."""
    maps = dict(config.maps) if config is not None else {}
    variables = dict(config.vars) if config is not None else {}
    path = explicit or (config.mapping if config is not None else None)
    path = path or default_mapping_path(name)
    if path is None:
        raise ConfigError(
            "mappings",
            [ConfigProblem(f"adapters.{name}.mapping", "no mapping file given and none shipped")],
        )
    return Path(path), maps, variables


def load_adapter_mapping(
    name: str, config: AdapterConfig | None, explicit: Path | None = None
) -> Mapping:
    """Load adapter ``name``'s mapping with its configuration's maps and vars; a var the
    mapping does not declare is reported as ``adapters.<name>.vars.<var>``."""
    path, maps, variables = resolve_mapping(name, config, explicit)
    return load_mapping(path, maps=maps, vars=variables, vars_key=f"adapters.{name}.vars")


def engine_options(sync: SyncSettings) -> EngineOptions:
    return EngineOptions(
        lag=timedelta(seconds=sync.lag_seconds),
        since=sync.since,
        enrichment_first_check=timedelta(seconds=sync.enrichment_first_check_seconds),
        enrichment_deadline=timedelta(hours=sync.enrichment_deadline_hours),
        reconcile_lookback=timedelta(days=sync.reconcile_lookback_days),
        reconcile_every=timedelta(hours=sync.reconcile_every_hours),
        lease_ttl=timedelta(seconds=sync.lease_ttl_seconds),
    )


def build_engine(
    config: Config, adapters: list[str] | None = None, *, clock: Clock | None = None
) -> SyncEngine:
    """The engine for ``adapters`` (default: every enabled one), ready to run."""
    enabled = config.enabled_adapters()
    names = adapters or list(enabled)
    if not names:
        raise ConfigError(str(config.path), [ConfigProblem("adapters", "no adapter is enabled")])
    registry = AdapterRegistry()
    destinations = {}
    for name in names:
        adapter_config = enabled.get(name)
        if adapter_config is None:
            raise ConfigError(
                str(config.path), [ConfigProblem(f"adapters.{name}", "not configured or disabled")]
            )
        cls = registry.load(name)
        if not callable(getattr(cls, "upsert", None)):
            raise ConfigError(
                str(config.path),
                [
                    ConfigProblem(
                        f"adapters.{name}", f"the {name} adapter cannot write to its CRM yet"
                    )
                ],
            )
        mapping = load_adapter_mapping(name, adapter_config)
        destinations[name] = Destination(name, cls(adapter_config), mapping)
    store = SqlStateStore(config.state_url)
    return SyncEngine(
        build_revont_client(config.revont, clock),
        store,
        destinations,
        clock=clock,
        options=engine_options(config.sync),
    )
