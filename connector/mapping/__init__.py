"""Declarative field mappings: what lands in the CRM, decided in TOML, not Python."""

from connector.mapping.files import default_mapping_path, mappings_dir, shipped_mappings

__all__ = ["default_mapping_path", "mappings_dir", "shipped_mappings"]
