"""Where mapping files live: the shipped defaults, installed or in a source checkout."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def mappings_dir() -> Path:
    """The folder of shipped mappings.

    In a wheel they are installed inside the ``connector`` package; in a source
    checkout (editable install) they are the repository's top-level ``mappings/``.
    """
    installed = Path(str(files("connector"))) / "mappings"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "mappings"


def shipped_mappings() -> dict[str, Path]:
    """Adapter name -> its default mapping file."""
    folder = mappings_dir()
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


def default_mapping_path(adapter: str) -> Path | None:
    return shipped_mappings().get(adapter)
