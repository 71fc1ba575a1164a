"""The HubSpot adapter: the connector's write contract on hubspot-api-client.

One :meth:`HubSpotAdapter.upsert` takes records of one or more object types and,
per type in the order given (targets first), finds the HubSpot ids of the
records' link targets (:mod:`links`), upserts the records in batches of 100
(:mod:`writes`), then associates what landed with its targets. Costs, for a sync
of N calls with M contacts and their action items and notes: ⌈M/100⌉ contact
upserts, ⌈N/100⌉ call upserts, one association batch per 100 links of each pair
of types, the task and note upserts; plus a batch read per 100 link targets this
process has not seen (none when the contacts were written in the same process).

Before the first write, :meth:`prepare` checks the connector's id properties exist
(``revont-sync setup hubspot`` creates them); the check runs once per process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from adapters.base import (
    CrmField,
    CrmFields,
    CrmRecord,
    QuotaState,
    RequestError,
    SetupStep,
    WriteOutcome,
    WriteResult,
)
from adapters.hubspot.api import HubSpotApi
from adapters.hubspot.config import HubSpotConfig
from adapters.hubspot.links import IdCache, LinkResolver, Target, link_targets
from adapters.hubspot.setup import apply_setup, require_properties
from adapters.hubspot.writes import EMAIL, MAX_TEXT, ObjectWriter, rejected
from connector.quota import Clock

#: The id properties of the shipped mapping (a portal set up for the connector has them).
STANDARD_ID_PROPERTIES = (
    ("contacts", "revont_contact_id"),
    ("calls", "revont_call_id"),
    ("tasks", "revont_action_item_id"),
    ("notes", "revont_note_id"),
)
#: The object types ``describe_fields`` reports and ``setup`` knows.
OBJECT_TYPES = ("contacts", "companies", "calls", "tasks", "notes")


class HubSpotAdapter:
    """Writes mapped records into HubSpot (see the module docstring)."""

    name: ClassVar[str] = "hubspot"
    config_model: ClassVar[type[HubSpotConfig]] = HubSpotConfig
    batch_size = 100

    def __init__(self, config: HubSpotConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.api = HubSpotApi(config, clock=clock)
        self.cache = IdCache()
        self.writer = ObjectWriter(self.api)
        self.links = LinkResolver(
            self.api,
            self.cache,
            self.writer,
            create_unknown_contacts=config.unknown_prospect == "create",
            associate_company=config.associate_company,
        )
        self._checked: set[tuple[str, str]] = set()
        self._closed = False

    # -- the contract -----------------------------------------------------------------------

    def prepare(self, objects: Mapping[str, tuple[str, str]]) -> None:
        """Before each run: learn the mapping's objects (name -> (HubSpot type, id property))
        and check their id properties exist, once per process; raises
        :class:`CrmSetupError` naming what is missing."""
        self.api.forget_daily_quota()  # a new run: the daily allowance may have reset
        for name, (crm_object, id_property) in objects.items():
            self.links.targets[name] = Target(crm_object, id_property)
        needed = set(objects.values()) - self._checked
        if needed:
            require_properties(self.api, needed)
            self._checked |= needed

    def upsert(self, records: Sequence[CrmRecord]) -> list[WriteResult]:
        if self._closed:
            raise RequestError("the HubSpot adapter is closed", service=self.name)
        results: dict[Any, WriteResult] = {}
        groups: dict[str, list[CrmRecord]] = {}
        for record in records:
            groups.setdefault(record.crm_object, []).append(record)
        for crm_object, group in groups.items():
            results.update(self._upsert_group(crm_object, group))
        return list({r.key: results[r.key] for r in records if r.key in results}.values())

    def quota(self) -> QuotaState | None:
        return self.api.quota()

    @property
    def requests(self) -> int:
        """HTTP requests sent to HubSpot by this adapter so far."""
        return self.api.requests

    def close(self) -> None:
        self._closed = True  # the SDK's pools close with the process; nothing else to free

    # -- capabilities ------------------------------------------------------------------------

    def setup(self, objects: Mapping[str, tuple[str, str]]) -> list[SetupStep]:
        """Create the property group and unique id properties the mapping needs."""
        steps = apply_setup(self.api, objects.values(), self.config.property_group)
        self._checked.clear()
        return steps

    @classmethod
    def describe_fields(cls, config: HubSpotConfig | None) -> CrmFields:
        """HubSpot's properties of each object type, for ``mappings check``: the configured
        portal's, or without configuration those of a standard portal set up for the
        connector (the HubSpot sandbox, started for the purpose on loopback, after
        `setup` of the shipped mapping's id properties)."""
        if config is None:
            from adapters.hubspot.sandbox import HubSpotSandbox

            with HubSpotSandbox() as sandbox:
                local = HubSpotConfig(base_url=sandbox.url, access_token=sandbox.token)
                apply_setup(HubSpotApi(local), STANDARD_ID_PROPERTIES, local.property_group)
                return cls.describe_fields(local)
        api = HubSpotApi(config)
        fields: CrmFields = {}
        for crm_object in OBJECT_TYPES:
            body = api.call(
                f"GET /crm/v3/properties/{crm_object}",
                api.properties().get_all_with_http_info,
                crm_object,
            )
            fields[crm_object] = {
                p.name: _field(crm_object, p) for p in getattr(body, "results", None) or []
            }
        return fields

    # -- plumbing ----------------------------------------------------------------------------

    def _upsert_group(self, crm_object: str, group: list[CrmRecord]) -> dict[Any, WriteResult]:
        results: dict[Any, WriteResult] = {}
        found = self.links.resolve(group)
        ready: list[tuple[CrmRecord, list[tuple[str, str]]]] = []
        for record in group:
            targets, missing = link_targets(record, self.links, found)
            # A contact that is not there is logged without (unknown_prospect = "skip", or
            # an address HubSpot refuses); any other target must land first.
            hard = [m for m in missing if self.links.target(m)[0].crm_object != "contacts"]
            if hard:
                what = ", ".join(f"{m.to} {m.value}" for m in hard)
                results[record.key] = rejected(
                    record,
                    "LINK_TARGET_MISSING",
                    f"{what} is not in HubSpot: its own write failed or is pending (this "
                    "record is retried once it lands), or the mapping's `when` skips it (give "
                    "this object the same `when`)",
                )
                continue
            ready.append((record, targets))
        written = self.writer.upsert(crm_object, [r for r, _ in ready])
        results.update(written)
        pairs = []
        for record, targets in ready:
            result = written.get(record.key)
            if result is None or result.outcome == WriteOutcome.REJECTED or not result.crm_id:
                continue
            self._remember(record, result.crm_id)
            pairs += [(crm_object, result.crm_id, t, i) for t, i in targets]
        refused = self.links.associate(pairs)
        for record, _ in ready:
            result = results.get(record.key)
            if result is not None and (crm_object, result.crm_id or "") in refused:
                results[record.key] = rejected(
                    record,
                    "ASSOCIATION_FAILED",
                    "written, but HubSpot refused to associate it with its contact or call; "
                    "retried with the record",
                )
        return results

    def _remember(self, record: CrmRecord, hubspot_id: str) -> None:
        self.cache.put(record.crm_object, record.external_id_field, record.external_id, hubspot_id)
        email = record.values.get(EMAIL)
        if record.crm_object == "contacts" and email:
            self.cache.put("contacts", EMAIL, str(email), hubspot_id)


def _field(crm_object: str, prop: Any) -> CrmField:
    options = [o.value for o in (prop.options or []) if not getattr(o, "hidden", False)]
    kind = str(prop.type or "string")
    # Every HubSpot text value is capped at 65,536 characters, and the adapter refuses a
    # longer one per record; the cap is reported for the long-text fields (rich text,
    # multi-line), where a mapping puts transcripts and summaries and must truncate or
    # split, not for every name and phone number.
    text = kind == "string" and str(prop.field_type or "") in ("html", "textarea")
    required = prop.name == "hs_timestamp" and crm_object in ("calls", "tasks", "notes")
    return CrmField(
        prop.name,
        type=kind,
        max_length=MAX_TEXT if text else None,
        picklist=frozenset(options) if kind == "enumeration" and options else None,
        required=required,
    )
