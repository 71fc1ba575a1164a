"""Declarative field mappings: what lands in the CRM, decided in TOML, not Python.

:func:`load_mapping` reads and checks a mapping file once and compiles it into
a :class:`Mapping`; ``mapping.map_call(call)`` and ``mapping.map_contact(c)``
then give one outcome per CRM object: mapped, skipped (with the reason) or
failed (with the field and reason). The format is in :mod:`.spec`, the
transforms in :mod:`.transforms`, templates in :mod:`.templates`, and checks
against a CRM's fields in :mod:`.crm_check`.
"""

from connector.mapping.compiler import (
    FailedRecord,
    Link,
    MappedRecord,
    Mapping,
    Outcome,
    SkippedRecord,
    load_mapping,
)
from connector.mapping.files import default_mapping_path, mappings_dir, shipped_mappings

__all__ = [
    "FailedRecord",
    "Link",
    "MappedRecord",
    "Mapping",
    "Outcome",
    "SkippedRecord",
    "default_mapping_path",
    "load_mapping",
    "mappings_dir",
    "shipped_mappings",
]
