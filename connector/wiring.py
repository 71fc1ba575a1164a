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
from connector.mapping import default_mapping_path, load_mapping
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
) -> tuple[Path, dict[str, dict[str, str]]]:
    """The mapping file for adapter ``name`` and the value maps its configuration adds."""
    maps = dict(config.maps) if config is not None else {}
    path = explicit or (config.mapping if config is not None else None)
    path = path or default_mapping_path(name)
    if path is None:
        raise ConfigError(
            "mappings",
            [ConfigProblem(f"adapters.{name}.mapping", "no mapping file given and none shipped")],
        )
    return Path(path), maps


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
        path, maps = resolve_mapping(name, adapter_config)
        destinations[name] = Destination(name, cls(adapter_config), load_mapping(path, maps=maps))
    store = SqlStateStore(config.state_url)
    return SyncEngine(
        build_revont_client(config.revont, clock),
        store,
        destinations,
        clock=clock,
        options=engine_options(config.sync),
    )
