"""What ``revont-sync mappings check`` and ``revont-sync preview`` do (the CLI parses flags).

Both only read: a mapping file, the configuration, the CRM's field metadata
and, for the preview, Revont calls. Neither writes anything anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from connector.errors import ConfigError, ConfigProblem
from connector.mapping import (
    FailedRecord,
    MappedRecord,
    Mapping,
    Outcome,
    SkippedRecord,
)
from connector.mapping.crm_check import check_against_crm
from connector.plugins import AdapterRegistry
from connector.settings import Config, load_config
from connector.wiring import build_revont_client, load_adapter_mapping


def check_mapping(
    config_path: Path, adapter: str | None, explicit: Path | None, console: Console
) -> int:
    if adapter is None and explicit is None:
        raise ConfigError(
            "the command line",
            [ConfigProblem("--adapter", "give --adapter NAME or --mapping PATH")],
        )
    adapter_config = None
    if adapter is not None and config_path.exists():
        adapter_config = load_config(config_path, need_revont_key=False).adapters.get(adapter)
    mapping = load_adapter_mapping(adapter or "", adapter_config, explicit)
    console.print(f"{mapping.path}: loads ({describe(mapping)})")
    if adapter is None:
        return 0
    cls = AdapterRegistry().load(adapter)
    describe_fields = getattr(cls, "describe_fields", None)
    if describe_fields is None:
        console.print(
            f"The {adapter} adapter does not report its CRM's fields yet, so only the "
            "mapping's own rules were checked."
        )
        return 0
    if adapter_config is None:
        console.print(
            escape(
                f"No [adapters.{adapter}] configured: checking against the fields of a "
                f"standard {adapter} account (the adapter's sandbox)."
            )
        )
    problems = check_against_crm(mapping, describe_fields(adapter_config))
    if not problems:
        console.print(f"Checked against the {adapter} fields: no problems.")
        return 0
    table = Table("object", "field", "problem", title=f"Against the {adapter} fields")
    for p in problems:
        table.add_row(p.object, p.field, escape(p.message))
    console.print(table)
    return 1


def describe(mapping: Mapping) -> str:
    objects = ", ".join(
        f"{o.name} <- {o.source}"
        + (f" (split {o.split.field})" if o.split else "")
        + (f" (writes nothing: when {o.skipped_by!r} is false)" if o.skipped_by else "")
        for o in mapping.objects.values()
    )
    detail = "needs call details" if mapping.needs_call_detail else "needs no call details"
    variables = ", ".join(f"{k} = {v!r}" for k, v in mapping.variables.items())
    return f"{objects}; {detail}" + (f"; vars: {variables}" if variables else "")


def preview(
    config: Config,
    adapter: str,
    call_ids: list[str],
    limit: int,
    as_json: bool,
    console: Console,
) -> None:
    adapter_config = config.adapters.get(adapter)
    if adapter_config is None:
        raise ConfigError(
            str(config.path), [ConfigProblem(f"adapters.{adapter}", "not configured")]
        )
    mapping = load_adapter_mapping(adapter, adapter_config)
    results: list[tuple[str, list[Outcome]]] = []
    with build_revont_client(config.revont) as client:
        if call_ids:
            records = [client.get_call(call_id).raw() for call_id in call_ids]
        else:
            page = next(client.iter_call_pages(limit=limit))
            records = [
                client.get_call(c.id).raw() if mapping.needs_call_detail else c.raw()
                for c in page.items
            ]
            for bad in page.invalid:
                results.append(
                    (bad.id or "?", [FailedRecord("(list)", "calls", bad.id, None, bad.error)])
                )
        for record in records:
            results.append((record["id"], mapping.map_call(record)))
        if not call_ids and mapping.objects_for("contacts"):
            contacts = next(client.iter_contact_pages(limit=limit))
            for contact in contacts.items:
                results.append((contact.id, mapping.map_contact(contact.raw())))
        spent = client.stats.total
    if as_json:
        print(
            json.dumps(
                [
                    {"record_id": cid, "outcomes": [as_dict(o) for o in outs]}
                    for cid, outs in results
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    table = Table("record", "object", "outcome", "payload / reason", title=mapping.path.name)
    for call_id, outcomes in results:
        for outcome in outcomes:
            name = outcome.object
            if isinstance(outcome, MappedRecord) and outcome.part is not None:
                name += " (part {} of {})".format(*outcome.part)
            table.add_row(call_id, name, *summarise(outcome))
    console.print(table)
    console.print(
        f"{len(results)} record(s) previewed with {spent} Revont request(s); nothing was written."
    )


def as_dict(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, MappedRecord):
        return {
            "object": outcome.object,
            "status": "mapped",
            "crm_object": outcome.crm_object,
            "external_id_field": outcome.external_id_field,
            "external_id": outcome.external_id,
            "values": outcome.values,
            "truncated": list(outcome.truncated),
            "part": None
            if outcome.part is None
            else {"n": outcome.part[0], "total": outcome.part[1]},
            "links": [
                {"to": link.to, "value": link.value, "field": link.field} for link in outcome.links
            ],
        }
    if isinstance(outcome, SkippedRecord):
        return {"object": outcome.object, "status": "skipped", "reason": outcome.reason}
    return {
        "object": outcome.object,
        "status": "failed",
        "field": outcome.field,
        "reason": outcome.reason,
    }


def summarise(outcome: Outcome) -> tuple[str, str]:
    if isinstance(outcome, MappedRecord):
        lines = []
        for name, value in outcome.values.items():
            text = str(value).replace("\n", " ")
            size = f" ({len(text):,} characters)" if len(text) > 60 else ""
            text = text if len(text) <= 60 else text[:57] + "..."
            mark = " (truncated)" if name in outcome.truncated else size
            lines.append(f"{name} = {escape(text)}{mark}")
        return "[green]mapped[/]", "\n".join(lines)
    if isinstance(outcome, SkippedRecord):
        return "[yellow]skipped[/]", escape(outcome.reason)
    return "[red]failed[/]", escape(outcome.reason)
