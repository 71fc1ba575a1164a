"""What ``revont-sync setup ADAPTER`` does: prepare the CRM for the connector, idempotently.

An adapter with a ``setup(objects)`` capability creates what its CRM needs before a
sync can upsert (HubSpot: a property group and unique id properties), or reports
what an admin must create and how (Salesforce: external-id fields), step by step;
running it again reports everything as existing. ``--check`` only checks (the same
check a sync makes before its first write). Exit 1 while something is left to fix.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from connector.errors import ConfigError, ConfigProblem
from connector.mapping import load_mapping
from connector.plugins import AdapterRegistry
from connector.settings import load_config
from connector.wiring import resolve_mapping


def setup_adapter(config_path: Path, adapter: str, check_only: bool, console: Console) -> int:
    config = load_config(config_path, need_revont_key=False)
    adapter_config = config.adapters.get(adapter)
    if adapter_config is None:
        raise ConfigError(
            str(config_path),
            [ConfigProblem(f"adapters.{adapter}", "no such table: configure the adapter first")],
        )
    path, maps, variables = resolve_mapping(adapter, adapter_config)
    mapping = load_mapping(path, maps=maps, vars=variables, vars_key=f"adapters.{adapter}.vars")
    objects = {o.name: (o.crm_object, o.external_id_field) for o in mapping.objects.values()}
    writer = AdapterRegistry().load(adapter)(adapter_config)
    try:
        if check_only:
            prepare = getattr(writer, "prepare", None)
            if prepare is not None:
                prepare(objects)  # raises CrmSetupError naming what is missing
            console.print(f"{adapter}: ready for the mapping {path}.")
            return 0
        setup = getattr(writer, "setup", None)
        if setup is None:
            console.print(f"The {adapter} adapter needs no setup.")
            return 0
        steps = setup(objects)
    finally:
        writer.close()
    table = Table("object", "kind", "name", "result", "detail", title=f"{adapter} setup")
    for step in steps:
        style = {"created": "green", "problem": "bold red", "missing": "bold red"}.get(
            step.action, ""
        )
        result = f"[{style}]{step.action}[/]" if style else step.action
        table.add_row(step.crm_object, step.kind, step.name, result, escape(step.detail))
    console.print(table)
    problems = [s for s in steps if s.action in ("problem", "missing")]
    created = sum(1 for s in steps if s.action == "created")
    console.print(
        f"{created} created, {len(steps) - created - len(problems)} already there"
        + (f", {len(problems)} to fix by hand" if problems else "")
        + "."
    )
    return 1 if problems else 0
