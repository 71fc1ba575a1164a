"""Links between records: finding HubSpot ids of link targets, then associating.

A record's links name their target by the mapping's object and a value: a contact
by its email, a call by its Revont id. Ids come, cheapest first, from

1. what this process wrote or looked up before (a bounded cache: the contacts
   stream runs before the calls stream, so a sync's calls find their contacts
   there without a request);
2. one batch read per 100 missing values, by ``email`` or by the target's unique
   id property (for calls and action items);
3. for contacts, the ``unknown_prospect`` policy decides step 2: ``create`` upserts
   the missing ones by email (one request per 100 finds or creates them), ``skip``
   reads them and logs a record whose contact is not there without the link.

A record whose call or action item is not in HubSpot (its own write failed) is
rejected before anything is written, so it is retried once its target lands;
nothing is written half-linked.

Associations use HubSpot's default association type for each pair of object
types (``/crm/v4/associations/{from}/{to}/batch/associate/default``), 100 pairs
per request; associating twice keeps one association, so retries are safe.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from adapters.base import CrmRecord, NotFoundError, RecordLink
from adapters.hubspot.api import HubSpotApi, HubSpotRequestError
from adapters.hubspot.writes import ObjectWriter

log = logging.getLogger(__name__)

BATCH_LIMIT = 100
CACHE_SIZE = 50_000


@dataclass(frozen=True)
class Target:
    """Where a mapping object lives in HubSpot and which property holds its Revont id."""

    crm_object: str
    id_property: str


#: How links find their targets when the engine did not say (the shipped mapping's names).
DEFAULT_TARGETS = {
    "contact": Target("contacts", "revont_contact_id"),
    "call": Target("calls", "revont_call_id"),
    "task": Target("tasks", "revont_action_item_id"),
}


class IdCache:
    """(object type, id property, value) -> HubSpot id, least recently used dropped first."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._ids: OrderedDict[tuple[str, str, str], str] = OrderedDict()

    def get(self, crm_object: str, prop: str, value: str) -> str | None:
        key = (crm_object, prop, _norm(prop, value))
        found = self._ids.get(key)
        if found is not None:
            self._ids.move_to_end(key)
        return found

    def forget_id(self, crm_object: str, hubspot_id: str) -> None:
        for key in [k for k, v in self._ids.items() if k[0] == crm_object and v == hubspot_id]:
            del self._ids[key]

    def put(self, crm_object: str, prop: str, value: str, hubspot_id: str) -> None:
        self._ids[(crm_object, prop, _norm(prop, value))] = hubspot_id
        self._ids.move_to_end((crm_object, prop, _norm(prop, value)))
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)


