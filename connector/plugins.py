"""Adapter discovery through the ``revont_sync.adapters`` entry-point group.

Built-in adapters (HubSpot, Salesforce) are registered in this package's own
``pyproject.toml`` exactly like a third-party adapter registers in its own, so
there is one way in for everybody. Plugins are loaded lazily: a broken
third-party package only matters when its adapter is configured.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from connector.errors import ConfigError, ConfigProblem

ENTRY_POINT_GROUP = "revont_sync.adapters"


class AdapterRegistry:
    """Installed adapters by name; ``load(name)`` imports one on first use."""

    def __init__(self, classes: dict[str, Any] | None = None) -> None:
        self._entry_points: dict[str, EntryPoint] = {}
        self._loaded: dict[str, Any] = dict(classes or {})
        if classes is None:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                self._entry_points.setdefault(ep.name, ep)

    def names(self) -> list[str]:
        return sorted(set(self._entry_points) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in self._entry_points or name in self._loaded

    def describe(self, name: str) -> str:
        ep = self._entry_points.get(name)
        return ep.value if ep is not None else "(registered in code)"

    def load(self, name: str) -> Any:
        """The adapter class registered as ``name``."""
        if name in self._loaded:
            return self._loaded[name]
        ep = self._entry_points.get(name)
        if ep is None:
            raise ConfigError(
                "installed adapters",
                [ConfigProblem(f"adapters.{name}", self.unknown_message(name))],
            )
        try:
            cls = ep.load()
        except Exception as exc:  # a third-party plugin may fail in any way
            raise ConfigError(
                "installed adapters",
                [
                    ConfigProblem(
                        f"adapters.{name}",
                        f"the adapter plugin {ep.value} failed to load: "
                        f"{type(exc).__name__}: {exc}",
                    )
                ],
            ) from exc
        self._loaded[name] = cls
        return cls

    def unknown_message(self, name: str) -> str:
        installed = ", ".join(self.names()) or "none"
        return (
            f"no adapter named {name!r} is installed (installed: {installed}); "
            f"adapters register in the {ENTRY_POINT_GROUP!r} entry-point group"
        )