class LinkResolver:
    """Finds link targets and writes associations (see the module docstring)."""

    def __init__(
        self,
        api: HubSpotApi,
        cache: IdCache,
        writer: ObjectWriter,
        *,
        create_unknown_contacts: bool,
        associate_company: bool,
    ) -> None:
        self.api = api
        self.cache = cache
        self.writer = writer
        self.create_unknown_contacts = create_unknown_contacts
        self.associate_company = associate_company
        self.targets: dict[str, Target] = dict(DEFAULT_TARGETS)
        self._companies: OrderedDict[str, str | None] = OrderedDict()
        self._pairs: dict[tuple[str, str], bool] = {}

    def target(self, link: RecordLink) -> tuple[Target, str]:
        """The target of ``link`` and the property its value matches."""
        target = self.targets.get(link.to) or Target(link.to, f"revont_{link.to}_id")
        if target.crm_object == "contacts" and "@" in str(link.value):
            return target, "email"
        return target, target.id_property

    def resolve(self, records: Sequence[CrmRecord]) -> dict[tuple[str, str, str], str | None]:
        """HubSpot ids of every link target of ``records`` (None: not in HubSpot)."""
        wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
        for record in records:
            for link in record.links:
                target, prop = self.target(link)
                wanted[(target.crm_object, prop)].add(str(link.value))
        found: dict[tuple[str, str, str], str | None] = {}
        for (crm_object, prop), values in wanted.items():
            missing = []
            for value in sorted(values):
                hit = self.cache.get(crm_object, prop, value)
                found[(crm_object, prop, _norm(prop, value))] = hit
                if hit is None:
                    missing.append(value)
            if not missing:
                continue
            if crm_object == "contacts" and prop == "email" and self.create_unknown_contacts:
                # An upsert by email finds or creates: one request where a read and then a
                # create would take two.
                hits = self._create_contacts(missing)
            else:
                hits = self._read(crm_object, prop, missing)
            for value, hubspot_id in hits.items():
                found[(crm_object, prop, _norm(prop, value))] = hubspot_id
        return found

    def _read(self, crm_object: str, prop: str, values: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        api = self.api.objects(crm_object)
        for start in range(0, len(values), BATCH_LIMIT):
            chunk = values[start : start + BATCH_LIMIT]
            route = f"POST /crm/v3/objects/{crm_object}/batch/read"
            try:
                body = self.api.call(
                    route,
                    api.read_with_http_info,
                    {
                        "idProperty": prop,
                        "properties": [prop],
                        "inputs": [{"id": v} for v in chunk],
                    },
                )
            except HubSpotRequestError as exc:
                log.warning("%s refused: %s; those links wait for a later run", route, exc)
                continue
            for result in getattr(body, "results", None) or []:
                value = (result.properties or {}).get(prop)
                if value:
                    out[value] = result.id
                    self.cache.put(crm_object, prop, value, result.id)
        return out

    def _create_contacts(self, emails: list[str]) -> dict[str, str]:
        """Contacts for prospects HubSpot does not know, by email (an address HubSpot
        refuses is left out: the record is logged without that contact)."""
        records = [
            CrmRecord("prospect", "contacts", "email", e.strip().lower(), {"email": e.strip()})
            for e in emails
        ]
        out: dict[str, str] = {}
        for key, result in self.writer.upsert("contacts", records).items():
            if result.crm_id:
                out[key[1]] = result.crm_id
                self.cache.put("contacts", "email", key[1], result.crm_id)
        return out

    # -- associations ---------------------------------------------------------------------

    def associate(self, pairs: Iterable[tuple[str, str, str, str]]) -> set[tuple[str, str]]:
        """Associate (from type, from id, to type, to id) pairs; return the (from type,
        from id) whose association HubSpot refused."""
        by_types: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for from_type, from_id, to_type, to_id in dict.fromkeys(pairs):
            by_types[(from_type, to_type)].append((from_id, to_id))
        if self.associate_company:
            self._add_companies(by_types)
        refused: set[tuple[str, str]] = set()
        api = self.api.associations()
        for (from_type, to_type), items in by_types.items():
            if not self._supported(from_type, to_type):
                continue
            for start in range(0, len(items), BATCH_LIMIT):
                chunk = items[start : start + BATCH_LIMIT]
                route = f"POST /crm/v4/associations/{from_type}/{to_type}/batch/associate/default"
                try:
                    body = self.api.call(
                        route,
                        api.create_default_with_http_info,
                        from_type,
                        to_type,
                        {"inputs": [{"from": {"id": f}, "to": {"id": t}} for f, t in chunk]},
                        raw=True,  # the SDK does not model this route's 207 answer
                    )
                except HubSpotRequestError as exc:
                    # Refused whole: the records stay written, each reported so it is retried
                    # (and the page is not blocked by a request HubSpot keeps refusing).
                    log.warning("%s: associations refused: %s", route, exc)
                    body = {}
                # Only what HubSpot says it associated counts; any other pair was refused.
                done = set()
                for result in body.get("results") or []:
                    if isinstance(result, dict):
                        source = result.get("from") or {}
                        target = result.get("to") or {}
                        done.add((str(source.get("id")), str(target.get("id"))))
                for from_id, to_id in chunk:
                    if (from_id, to_id) not in done:
                        refused.add((from_type, from_id))
                        self.forget(to_type, to_id)  # perhaps deleted or merged: look again
        return refused

    def _supported(self, from_type: str, to_type: str) -> bool:
        """Whether the portal has an association type from ``from_type`` to ``to_type``
        (asked once per process). Without one, the link is left out, said once in the log,
        rather than failing every record on a request HubSpot will always refuse."""
        key = (from_type, to_type)
        if key not in self._pairs:
            try:
                body = self.api.call(
                    f"GET /crm/v4/associations/{from_type}/{to_type}/labels",
                    self.api.association_definitions().get_all_with_http_info,
                    from_type,
                    to_type,
                )
                self._pairs[key] = bool(body.results)
            except (HubSpotRequestError, NotFoundError):
                self._pairs[key] = False
            if not self._pairs[key]:
                log.warning(
                    "HubSpot has no association type from %s to %s in this portal: those "
                    "links are left out",
                    from_type,
                    to_type,
                )
        return self._pairs[key]

    def forget(self, crm_object: str, hubspot_id: str) -> None:
        """Drop a HubSpot id from the caches, so the next use looks it up again."""
        self.cache.forget_id(crm_object, hubspot_id)
        if crm_object == "contacts":
            self._companies.pop(hubspot_id, None)

    def _add_companies(self, by_types: dict[tuple[str, str], list[tuple[str, str]]]) -> None:
        """Add (record -> the company of its contact) for every (record -> contact)."""
        contacts = {t for (_, to), items in by_types.items() if to == "contacts" for _, t in items}
        self._load_companies(sorted(c for c in contacts if c not in self._companies))
        for (from_type, to_type), items in list(by_types.items()):
            if to_type != "contacts" or from_type == "companies":
                continue
            for from_id, contact_id in items:
                company = self._companies.get(contact_id)
                if company is not None:
                    by_types[(from_type, "companies")].append((from_id, company))

    def _load_companies(self, contact_ids: list[str]) -> None:
        api = self.api.associations()
        for start in range(0, len(contact_ids), BATCH_LIMIT):
            chunk = contact_ids[start : start + BATCH_LIMIT]
            try:
                body = self.api.call(
                    "POST /crm/v4/associations/contacts/companies/batch/read",
                    api.get_page_with_http_info,
                    "contacts",
                    "companies",
                    {"inputs": [{"id": c} for c in chunk]},
                )
            except HubSpotRequestError as exc:
                log.warning("the companies of contacts could not be read: %s", exc)
                continue
            found: dict[str, str | None] = dict.fromkeys(chunk)
            for result in getattr(body, "results", None) or []:
                tos = result.to or []
                primary = next(
                    (t for t in tos if any(a.type_id == 1 for a in t.association_types or [])),
                    tos[0] if tos else None,
                )
                if primary is not None:
                    found[str(result._from.id)] = str(primary.to_object_id)
            for contact_id, company in found.items():
                self._companies[contact_id] = company
            while len(self._companies) > CACHE_SIZE:
                self._companies.popitem(last=False)


def _norm(prop: str, value: str) -> str:
    return value.strip().lower() if prop == "email" else value


def link_targets(
    record: CrmRecord,
    resolver: LinkResolver,
    found: Mapping[tuple[str, str, str], str | None],
) -> tuple[list[tuple[str, str]], list[RecordLink]]:
    """The (type, id) targets of ``record``'s links, and the links with no target."""
    targets, missing = [], []
    for link in record.links:
        target, prop = resolver.target(link)
        hubspot_id = found.get((target.crm_object, prop, _norm(prop, str(link.value))))
        if hubspot_id is None:
            missing.append(link)
        else:
            targets.append((target.crm_object, hubspot_id))
    return targets, missing
